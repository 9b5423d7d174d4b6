"""The local outbox: every message local mode would have delivered, on every channel, in one list.

Nothing is delivered locally; each carrier keeps what it was asked to send, and the outbox reads
them all: moto's SES (v1 and v2 share one backend: simple and raw emails), moto's SNS (SMS to phone
numbers and publishes to mobile-push platform endpoints), the End User Messaging stand-in
(sms_voice.py: texts and voice calls) and custom-channel Lambda invocations (recorded on their way
into moto's Lambda). ``GET /_local/outbox`` answers JSON (``?channel=EMAIL&address=…`` filter) and
``/_local/outbox.html`` a page a person reads like a mail catcher: from, to, subject and the
rendered body (HTML emails in a sandboxed frame). Unlike the other local pages it shows bodies and
addresses: it exists only on a developer's machine, and showing them is its purpose.

Local mode also makes moto's SES accept the From address a send names (``verify_ses_identities_on_use``).
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from homing.local.pages import PREFIX

PATH_JSON = f"{PREFIX}/outbox"
PATH_HTML = f"{PREFIX}/outbox.html"
PUSH = "PUSH"
PUSH_PLATFORMS = ("APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "GCM", "ADM", "BAIDU")


def verify_ses_identities_on_use() -> Callable[[], None]:
    """moto's SES refuses a From address whose address or domain is not a verified identity
    (``SESBackend._is_verified_address``, used by SendEmail v1 and v2). Locally the identity the
    email channel names counts as verified: the first send from it creates it as an identity (so
    ``list-email-identities`` shows it) and goes through."""
    from email.utils import parseaddr

    from moto.ses.models import SESBackend

    original = SESBackend._is_verified_address
    if getattr(original, "_homing_local", False):
        return lambda: None

    def is_verified(self: Any, source: str) -> bool:
        if original(self, source):
            return True
        _, address = parseaddr(source)
        if "@" not in address:
            return False  # not an address: moto (and SES) refuse it
        self.verify_email_identity(address)
        return True

    is_verified._homing_local = True  # type: ignore[attr-defined]
    SESBackend._is_verified_address = is_verified  # type: ignore[method-assign]

    def undo() -> None:
        SESBackend._is_verified_address = original  # type: ignore[method-assign]

    return undo


class Outbox:
    """Reads what each local carrier kept; ``custom`` records custom-channel invocations itself."""

    def __init__(self, stand_in: Any = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.stand_in = stand_in
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, str] = {}  # message id -> when the outbox first saw it (moto keeps no time)
        self.custom: list[dict[str, Any]] = []

    def rows(self, channel: str | None = None, address: str | None = None) -> list[dict[str, Any]]:
        """Every message, newest first, optionally of one channel (EMAIL, SMS, VOICE, PUSH or a push
        platform, CUSTOM) and to one address (case-insensitive)."""
        rows = [*self._emails(), *self._sns(), *(self.stand_in.records() if self.stand_in else [])]
        with self._lock:
            rows += list(self.custom)
            for row in rows:
                row.setdefault("Time", self._seen.setdefault(row["MessageId"], self.clock().isoformat()))
        if channel:
            wanted = channel.upper()
            rows = [r for r in rows if r["Channel"] == wanted or (wanted == PUSH and r["Channel"] in PUSH_PLATFORMS)]
        if address:
            rows = [r for r in rows if address.lower() in (str(t).lower() for t in _as_list(r["To"]))]
        rows.sort(key=lambda r: str(r["Time"]), reverse=True)
        return rows

    def record_custom_call(self, function: str, payload: dict[str, Any], delivered: bool) -> None:
        endpoints = payload.get("Endpoints") or {}
        with self._lock:
            self.custom.append(
                {
                    "Channel": "CUSTOM",
                    "MessageId": f"custom-{len(self.custom) + 1}",
                    "Time": self.clock().isoformat(),
                    "From": payload.get("ApplicationId"),
                    "To": sorted(endpoints),
                    "Subject": None,
                    "Body": payload.get("Data"),
                    "Details": {"Function": function, "Delivered": delivered, "Endpoints": endpoints},
                }
            )

    @staticmethod
    def _emails() -> list[dict[str, Any]]:
        from moto.ses.models import Message, RawMessage, ses_backends

        rows = []
        for backend in _backends(ses_backends):
            for message in list(backend.sent_messages):
                if isinstance(message, Message):
                    to = [
                        a
                        for kind in ("ToAddresses", "CcAddresses", "BccAddresses")
                        for a in message.destinations.get(kind, [])
                    ]
                    rows.append(_email_row(message.id, message.source, to, message.subject, message.body))
                elif isinstance(message, RawMessage):
                    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
                    part = parsed.get_body(preferencelist=("html", "plain"))
                    body = part.get_content() if part is not None else message.raw_data
                    rows.append(
                        _email_row(message.id, message.source, list(message.destinations), parsed["Subject"], body)
                    )
        return rows

    @staticmethod
    def _sns() -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        rows: list[dict[str, Any]] = []
        for backend in _backends(sns_backends):
            for message_id, (phone, text) in list(backend.sms_messages.items()):
                rows.append(
                    {
                        "Channel": "SMS",
                        "MessageId": message_id,
                        "From": "SNS",
                        "To": phone,
                        "Subject": None,
                        "Body": text,
                        "Details": {"Carrier": "SNS"},
                    }
                )
            for endpoint in list(backend.platform_endpoints.values()):
                platform = str(endpoint.application.platform)
                for message_id, message in list(endpoint.messages.items()):
                    payload = _platform_payload(message, platform)
                    title, body = _push_text(payload)
                    rows.append(
                        {
                            "Channel": platform,
                            "MessageId": message_id,
                            "From": endpoint.application.arn,
                            "To": endpoint.token,
                            "Subject": title,
                            "Body": body,
                            "Details": {"Payload": payload},
                        }
                    )
        return rows


def record_custom_channel_calls(outbox: Outbox) -> None:
    """Record every invocation through moto's Lambda whose event is Pinpoint's custom-channel payload
    (an ApplicationId, a Message and Endpoints), whether or not such a function exists locally."""
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.invoke
    if getattr(original, "_homing_local", False):
        return

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> Any:
        event = None
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        if isinstance(text, str) and '"Endpoints"' in text and '"ApplicationId"' in text:  # cheap before parsing
            try:
                event = json.loads(text)
            except ValueError:
                event = None
        if not (isinstance(event, dict) and {"ApplicationId", "Message", "Endpoints"} <= set(event)):
            return original(self, function_name, qualifier, body, headers, response_headers)
        try:
            answer = original(self, function_name, qualifier, body, headers, response_headers)
        except Exception:
            outbox.record_custom_call(function_name, event, delivered=False)
            raise
        outbox.record_custom_call(function_name, event, delivered="x-amz-function-error" not in response_headers)
        return answer

    invoke._homing_local = True  # type: ignore[attr-defined]
    LambdaBackend.invoke = invoke  # type: ignore[method-assign]


class OutboxPages:
    """WSGI: ``/_local/outbox`` (JSON) and ``/_local/outbox.html`` (HTML); everything else to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], outbox: Outbox) -> None:
        self.app = app
        self.outbox = outbox

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in (PATH_JSON, PATH_JSON + "/", PATH_HTML):
            return self.app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        channel, address = query.get("channel", [""])[0], query.get("address", [""])[0]
        rows = self.outbox.rows(channel or None, address or None)
        if path == PATH_HTML or query.get("format", [""])[0] == "html":
            content_type, body = "text/html; charset=utf-8", render_html(rows, channel, address).encode()
        else:
            content_type, body = "application/json", json.dumps({"Items": rows}, default=str, indent=1).encode()
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


