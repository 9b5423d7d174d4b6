"""SendMessages and SendUsersMessages: resolve each recipient, render its message, send through the
dispatcher in-process, answer per recipient, and put the sends' engagement records on the events stream.

Everything that can refuse the request (its shape, the app, the templates, a channel with no message
for an address) is settled before the first send, so a rejected request sends and writes nothing.
The collaborators are the small Protocols below (templates, channels, rendering, the dispatcher),
so this module depends on no other part's code; ``homing.bootstrap`` wires the real ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from homing.domain.endpoints import Endpoint
from homing.domain.errors import BadRequest, HomingError
from homing.domain.events import partition_key
from homing.domain.keys import check_endpoint_key, check_user_id
from homing.domain.messages import Delivery, DeliveryResult
from homing.domain.messaging import (
    INACTIVE,
    NO_ADDRESS,
    NO_CHANNEL,
    NOT_FOUND,
    OPTED_OUT,
    OUTCOME_UNKNOWN,
    PHONE_CHANNELS,
    SENDABLE_CHANNELS,
    ChannelMessage,
    EmailTemplateContent,
    MessageOutcome,
    MessageRequest,
    Origination,
    PushPart,
    PushTemplateContent,
    RecipientResult,
    SendConfiguration,
    TemplateContent,
    TextTemplateContent,
    UsersOutcome,
    build_content,
    channel_not_enabled,
    delivery_key,
    engagement_record,
    fit_record,
    for_recipient,
    invalid_phone_number,
    merged_context,
    missing_message,
    no_message,
    phone_number,
    resolve_message,
    template_field,
    unsupported_channel,
)
from homing.observability import logger
from homing.services.apps import AppService

# --- what this service needs from the other parts (their owners keep these names) ------------------


class Channel(Protocol):
    """A channel's settings (ChannelService)."""

    @property
    def channel_type(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def from_address(self) -> str | None: ...
    @property
    def configuration_set(self) -> str | None: ...
    @property
    def sender_id(self) -> str | None: ...
    @property
    def short_code(self) -> str | None: ...
    @property
    def platform_application_arn(self) -> str | None: ...


class Channels(Protocol):
    def enabled(self, app_id: str) -> Mapping[str, Channel]:
        """Every enabled channel of the app, by channel type."""
        ...


class Templates(Protocol):
    def resolve(self, name: str, template_type: str, version: str | None = None) -> Any:
        """The template record (EmailTemplate, SmsTemplate, VoiceTemplate, PushTemplate); NotFound if absent."""
        ...


class Rendering(Protocol):
    """``homing.domain.rendering``: Handlebars with Pinpoint's helpers."""

    def render(self, source: str, values: Mapping[str, Any]) -> str: ...

    def variables(
        self,
        endpoint: Endpoint | None,
        endpoint_id: str | None,
        substitutions: Mapping[str, Sequence[str]],
        defaults: Mapping[str, str],
    ) -> Mapping[str, Any]: ...


class Dispatcher(Protocol):
    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]:
        """One result per delivery, in order; idempotent by ``Delivery.key``."""
        ...


class Endpoints(Protocol):
    """What this service reads of endpoints (EndpointService)."""

    def find_many(self, app_id: str, endpoint_ids: Iterable[str]) -> dict[str, Endpoint]: ...
    def get_user_endpoints(self, app_id: str, user_id: str) -> list[Endpoint]: ...


class EventPublisher(Protocol):
    def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]:
        """Put (partition key, data) records on the events stream; True where a record was stored."""
        ...


# --- the use cases ---------------------------------------------------------------------------------

TEMPLATE_TYPES = {"email_template": "EMAIL", "sms_template": "SMS", "voice_template": "VOICE", "push_template": "PUSH"}


@dataclass
class _Planned:
    """One recipient: either a result known without a send, or the delivery to make."""

    address: str | None
    result: DeliveryResult | None = None
    delivery: Delivery | None = None
    country: str | None = None


