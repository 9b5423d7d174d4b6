"""SendOTPMessage / VerifyOTPMessage: a code sent through the app's channel, then checked once.

The code is generated here, MACed (``CodeMac``: KMS in the deployment) and only the MAC is stored,
scoped by (app, ReferenceId, DestinationIdentity); the message goes out as one ``Delivery`` through
the dispatcher every direct send shares. Verifying spends one attempt with a write conditional on
what was read, so attempts and single use hold under concurrent verifies (docs/decisions.md).

The channels and the dispatcher are other families' services; this module names only the little it
uses of them (``Channels``, ``Dispatcher``), so it is tested with doubles and wired in bootstrap.
"""

from __future__ import annotations

import hmac
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from homing.adapters.dynamodb.otp import OtpRepository
from homing.domain import otp as rules
from homing.domain.errors import BadRequest, Conflict
from homing.domain.messages import (
    SMS,
    VOICE,
    Content,
    Delivery,
    DeliveryResult,
    EmailContent,
    SmsContent,
    VoiceContent,
)
from homing.observability import logger
from homing.services.apps import AppService
from homing.services.retry import WRITE_ATTEMPTS, back_off


class ChannelSettings(Protocol):
    """What OTP reads of a channel (the channels family's ``Channel``)."""

    @property
    def enabled(self) -> bool: ...

    @property
    def sender_id(self) -> str | None: ...


class Channels(Protocol):
    """The channels family's ``ChannelService``: the app's enabled channels by ChannelType."""

    def enabled(self, app_id: str) -> Mapping[str, ChannelSettings]: ...


class Dispatcher(Protocol):
    """The senders' ``Dispatcher``: sends each delivery once per ``Delivery.key``."""

    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]: ...


class CodeMac(Protocol):
    """A keyed MAC (``homing.adapters.kms.KmsMac``)."""

    def mac(self, message: bytes) -> bytes: ...


class OtpService:
    def __init__(
        self,
        apps: AppService,
        repo: OtpRepository,
        mac: CodeMac,
        *,
        channels: Channels,
        dispatcher: Dispatcher,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._apps, self._repo, self._mac = apps, repo, mac
        self._channels, self._dispatcher, self._clock = channels, dispatcher, clock
        self._rng, self._sleep = rng or random.Random(), sleep

    def send(self, app_id: str, request: rules.OtpRequest) -> rules.OtpSent:
        self._apps.require(app_id)
        channel = self._channels.enabled(app_id).get(request.channel)
        if channel is None or not channel.enabled:
            raise BadRequest(f"The {request.channel} channel is not enabled for application {app_id}")
        code = rules.new_code(request.code_length)
        send_id = uuid.uuid4().hex
        now = int(self._clock().timestamp())
        stored = rules.StoredCode(
            mac=self._digest(app_id, request.reference_id, request.destination, code),
            attempts_left=request.allowed_attempts,
            expires_at=now + 60 * request.validity_minutes,
            send_id=send_id,
        )
        # Stored before it is sent, so a code the recipient has is always one that can be verified.
        self._repo.replace(app_id, rules.entry_key(request.reference_id, request.destination), stored)
        delivery = Delivery(
            app_id=app_id,
            channel=request.channel,
            address=request.destination,
            key=f"otp:{send_id}",
            content=_content(request, code, channel),
            context={"reference_id": request.reference_id},
        )
        [result] = self._dispatcher.send_all([delivery])
        logger.info(
            "otp sent",
            extra={"application_id": app_id, "channel": request.channel, "delivery_status": result.status},
        )
        return rules.OtpSent(app_id, request.destination, result)

    def verify(self, app_id: str, verification: rules.Verification) -> bool:
        """True once for the right code of an unexpired send with attempts left; False otherwise."""
        self._apps.require(app_id)
        entry = rules.entry_key(verification.reference_id, verification.destination)
        candidate: str | None = None  # MACed once, and only when there is a code to compare with
        for attempt in range(WRITE_ATTEMPTS):
            stored = self._repo.get(app_id, entry)
            now = int(self._clock().timestamp())
            if stored is None or not stored.usable(now):
                return False
            if candidate is None:
                candidate = self._digest(app_id, verification.reference_id, verification.destination, verification.otp)
            matched = hmac.compare_digest(candidate, stored.mac)
            if self._repo.use(app_id, entry, stored, matched=matched, now=now):
                return matched
            back_off(attempt, self._rng, self._sleep)  # a concurrent verify or send changed it: read again
        raise Conflict("The one-time password is being verified by other requests; retry the request")

    def _digest(self, app_id: str, reference_id: str, destination: str, code: str) -> str:
        return self._mac.mac(rules.mac_input(app_id, reference_id, destination, code)).hex()


def _content(request: rules.OtpRequest, code: str, channel: ChannelSettings) -> Content:
    if request.channel == SMS:
        return SmsContent(
            body=rules.message_text(request, code),
            message_type="TRANSACTIONAL",
            origination_number=request.origination,
            sender_id=channel.sender_id,
            entity_id=request.entity_id,
            template_id=request.template_id,
        )
    if request.channel == VOICE:
        return VoiceContent(
            body=rules.spoken_text(request, code),
            language_code=request.language,
            origination_number=request.origination,
        )
    return EmailContent(  # EMAIL, the last of rules.CHANNELS
        from_address=request.origination,
        subject=f"Your One Time Password from {request.brand_name}",
        text_body=rules.message_text(request, code),
    )
