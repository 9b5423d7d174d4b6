"""Channels, pure: an app's configuration of one delivery platform (email, SMS, voice, the four APNs, FCM,
ADM, Baidu), how an Update*Channel request merges into it, and what is checked before it is stored.

A channel's credentials (APNs certificate and keys, the FCM service JSON or API key, ADM and Baidu
secrets) never live here in clear: the record holds them sealed (KMS ciphertext, base64) in
``credentials``, and a response only says whether they exist (HasCredential, HasTokenKey,
HasFcmServiceCredentials). A push channel is carried by an SNS platform application; its ARN is
kept on the record (``platform_application_arn``), never shown to Pinpoint clients.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from typing import Any

from homing.domain.errors import BadRequest
from homing.domain.messages import (
    ADM,
    APNS,
    APNS_SANDBOX,
    APNS_VOIP,
    APNS_VOIP_SANDBOX,
    BAIDU,
    EMAIL,
    GCM,
    PUSH_CHANNELS,
    SMS,
    VOICE,
)

# The path segment of each channel's routes (/v1/apps/<id>/channels/<segment>) -> its ChannelType.
PATHS: dict[str, str] = {
    "email": EMAIL,
    "sms": SMS,
    "voice": VOICE,
    "apns": APNS,
    "apns_sandbox": APNS_SANDBOX,
    "apns_voip": APNS_VOIP,
    "apns_voip_sandbox": APNS_VOIP_SANDBOX,
    "gcm": GCM,
    "baidu": BAIDU,
    "adm": ADM,
}
APNS_TYPES = frozenset({APNS, APNS_SANDBOX, APNS_VOIP, APNS_VOIP_SANDBOX})

# The request members each channel type takes besides Enabled (snake_case), split into plain
# settings and credentials (sealed before storage, never returned).
SETTINGS: dict[str, tuple[str, ...]] = {
    EMAIL: ("from_address", "identity", "configuration_set", "role_arn", "orchestration_sending_role_arn"),
    SMS: ("sender_id", "short_code"),
    VOICE: (),
    GCM: ("default_authentication_method",),
    ADM: ("client_id",),
    BAIDU: (),
    **dict.fromkeys(APNS_TYPES, ("bundle_id", "default_authentication_method", "team_id", "token_key_id")),
}
CREDENTIALS: dict[str, tuple[str, ...]] = {
    EMAIL: (),
    SMS: (),
    VOICE: (),
    GCM: ("api_key", "service_json"),
    ADM: ("client_secret",),
    BAIDU: ("api_key", "secret_key"),
    **dict.fromkeys(APNS_TYPES, ("certificate", "private_key", "token_key")),
}

# Authentication methods. APNs: a certificate (+ its private key) or a token key (.p8); Pinpoint
# documents the choice as "key or certificate" and clients send TOKEN or KEY for the key.
CERTIFICATE, TOKEN, KEY = "CERTIFICATE", "TOKEN", "KEY"
APNS_METHODS = frozenset({CERTIFICATE, TOKEN, KEY})
GCM_METHODS = frozenset({KEY, TOKEN})  # FCM: the legacy server key, or a service account's JSON (HTTP v1)

# KMS Encrypt takes at most 4096 bytes; each credential is sealed on its own.
MAX_CREDENTIAL_BYTES = 4096
# What Homing reports as sending rates (Pinpoint reports the account's: SES quota, SMS throughput).
EMAIL_MESSAGES_PER_SECOND = 1
SMS_MESSAGES_PER_SECOND = 20

EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SES_IDENTITY_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity/\S+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9-]{1,11}$")  # 1-11 characters, at least one letter
SHORT_CODE = re.compile(r"^\+?\d{3,15}$")
CONFIGURATION_SET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
APPLE_ID = re.compile(r"^[A-Za-z0-9]{10}$")  # team ids and key ids are 10 characters
BUNDLE_ID = re.compile(r"^[A-Za-z0-9.-]{1,155}$")
FCM_SERVICE_FIELDS = ("project_id", "private_key", "client_email")


def wire_name(name: str) -> str:
    """Pinpoint's member name of a snake_case field (api_key -> ApiKey)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass(frozen=True)