def render_html(rows: list[dict[str, Any]], channel: str = "", address: str = "") -> str:
    """The mail-catcher page: one card per message, newest first."""
    cards = "".join(_card(row) for row in rows) or "<p>Nothing sent yet.</p>"
    options = "".join(
        f"<option{' selected' if c == channel.upper() else ''}>{c}</option>"
        for c in ("", "EMAIL", "SMS", "VOICE", "PUSH", "CUSTOM")
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Homing local outbox</title><style>"
        "body{font-family:sans-serif;max-width:960px;margin:1em auto}"
        ".card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;margin:.8em 0}"
        ".meta{color:#555;font-size:.9em}.channel{font-weight:bold;margin-right:.6em}"
        "iframe{width:100%;height:320px;border:1px solid #eee}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em}"
        "</style></head><body><h1>Local outbox</h1>"
        f"<form method='get'>Channel <select name='channel'>{options}</select> "
        f"Address <input name='address' value='{html.escape(address, quote=True)}'> <button>Filter</button> "
        f"<a href='{PATH_JSON}'>JSON</a> · <a href='{PREFIX}?format=html'>all local pages</a></form>"
        f"<p>{len(rows)} message(s)</p>{cards}</body></html>"
    )


def _card(row: dict[str, Any]) -> str:
    to = ", ".join(str(t) for t in _as_list(row.get("To")))
    body = row.get("Body") or ""
    if row["Channel"] == "EMAIL" and _looks_html(body):
        shown = f"<iframe sandbox='' srcdoc='{html.escape(body, quote=True)}'></iframe>"
    else:
        shown = f"<pre>{html.escape(str(body))}</pre>"
    details = row.get("Details")
    shown_details = html.escape(json.dumps(details, indent=1, default=str))
    extra = f"<details><summary>details</summary><pre>{shown_details}</pre></details>" if details else ""
    subject = f"<h3>{html.escape(str(row['Subject']))}</h3>" if row.get("Subject") else ""
    return (
        f"<div class='card'><div class='meta'><span class='channel'>{html.escape(row['Channel'])}</span>"
        f"{html.escape(str(row.get('Time', '')))} · from <b>{html.escape(str(row.get('From') or ''))}</b>"
        f" to <b>{html.escape(to)}</b> · {html.escape(str(row['MessageId']))}</div>{subject}{shown}{extra}</div>"
    )


