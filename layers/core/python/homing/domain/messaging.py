"""Direct messaging, pure: SendMessages/SendUsersMessages requests, which message each channel gets
(Pinpoint's precedence), per-recipient overrides, the content handed to the senders, the results
Homing answers without a send, and the engagement records a send puts on the events stream.

Precedence, field by field, lowest first (docs/decisions.md, "Direct messaging"):
``DefaultMessage`` < the template (for push: its ``Default`` part < its platform part) <
``DefaultPushNotificationMessage`` (push only) < the channel's own message (``EmailMessage``,
``SMSMessage``, ``VoiceMessage``, ``APNSMessage``/``GCMMessage``/``ADMMessage``/``BaiduMessage``) <
the recipient's ``BodyOverride``/``TitleOverride``/``RawContent``. Substitutions merge the same way
(``DefaultMessage`` < channel message < recipient), over the template's default substitutions.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from homing.codec import build, pascal
from homing.domain.errors import BadRequest
from homing.domain.events import encode_record
from homing.domain.messages import (
    ADM,
    APNS,
    APNS_SANDBOX,
    APNS_VOIP,
    APNS_VOIP_SANDBOX,
    BAIDU,
    EMAIL,
    GCM,
    OPT_OUT,
    PERMANENT_FAILURE,
    PUSH_CHANNELS,
    SMS,
    SUCCESSFUL,
    UNKNOWN_FAILURE,
    VOICE,
    Content,
    Delivery,
    DeliveryResult,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
)

MAX_RECIPIENTS = 100  # Pinpoint: up to 100 recipients (addresses and endpoints, or users) per request
SENDABLE_CHANNELS = frozenset({EMAIL, SMS, VOICE, *PUSH_CHANNELS})
PHONE_CHANNELS = frozenset({SMS, VOICE})
SMS_MESSAGE_TYPES = frozenset({"TRANSACTIONAL", "PROMOTIONAL"})
ACTIONS = frozenset({"OPEN_APP", "DEEP_LINK", "URL"})
PLATFORM_OF = {
    APNS: "apns", APNS_SANDBOX: "apns", APNS_VOIP: "apns", APNS_VOIP_SANDBOX: "apns",
    GCM: "gcm", ADM: "adm", BAIDU: "baidu",
}  # fmt: skip
PLATFORM_MESSAGE_FIELD = {"apns": "APNSMessage", "gcm": "GCMMessage", "adm": "ADMMessage", "baidu": "BaiduMessage"}

# Pinpoint's JSON names that PascalCase of the snake name does not give.
_WIRE_NAMES = {
    "sms_message": "SMSMessage",
    "apns_message": "APNSMessage",
    "gcm_message": "GCMMessage",
    "adm_message": "ADMMessage",
    "sms_template": "SMSTemplate",
}


def wire_name(name: str) -> str:
    return _WIRE_NAMES.get(name) or pascal(name)


Substitutions = dict[str, list[str]]

# --- the request ---------------------------------------------------------------------------------


@dataclass
class EmailPart:
    charset: str | None = None
    data: str | None = None


@dataclass
class MessageHeader:
    name: str | None = None
    value: str | None = None


@dataclass
class SimpleEmail:
    subject: EmailPart | None = None
    html_part: EmailPart | None = None
    text_part: EmailPart | None = None
    headers: list[MessageHeader] | None = None


@dataclass
class RawEmail:
    data: str | None = None  # base64 of the MIME message (a blob on the wire)


@dataclass
class EmailMessage:
    body: str | None = None
    feedback_forwarding_address: str | None = None
    from_address: str | None = None
    raw_email: RawEmail | None = None
    reply_to_addresses: list[str] | None = None
    simple_email: SimpleEmail | None = None
    substitutions: Substitutions | None = None


@dataclass
class SmsMessage:
    body: str | None = None
    keyword: str | None = None
    media_url: str | None = None
    message_type: str | None = None
    origination_number: str | None = None
    sender_id: str | None = None
    substitutions: Substitutions | None = None
    entity_id: str | None = None
    template_id: str | None = None


@dataclass
class VoiceMessage:
    body: str | None = None
    language_code: str | None = None
    origination_number: str | None = None
    substitutions: Substitutions | None = None
    voice_id: str | None = None


@dataclass
class DefaultMessage:
    body: str | None = None
    substitutions: Substitutions | None = None


@dataclass
class PushMessage:
    """DefaultPushNotificationMessage and the platform messages (APNS, GCM, ADM, Baidu): the members
    Homing's push sender uses; the platforms' other members are accepted and not used."""

    action: str | None = None
    body: str | None = None
    data: dict[str, str] | None = None
    silent_push: bool | None = None
    substitutions: Substitutions | None = None
    title: str | None = None
    url: str | None = None
    image_url: str | None = None
    media_url: str | None = None
    raw_content: str | None = None
    sound: str | None = None
    time_to_live: int | None = None
    priority: str | None = None
    badge: int | None = None


@dataclass
class DirectMessageConfiguration:
    default_message: DefaultMessage | None = None
    default_push_notification_message: PushMessage | None = None
    email_message: EmailMessage | None = None
    sms_message: SmsMessage | None = None
    voice_message: VoiceMessage | None = None
    apns_message: PushMessage | None = None
    gcm_message: PushMessage | None = None
    adm_message: PushMessage | None = None
    baidu_message: PushMessage | None = None


@dataclass
class TemplateRef:
    name: str | None = None
    version: str | None = None


@dataclass
class TemplateConfiguration:
    email_template: TemplateRef | None = None
    push_template: TemplateRef | None = None
    sms_template: TemplateRef | None = None
    voice_template: TemplateRef | None = None
    in_app_template: TemplateRef | None = None


@dataclass
class SendConfiguration:
    """An AddressConfiguration (with its ChannelType) or an EndpointSendConfiguration."""

    body_override: str | None = None
    channel_type: str | None = None
    context: dict[str, str] | None = None
    raw_content: str | None = None
    substitutions: Substitutions | None = None
    title_override: str | None = None


@dataclass
class MessageRequest:
    """SendMessages' body, and SendUsersMessages' (whose recipients are ``users``)."""

    addresses: dict[str, SendConfiguration] | None = None
    endpoints: dict[str, SendConfiguration] | None = None
    users: dict[str, SendConfiguration] | None = None
    message_configuration: DirectMessageConfiguration | None = None
    template_configuration: TemplateConfiguration | None = None
    context: dict[str, str] | None = None
    trace_id: str | None = None


def parse_message_request(body: Mapping[str, Any], *, users: bool) -> MessageRequest:
    """SendMessages' MessageRequest (``users=False``) or SendUsersMessages' request, checked: a 400 names the field."""
    known = {"Users"} if users else {"Addresses", "Endpoints"}
    data = {
        k: v
        for k, v in body.items()
        if k in known | {"MessageConfiguration", "TemplateConfiguration", "Context", "TraceId"}
    }
    request = build(MessageRequest, data, key_of=wire_name)
    check_message_request(request, users=users)
    return request


def check_message_request(request: MessageRequest, *, users: bool) -> None:
    if request.message_configuration is None:
        raise BadRequest("MessageConfiguration is required")
    if users:
        if not request.users:
            raise BadRequest("Users is required and must map user ids to send configurations")
        if len(request.users) > MAX_RECIPIENTS:
            raise BadRequest(f"Users: at most {MAX_RECIPIENTS} users per request ({len(request.users)} sent)")
        for user_id in request.users:
            if not user_id:
                raise BadRequest("Users: a user id must not be empty")
    else:
        addresses, endpoints = request.addresses or {}, request.endpoints or {}
        if not addresses and not endpoints:
            raise BadRequest("Addresses or Endpoints is required")
        total = len(addresses) + len(endpoints)
        if total > MAX_RECIPIENTS:
            raise BadRequest(f"Addresses, Endpoints: at most {MAX_RECIPIENTS} recipients per request ({total} sent)")
        for address, config in addresses.items():
            path = f"Addresses.{address}"
            if not address.strip():
                raise BadRequest("Addresses: an address must not be empty")
            if config.channel_type is None:
                raise BadRequest(f"{path}.ChannelType is required")
            if config.channel_type not in SENDABLE_CHANNELS:
                raise BadRequest(
                    f"{path}.ChannelType must be one of {', '.join(sorted(SENDABLE_CHANNELS))} for a direct message"
                )
        for endpoint_id in endpoints:
            if not endpoint_id:
                raise BadRequest("Endpoints: an endpoint id must not be empty")
    _check_configuration(request.message_configuration)
    _check_templates(request.template_configuration)


def _check_configuration(config: DirectMessageConfiguration) -> None:
    path = "MessageConfiguration"
    if config.sms_message and config.sms_message.message_type not in (None, *SMS_MESSAGE_TYPES):
        raise BadRequest(f"{path}.SMSMessage.MessageType must be TRANSACTIONAL or PROMOTIONAL")
    pushes = {"DefaultPushNotificationMessage": config.default_push_notification_message}
    pushes |= {PLATFORM_MESSAGE_FIELD[p]: getattr(config, f"{p}_message") for p in PLATFORM_MESSAGE_FIELD}
    for name, push in pushes.items():
        if push is not None and push.action not in (None, *ACTIONS):
            raise BadRequest(f"{path}.{name}.Action must be one of OPEN_APP, DEEP_LINK, URL")
        if push is not None and push.time_to_live is not None and push.time_to_live < 0:
            raise BadRequest(f"{path}.{name}.TimeToLive must not be negative")
    email = config.email_message
    if email and email.raw_email and email.raw_email.data is not None:
        try:
            base64.b64decode(email.raw_email.data, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"{path}.EmailMessage.RawEmail.Data must be base64") from None
    for name in ("default_message", "email_message", "sms_message", "voice_message"):
        _check_substitutions(getattr(getattr(config, name), "substitutions", None), f"{path}.{wire_name(name)}")
    for name, push in pushes.items():
        _check_substitutions(push.substitutions if push else None, f"{path}.{name}")


def _check_substitutions(subs: Substitutions | None, path: str) -> None:
    for name in subs or {}:
        if not name:
            raise BadRequest(f"{path}.Substitutions: a variable name must not be empty")


def _check_templates(templates: TemplateConfiguration | None) -> None:
    if templates is None:
        return
    if templates.in_app_template is not None:  # Pinpoint: "not supported for SendMessages"
        raise BadRequest("TemplateConfiguration.InAppTemplate is not supported for direct messages")
    for name in ("email_template", "push_template", "sms_template", "voice_template", "in_app_template"):
        ref = getattr(templates, name)
        if ref is not None and not ref.name:
            raise BadRequest(f"TemplateConfiguration.{wire_name(name)}.Name is required")


def template_field(channel: str) -> str:
    """The TemplateConfiguration member a channel's template comes from."""
    return {EMAIL: "email_template", SMS: "sms_template", VOICE: "voice_template"}.get(channel, "push_template")


