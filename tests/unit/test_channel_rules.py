"""Channel rules, pure: parsing Update*Channel bodies, Pinpoint's merge, and the credential checks."""

from __future__ import annotations

from typing import Any

import pytest

from homing.domain.channels import (
    MAX_CREDENTIAL_BYTES,
    Channel,
    ChannelChange,
    apply_change,
    check_service_json,
    encryption_context,
    parse_change,
    platform_application_name,
    with_sealed,
)
from homing.domain.errors import BadRequest
from tests.channel_credentials import certificate_and_key, rsa_key, service_json, token_key

APP = "a" * 32
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
NOW = "2026-11-30T10:00:00.000Z"


def change(channel_type: str, **body: Any) -> ChannelChange:
    return parse_change(channel_type, body)


def apply(existing: Channel | None, c: ChannelChange, now: str = NOW) -> Any:
    return apply_change(existing, c, app_id=APP, now=now, caller="arn:aws:iam::123456789012:user/ops")


def stored(channel: Channel, sealed: dict[str, str]) -> Channel:
    """What the service stores: the channel with its (here: pretend) sealed credentials."""
    return with_sealed(channel, sealed)


def test_parse_keeps_only_the_types_members_and_checks_their_types() -> None:
    c = change("SMS", Enabled=False, SenderId="Homing", FromAddress="x@example.com")
    assert c == ChannelChange("SMS", False, {"sender_id": "Homing"}, {})
    with pytest.raises(BadRequest, match=r"^Enabled must be a boolean$"):
        change("SMS", Enabled="yes")
    with pytest.raises(BadRequest, match=r"^SenderId must be a string$"):
        change("SMS", SenderId=5)
    apns = change("APNS", Certificate="c", PrivateKey="k", BundleId="b")
    assert apns.credentials == {"certificate": "c", "private_key": "k"}
    assert apns.settings == {"bundle_id": "b"}


def test_email_create_then_update_merges_as_pinpoint_does() -> None:
    created, platform = apply(None, change("EMAIL", FromAddress="Team <team@example.com>", Identity=IDENTITY))
    assert platform is None
    assert (created.version, created.enabled, created.creation_date) == (1, True, NOW)
    assert created.messages_per_second == 1
    later = "2026-11-30T11:00:00.000Z"
    updated, _ = apply(created, change("EMAIL", Enabled=False, ConfigurationSet="tracking"), later)
    assert (updated.version, updated.enabled, updated.configuration_set) == (2, False, "tracking")
    assert (updated.from_address, updated.identity) == ("Team <team@example.com>", IDENTITY)  # not sent: kept
    assert (updated.creation_date, updated.last_modified_date) == (NOW, later)
    assert updated.last_modified_by == "arn:aws:iam::123456789012:user/ops"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Identity": IDENTITY}, "^FromAddress is required$"),
        ({"FromAddress": "not-an-address", "Identity": IDENTITY}, "^FromAddress must be an email address$"),
        ({"FromAddress": "a@example.com"}, "^Identity is required$"),
        ({"FromAddress": "a@example.com", "Identity": "example.com"}, "^Identity must be the ARN"),
        ({"FromAddress": "a@example.com", "Identity": IDENTITY, "RoleArn": "role"}, "^RoleArn must be"),
        (
            {"FromAddress": "a@example.com", "Identity": IDENTITY, "ConfigurationSet": "no spaces"},
            "^ConfigurationSet must be",
        ),
    ],
)
def test_email_rejections_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        apply(None, change("EMAIL", **body))


def test_sms_and_voice() -> None:
    sms, _ = apply(None, change("SMS", SenderId="Homing", ShortCode="12345"))
    assert (sms.sender_id, sms.short_code, sms.transactional_messages_per_second) == ("Homing", "12345", 20)
    with pytest.raises(BadRequest, match=r"^SenderId must be"):
        apply(None, change("SMS", SenderId="123456"))  # no letter
    with pytest.raises(BadRequest, match=r"^ShortCode must be"):
        apply(None, change("SMS", ShortCode="12ab"))
    voice, _ = apply(None, change("VOICE", Enabled=False))
    assert (voice.enabled, voice.has_credential) == (False, False)


