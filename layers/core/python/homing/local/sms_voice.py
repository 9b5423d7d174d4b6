"""A stand-in for AWS End User Messaging SMS and Voice v2 (``pinpoint-sms-voice-v2``), which moto lacks.

It speaks the service's JSON protocol (``POST /`` with ``X-Amz-Target: PinpointSMSVoiceV2.<Operation>``)
for the two operations Homing's senders call, ``SendTextMessage`` and ``SendVoiceMessage``: the
request is validated against botocore's model of the service (so a request the real service would
refuse for its shape is refused here too), recorded for the local outbox, and answered with a
``MessageId``. Workers reach it through ``AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2`` (boto3's
per-service endpoint variable), so the real adapter (homing.adapters.senders.sms_voice) runs
unchanged. Every origination identity exists here: a new user's first send lands in the outbox.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

TARGET_PREFIX = "PinpointSMSVoiceV2."
OPERATIONS = {"SendTextMessage": "SMS", "SendVoiceMessage": "VOICE"}
MAX_RECORDS = 10_000  # the oldest are dropped past this: local mode runs for days


class SmsVoiceStandIn:
    """The WSGI app of the stand-in; ``sent`` holds what would have been delivered, oldest first."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        import botocore.session

        self._model = botocore.session.get_session().get_service_model("pinpoint-sms-voice-v2")
        self._clock = clock
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.sent)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, body = self.handle(environ)
        payload = json.dumps(body).encode()
        start_response(
            status,
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def handle(self, environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        operation = target.removeprefix(TARGET_PREFIX)
        if environ.get("REQUEST_METHOD") != "POST" or not target.startswith(TARGET_PREFIX):
            return _error("400 Bad Request", "UnknownOperationException", "POST with X-Amz-Target expected")
        if operation not in OPERATIONS:
            return _error(
                "400 Bad Request",
                "UnknownOperationException",
                f"The local stand-in serves only {', '.join(OPERATIONS)}, not {operation}",
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            return _error("400 Bad Request", "SerializationException", "The body is not JSON")
        problem = self._invalid(operation, request)
        if problem:
            return _error("400 Bad Request", "ValidationException", problem, Reason="INVALID_PARAMETER")
        message_id = str(uuid.uuid4())
        record = {
            "Channel": OPERATIONS[operation],
            "MessageId": message_id,
            "Time": self._clock().isoformat(),
            "From": request.get("OriginationIdentity"),
            "To": request["DestinationPhoneNumber"],
            "Subject": None,
            "Body": request["MessageBody"],
            # the rest of the request, as the outbox shows it (the shape of every outbox row)
            "Details": {
                name: request[name]
                for name in (
                    "MessageType",
                    "MessageBodyTextType",
                    "VoiceId",
                    "Keyword",
                    "ConfigurationSetName",
                    "DestinationCountryParameters",
                    "Context",
                )
                if name in request
            },
        }
        with self._lock:
            self.sent.append(record)
            del self.sent[:-MAX_RECORDS]
        return "200 OK", {"MessageId": message_id}

    def _invalid(self, operation: str, request: Any) -> str | None:
        """botocore's own validation of the request against the operation's input shape."""
        from botocore.exceptions import ParamValidationError
        from botocore.validate import validate_parameters

        if not isinstance(request, dict):
            return "The body must be a JSON object"
        try:
            shape = self._model.operation_model(operation).input_shape
            if shape is not None:
                validate_parameters(request, shape)
        except ParamValidationError as error:
            return str(error.kwargs.get("report", error))
        if "MessageBody" not in request:
            return "MessageBody is required"
        return None


def _error(status: str, kind: str, message: str, **fields: str) -> tuple[str, dict[str, Any]]:
    return status, {"__type": kind, "message": message, **fields}


def start_stand_in(host: str = "127.0.0.1") -> tuple[SmsVoiceStandIn, Any, str]:
    """Serve the stand-in on a free port: (the app, its server, its URL)."""
    from homing.local.http import Server

    app = SmsVoiceStandIn()
    server = Server(app, host, 0)
    server.start()
    return app, server, f"http://{host}:{server.port}"