# --- templates, as the service hands them over (from the template records) -----------------------


@dataclass(frozen=True)
class EmailTemplateContent:
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    defaults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TextTemplateContent:
    """An SMS or voice template."""

    body: str | None = None
    language_code: str | None = None
    voice_id: str | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushPart:
    action: str | None = None
    title: str | None = None
    body: str | None = None
    url: str | None = None
    image_url: str | None = None
    sound: str | None = None
    raw_content: str | None = None


@dataclass(frozen=True)
class PushTemplateContent:
    default: PushPart | None = None
    platforms: Mapping[str, PushPart] = field(default_factory=dict)  # apns, gcm, adm, baidu
    defaults: Mapping[str, str] = field(default_factory=dict)


TemplateContent = EmailTemplateContent | TextTemplateContent | PushTemplateContent


# --- the channel's origination settings (copied into each delivery) ------------------------------


@dataclass(frozen=True)
class Origination:
    from_address: str | None = None
    configuration_set: str | None = None
    sender_id: str | None = None
    short_code: str | None = None
    platform_application_arn: str | None = None


# --- one channel's message, before a recipient's overrides and rendering ---------------------------


@dataclass(frozen=True)
class ChannelMessage:
    """What one channel sends, resolved by precedence; text fields are template sources (rendered per recipient)."""

    channel: str
    subject: str | None = None  # email subject, push title
    body: str | None = None  # SMS/voice body, push body, email text part
    html: str | None = None  # email HTML part
    raw: str | None = None  # email RawEmail.Data (base64), push RawContent
    url: str | None = None
    image_url: str | None = None
    action: str | None = None
    sound: str | None = None
    silent: bool = False
    data: Mapping[str, str] = field(default_factory=dict)
    time_to_live: int | None = None
    priority: str | None = None
    badge: int | None = None
    from_address: str | None = None
    reply_to: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    feedback_forwarding_address: str | None = None
    message_type: str = "TRANSACTIONAL"
    origination_number: str | None = None
    sender_id: str | None = None
    keyword: str | None = None
    entity_id: str | None = None
    template_id: str | None = None
    language_code: str | None = None
    voice_id: str | None = None
    substitutions: Mapping[str, list[str]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)

    def has_content(self) -> bool:
        return any(v for v in (self.subject, self.body, self.html, self.raw))