@pytest.mark.parametrize("channel_type", ["APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX"])
def test_apns_certificate_goes_to_sns_as_principal_and_credential(channel_type: str) -> None:
    cert, key = certificate_and_key()
    channel, platform = apply(None, change(channel_type, Certificate=cert, PrivateKey=key))
    assert channel.default_authentication_method == "CERTIFICATE"
    assert platform.attributes == {"PlatformPrincipal": cert, "PlatformCredential": key}
    assert channel.credentials == {}  # sealed by the service, never kept in clear


def test_apns_token_key_needs_its_ids_and_an_ec_key() -> None:
    body = {"TokenKey": token_key(), "TokenKeyId": "ABCDE12345", "TeamId": "TEAM123456", "BundleId": "com.example"}
    channel, platform = apply(None, change("APNS", **body))
    assert channel.default_authentication_method == "TOKEN"
    assert platform.attributes == {
        "PlatformPrincipal": "ABCDE12345",
        "PlatformCredential": token_key(),
        "ApplePlatformTeamID": "TEAM123456",
        "ApplePlatformBundleID": "com.example",
    }
    with pytest.raises(BadRequest, match=r"^TeamId is required$"):
        apply(None, change("APNS", **{**body, "TeamId": None}))
    with pytest.raises(BadRequest, match=r"^TokenKey must be an APNs signing key"):
        apply(None, change("APNS", **{**body, "TokenKey": rsa_key()}))
    with pytest.raises(BadRequest, match=r"^TokenKey must be an unencrypted private key in PEM$"):
        apply(None, change("APNS", **{**body, "TokenKey": "-----BEGIN PRIVATE KEY-----\nnope\n"}))
    with pytest.raises(BadRequest, match=r"^TokenKeyId must be"):
        apply(None, change("APNS", **{**body, "TokenKeyId": "short"}))


def test_apns_certificate_checks_name_the_field() -> None:
    cert, key = certificate_and_key()
    other_cert, _ = certificate_and_key("com.example.other")
    with pytest.raises(BadRequest, match=r"^Certificate must be an X\.509 certificate in PEM$"):
        apply(None, change("APNS", Certificate="garbage", PrivateKey=key))
    with pytest.raises(BadRequest, match=r"^PrivateKey must be an unencrypted private key in PEM$"):
        apply(None, change("APNS", Certificate=cert, PrivateKey="garbage"))
    with pytest.raises(BadRequest, match=r"^PrivateKey is not the private key of Certificate$"):
        apply(None, change("APNS", Certificate=other_cert, PrivateKey=key))
    with pytest.raises(BadRequest, match=r"^Certificate and PrivateKey must be sent together$"):
        apply(None, change("APNS", Certificate=cert))
    with pytest.raises(BadRequest, match=r"^Certificate is required$"):
        apply(None, change("APNS", Enabled=True))
    with pytest.raises(BadRequest, match=r"^DefaultAuthenticationMethod must be"):
        apply(None, change("APNS", Certificate=cert, PrivateKey=key, DefaultAuthenticationMethod="PASSWORD"))


def test_apns_update_without_credentials_keeps_them_and_touches_no_sns() -> None:
    cert, key = certificate_and_key()
    first, _ = apply(None, change("APNS", Certificate=cert, PrivateKey=key))
    first = stored(first, {"certificate": "sealed-c", "private_key": "sealed-k"})
    disabled, platform = apply(first, change("APNS", Enabled=False))
    assert platform is None
    assert (disabled.enabled, disabled.version, disabled.has_credential) == (False, 2, True)
    assert disabled.credentials == first.credentials
    # Switching to token keys needs the token key itself: the api cannot read stored credentials.
    with pytest.raises(BadRequest, match=r"^TokenKey is required$"):
        apply(
            first,
            change("APNS", DefaultAuthenticationMethod="TOKEN", TokenKeyId="ABCDE12345", TeamId="T123456789"),
        )


def test_apns_both_credentials_stored_and_the_default_chosen() -> None:
    cert, key = certificate_and_key()
    body = {"Certificate": cert, "PrivateKey": key, "TokenKey": token_key(), "TokenKeyId": "ABCDE12345"}
    body |= {"TeamId": "TEAM123456", "BundleId": "com.example", "DefaultAuthenticationMethod": "token"}
    channel, platform = apply(None, change("APNS", **body))
    assert channel.default_authentication_method == "TOKEN"
    assert platform.attributes["PlatformCredential"] == token_key()
    channel = stored(channel, {"certificate": "c", "private_key": "k", "token_key": "t"})
    assert (channel.has_credential, channel.has_token_key) == (True, True)


