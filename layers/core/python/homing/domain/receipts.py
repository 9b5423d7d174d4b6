"""Delivery receipts, pure: an SES v2 event or an End User Messaging SMS/voice event, as its
configuration set's event destination publishes it, turned into Pinpoint's event-stream record
(pinpoint-formats.md §1.6-1.8) and, for a hard bounce or a complaint, the address to deactivate.

The receipt finds its app, endpoint and campaign or journey in the carrier tags the sender put on
the message (``homing.domain.messages.carrier_tags``); a receipt without Homing's app tag belongs
to another sender on the same configuration set and is ignored.

What is *not* turned into a record, because the send itself already emitted it (the dispatcher's
send event, issue 9 part M) and a second one would count the message twice in the KPIs: SES
``Send``, End User Messaging's intermediate ``TEXT_QUEUED``/``TEXT_PENDING`` and a non-final
``TEXT_SUCCESSFUL``, and the voice call's progress (``VOICE_INITIATED``/``RINGING``/``ANSWERED``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

from homing.domain.analytics import MAX_EVENT_MS, MIN_EVENT_MS
from homing.domain.messages import EMAIL, from_carrier_tags

EVENT_VERSION = "3.1"
MILLICENTS_PER_USD = 100_000  # price_in_millicents_usd: thousandths of a US cent

# SES eventType -> Pinpoint event type and its `feedback` word (pinpoint-formats.md §1.6).
_EMAIL = {
    "Delivery": ("_email.delivered", "delivered"),
    "Open": ("_email.open", "opened"),
    "Click": ("_email.click", ""),  # feedback is the clicked link
    "Complaint": ("_email.complaint", "complaint"),
    "Reject": ("_email.rejected", "rejected"),
    "Rendering Failure": ("_email.rendering_failure", "rendering_failure"),
}
_BOUNCE = {"Permanent": ("_email.hardbounce", "hardbounce")}  # Transient and Undetermined: soft
_SOFT_BOUNCE = ("_email.softbounce", "softbounce")
EMAIL_SKIPPED = frozenset({"Send", "DeliveryDelay", "Subscription"})

# End User Messaging SMS event types -> Pinpoint's event type and record_status (§1.7).
_SMS_FAILURES = {
    "TEXT_BLOCKED": "BLOCKED",
    "TEXT_CARRIER_BLOCKED": "CARRIER_BLOCKED",
    "TEXT_CARRIER_UNREACHABLE": "CARRIER_UNREACHABLE",
    "TEXT_INVALID": "INVALID",
    "TEXT_INVALID_MESSAGE": "INVALID_MESSAGE",
    "TEXT_SPAM": "SPAM",
    "TEXT_TTL_EXPIRED": "TTL_EXPIRED",
    "TEXT_UNREACHABLE": "UNREACHABLE",
    "TEXT_UNKNOWN": "UNKNOWN",
    "TEXT_MAX_PRICE_EXCEEDED": "MAX_PRICE_EXCEEDED",
    "TEXT_OPTED_OUT": "OPTED_OUT",
    "TEXT_PROTECT_BLOCKED": "BLOCKED",
}
SMS_SKIPPED = frozenset({"TEXT_QUEUED", "TEXT_PENDING"})
# Voice: Pinpoint streamed no voice events (§1.8); Homing names them `_voice.success`/`_voice.failure`.
_VOICE_FAILURES = frozenset({"VOICE_BUSY", "VOICE_NO_ANSWER", "VOICE_FAILED", "VOICE_TTL_EXPIRED"})
VOICE_SKIPPED = frozenset({"VOICE_INITIATED", "VOICE_RINGING", "VOICE_ANSWERED"})


@dataclass(frozen=True)
class Receipt:
    """What one receipt comes to: the stream record, and the addresses it proves dead."""

    app_id: str
    record: dict[str, object] | None
    deactivate: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (channel, address)


def _ms(value: object, name: str) -> int:
    """Unix ms from a number or an ISO 8601 string, within the years process_events counts."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        ms = int(value)
    elif isinstance(value, str):
        ms = int(datetime.fromisoformat(value).timestamp() * 1000)
    else:
        raise ValueError(f"{name} must be a time")
    if not MIN_EVENT_MS <= ms < MAX_EVENT_MS:
        raise ValueError(f"{name} is out of range")
    return ms


