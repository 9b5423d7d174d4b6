"""Campaign sends, pure: a treatment's message as the direct-message rules take it, Pinpoint's
``campaign_send_status`` of a send's result, and the ``_campaign.send`` record of one endpoint.

The campaign's ``MessageConfiguration`` (``domain/campaigns.py``) is mapped onto direct messages'
``DirectMessageConfiguration`` so that one set of rules (``domain/messaging.py``: precedence,
templates, content for the senders) serves SendMessages, campaigns and, later, journeys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from homing.codec import dump
from homing.domain import campaigns as cmp
from homing.domain import messaging as msg
from homing.domain.endpoints import Endpoint
from homing.domain.messages import (
    DUPLICATE,
    OPT_OUT,
    PERMANENT_FAILURE,
    SUCCESSFUL,
    TEMPORARY_FAILURE,
    THROTTLED,
    UNKNOWN_FAILURE,
    VOICE,
    DeliveryResult,
)

# Pinpoint's campaign_send_status values (pinpoint-formats.md §1.4).
SUCCESS: Final = "SUCCESS"
FAILURE: Final = "FAILURE"
DAILY_CAP: Final = "DAILY_CAP"
CAMPAIGN_CAP: Final = "CAMPAIGN_CAP"
EXPIRED: Final = "EXPIRED"
QUIET_TIME: Final = "QUIET_TIME"
HOLDOUT: Final = "HOLDOUT"
DUPLICATE_ADDRESS: Final = "DUPLICATE_ADDRESS"
FAILURE_PERMANENT: Final = "FAILURE_PERMANENT"
TRANSIENT_FAILURE: Final = "TRANSIENT_FAILURE"
STATUS_THROTTLED: Final = "THROTTLED"
UNKNOWN: Final = "UNKNOWN"
HOOK_FAILURE: Final = "HOOK_FAILURE"
UNSUPPORTED_CHANNEL: Final = "UNSUPPORTED_CHANNEL"

# Execution metrics' reasons (beside campaign_rules' ENDPOINT_OPT_OUT, ENDPOINT_INACTIVE, TREATMENT_HOLDOUT).
HOOK_FILTERED: Final = "ENDPOINT_FILTERED_BY_HOOK"

# The channels a campaign sends on itself (custom delivery and in-app messages are not sent here).
CAMPAIGN_CHANNELS: Final = msg.SENDABLE_CHANNELS - {VOICE}

_BY_RESULT = {
    SUCCESSFUL: SUCCESS,
    PERMANENT_FAILURE: FAILURE_PERMANENT,
    OPT_OUT: FAILURE_PERMANENT,
    TEMPORARY_FAILURE: TRANSIENT_FAILURE,
    THROTTLED: STATUS_THROTTLED,
    UNKNOWN_FAILURE: UNKNOWN,
    DUPLICATE: DUPLICATE_ADDRESS,
}


def send_status(result: DeliveryResult) -> str:
    """The ``campaign_send_status`` of a send's result (an unknown status is UNKNOWN)."""
    return _BY_RESULT.get(result.status, UNKNOWN)


# --- the treatment's message, as direct messages' rules take it ------------------------------------


def _push(message: cmp.PushMessage | None) -> msg.PushMessage | None:
    if message is None:
        return None
    return msg.PushMessage(
        action=message.action,
        body=message.body,
        silent_push=message.silent_push,
        title=message.title,
        url=message.url,
        image_url=message.image_url,
        media_url=message.media_url,
        raw_content=message.raw_content,
        time_to_live=message.time_to_live,
    )