def test_gcm_api_key_and_service_json() -> None:
    legacy, platform = apply(None, change("GCM", ApiKey="AIzaSyExampleKey"))
    assert (legacy.default_authentication_method, platform.attributes) == (
        "KEY",
        {"PlatformCredential": "AIzaSyExampleKey"},
    )
    fcm, platform = apply(None, change("GCM", ServiceJson=service_json(), DefaultAuthenticationMethod="TOKEN"))
    assert fcm.default_authentication_method == "TOKEN"
    assert platform.attributes == {"PlatformCredential": service_json()}
    fcm = stored(fcm, {"service_json": "sealed"})
    assert (fcm.has_credential, fcm.has_fcm_service_credentials) == (True, True)
    with pytest.raises(BadRequest, match=r"^ServiceJson is required$"):
        apply(None, change("GCM", DefaultAuthenticationMethod="TOKEN"))
    with pytest.raises(BadRequest, match=r"^ApiKey is required to change DefaultAuthenticationMethod$"):
        apply(stored(fcm, {"api_key": "s"}), change("GCM", DefaultAuthenticationMethod="KEY"))
    with pytest.raises(BadRequest, match=r"^DefaultAuthenticationMethod must be KEY or TOKEN$"):
        apply(None, change("GCM", ApiKey="k", DefaultAuthenticationMethod="CERTIFICATE"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "^ServiceJson must be the JSON of a Firebase service account$"),
        ("[1, 2]", "^ServiceJson must be a JSON object$"),
        (service_json(type="authorized_user"), "^ServiceJson must be the JSON of a service account"),
        (service_json(project_id=None), "^ServiceJson must hold project_id$"),
        (service_json(client_email="nobody"), "^ServiceJson's client_email must be an email address$"),
        (service_json(private_key="nope"), "^ServiceJson's private_key must be an unencrypted private key in PEM$"),
    ],
    # Fixed ids: the generated key differs per process, and xdist workers must collect the same ids.
    ids=["not-json", "not-object", "wrong-type", "no-project", "bad-email", "bad-key"],
)
def test_service_json_is_checked_for_what_fcm_needs(value: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        check_service_json(value)


def test_adm_and_baidu() -> None:
    adm, platform = apply(None, change("ADM", ClientId="amzn1.application-oa2-client.x", ClientSecret="s3cret"))
    client = "amzn1.application-oa2-client.x"
    assert platform.attributes == {"PlatformPrincipal": client, "PlatformCredential": "s3cret"}
    assert adm.client_id == "amzn1.application-oa2-client.x"
    with pytest.raises(BadRequest, match=r"^ClientSecret is required$"):
        apply(None, change("ADM", ClientId="id"))
    with pytest.raises(BadRequest, match=r"^ClientSecret is required to change ClientId$"):
        apply(stored(adm, {"client_secret": "x"}), change("ADM", ClientId="other"))
    baidu, platform = apply(None, change("BAIDU", ApiKey="api", SecretKey="secret"))
    assert platform.attributes == {"PlatformPrincipal": "api", "PlatformCredential": "secret"}
    with pytest.raises(BadRequest, match=r"^SecretKey is required$"):
        apply(None, change("BAIDU", ApiKey="api"))
    disabled, platform = apply(stored(baidu, {"api_key": "a", "secret_key": "s"}), change("BAIDU", Enabled=False))
    assert (disabled.enabled, platform) == (False, None)


def test_credentials_are_bounded_and_not_empty() -> None:
    with pytest.raises(BadRequest, match=rf"^ApiKey must be at most {MAX_CREDENTIAL_BYTES} bytes$"):
        apply(None, change("GCM", ApiKey="k" * (MAX_CREDENTIAL_BYTES + 1)))
    with pytest.raises(BadRequest, match=r"^ApiKey must not be empty$"):
        apply(None, change("GCM", ApiKey="  "))


def test_names_and_contexts() -> None:
    assert platform_application_name(APP, "APNS_VOIP_SANDBOX") == f"homing-{APP}-apns_voip_sandbox"
    assert encryption_context(APP, "GCM", "api_key") == {
        "homing:purpose": "channel-credential",
        "homing:app": APP,
        "homing:channel": "GCM",
        "homing:field": "api_key",
    }