def _map(value: object, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    return value


def _envelope(
    event_type: str, app_id: str, client_id: str, timestamp_ms: int, arrival_ms: int, event_id: str
) -> dict[str, object]:
    return {
        "event_type": event_type,
        "event_timestamp": timestamp_ms,
        "arrival_timestamp": arrival_ms,
        "event_version": EVENT_VERSION,
        "event_id": event_id,
        "application": {"app_id": app_id, "sdk": {}},
        "client": {"client_id": client_id},
        "device": {"platform": {}},
        "session": {},
    }


def _transactional_client(message_id: str) -> str:
    """Pinpoint gives a transactional send (no endpoint) a UUID; derived here, so a replay repeats it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"homing:{message_id}"))


def from_event(message: Mapping[str, Any], arrival_ms: int) -> Receipt | None:
    """The receipt an SNS notification carries: SES (``eventType`` + ``mail``) or End User Messaging
    (``eventType`` TEXT_*/VOICE_*). None for one Homing did not send or does not record; ValueError
    for one that is malformed."""
    kind = message.get("eventType")
    if not isinstance(kind, str) or not kind:
        raise ValueError("eventType must be a non-empty string")
    try:
        if "mail" in message:
            return email_receipt(message, arrival_ms)
        if kind.startswith("TEXT_"):
            return sms_receipt(message, arrival_ms)
        if kind.startswith("VOICE_"):
            return voice_receipt(message, arrival_ms)
    except (KeyError, TypeError, IndexError, AttributeError, OverflowError) as exc:
        raise ValueError(f"malformed {kind[:40]!r} receipt: {type(exc).__name__}") from None
    raise ValueError(f"unknown receipt type {kind[:40]!r}")


def email_receipt(message: Mapping[str, Any], arrival_ms: int) -> Receipt | None:
    """An SES event-publishing record (https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html)."""
    kind = str(message["eventType"])
    mail = _map(message.get("mail"), "mail")
    tags = {str(k): str(v[0]) for k, v in _map(mail.get("tags"), "mail.tags").items() if isinstance(v, list) and v}
    app_id, endpoint_id, context = from_carrier_tags(tags)
    if app_id is None or kind in EMAIL_SKIPPED:
        return None
    message_id = str(mail.get("messageId") or "")
    if not message_id:
        raise ValueError("mail.messageId is missing")
    detail_key = "failure" if kind == "Rendering Failure" else kind[0].lower() + kind[1:]
    detail = _map(message.get(detail_key), detail_key)
    deactivate: tuple[tuple[str, str], ...] = ()
    if kind == "Bounce":
        event_type, feedback = _BOUNCE.get(str(detail.get("bounceType")), _SOFT_BOUNCE)
        if event_type == "_email.hardbounce":
            deactivate = _recipients(detail.get("bouncedRecipients"))
    elif kind in _EMAIL:
        event_type, feedback = _EMAIL[kind]
        if kind == "Click":
            feedback = str(detail.get("link") or "")
        if kind == "Complaint":
            deactivate = _recipients(detail.get("complainedRecipients"))
    else:
        raise ValueError(f"unknown SES event type {kind[:40]!r}")
    sent_ms = _ms(mail.get("timestamp"), "mail.timestamp")
    record = _envelope(
        event_type,
        app_id,
        endpoint_id or _transactional_client(message_id),
        sent_ms,  # Pinpoint: every event of an email carries its send time
        arrival_ms,
        f"{message_id}:{event_type}:{str(detail.get('timestamp') or '')[:40]}",
    )
    attributes = {**context, "feedback": feedback, "message_id": message_id}
    record["attributes"] = attributes
    record["metrics"] = {}
    record["client_context"] = {"custom": {"legacy_identifier": app_id}}
    record["facets"] = {
        "email_channel": {"mail_event": {"mail": _mail(mail, message_id, sent_ms), **_detail(kind, detail)}}
    }
    if isinstance(mail.get("sendingAccountId"), str):
        record["awsAccountId"] = mail["sendingAccountId"]
    return Receipt(app_id, record, deactivate)


def _recipients(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    found = [str(r["emailAddress"]) for r in value if isinstance(r, dict) and r.get("emailAddress")]
    return tuple((EMAIL, _bare_address(a)) for a in found)


def _bare_address(value: str) -> str:
    """``Name <a@example.org>`` -> ``a@example.org`` (SES reports recipients as they were addressed)."""
    if "<" in value and value.rstrip().endswith(">"):
        return value[value.rindex("<") + 1 : value.rstrip().rindex(">")].strip()
    return value.strip()


def _mail(mail: dict[str, Any], message_id: str, sent_ms: int) -> dict[str, object]:
    common = _map(mail.get("commonHeaders"), "mail.commonHeaders")
    headers = mail.get("headers") if isinstance(mail.get("headers"), list) else []
    return {
        "message_id": message_id,
        "message_send_timestamp": sent_ms,
        "from_address": str(mail.get("source") or ""),
        "destination": [str(d) for d in mail.get("destination") or []],
        "headers_truncated": bool(mail.get("headersTruncated", False)),
        "headers": [
            {"name": str(h.get("name")), "value": str(h.get("value"))} for h in headers or [] if isinstance(h, dict)
        ],
        "common_headers": {
            "from": (common.get("from") or [""])[0] if isinstance(common.get("from"), list) else "",
            "to": [str(t) for t in common.get("to") or []] if isinstance(common.get("to"), list) else [],
            "subject": str(common.get("subject") or ""),
        },
    }


def _detail(kind: str, d: dict[str, Any]) -> dict[str, object]:
    """The per-type object of ``facets.email_channel.mail_event``, snake_case as Pinpoint's (§1.6)."""
    if kind == "Delivery":
        return {
            "delivery": {
                "smtp_response": str(d.get("smtpResponse") or ""),
                "reporting_mta": str(d.get("reportingMTA") or ""),
                "recipients": [str(r) for r in d.get("recipients") or []],
                "processing_time_millis": int(d.get("processingTimeMillis") or 0),
            }
        }
    if kind == "Open":
        return {"open": {"ip_address": str(d.get("ipAddress") or ""), "user_agent": str(d.get("userAgent") or "")}}
    if kind == "Click":
        tags = _map(d.get("linkTags"), "click.linkTags")
        return {
            "click": {
                "ip_address": str(d.get("ipAddress") or ""),
                "user_agent": str(d.get("userAgent") or ""),
                "link": str(d.get("link") or ""),
                "link_tags": {str(k): [str(v) for v in vs] for k, vs in tags.items() if isinstance(vs, list)},
            }
        }
    if kind == "Reject":
        return {"reject": {"reason": str(d.get("reason") or "")}}
    if kind == "Bounce":
        return {
            "bounce": {
                "bounce_type": str(d.get("bounceType") or ""),
                "bounce_sub_type": str(d.get("bounceSubType") or ""),
                "bounced_recipients": [
                    {
                        "email_address": str(r.get("emailAddress") or ""),
                        "action": str(r.get("action") or ""),
                        "status": str(r.get("status") or ""),
                        "diagnostic_code": str(r.get("diagnosticCode") or ""),
                    }
                    for r in d.get("bouncedRecipients") or []
                    if isinstance(r, dict)
                ],
                "feedback_id": str(d.get("feedbackId") or ""),
                "reporting_mta": str(d.get("reportingMTA") or ""),
            }
        }
    if kind == "Complaint":
        return {
            "complaint": {
                "complained_recipients": [
                    {"email_address": str(r.get("emailAddress") or "")}
                    for r in d.get("complainedRecipients") or []
                    if isinstance(r, dict)
                ],
                "feedback_id": str(d.get("feedbackId") or ""),
                "user_agent": str(d.get("userAgent") or ""),
                "complaint_feedback_type": str(d.get("complaintFeedbackType") or ""),
            }
        }
    if kind == "Rendering Failure":
        return {"rendering_failure": {"error_message": str(d.get("errorMessage") or "")}}
    return {}


def _carrier(message: Mapping[str, Any]) -> tuple[str | None, str | None, dict[str, str]]:
    context = _map(message.get("context"), "context")
    return from_carrier_tags({str(k): str(v) for k, v in context.items()})


def sms_receipt(message: Mapping[str, Any], arrival_ms: int) -> Receipt | None:
    """An End User Messaging SMS event (https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-format.html)."""
    kind = str(message["eventType"])
    app_id, endpoint_id, context = _carrier(message)
    if app_id is None or kind in SMS_SKIPPED:
        return None
    if kind in ("TEXT_DELIVERED", "TEXT_SUCCESSFUL"):
        if kind == "TEXT_SUCCESSFUL" and message.get("isFinal") is not True:
            return None  # accepted by the carrier; the delivery receipt follows
        event_type, status = "_SMS.SUCCESS", "DELIVERED" if kind == "TEXT_DELIVERED" else "SUCCESSFUL"
    elif kind in _SMS_FAILURES:
        event_type, status = "_SMS.FAILURE", _SMS_FAILURES[kind]
    else:
        event_type, status = "_SMS.FAILURE", str(message.get("messageStatus") or "UNKNOWN")
    message_id = str(message.get("messageId") or "")
    if not message_id:
        raise ValueError("messageId is missing")
    ts = _ms(message.get("eventTimestamp"), "eventTimestamp")
    message_type = str(message.get("messageType") or "TRANSACTIONAL")
    attributes = {
        **context,
        "message_id": message_id,
        "origination_phone_number": str(message.get("originationPhoneNumber") or ""),
        "destination_phone_number": str(message.get("destinationPhoneNumber") or ""),
        "record_status": status,
        "iso_country_code": str(message.get("isoCountryCode") or ""),
        "number_of_message_parts": str(int(message.get("totalMessageParts") or 1)),
        "message_type": message_type.capitalize(),  # Pinpoint's stream: Transactional / Promotional
    }
    attributes.setdefault("treatment_id", "0")
    if message.get("messageStatusDescription"):
        attributes["status_description"] = str(message["messageStatusDescription"])[:256]
    record = _envelope(
        event_type, app_id, endpoint_id or _transactional_client(message_id), ts, arrival_ms, f"{message_id}:{kind}"
    )
    record["attributes"] = attributes
    record["metrics"] = _price(message)
    return Receipt(app_id, record)


def voice_receipt(message: Mapping[str, Any], arrival_ms: int) -> Receipt | None:
    """An End User Messaging voice event: final outcomes only (``_voice.success``/``_voice.failure``)."""
    kind = str(message["eventType"])
    app_id, endpoint_id, context = _carrier(message)
    if app_id is None or kind in VOICE_SKIPPED:
        return None
    if kind == "VOICE_COMPLETED":
        event_type = "_voice.success"
    elif kind in _VOICE_FAILURES:
        event_type = "_voice.failure"
    else:
        raise ValueError(f"unknown voice event type {kind[:40]!r}")
    message_id = str(message.get("messageId") or "")
    if not message_id:
        raise ValueError("messageId is missing")
    ts = _ms(message.get("eventTimestamp"), "eventTimestamp")
    record = _envelope(
        event_type, app_id, endpoint_id or _transactional_client(message_id), ts, arrival_ms, f"{message_id}:{kind}"
    )
    record["attributes"] = {
        **context,
        "message_id": message_id,
        "origination_phone_number": str(message.get("originationPhoneNumber") or ""),
        "destination_phone_number": str(message.get("destinationPhoneNumber") or ""),
        "record_status": kind.removeprefix("VOICE_"),
    }
    metrics = _price(message)
    duration = message.get("totalDurationSeconds")
    if _amount(duration):
        metrics["duration_seconds"] = float(duration)
    record["metrics"] = metrics
    return Receipt(app_id, record)


def _price(message: Mapping[str, Any]) -> dict[str, float]:
    """``totalMessagePrice`` (USD) as Pinpoint's ``price_in_millicents_usd`` metric, when present."""
    price = message.get("totalMessagePrice")
    if _amount(price):
        return {"price_in_millicents_usd": round(float(price) * MILLICENTS_PER_USD, 3)}
    return {}


def _amount(value: object) -> TypeGuard[int | float]:
    """A finite, non-negative number below a trillion (NaN or 1e400 would poison the aggregates)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e12