class Channel:
    """One channel of one app, as stored. ``credentials``: field -> sealed value (never returned)."""

    application_id: str
    channel_type: str
    enabled: bool = True
    version: int = 1
    creation_date: str = ""
    last_modified_date: str = ""
    last_modified_by: str | None = None
    is_archived: bool = False
    # EMAIL
    from_address: str | None = None
    identity: str | None = None
    configuration_set: str | None = None
    role_arn: str | None = None
    orchestration_sending_role_arn: str | None = None
    messages_per_second: int | None = None
    # SMS
    sender_id: str | None = None
    short_code: str | None = None
    promotional_messages_per_second: int | None = None
    transactional_messages_per_second: int | None = None
    # push
    default_authentication_method: str | None = None
    bundle_id: str | None = None
    team_id: str | None = None
    token_key_id: str | None = None
    client_id: str | None = None
    platform_application_arn: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def has_credential(self) -> bool:
        return bool(self.credentials)

    @property
    def has_token_key(self) -> bool:
        return "token_key" in self.credentials

    @property
    def has_fcm_service_credentials(self) -> bool:
        return "service_json" in self.credentials

    @property
    def is_push(self) -> bool:
        return self.channel_type in PUSH_CHANNELS


@dataclass(frozen=True)
class ChannelChange:
    """An Update*Channel request: only the members it sent. ``credentials`` are in clear, to be
    checked, sealed and handed to SNS, then dropped."""

    channel_type: str
    enabled: bool | None = None
    settings: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformCredentials:
    """What SNS's platform application needs: its PlatformPrincipal/PlatformCredential and, for APNs
    tokens, the team and bundle ids. Built only from credentials sent in the request."""

    attributes: dict[str, str]
    fields: tuple[str, ...]  # the request members they came from (named when SNS refuses them)


