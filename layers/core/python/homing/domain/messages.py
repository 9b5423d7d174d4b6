"""Messages, pure: one rendered message to one address (a ``Delivery``), what its send came to
(a ``DeliveryResult``), and the one interface every channel sender implements (``Sender``).

Direct sends (SendMessages, SendUsersMessages, OTP), campaigns and journeys all end here, so a
sender is written once per carrier (SES, End User Messaging SMS/voice, SNS, a customer's Lambda or
webhook) and reused unchanged. A ``Delivery`` carries everything its sender needs (the channel's
origination settings are copied in by whoever builds it), so a sender reads no table and a
delivery can cross a Step Functions task boundary as JSON (``homing.codec``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Protocol

# Pinpoint's ChannelType values.
EMAIL, SMS, VOICE = "EMAIL", "SMS", "VOICE"
APNS, APNS_SANDBOX, APNS_VOIP, APNS_VOIP_SANDBOX = "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX"
GCM, ADM, BAIDU = "GCM", "ADM", "BAIDU"
CUSTOM, IN_APP, PUSH = "CUSTOM", "IN_APP", "PUSH"
PUSH_CHANNELS = frozenset({APNS, APNS_SANDBOX, APNS_VOIP, APNS_VOIP_SANDBOX, GCM, ADM, BAIDU})

# Pinpoint's DeliveryStatus values (EndpointMessageResult / MessageResult).
SUCCESSFUL = "SUCCESSFUL"
THROTTLED = "THROTTLED"
TEMPORARY_FAILURE = "TEMPORARY_FAILURE"
PERMANENT_FAILURE = "PERMANENT_FAILURE"
UNKNOWN_FAILURE = "UNKNOWN_FAILURE"
OPT_OUT = "OPT_OUT"
DUPLICATE = "DUPLICATE"


@dataclass(frozen=True)
class EmailContent:
    """An email as SES v2 SendEmail takes it: simple (subject + HTML/text parts) or raw MIME."""

    from_address: str
    subject: str | None = None
    html_body: str | None = None
    text_body: str | None = None
    raw_message: str | None = None  # RawEmail.Data (base64 of the MIME message), instead of the parts
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    configuration_set: str | None = None  # the channel's, for SES event tracking
    feedback_forwarding_address: str | None = None


@dataclass(frozen=True)
class SmsContent:
    """A text message as End User Messaging SendTextMessage (or SNS Publish) takes it."""

    body: str
    message_type: str = "TRANSACTIONAL"  # or PROMOTIONAL
    origination_number: str | None = None  # a phone number, pool or ARN
    sender_id: str | None = None
    keyword: str | None = None
    entity_id: str | None = None  # India DLT registration
    template_id: str | None = None
    configuration_set: str | None = None


@dataclass(frozen=True)
class VoiceContent:
    """A voice message as End User Messaging SendVoiceMessage takes it."""

    body: str
    language_code: str = "en-US"
    voice_id: str | None = None
    origination_number: str | None = None
    ssml: bool = False


@dataclass(frozen=True)
class PushContent:
    """A push notification for one device token, sent through the channel's SNS platform application."""

    platform_application_arn: str
    action: str | None = None  # OPEN_APP, DEEP_LINK, URL
    title: str | None = None
    body: str | None = None
    url: str | None = None
    image_url: str | None = None
    sound: str | None = None
    silent: bool = False
    data: dict[str, str] = field(default_factory=dict)
    raw_content: str | None = None  # the platform payload, sent as it is
    time_to_live: int | None = None
    priority: str | None = None
    badge: int | None = None


@dataclass(frozen=True)
class CustomContent:
    """A custom-channel message: Pinpoint's payload posted to a customer's Lambda or HTTPS webhook."""

    destination: str  # a Lambda function ARN or an https:// URL
    data: str | None = None
    endpoints: dict[str, dict[str, object]] = field(default_factory=dict)  # endpoint id -> endpoint JSON


Content = EmailContent | SmsContent | VoiceContent | PushContent | CustomContent


@dataclass(frozen=True)
class Delivery:
    """One message to one address. ``key`` is its idempotency key: a send already made under that key
    (a retried task, a replayed batch) is never made again."""

    app_id: str
    channel: str
    address: str
    key: str
    content: Content
    endpoint_id: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    trace_id: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """What a send came to, in Pinpoint's terms (EndpointMessageResult / MessageResult)."""

    status: str
    status_code: int
    status_message: str
    message_id: str | None = None
    updated_token: str | None = None


class Sender(Protocol):
    """A channel sender: sends one delivery and says what came of it. It never raises for a carrier's
    refusal (that is a result: PERMANENT_FAILURE, THROTTLED, …); it retries throttling itself, a
    bounded number of times, before answering THROTTLED or TEMPORARY_FAILURE."""

    def send(self, delivery: Delivery) -> DeliveryResult: ...


# Carrier tags: every send is tagged (SES EmailTags, End User Messaging ``Context``, SNS message
# attributes) so that its delivery receipts (SES events, SMS status events) find their app, endpoint
# and campaign or journey again without a lookup. SES allows only [A-Za-z0-9_-] in tag names and
# values, so values are base32 (lower case, no padding): endpoint ids are the caller's own strings.
TAG_PREFIX = "homing_"
MAX_TAGGED_CONTEXT = 3  # End User Messaging allows 5 Context keys; app and endpoint take two


def _encode_tag(value: str) -> str:
    return base64.b32encode(value.encode()).decode().rstrip("=").lower()


def _decode_tag(value: str) -> str:
    padded = value.upper() + "=" * (-len(value) % 8)
    return base64.b32decode(padded).decode()


def carrier_tags(delivery: Delivery, context_keys: tuple[str, ...] = ()) -> dict[str, str]:
    """The tags a sender puts on the carrier's message: the app, the endpoint (when there is one) and
    up to MAX_TAGGED_CONTEXT named entries of the delivery's context (campaign_id, treatment_id, …)."""
    tags = {f"{TAG_PREFIX}app": _encode_tag(delivery.app_id)}
    if delivery.endpoint_id:
        tags[f"{TAG_PREFIX}endpoint"] = _encode_tag(delivery.endpoint_id)
    for key in context_keys[:MAX_TAGGED_CONTEXT]:
        if key in delivery.context and key.replace("_", "").isalnum():
            tags[f"{TAG_PREFIX}{key}"] = _encode_tag(delivery.context[key])
    return tags


def from_carrier_tags(tags: dict[str, str]) -> tuple[str | None, str | None, dict[str, str]]:
    """(app id, endpoint id, context) back from a receipt's tags; tags not written by Homing are ignored."""
    values: dict[str, str] = {}
    for name, value in tags.items():
        if name.startswith(TAG_PREFIX):
            try:
                values[name.removeprefix(TAG_PREFIX)] = _decode_tag(value)
            except (ValueError, UnicodeDecodeError):
                continue  # not ours after all: a receipt must never fail on a stranger's tag
    app, endpoint = values.pop("app", None), values.pop("endpoint", None)
    return app, endpoint, values
