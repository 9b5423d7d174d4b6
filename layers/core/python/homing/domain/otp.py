"""One-time password rules, pure: SendOTPMessage's parameters, the code, its message and its scope.

A code belongs to (app, ReferenceId, DestinationIdentity). It is never stored: the table keeps a MAC
of the scope and the code under a key that never leaves KMS (docs/decisions.md, "OTP codes"), with
the attempts left and the expiry. Ranges are Pinpoint's (developer guide, "Generate one-time
passwords"): CodeLength 5-8 digits, ValidityPeriod 5-60 minutes, AllowedAttempts at most 5,
BrandName up to 20 characters. The defaults are not documented; Homing's are below.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from homing.domain.errors import BadRequest
from homing.domain.messages import EMAIL, SMS, VOICE, DeliveryResult

CODE_LENGTHS = range(5, 9)
VALIDITY_MINUTES = range(5, 61)
ALLOWED_ATTEMPTS = range(1, 6)
DEFAULT_CODE_LENGTH = 6
DEFAULT_VALIDITY_MINUTES = 15
DEFAULT_ALLOWED_ATTEMPTS = 3
MAX_BRAND_NAME = 20
MAX_REFERENCE_ID = 48
MAX_IDENTITY = 320  # an email address at most; a phone number is far shorter
MAX_DLT_ID = 64  # India DLT entity and template ids (19 digits in practice)
# Pinpoint takes SMS only; VOICE and EMAIL are Homing's extension over the same senders.
CHANNELS = (SMS, VOICE, EMAIL)
# The languages Pinpoint's OTP accepts (the same list as SNS's SMS sandbox OTP, LanguageCodeString).
LANGUAGES = frozenset(
    {
        "de-DE",
        "en-GB",
        "en-US",
        "es-419",
        "es-ES",
        "fr-CA",
        "fr-FR",
        "it-IT",
        "ja-JP",
        "ko-KR",
        "pt-BR",
        "zh-CN",
        "zh-TW",
    }
)
DEFAULT_LANGUAGE = "en-US"
# Pinpoint's message template, as its developer guide gives it. Its translations for the other
# languages are not published: every language gets this text (docs/decisions.md).
SMS_TEMPLATE = "This is your One Time Password: {otp} from {brand}"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class OtpRequest:
    """SendOTPMessage's parameters, checked."""

    brand_name: str
    channel: str
    destination: str
    origination: str
    reference_id: str
    code_length: int = DEFAULT_CODE_LENGTH
    validity_minutes: int = DEFAULT_VALIDITY_MINUTES
    allowed_attempts: int = DEFAULT_ALLOWED_ATTEMPTS
    language: str = DEFAULT_LANGUAGE
    entity_id: str | None = None
    template_id: str | None = None


@dataclass(frozen=True)
class StoredCode:
    """The stored side of a code: its MAC, what is left of it, and which send made it."""

    mac: str  # hex
    attempts_left: int
    expires_at: int  # epoch seconds
    send_id: str
    verified: bool = False

    def usable(self, now: int) -> bool:
        return not self.verified and self.attempts_left > 0 and now < self.expires_at