def direct_configuration(config: cmp.MessageConfiguration | None) -> msg.DirectMessageConfiguration:
    """A campaign's MessageConfiguration in direct messages' terms: its ``DefaultMessage`` is the body
    every channel falls back to and the default push notification; ``EmailMessage.Title`` is the subject."""
    config = config or cmp.MessageConfiguration()
    default = config.default_message
    email = config.email_message
    sms = config.sms_message
    return msg.DirectMessageConfiguration(
        default_message=msg.DefaultMessage(body=default.body) if default is not None else None,
        default_push_notification_message=_push(default),
        email_message=None
        if email is None
        else msg.EmailMessage(
            from_address=email.from_address,
            simple_email=msg.SimpleEmail(
                subject=msg.EmailPart(data=email.title) if email.title is not None else None,
                html_part=msg.EmailPart(data=email.html_body) if email.html_body is not None else None,
                text_part=msg.EmailPart(data=email.body) if email.body is not None else None,
                headers=[msg.MessageHeader(h.name, h.value) for h in email.headers or ()],
            ),
        ),
        sms_message=None
        if sms is None
        else msg.SmsMessage(
            body=sms.body,
            message_type=sms.message_type,
            origination_number=sms.origination_number,
            sender_id=sms.sender_id,
            entity_id=sms.entity_id,
            template_id=sms.template_id,
        ),
        apns_message=_push(config.apns_message),
        gcm_message=_push(config.gcm_message),
        adm_message=_push(config.adm_message),
        baidu_message=_push(config.baidu_message),
    )


def template_ref(config: cmp.TemplateConfiguration | None, channel: str) -> cmp.TemplateRef | None:
    """The template a treatment names for ``channel`` (None: no template, or one without a name)."""
    if config is None:
        return None
    ref: cmp.TemplateRef | None = getattr(config, msg.template_field(channel), None)
    return ref if ref is not None and ref.name else None


# --- endpoints ------------------------------------------------------------------------------------

# What client_context.custom.endpoint leaves out: the app (the record names it) and the address
# (Pinpoint's examples do not carry it; a stream consumer that needs it reads the endpoint).
_EVENT_ENDPOINT_OMITS = ("ApplicationId", "Address", "CohortId", "CreationDate")


def endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    """The endpoint as Pinpoint's JSON (what a campaign hook receives)."""
    out: dict[str, Any] = dump(endpoint)
    return out


def event_endpoint(endpoint: Endpoint) -> str:
    """``client_context.custom.endpoint``: a JSON string of the endpoint as the campaign saw it."""
    shaped = {k: v for k, v in endpoint_json(endpoint).items() if k not in _EVENT_ENDPOINT_OMITS and k != "Id"}
    return json.dumps(shaped, separators=(",", ":"), sort_keys=True)


# --- the _campaign.send record --------------------------------------------------------------------


def campaign_attributes(
    campaign_id: str, activity_id: str, treatment_id: str, delivery_type: str, status: str | None = None
) -> dict[str, str]:
    attributes = {
        "campaign_id": campaign_id,
        "campaign_activity_id": activity_id,
        "treatment_id": treatment_id,
        "delivery_type": delivery_type,
    }
    if status is not None:
        attributes["campaign_send_status"] = status
    return attributes


def campaign_send_record(
    *,
    app_id: str,
    endpoint_id: str,
    event_id: str,
    attributes: Mapping[str, str],
    endpoint: str | None,
    now_ms: int,
    account_id: str = "",
) -> dict[str, Any]:
    """Pinpoint's ``_campaign.send`` record for one endpoint (pinpoint-formats.md §1.4). ``event_id``
    is derived from the send's delivery key, so a retried batch repeats the same event ids."""
    record: dict[str, Any] = {
        "event_type": "_campaign.send",
        "event_timestamp": now_ms,
        "arrival_timestamp": now_ms,
        "event_version": "3.1",
        "event_id": event_id,
        "application": {"app_id": app_id, "sdk": {}},
        "client": {"client_id": endpoint_id},
        "device": {"platform": {}},
        "session": {},
        "attributes": dict(attributes),
        "client_context": {"custom": {"endpoint": endpoint or "{}"}},
    }
    if account_id:
        record["awsAccountId"] = account_id
    return record


def with_campaign(record: dict[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """A channel's send record (``_email.send``, ``_SMS.BUFFERED``, …) with the campaign's attributes."""
    record["attributes"] = {**record.get("attributes", {}), **attributes}
    return record
