"""Dispatch, pure: a ledger claim, the sender Lambda's batch limit, and the JSON of deliveries and results.

The JSON crosses Step Functions task boundaries (campaign and journey workflows hand deliveries to
the send_messages function and read its results), so the content union carries a discriminator,
``content_type``. Field names are snake_case, as in storage; ``homing.codec`` checks every type and
names the field it rejects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from homing.codec import build, dump, snake
from homing.domain.errors import BadRequest
from homing.domain.messages import (
    Content,
    CustomContent,
    Delivery,
    DeliveryResult,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
)

# Deliveries per send_messages invocation. Step Functions passes at most 256 KB between states, and a
# rendered email is typically 5-20 KB: 50 keeps a batch of emails under that bound, and at the
# dispatcher's 10 concurrent sends a batch takes about 5 carrier round trips. It is also Pinpoint's
# own batch for custom channels (50 endpoints per call).
MAX_BATCH = 50

CONTENT_TYPES: dict[str, type[Any]] = {
    "email": EmailContent,
    "sms": SmsContent,
    "voice": VoiceContent,
    "push": PushContent,
    "custom": CustomContent,
}
_TYPE_OF = {cls: name for name, cls in CONTENT_TYPES.items()}


@dataclass(frozen=True)
class Claim:
    """A ledger's answer to claiming a delivery key: won (send it), or lost with the recorded result
    (completed earlier) or without one (claimed and never completed: a send in flight or a crash)."""

    won: bool
    result: DeliveryResult | None = None


@dataclass(frozen=True)
class _Envelope:
    """Delivery's fields other than its content, for ``homing.codec.build``."""

    app_id: str | None = None
    channel: str | None = None
    address: str | None = None
    key: str | None = None
    endpoint_id: str | None = None
    context: dict[str, str] = dataclasses.field(default_factory=dict)
    trace_id: str | None = None


def delivery_to_json(delivery: Delivery) -> dict[str, Any]:
    out: dict[str, Any] = dump(delivery, snake)
    out["content"]["content_type"] = _TYPE_OF[type(delivery.content)]
    return out


def delivery_from_json(raw: Any, path: str = "delivery") -> Delivery:
    if not isinstance(raw, dict):
        raise BadRequest(f"{path} must be a JSON object")
    envelope = build(_Envelope, {k: v for k, v in raw.items() if k != "content"}, path, snake)
    for name in ("app_id", "channel", "address", "key"):
        if not getattr(envelope, name):
            raise BadRequest(f"{path}.{name} is required")
    content_raw = raw.get("content")
    if not isinstance(content_raw, dict):
        raise BadRequest(f"{path}.content must be a JSON object")
    content_type = CONTENT_TYPES.get(str(content_raw.get("content_type")))
    if content_type is None:
        raise BadRequest(f"{path}.content.content_type must be one of {', '.join(CONTENT_TYPES)}")
    fields = {k: v for k, v in content_raw.items() if k != "content_type"}
    # A custom channel's endpoints are Pinpoint endpoint documents, passed on as they are.
    endpoints = fields.pop("endpoints", None) if content_type is CustomContent else None
    if endpoints is not None and not (
        isinstance(endpoints, dict) and all(isinstance(v, dict) for v in endpoints.values())
    ):
        raise BadRequest(f"{path}.content.endpoints must map endpoint ids to endpoint objects")
    try:
        content: Content = build(content_type, fields, f"{path}.content", snake)
    except TypeError:  # a required field missing
        raise BadRequest(f"{path}.content lacks a required field of {content_type.__name__}") from None
    if endpoints and isinstance(content, CustomContent):
        content = dataclasses.replace(content, endpoints=endpoints)
    return Delivery(
        app_id=str(envelope.app_id),
        channel=str(envelope.channel),
        address=str(envelope.address),
        key=str(envelope.key),
        content=content,
        endpoint_id=envelope.endpoint_id,
        context=envelope.context,
        trace_id=envelope.trace_id,
    )


def result_to_json(result: DeliveryResult) -> dict[str, Any]:
    out: dict[str, Any] = dump(result, snake)
    return out


def result_from_json(raw: Any, path: str = "result") -> DeliveryResult:
    try:
        return build(DeliveryResult, raw, path, snake)
    except TypeError:
        raise BadRequest(f"{path} lacks status, status_code or status_message") from None