def _text(value: object, field: str, max_length: int, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise BadRequest(f"{field} is required")
        return None
    return _required(value, field, max_length)


def _required(value: object, field: str, max_length: int) -> str:
    if value is None or value == "":
        raise BadRequest(f"{field} is required")
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if len(value) > max_length:
        raise BadRequest(f"{field} must be at most {max_length} characters")
    return value


def _number(value: object, field: str, allowed: range, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise BadRequest(f"{field} must be an integer from {allowed.start} to {allowed.stop - 1}")
    return value


def check_destination(channel: str, destination: str, field: str = "DestinationIdentity") -> str:
    if channel == EMAIL:
        if not EMAIL_ADDRESS.match(destination):
            raise BadRequest(f"{field} must be an email address for the EMAIL channel")
    elif not E164.match(destination):
        raise BadRequest(f"{field} must be a phone number in E.164 format (+ and up to 15 digits)")
    return destination


def _origination(channel: str, origination: str) -> str:
    """The From address (EMAIL) or the origination number, sender id, pool or ARN (SMS, VOICE) as sent."""
    if channel == EMAIL and not EMAIL_ADDRESS.match(origination):
        raise BadRequest("OriginationIdentity must be an email address (the From address) for the EMAIL channel")
    return origination


def otp_request(
    *,
    brand_name: object,
    channel: object,
    destination: object,
    origination: object,
    reference_id: object,
    code_length: object = None,
    validity_period: object = None,
    allowed_attempts: object = None,
    language: object = None,
    entity_id: object = None,
    template_id: object = None,
) -> OtpRequest:
    """SendOTPMessage's parameters as sent (JSON values), checked in full: a 400 naming the field."""
    brand = _required(brand_name, "BrandName", MAX_BRAND_NAME)
    kind = _required(channel, "Channel", 16)
    if kind not in CHANNELS:
        raise BadRequest(f"Channel must be one of {', '.join(CHANNELS)}")
    lang = _text(language, "Language", 16, required=False) or DEFAULT_LANGUAGE
    if lang not in LANGUAGES:
        raise BadRequest(f"Language must be one of {', '.join(sorted(LANGUAGES))}")
    return OtpRequest(
        brand_name=brand,
        channel=kind,
        destination=check_destination(kind, _required(destination, "DestinationIdentity", MAX_IDENTITY)),
        origination=_origination(kind, _required(origination, "OriginationIdentity", MAX_IDENTITY)),
        reference_id=_required(reference_id, "ReferenceId", MAX_REFERENCE_ID),
        code_length=_number(code_length, "CodeLength", CODE_LENGTHS, DEFAULT_CODE_LENGTH),
        validity_minutes=_number(validity_period, "ValidityPeriod", VALIDITY_MINUTES, DEFAULT_VALIDITY_MINUTES),
        allowed_attempts=_number(allowed_attempts, "AllowedAttempts", ALLOWED_ATTEMPTS, DEFAULT_ALLOWED_ATTEMPTS),
        language=lang,
        entity_id=_text(entity_id, "EntityId", MAX_DLT_ID, required=False),
        template_id=_text(template_id, "TemplateId", MAX_DLT_ID, required=False),
    )


@dataclass(frozen=True)
class OtpSent:
    """SendOTPMessage's outcome: the destination's delivery result."""

    application_id: str
    destination: str
    result: DeliveryResult


@dataclass(frozen=True)
class Verification:
    """VerifyOTPMessage's parameters, checked."""

    destination: str
    otp: str
    reference_id: str


def verification(*, destination: object, otp: object, reference_id: object) -> Verification:
    code = _required(otp, "Otp", 16)
    return Verification(
        destination=_required(destination, "DestinationIdentity", MAX_IDENTITY),
        otp=code,
        reference_id=_required(reference_id, "ReferenceId", MAX_REFERENCE_ID),
    )


def new_code(length: int) -> str:
    """``length`` random digits (leading zeros kept), from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def entry_key(reference_id: str, destination: str) -> str:
    """The item's sort key within the app: a digest, so the table holds no address in clear."""
    return hashlib.sha256(f"{reference_id}\x00{destination}".encode()).hexdigest()


def mac_input(app_id: str, reference_id: str, destination: str, code: str) -> bytes:
    """What is MACed: the code bound to its scope, so a MAC copied to another scope is worthless."""
    return "\x00".join(("homing-otp-v1", app_id, reference_id, destination, code)).encode()


def message_text(request: OtpRequest, code: str) -> str:
    return SMS_TEMPLATE.format(otp=code, brand=request.brand_name)


def spoken_text(request: OtpRequest, code: str) -> str:
    """For a voice call, the digits one by one (a text-to-speech engine reads 123456 as a number)."""
    return SMS_TEMPLATE.format(otp=" ".join(code), brand=request.brand_name)