def _email_row(message_id: str, source: str, to: list[str], subject: Any, body: Any) -> dict[str, Any]:
    return {
        "Channel": "EMAIL",
        "MessageId": message_id,
        "From": source,
        "To": to,
        "Subject": None if subject is None else str(subject),
        "Body": body,
        "Details": None,
    }


def _platform_payload(message: str, platform: str) -> Any:
    """The platform's own payload out of an SNS message (MessageStructure json: per-platform strings)."""
    try:
        document = json.loads(message)
    except ValueError:
        return message
    if isinstance(document, dict) and platform in document:
        inner = document[platform]
        try:
            return json.loads(inner) if isinstance(inner, str) else inner
        except ValueError:
            return inner
    return document


def _push_text(payload: Any) -> tuple[str | None, str | None]:
    """(title, body) as the device would show them, from an APNs, FCM, ADM or Baidu payload."""
    if not isinstance(payload, dict):
        return None, None if payload is None else str(payload)
    aps = payload.get("aps")
    if isinstance(aps, dict):
        alert = aps.get("alert")
        if isinstance(alert, dict):
            return alert.get("title"), alert.get("body")
        return None, None if alert is None else str(alert)
    for key in ("notification", "data"):
        part = payload.get(key)
        if isinstance(part, dict) and ("title" in part or "body" in part):
            return part.get("title"), part.get("body")
    if "title" in payload or "description" in payload:
        return payload.get("title"), payload.get("description")
    return None, None


def _looks_html(body: str) -> bool:
    return "<" in body and ">" in body


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _backends(backend_dict: Any) -> list[Any]:
    """Every (account, region) backend moto has created so far."""
    found = []
    for regions in list(backend_dict.values()):
        found += [backend for _, backend in list(regions.items())]
    return found