class MessagingService:
    def __init__(
        self,
        apps: AppService,
        endpoints: Endpoints,
        *,
        templates: Templates,
        channels: Channels,
        rendering: Rendering,
        dispatcher: Dispatcher,
        publisher: Callable[[], EventPublisher],
        clock: Callable[[], datetime],
        account_id: str = "",
    ) -> None:
        self._apps, self._endpoints, self._templates, self._channels = apps, endpoints, templates, channels
        self._rendering, self._dispatcher, self._publisher = rendering, dispatcher, publisher
        self._clock, self._account_id = clock, account_id

    def send_messages(self, app_id: str, request: MessageRequest, request_id: str) -> MessageOutcome:
        self._apps.require(app_id)
        request_id = request_id or str(uuid.uuid4())
        send = _Send(self, app_id, request, request_id)
        addresses = request.addresses or {}
        for address, config in addresses.items():  # an address's channel is the caller's: a 400 if it has no message
            assert config.channel_type is not None
            if not send.message(config.channel_type).has_content():
                raise BadRequest(f"Addresses.{address}.ChannelType: {missing_message(config.channel_type)}")
        planned_addresses = {
            address: send.plan(config.channel_type or "", address, None, config, ("address", address))
            for address, config in addresses.items()
        }
        found = self._find(app_id, list(request.endpoints or {}))
        planned_endpoints = {
            endpoint_id: send.plan_endpoint(found.get(endpoint_id), config, ("endpoint", endpoint_id))
            for endpoint_id, config in (request.endpoints or {}).items()
        }
        send.run([*planned_addresses.values(), *planned_endpoints.values()])
        return MessageOutcome(
            request_id,
            {a: _result(p) for a, p in planned_addresses.items()},
            {e: _result(p) for e, p in planned_endpoints.items()},
        )

    def send_users_messages(self, app_id: str, request: MessageRequest, request_id: str) -> UsersOutcome:
        self._apps.require(app_id)
        request_id = request_id or str(uuid.uuid4())
        send = _Send(self, app_id, request, request_id)
        planned: dict[str, dict[str, _Planned]] = {}
        for user_id, config in (request.users or {}).items():
            planned[user_id] = {
                endpoint.id: send.plan_endpoint(endpoint, config, ("user", user_id, endpoint.id))
                for endpoint in self._user_endpoints(app_id, user_id)
            }
        send.run([p for endpoints in planned.values() for p in endpoints.values()])
        return UsersOutcome(request_id, {u: {e: _result(p) for e, p in eps.items()} for u, eps in planned.items()})

    def _find(self, app_id: str, endpoint_ids: list[str]) -> dict[str, Endpoint]:
        """The endpoints that exist, in one batched read; an id no key can hold names no endpoint."""
        valid = []
        for endpoint_id in endpoint_ids:
            try:
                check_endpoint_key(endpoint_id)
            except BadRequest:
                continue
            valid.append(endpoint_id)
        return self._endpoints.find_many(app_id, valid) if valid else {}

    def _user_endpoints(self, app_id: str, user_id: str) -> list[Endpoint]:
        """A user no endpoint names has no endpoints to send to: an empty result, as for any unknown user."""
        try:
            check_user_id(user_id)
            return self._endpoints.get_user_endpoints(app_id, user_id)
        except HomingError:
            return []


class _Send:
    """One request's sending: templates and channels read once, each recipient planned, then one dispatch."""

    def __init__(self, svc: MessagingService, app_id: str, request: MessageRequest, request_id: str) -> None:
        self.svc, self.app_id, self.request, self.request_id = svc, app_id, request, request_id
        self.templates = self._load_templates()
        self.enabled = dict(svc._channels.enabled(app_id))
        self._messages: dict[str, ChannelMessage] = {}

    def _load_templates(self) -> dict[str, TemplateContent]:
        """Each named template, read once; a missing one is the request's 404 (NotFound), before any send."""
        out: dict[str, TemplateContent] = {}
        config = self.request.template_configuration
        if config is None:
            return out
        for name, template_type in TEMPLATE_TYPES.items():
            ref = getattr(config, name)
            if ref is None or not ref.name:
                continue
            record = self.svc._templates.resolve(ref.name, template_type, ref.version)
            out[name] = template_content(template_type, record)
        return out

    def message(self, channel: str) -> ChannelMessage:
        if channel not in self._messages:
            config = self.request.message_configuration
            assert config is not None
            self._messages[channel] = resolve_message(channel, config, self.templates.get(template_field(channel)))
        return self._messages[channel]

    def plan_endpoint(
        self, endpoint: Endpoint | None, config: SendConfiguration, recipient: tuple[str, ...]
    ) -> _Planned:
        if endpoint is None:
            return _Planned(None, NOT_FOUND)
        if endpoint.opt_out == "ALL":
            return _Planned(endpoint.address, OPTED_OUT)
        if endpoint.endpoint_status == "INACTIVE":
            return _Planned(endpoint.address, INACTIVE)
        if not endpoint.channel_type:
            return _Planned(endpoint.address, NO_CHANNEL)
        if not endpoint.address:
            return _Planned(None, NO_ADDRESS)
        return self.plan(endpoint.channel_type, endpoint.address, endpoint, config, recipient)

    def plan(
        self,
        channel: str,
        address: str,
        endpoint: Endpoint | None,
        config: SendConfiguration,
        recipient: tuple[str, ...],
    ) -> _Planned:
        if channel not in SENDABLE_CHANNELS:
            return _Planned(address, unsupported_channel(channel))
        settings = self.enabled.get(channel)
        if settings is None or not settings.enabled:
            return _Planned(address, channel_not_enabled(channel))
        message = self.message(channel)
        if not message.has_content():
            return _Planned(address, no_message(channel))
        to, country = address, None
        if channel in PHONE_CHANNELS:
            normal = phone_number(address)
            if normal is None:
                return _Planned(address, invalid_phone_number())
            to, country = normal
        message = for_recipient(message, config)
        values = self.svc._rendering.variables(
            endpoint, endpoint.id if endpoint else None, message.substitutions, message.defaults
        )
        render = self.svc._rendering.render

        def fill(source: str | None) -> str | None:
            return None if source is None else render(source, values)

        content = build_content(message, origination(settings), fill)
        delivery = Delivery(
            app_id=self.app_id,
            channel=channel,
            address=to,
            key=delivery_key(self.request_id, *recipient),
            content=content,
            endpoint_id=endpoint.id if endpoint else None,
            context=merged_context(self.request, config),
            trace_id=self.request.trace_id,
        )
        return _Planned(address, delivery=delivery, country=country)

    def run(self, planned: list[_Planned]) -> None:
        """One dispatch for every delivery, then the engagement records of the sends."""
        sending = [p for p in planned if p.delivery is not None]
        if not sending:
            return
        deliveries = [p.delivery for p in sending if p.delivery is not None]
        try:
            results = self.svc._dispatcher.send_all(deliveries)
        except Exception:  # some may have gone: a 5xx would have the SDK retry, under new keys, and send twice
            logger.exception("dispatch failed", extra={"app_id": self.app_id, "deliveries": len(deliveries)})
            results = [OUTCOME_UNKNOWN] * len(deliveries)
        for p, result in zip(sending, results, strict=True):
            p.result = result
        now_ms = int(self.svc._clock().timestamp() * 1000)
        records: list[tuple[str, bytes]] = []
        for p in sending:
            assert p.delivery is not None
            assert p.result is not None
            record = engagement_record(
                p.delivery,
                p.result,
                request_id=self.request_id,
                now_ms=now_ms,
                account_id=self.svc._account_id,
                country=p.country,
            )
            data = fit_record(record) if record is not None else None
            if record is not None and data is None:
                logger.warning("send event too large for the stream", extra={"app_id": self.app_id})
            if data is not None:
                records.append((partition_key(p.delivery.endpoint_id or p.delivery.key), data))
        if not records:
            return
        try:
            stored = self.svc._publisher().publish(records)
        except Exception:  # the messages went out: a 5xx would have the caller send them again
            logger.exception("send events not stored", extra={"app_id": self.app_id, "missing": len(records)})
            return
        if not all(stored):
            logger.warning("send events not stored", extra={"app_id": self.app_id, "missing": stored.count(False)})