def _first(*values: Any) -> Any:
    """The highest-precedence value given: arguments run from highest to lowest."""
    return next((v for v in values if v is not None), None)


def _merged(*maps: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """Substitutions merged lowest first: a later map replaces a variable of an earlier one."""
    out: dict[str, list[str]] = {}
    for m in maps:
        out.update(m or {})
    return out


def resolve_message(
    channel: str, config: DirectMessageConfiguration, template: TemplateContent | None
) -> ChannelMessage:
    """The message ``channel`` gets from the request's configuration and its template, by Pinpoint's precedence."""
    default = config.default_message or DefaultMessage()
    if channel == EMAIL:
        return _email_message(config.email_message or EmailMessage(), default, template)
    if channel == SMS:
        sms = config.sms_message or SmsMessage()
        text = template if isinstance(template, TextTemplateContent) else TextTemplateContent()
        return ChannelMessage(
            channel=channel,
            body=_first(sms.body, text.body, default.body),
            message_type=sms.message_type or "TRANSACTIONAL",
            origination_number=sms.origination_number,
            sender_id=sms.sender_id,
            keyword=sms.keyword,
            entity_id=sms.entity_id,
            template_id=sms.template_id,
            substitutions=_merged(default.substitutions, sms.substitutions),
            defaults=text.defaults,
        )
    if channel == VOICE:
        voice = config.voice_message or VoiceMessage()
        text = template if isinstance(template, TextTemplateContent) else TextTemplateContent()
        return ChannelMessage(
            channel=channel,
            body=_first(voice.body, text.body, default.body),
            language_code=_first(voice.language_code, text.language_code),
            voice_id=_first(voice.voice_id, text.voice_id),
            origination_number=voice.origination_number,
            substitutions=_merged(default.substitutions, voice.substitutions),
            defaults=text.defaults,
        )
    return _push_message(channel, config, default, template)


def _email_message(email: EmailMessage, default: DefaultMessage, template: TemplateContent | None) -> ChannelMessage:
    tpl = template if isinstance(template, EmailTemplateContent) else EmailTemplateContent()
    simple = email.simple_email or SimpleEmail()
    headers = tpl.headers + tuple((h.name, h.value) for h in simple.headers or () if h.name and h.value is not None)

    def part(p: EmailPart | None) -> str | None:
        return p.data if p is not None else None

    return ChannelMessage(
        channel=EMAIL,
        subject=_first(part(simple.subject), tpl.subject),
        html=_first(part(simple.html_part), tpl.html),
        body=_first(part(simple.text_part), tpl.text, email.body, default.body),
        raw=email.raw_email.data if email.raw_email else None,
        from_address=email.from_address,
        reply_to=tuple(email.reply_to_addresses or ()),
        headers=headers,
        feedback_forwarding_address=email.feedback_forwarding_address,
        substitutions=_merged(default.substitutions, email.substitutions),
        defaults=tpl.defaults,
    )


def _push_message(
    channel: str, config: DirectMessageConfiguration, default: DefaultMessage, template: TemplateContent | None
) -> ChannelMessage:
    platform = PLATFORM_OF[channel]
    tpl = template if isinstance(template, PushTemplateContent) else PushTemplateContent()
    parts = [p for p in (tpl.default, tpl.platforms.get(platform)) if p is not None]  # lowest first
    layers: list[PushMessage] = [
        PushMessage(
            action=p.action, title=p.title, body=p.body, url=p.url, image_url=p.image_url,
            sound=p.sound, raw_content=p.raw_content,
        )
        for p in parts
    ]  # fmt: skip
    for own in (config.default_push_notification_message, getattr(config, f"{platform}_message")):
        if own is not None:
            layers.append(own)
    top = list(reversed(layers))  # highest first

    def pick(name: str) -> Any:
        return _first(*(getattr(layer, name) for layer in top))

    data: dict[str, str] = {}
    for layer in layers:
        data.update(layer.data or {})
    return ChannelMessage(
        channel=channel,
        subject=pick("title"),
        body=_first(pick("body"), default.body),
        raw=pick("raw_content"),
        url=pick("url"),
        image_url=_first(pick("image_url"), pick("media_url")),
        action=pick("action"),
        sound=pick("sound"),
        silent=bool(pick("silent_push")),
        data=data,
        time_to_live=pick("time_to_live"),
        priority=pick("priority"),
        badge=pick("badge"),
        substitutions=_merged(default.substitutions, *(layer.substitutions for layer in layers)),
        defaults=tpl.defaults,
    )


def missing_message(channel: str) -> str:
    """Why a channel has nothing to send, naming what the request would need."""
    if channel == EMAIL:
        return "MessageConfiguration.EmailMessage (or TemplateConfiguration.EmailTemplate) is required for EMAIL"
    if channel in PUSH_CHANNELS:
        field_name = PLATFORM_MESSAGE_FIELD[PLATFORM_OF[channel]]
        return (
            f"MessageConfiguration.{field_name}, DefaultPushNotificationMessage or DefaultMessage "
            f"(or TemplateConfiguration.PushTemplate) is required for {channel}"
        )
    field_name = {SMS: "SMSMessage", VOICE: "VoiceMessage"}[channel]
    template = {SMS: "SMSTemplate", VOICE: "VoiceTemplate"}[channel]
    return (
        f"MessageConfiguration.{field_name} or DefaultMessage (or TemplateConfiguration.{template}) "
        f"is required for {channel}"
    )


def for_recipient(message: ChannelMessage, config: SendConfiguration) -> ChannelMessage:
    """The recipient's overrides, applied last: BodyOverride, TitleOverride, RawContent (push), Substitutions."""
    changes: dict[str, Any] = {"substitutions": _merged(message.substitutions, config.substitutions)}
    if config.body_override is not None:
        changes["body"] = config.body_override
        if message.channel == EMAIL and message.html is not None:
            changes["html"] = config.body_override
    if config.title_override is not None:
        changes["subject"] = config.title_override
    if config.raw_content is not None and message.channel in PUSH_CHANNELS:
        changes["raw"] = config.raw_content
    return replace(message, **changes)


def merged_context(request: MessageRequest, config: SendConfiguration) -> dict[str, str]:
    """The request's Context, with the recipient's on top."""
    return {**(request.context or {}), **(config.context or {})}


Render = Callable[[str | None], str | None]


def build_content(message: ChannelMessage, origination: Origination, render: Render) -> Content:
    """The content one recipient's sender gets: ``render`` fills each text source with the recipient's values."""
    if message.channel == EMAIL:
        return EmailContent(
            from_address=message.from_address or origination.from_address or "",
            subject=render(message.subject),
            html_body=render(message.html),
            text_body=render(message.body),
            raw_message=message.raw,
            reply_to=list(message.reply_to),
            headers=dict(message.headers),
            configuration_set=origination.configuration_set,
            feedback_forwarding_address=message.feedback_forwarding_address,
        )
    if message.channel == SMS:
        return SmsContent(
            body=render(message.body) or "",
            message_type=message.message_type,
            origination_number=message.origination_number or origination.short_code,
            sender_id=message.sender_id or origination.sender_id,
            keyword=message.keyword,
            entity_id=message.entity_id,
            template_id=message.template_id,
            configuration_set=origination.configuration_set,
        )
    if message.channel == VOICE:
        body = render(message.body) or ""
        return VoiceContent(
            body=body,
            language_code=message.language_code or "en-US",
            voice_id=message.voice_id,
            origination_number=message.origination_number,
            ssml=body.lstrip().startswith("<speak"),
        )
    return PushContent(
        platform_application_arn=origination.platform_application_arn or "",
        action=message.action,
        title=render(message.subject),
        body=render(message.body),
        url=render(message.url),
        image_url=message.image_url,
        sound=message.sound,
        silent=message.silent,
        data=dict(message.data),
        raw_content=render(message.raw),
        time_to_live=message.time_to_live,
        priority=message.priority,
        badge=message.badge,
    )


def delivery_key(request_id: str, *recipient: str) -> str:
    """The idempotency key of one recipient's delivery in one request: a retried step never re-sends."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "\x1f".join(("homing-send", request_id, *recipient))))


# --- results Homing answers without a send ---------------------------------------------------------

OPTED_OUT = DeliveryResult(OPT_OUT, 400, "The endpoint has opted out of all messages (OptOut is ALL)")
INACTIVE = DeliveryResult(PERMANENT_FAILURE, 400, "The endpoint is INACTIVE")
NOT_FOUND = DeliveryResult(PERMANENT_FAILURE, 404, "Endpoint not found")
NO_ADDRESS = DeliveryResult(PERMANENT_FAILURE, 400, "The endpoint has no Address")
NO_CHANNEL = DeliveryResult(PERMANENT_FAILURE, 400, "The endpoint has no ChannelType")
OUTCOME_UNKNOWN = DeliveryResult(UNKNOWN_FAILURE, 500, "The outcome of the send is not known")


def channel_not_enabled(channel: str) -> DeliveryResult:
    return DeliveryResult(PERMANENT_FAILURE, 400, f"The {channel} channel is not enabled for this application")


def unsupported_channel(channel: str) -> DeliveryResult:
    return DeliveryResult(PERMANENT_FAILURE, 400, f"Direct messages cannot be sent on the {channel} channel")


def no_message(channel: str) -> DeliveryResult:
    return DeliveryResult(PERMANENT_FAILURE, 400, missing_message(channel))


def invalid_phone_number() -> DeliveryResult:
    return DeliveryResult(PERMANENT_FAILURE, 400, "The address is not a valid phone number in E.164 form")


def phone_number(address: str) -> tuple[str, str | None] | None:
    """(E.164 form, ISO country) of an SMS or voice address, or None when it is not a possible phone
    number in international form (a leading ``+``): Pinpoint sends only to E.164 numbers."""
    import phonenumbers  # only sends to phones pay for its import

    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    # the number's own region where it is known, else its calling code's main one (+1 -> US, +44 -> GB)
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code or 0
    )
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region if region and region != "ZZ" else None,
    )


@dataclass(frozen=True)
class RecipientResult:
    """One recipient's outcome: the address it went to (or would have) and the result."""

    address: str | None
    result: DeliveryResult


@dataclass(frozen=True)
class MessageOutcome:
    """SendMessages' answer: per address, per endpoint id."""

    request_id: str
    addresses: dict[str, RecipientResult]
    endpoints: dict[str, RecipientResult]


@dataclass(frozen=True)
class UsersOutcome:
    """SendUsersMessages' answer: per user id, per endpoint id."""

    request_id: str
    users: dict[str, dict[str, RecipientResult]]


# --- engagement records (pinpoint-formats.md §1.6, §1.7) --------------------------------------------

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_parts(body: str) -> int:
    """How many parts an SMS is billed as: 160 GSM-7 septets (153 per part when split), else 70 UCS-2
    code units (67 per part)."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in body):
        septets = sum(2 if c in GSM_EXTENDED else 1 for c in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def _envelope(event_type: str, delivery: Delivery, client_id: str, now_ms: int, account_id: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_type": event_type,
        "event_timestamp": now_ms,
        "arrival_timestamp": now_ms,
        "event_version": "3.1",
        "event_id": f"{delivery.key}:{event_type}",
        "application": {"app_id": delivery.app_id, "sdk": {}},
        "client": {"client_id": client_id},
        "device": {"platform": {}},
        "session": {},
        "attributes": {},
    }
    if account_id:
        record["awsAccountId"] = account_id
    return record


MAX_RECORD_BYTES = 1_000_000  # a Kinesis record is at most 1 MiB, partition key included


def fit_record(record: dict[str, Any], limit: int = MAX_RECORD_BYTES) -> bytes | None:
    """The record's bytes within Kinesis's record size: an email's headers are dropped first
    (``headers_truncated``, as SES does with long headers); None if it still does not fit."""
    data = encode_record(record)
    mail = record.get("facets", {}).get("email_channel", {}).get("mail_event", {}).get("mail")
    if len(data) > limit and mail is not None:
        mail["headers"], mail["headers_truncated"] = [], True
        mail["common_headers"].pop("subject", None)
        data = encode_record(record)
    return data if len(data) <= limit else None


def engagement_record(
    delivery: Delivery,
    result: DeliveryResult,
    *,
    request_id: str,
    now_ms: int,
    account_id: str = "",
    country: str | None = None,
) -> dict[str, Any] | None:
    """The event-stream record Pinpoint emits for one transactional send, or None where it emits none:
    ``_email.send`` for an email SES accepted; ``_SMS.BUFFERED`` for an SMS the carrier accepted and
    ``_SMS.FAILURE`` for one it refused (none when the outcome is unknown); voice and push sends are
    not streamed (§1.1, §1.8, §1.9)."""
    client_id = delivery.endpoint_id or delivery.key  # transactional address sends: a UUID (the key is one)
    content = delivery.content
    if isinstance(content, EmailContent):
        if result.status != SUCCESSFUL:
            return None
        record = _envelope("_email.send", delivery, client_id, now_ms, account_id)
        record["attributes"] = {**delivery.context, "feedback": "received"}
        record["client_context"] = {"custom": {"legacy_identifier": delivery.app_id}}
        headers = [{"name": k, "value": v} for k, v in content.headers.items()]
        common: dict[str, Any] = {"from": content.from_address, "to": [delivery.address]}
        if content.subject is not None:
            common["subject"] = content.subject
            headers.append({"name": "Subject", "value": content.subject})
        record["facets"] = {
            "email_channel": {
                "mail_event": {
                    "mail": {
                        "message_id": result.message_id or "",
                        "message_send_timestamp": now_ms,
                        "from_address": content.from_address,
                        "destination": [delivery.address],
                        "headers_truncated": False,
                        "headers": headers,
                        "common_headers": common,
                    },
                    "send": {},
                }
            }
        }
        return record
    if isinstance(content, SmsContent):
        if result.status == UNKNOWN_FAILURE:  # it may have gone: neither a buffered send nor a failure
            return None
        ok = result.status == SUCCESSFUL
        record = _envelope("_SMS.BUFFERED" if ok else "_SMS.FAILURE", delivery, client_id, now_ms, account_id)
        attributes = {
            "sender_request_id": request_id,
            "message_id": result.message_id or delivery.key,
            "destination_phone_number": delivery.address,
            "record_status": "SUCCESSFUL" if ok else "UNKNOWN",
            "iso_country_code": country or "",
            "number_of_message_parts": str(sms_parts(content.body)),
            "message_type": content.message_type.capitalize(),
        }
        origination = content.origination_number or content.sender_id
        if origination:
            attributes["origination_phone_number"] = origination
        if delivery.context:
            attributes["customer_context"] = json.dumps(delivery.context, separators=(",", ":"), sort_keys=True)
        record["attributes"] = {k: v for k, v in attributes.items() if v != ""}
        record["metrics"] = {}
        return record
    return None