def parse_change(channel_type: str, body: dict[str, Any]) -> ChannelChange:
    """The members of an Update*Channel body this channel type takes, each checked for its type;
    members of other channel types are ignored, as Pinpoint's JSON binding ignores them."""
    enabled = body.get("Enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise BadRequest("Enabled must be a boolean")
    settings: dict[str, str] = {}
    credentials: dict[str, str] = {}
    for names, into in ((SETTINGS[channel_type], settings), (CREDENTIALS[channel_type], credentials)):
        for name in names:
            value = body.get(wire_name(name))
            if value is None:
                continue
            if not isinstance(value, str):
                raise BadRequest(f"{wire_name(name)} must be a string")
            into[name] = value
    return ChannelChange(channel_type, enabled, settings, credentials)


def _require(value: str | None, name: str, pattern: re.Pattern[str] | None = None, what: str = "") -> None:
    if not value or not value.strip():
        raise BadRequest(f"{wire_name(name)} is required")
    if pattern is not None and not pattern.match(value):
        raise BadRequest(f"{wire_name(name)} must be {what}")


def _optional(value: str | None, name: str, pattern: re.Pattern[str], what: str) -> None:
    if value and not pattern.match(value):
        raise BadRequest(f"{wire_name(name)} must be {what}")


def _check_email(c: Channel) -> None:
    address = parseaddr(c.from_address or "")[1] if c.from_address else ""
    _require(c.from_address, "from_address")
    if not EMAIL_ADDRESS.match(address):
        raise BadRequest("FromAddress must be an email address")
    _require(c.identity, "identity", SES_IDENTITY_ARN, "the ARN of an Amazon SES identity")
    _optional(c.configuration_set, "configuration_set", CONFIGURATION_SET, "the name of an SES configuration set")
    _optional(c.role_arn, "role_arn", ROLE_ARN, "the ARN of an IAM role")
    _optional(c.orchestration_sending_role_arn, "orchestration_sending_role_arn", ROLE_ARN, "the ARN of an IAM role")


def _check_sms(c: Channel) -> None:
    _optional(c.sender_id, "sender_id", SENDER_ID, "1 to 11 letters, digits or hyphens, at least one a letter")
    _optional(c.short_code, "short_code", SHORT_CODE, "a short code or phone number (3 to 15 digits)")


def _check_credential_sizes(change: ChannelChange) -> None:
    for name, value in change.credentials.items():
        if not value.strip():
            raise BadRequest(f"{wire_name(name)} must not be empty")
        if len(value.encode()) > MAX_CREDENTIAL_BYTES:
            raise BadRequest(f"{wire_name(name)} must be at most {MAX_CREDENTIAL_BYTES} bytes")


def apply_change(
    existing: Channel | None,
    change: ChannelChange,
    *,
    app_id: str,
    now: str,
    caller: str | None,
) -> tuple[Channel, PlatformCredentials | None]:
    """The channel after ``change`` (members sent replace stored ones, the others are kept, as
    Pinpoint's Update*Channel does), checked whole; and, for a push channel, the credentials to
    hand to SNS (None when the request sent none). The result's ``credentials`` are the stored
    (sealed) ones: the caller seals the new ones and adds them."""
    t = change.channel_type
    _check_credential_sizes(change)
    base = existing or Channel(
        application_id=app_id,
        channel_type=t,
        version=0,
        creation_date=now,
        messages_per_second=EMAIL_MESSAGES_PER_SECOND if t == EMAIL else None,
        promotional_messages_per_second=SMS_MESSAGES_PER_SECOND if t == SMS else None,
        transactional_messages_per_second=SMS_MESSAGES_PER_SECOND if t == SMS else None,
    )
    settings: dict[str, Any] = dict(change.settings)
    updated = replace(
        base,
        enabled=base.enabled if change.enabled is None else change.enabled,
        version=base.version + 1,
        last_modified_date=now,
        last_modified_by=caller,
        **settings,
    )
    platform: PlatformCredentials | None = None
    if t == EMAIL:
        _check_email(updated)
    elif t == SMS:
        _check_sms(updated)
    elif t in APNS_TYPES:
        updated, platform = _apns(updated, change)
    elif t == GCM:
        updated, platform = _gcm(updated, change)
    elif t == ADM:
        _require(updated.client_id, "client_id")
        if "client_secret" not in change.credentials and "client_secret" not in updated.credentials:
            raise BadRequest("ClientSecret is required")
        if "client_secret" in change.credentials or "client_id" in change.settings:
            if "client_secret" not in change.credentials:
                raise BadRequest("ClientSecret is required to change ClientId")
            platform = PlatformCredentials(
                {
                    "PlatformPrincipal": updated.client_id or "",
                    "PlatformCredential": change.credentials["client_secret"],
                },
                ("ClientId", "ClientSecret"),
            )
    elif t == BAIDU:
        sent = change.credentials
        if sent or not updated.credentials:
            for name in ("api_key", "secret_key"):
                if name not in sent:
                    raise BadRequest(f"{wire_name(name)} is required")
            platform = PlatformCredentials(
                {"PlatformPrincipal": sent["api_key"], "PlatformCredential": sent["secret_key"]},
                ("ApiKey", "SecretKey"),
            )
    return updated, platform


def check_certificate_pair(certificate: str, private_key: str) -> None:
    """400 naming Certificate or PrivateKey unless both parse as PEM and belong together."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise BadRequest("Certificate must be an X.509 certificate in PEM") from None
    key = _private_key(private_key, "PrivateKey")
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*der) != key.public_key().public_bytes(*der):
        raise BadRequest("PrivateKey is not the private key of Certificate")


def check_token_key(token_key: str) -> None:
    """400 naming TokenKey unless it is an EC private key in PEM (an APNs .p8 signing key)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(_private_key(token_key, "TokenKey"), ec.EllipticCurvePrivateKey):
        raise BadRequest("TokenKey must be an APNs signing key (an EC private key, .p8)")


def _private_key(pem: str, name: str) -> Any:
    """The private key of an unencrypted PEM, or a 400 naming the member."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # TypeError: the key is encrypted
        raise BadRequest(f"{name} must be an unencrypted private key in PEM") from None


def _apns(c: Channel, change: ChannelChange) -> tuple[Channel, PlatformCredentials | None]:
    sent = change.credentials
    if ("certificate" in sent) != ("private_key" in sent):
        raise BadRequest("Certificate and PrivateKey must be sent together")
    method = change.settings.get("default_authentication_method")
    if method is not None:
        method = method.upper()
        if method not in APNS_METHODS:
            raise BadRequest("DefaultAuthenticationMethod must be CERTIFICATE or TOKEN (KEY)")
    elif c.default_authentication_method is None or ("token_key" in sent) != ("certificate" in sent):
        # Not said: the kind of credential the request sent, else what was stored.
        if "token_key" in sent and "certificate" not in sent:
            method = TOKEN
        elif "certificate" in sent and "token_key" not in sent:
            method = CERTIFICATE
        else:
            method = c.default_authentication_method or CERTIFICATE
    else:
        method = c.default_authentication_method
    c = replace(c, default_authentication_method=method)
    if "certificate" in sent:
        check_certificate_pair(sent["certificate"], sent["private_key"])
    if "token_key" in sent:
        check_token_key(sent["token_key"])
    _optional(c.team_id, "team_id", APPLE_ID, "the 10-character Apple team id")
    _optional(c.token_key_id, "token_key_id", APPLE_ID, "the 10-character id of the APNs signing key")
    _optional(c.bundle_id, "bundle_id", BUNDLE_ID, "an iOS bundle id")
    if method == CERTIFICATE:
        if "certificate" not in sent and "certificate" not in c.credentials:
            raise BadRequest("Certificate is required")
        if "certificate" not in sent:
            if change.settings.get("default_authentication_method") is not None:
                raise BadRequest("Certificate and PrivateKey are required to change DefaultAuthenticationMethod")
            return c, None
        return c, PlatformCredentials(
            {"PlatformPrincipal": sent["certificate"], "PlatformCredential": sent["private_key"]},
            ("Certificate", "PrivateKey"),
        )
    if "token_key" not in sent and "token_key" not in c.credentials:
        raise BadRequest("TokenKey is required")
    for name in ("token_key_id", "team_id", "bundle_id"):
        _require(getattr(c, name), name)
    if "token_key" not in sent:
        token_settings = {"default_authentication_method", "token_key_id", "team_id", "bundle_id"}
        if token_settings & change.settings.keys():
            raise BadRequest("TokenKey is required to change the token settings of the channel")
        return c, None
    return c, PlatformCredentials(
        {
            "PlatformPrincipal": c.token_key_id or "",
            "PlatformCredential": sent["token_key"],
            "ApplePlatformTeamID": c.team_id or "",
            "ApplePlatformBundleID": c.bundle_id or "",
        },
        ("TokenKey", "TokenKeyId", "TeamId", "BundleId"),
    )


def check_service_json(value: str) -> None:
    """An FCM service account's JSON: an object with the fields FCM's HTTP v1 API needs."""
    try:
        doc = json.loads(value)
    except ValueError:
        raise BadRequest("ServiceJson must be the JSON of a Firebase service account") from None
    if not isinstance(doc, dict):
        raise BadRequest("ServiceJson must be a JSON object")
    if doc.get("type", "service_account") != "service_account":
        raise BadRequest("ServiceJson must be the JSON of a service account (type service_account)")
    for name in FCM_SERVICE_FIELDS:
        if not isinstance(doc.get(name), str) or not doc[name].strip():
            raise BadRequest(f"ServiceJson must hold {name}")
    if not EMAIL_ADDRESS.match(doc["client_email"]):
        raise BadRequest("ServiceJson's client_email must be an email address")
    _private_key(doc["private_key"], "ServiceJson's private_key")


def _gcm(c: Channel, change: ChannelChange) -> tuple[Channel, PlatformCredentials | None]:
    sent = change.credentials
    method = change.settings.get("default_authentication_method")
    if method is not None:
        method = method.upper()
        if method not in GCM_METHODS:
            raise BadRequest("DefaultAuthenticationMethod must be KEY or TOKEN")
    elif "service_json" in sent and "api_key" not in sent:
        method = TOKEN
    elif "api_key" in sent and "service_json" not in sent:
        method = KEY
    else:
        method = c.default_authentication_method or KEY
    c = replace(c, default_authentication_method=method)
    if "service_json" in sent:
        check_service_json(sent["service_json"])
    name = "service_json" if method == TOKEN else "api_key"
    if name in sent:
        return c, PlatformCredentials({"PlatformCredential": sent[name]}, (wire_name(name),))
    if name not in c.credentials:
        raise BadRequest(f"{wire_name(name)} is required")
    if change.settings.get("default_authentication_method") is not None:
        raise BadRequest(f"{wire_name(name)} is required to change DefaultAuthenticationMethod")
    return c, None


def with_sealed(channel: Channel, sealed: dict[str, str]) -> Channel:
    """The channel with newly sealed credentials added to (or replacing) the stored ones."""
    return replace(channel, credentials={**channel.credentials, **sealed}) if sealed else channel


def platform_application_name(app_id: str, channel_type: str) -> str:
    """The SNS platform application carrying an app's push channel: one name per app and type, so a
    retried create finds the same application (SNS names: letters, digits, _ - . up to 256)."""
    return f"homing-{app_id}-{channel_type.lower()}"


def sns_platform(channel_type: str) -> str:
    """SNS's platform name for a push channel type (they are the same words)."""
    return channel_type


def encryption_context(app_id: str, channel_type: str, name: str) -> dict[str, str]:
    """KMS encryption context of a sealed credential: ciphertext moved to another app, channel or
    field does not decrypt, and CloudTrail shows which credential was used."""
    return {
        "homing:purpose": "channel-credential",
        "homing:app": app_id,
        "homing:channel": channel_type,
        "homing:field": name,
    }