def _result(planned: _Planned) -> RecipientResult:
    assert planned.result is not None
    return RecipientResult(planned.address, planned.result)


def origination(channel: Channel) -> Origination:
    return Origination(
        from_address=channel.from_address,
        configuration_set=channel.configuration_set,
        sender_id=channel.sender_id,
        short_code=channel.short_code,
        platform_application_arn=channel.platform_application_arn,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _defaults(record: Any) -> dict[str, str]:
    values = getattr(record, "default_substitutions", None) or {}
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, Mapping) else {}


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    """A template's headers, as (name, value) pairs: a map, or a list of pairs or of Name/Value records."""
    if isinstance(value, Mapping):
        return tuple((str(k), str(v)) for k, v in value.items())
    out = []
    for h in value or ():
        if isinstance(h, tuple | list) and len(h) == 2:
            out.append((str(h[0]), str(h[1])))
        elif isinstance(h, Mapping):
            name, val = h.get("Name", h.get("name")), h.get("Value", h.get("value"))
            if name is not None and val is not None:
                out.append((str(name), str(val)))
        elif getattr(h, "name", None) is not None and getattr(h, "value", None) is not None:
            out.append((str(h.name), str(h.value)))
    return tuple(out)


def _push_part(part: Any) -> PushPart | None:
    if part is None:
        return None
    return PushPart(**{name: _text(getattr(part, name, None)) for name in PushPart.__dataclass_fields__})


def template_content(template_type: str, record: Any) -> TemplateContent:
    """The domain's view of a template record (EmailTemplate, SmsTemplate, VoiceTemplate, PushTemplate)."""
    if template_type == "EMAIL":
        return EmailTemplateContent(
            subject=_text(getattr(record, "subject", None)),
            html=_text(getattr(record, "html_part", None)),
            text=_text(getattr(record, "text_part", None)),
            headers=_headers(getattr(record, "headers", None)),
            defaults=_defaults(record),
        )
    if template_type in ("SMS", "VOICE"):
        return TextTemplateContent(
            body=_text(getattr(record, "body", None)),
            language_code=_text(getattr(record, "language_code", None)),
            voice_id=_text(getattr(record, "voice_id", None)),
            defaults=_defaults(record),
        )
    platforms = {p: part for p in ("apns", "gcm", "adm", "baidu") if (part := _push_part(getattr(record, p, None)))}
    return PushTemplateContent(
        default=_push_part(getattr(record, "default", None)), platforms=platforms, defaults=_defaults(record)
    )
