"""Channels through the real api handler on moto: every type's Get/Update/Delete, GetChannels, the
credentials sealed with KMS (read back raw: never in clear), and the SNS platform applications."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from homing.domain.channels import PATHS, encryption_context
from tests.channel_credentials import certificate_and_key, service_json, token_key
from tests.integration.test_apps_api import create

IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
TOKEN = {"TokenKeyId": "ABCDE12345", "TeamId": "TEAM123456", "BundleId": "com.example.app"}
SECRET_MEMBERS = {"Certificate", "PrivateKey", "TokenKey", "ApiKey", "ServiceJson", "ClientSecret", "SecretKey"}


def bodies() -> dict[str, dict[str, Any]]:
    """A valid Update*Channel body per path segment."""
    cert, key = certificate_and_key()
    return {
        "email": {"FromAddress": "team@example.com", "Identity": IDENTITY, "ConfigurationSet": "tracking"},
        "sms": {"SenderId": "Homing", "ShortCode": "12345"},
        "voice": {"Enabled": True},
        "apns": {"Certificate": cert, "PrivateKey": key},
        "apns_sandbox": {"TokenKey": token_key(), **TOKEN},
        "apns_voip": {"Certificate": cert, "PrivateKey": key},
        "apns_voip_sandbox": {"TokenKey": token_key(), **TOKEN, "DefaultAuthenticationMethod": "TOKEN"},
        "gcm": {"ServiceJson": service_json(), "DefaultAuthenticationMethod": "TOKEN"},
        "baidu": {"ApiKey": "baidu-api-key", "SecretKey": "baidu-secret"},
        "adm": {"ClientId": "amzn1.application-oa2-client.x", "ClientSecret": "adm-secret"},
    }


def platform_applications() -> dict[str, dict[str, str]]:
    sns = boto3.client("sns")
    return {
        a["PlatformApplicationArn"]: a["Attributes"]
        for a in sns.list_platform_applications().get("PlatformApplications", [])
    }


def raw_item(app: str, channel_type: str) -> dict[str, Any]:
    from homing.adapters.dynamodb.channels import ChannelItem

    item = boto3.client("dynamodb").get_item(
        TableName=ChannelItem.Meta.table_name,
        Key={"application_id": {"S": app}, "channel_type": {"S": channel_type}},
    )
    return item["Item"]


def test_every_channel_type_get_update_delete(call: Any) -> None:
    app = create(call)["Id"]
    for path, body in bodies().items():
        channel_type = PATHS[path]
        url = f"/v1/apps/{app}/channels/{path}"
        missing = call("GET", url)
        assert (missing.status, missing.error_type) == (404, "NotFoundException"), path
        r = call("PUT", url, body)
        assert r.status == 200, (path, r.body)
        assert r.body["Platform"] == channel_type
        assert (r.body["ApplicationId"], r.body["Enabled"], r.body["Version"]) == (app, True, 1)
        assert not SECRET_MEMBERS & set(r.body)
        assert "PlatformApplicationArn" not in json.dumps(r.body)
        assert call("GET", url).body == r.body
        deleted = call("DELETE", url)
        assert (deleted.status, deleted.body) == (200, r.body)
        assert call("GET", url).status == 404
        assert call("DELETE", url).status == 404
    assert platform_applications() == {}  # every push channel's application went with it


def test_responses_carry_each_types_members(call: Any) -> None:
    app = create(call)["Id"]
    email = call("PUT", f"/v1/apps/{app}/channels/email", bodies()["email"]).body
    assert email["FromAddress"] == "team@example.com"
    assert (email["Identity"], email["ConfigurationSet"], email["MessagesPerSecond"]) == (IDENTITY, "tracking", 1)
    assert email["HasCredential"] is False
    sms = call("PUT", f"/v1/apps/{app}/channels/sms", bodies()["sms"]).body
    assert (sms["SenderId"], sms["ShortCode"], sms["PromotionalMessagesPerSecond"]) == ("Homing", "12345", 20)
    apns = call("PUT", f"/v1/apps/{app}/channels/apns_sandbox", bodies()["apns_sandbox"]).body
    assert (apns["HasCredential"], apns["HasTokenKey"], apns["DefaultAuthenticationMethod"]) == (True, True, "TOKEN")
    gcm = call("PUT", f"/v1/apps/{app}/channels/gcm", bodies()["gcm"]).body
    assert (gcm["HasCredential"], gcm["HasFcmServiceCredentials"]) == (True, True)

    disabled = call("PUT", f"/v1/apps/{app}/channels/email", {**bodies()["email"], "Enabled": False}).body
    assert (disabled["Enabled"], disabled["Version"], disabled["CreationDate"]) == (False, 2, email["CreationDate"])

    channels = call("GET", f"/v1/apps/{app}/channels").body["Channels"]
    assert set(channels) == {"EMAIL", "SMS", "APNS_SANDBOX", "GCM"}
    assert channels["EMAIL"] == {k: disabled[k] for k in channels["EMAIL"]}
    assert "FromAddress" not in channels["EMAIL"]  # ChannelResponse: the common members only
    assert call("GET", f"/v1/apps/{create(call, 'empty')['Id']}/channels").body == {"Channels": {}}


def test_enabled_channels_for_the_messaging_part(call: Any) -> None:
    from homing.bootstrap import services

    app = create(call)["Id"]
    call("PUT", f"/v1/apps/{app}/channels/email", bodies()["email"])
    call("PUT", f"/v1/apps/{app}/channels/sms", {**bodies()["sms"], "Enabled": False})
    call("PUT", f"/v1/apps/{app}/channels/apns", bodies()["apns"])
    enabled = services().channels.enabled(app)
    assert set(enabled) == {"EMAIL", "APNS"}
    assert enabled["EMAIL"].from_address == "team@example.com"
    assert enabled["APNS"].platform_application_arn in platform_applications()
    assert services().channels.get(app, "SMS").sender_id == "Homing"


def test_credentials_are_sealed_with_kms_and_never_stored_in_clear(call: Any) -> None:
    app = create(call)["Id"]
    cert, key = certificate_and_key()
    body = {"Certificate": cert, "PrivateKey": key, "TokenKey": token_key(), **TOKEN}
    assert call("PUT", f"/v1/apps/{app}/channels/apns", body).status == 200
    item = raw_item(app, "APNS")
    text = json.dumps(item)
    for secret in (cert, key, token_key()):
        for line in secret.splitlines()[1:-1]:  # any line of the PEM body
            assert line not in text
    assert "BEGIN" not in text
    sealed = json.loads(item["body"]["S"])["credentials"]
    assert set(sealed) == {"certificate", "private_key", "token_key"}
    kms = boto3.client("kms")
    opened = kms.decrypt(
        CiphertextBlob=base64.b64decode(sealed["private_key"]),
        EncryptionContext=encryption_context(app, "APNS", "private_key"),
    )
    assert (opened["Plaintext"].decode(), opened["KeyId"]) == (key, os.environ["DATA_KEY_ARN"])
    with pytest.raises(kms.exceptions.InvalidCiphertextException):  # sealed for another field: refused
        kms.decrypt(
            CiphertextBlob=base64.b64decode(sealed["private_key"]),
            EncryptionContext=encryption_context(app, "APNS", "certificate"),
        )


def test_push_channels_create_update_and_delete_their_sns_platform_application(call: Any) -> None:
    app = create(call)["Id"]
    url = f"/v1/apps/{app}/channels/gcm"
    assert call("PUT", url, {"ApiKey": "first-key"}).status == 200
    ((arn, attributes),) = platform_applications().items()
    assert arn.endswith(f":app/GCM/homing-{app}-gcm")
    assert attributes["PlatformCredential"] == "first-key"
    # Enabled only: the application is left as it is.
    assert call("PUT", url, {"Enabled": False}).body["Enabled"] is False
    assert platform_applications() == {arn: attributes}
    # New credentials: the same application, updated.
    assert call("PUT", url, {"ServiceJson": service_json(), "DefaultAuthenticationMethod": "TOKEN"}).status == 200
    assert platform_applications()[arn]["PlatformCredential"] == service_json()
    from homing.adapters.dynamodb.channels import ChannelRepository

    assert ChannelRepository().get(app, "GCM").platform_application_arn == arn  # type: ignore[union-attr]
    assert call("DELETE", url).status == 200
    assert platform_applications() == {}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("email", {"Identity": IDENTITY}, "FromAddress is required"),
        ("email", {"FromAddress": "team@example.com", "Identity": "nope"}, "Identity must be the ARN"),
        ("sms", {"Enabled": "yes"}, "Enabled must be a boolean"),
        ("apns", {"Certificate": "x", "PrivateKey": "y"}, "Certificate must be an X.509 certificate"),
        ("apns", {"Enabled": True}, "Certificate is required"),
        ("gcm", {"ServiceJson": "{}", "DefaultAuthenticationMethod": "TOKEN"}, "ServiceJson must hold project_id"),
        ("baidu", {"ApiKey": "k"}, "SecretKey is required"),
        ("adm", {"ClientSecret": "s"}, "ClientId is required"),
    ],
)
def test_rejections_name_the_field_and_write_nothing(call: Any, path: str, body: dict[str, Any], message: str) -> None:
    app = create(call)["Id"]
    r = call("PUT", f"/v1/apps/{app}/channels/{path}", body)
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert message in r.body["Message"]
    assert call("GET", f"/v1/apps/{app}/channels/{path}").status == 404
    assert platform_applications() == {}


def test_unknown_app_and_bad_bodies(call: Any) -> None:
    missing = "f" * 32
    for method in ("GET", "PUT", "DELETE"):
        r = call(method, f"/v1/apps/{missing}/channels/sms", {"Enabled": True} if method == "PUT" else None)
        assert (r.status, r.error_type) == (404, "NotFoundException")
    assert call("GET", f"/v1/apps/{missing}/channels").status == 404
    app = create(call)["Id"]
    for body in ("not json", "[]", None):
        r = call("PUT", f"/v1/apps/{app}/channels/sms", body)
        assert (r.status, r.error_type) == (400, "BadRequestException")


def test_credentials_sns_refuses_are_a_400_naming_them_and_nothing_is_written(call: Any) -> None:
    """SNS validates real APNs/FCM credentials with Apple and Google; moto accepts anything, so its
    refusal is stubbed from SNS's own model (InvalidParameter, as SNS answers bad credentials)."""
    from homing.adapters.credentials import KmsSealer
    from homing.adapters.dynamodb.channels import ChannelRepository
    from homing.adapters.push import PlatformApplications
    from homing.bootstrap import services
    from homing.domain.channels import ChannelChange
    from homing.domain.errors import BadRequest
    from homing.services.channels import ChannelService

    app = create(call)["Id"]
    sns = boto3.client("sns")
    stub = Stubber(sns)
    stub.add_client_error(
        "create_platform_application",
        service_error_code="InvalidParameter",
        service_message="Invalid parameter: Attributes Reason: Platform credentials are invalid",
        http_status_code=400,
    )
    svc = ChannelService(
        services().apps,
        ChannelRepository(),
        KmsSealer(os.environ["DATA_KEY_ARN"]),
        PlatformApplications(sns),
        clock=lambda: datetime.now(UTC),
    )
    cert, key = certificate_and_key()
    with stub, pytest.raises(BadRequest, match=r"^Certificate / PrivateKey: the credentials were refused"):
        svc.update(app, ChannelChange("APNS", None, {}, {"certificate": cert, "private_key": key}), None)
    assert ChannelRepository().get(app, "APNS") is None


def test_a_concurrent_update_makes_the_write_re_plan_and_both_changes_are_kept(call: Any, monkeypatch: Any) -> None:
    from homing.adapters.dynamodb.channels import ChannelRepository

    app = create(call)["Id"]
    url = f"/v1/apps/{app}/channels/sms"
    assert call("PUT", url, {"SenderId": "First"}).status == 200
    real_write = ChannelRepository.write
    raced: list[int] = []

    def write_after_a_rival(self: ChannelRepository, channel: Any, read_version: int | None) -> None:
        if not raced:  # another request commits between this one's read and its write
            raced.append(1)
            stored = ChannelRepository().get(app, "SMS")
            assert stored is not None
            real_write(self, replace(stored, short_code="12345", version=2), 1)
        real_write(self, channel, read_version)

    monkeypatch.setattr(ChannelRepository, "write", write_after_a_rival)
    r = call("PUT", url, {"SenderId": "Second"})
    assert r.status == 200, r.body
    assert (r.body["Version"], r.body["SenderId"], r.body["ShortCode"]) == (3, "Second", "12345")
    assert call("GET", url).body == r.body


def test_an_sns_application_deleted_outside_homing_is_created_again(call: Any) -> None:
    app = create(call)["Id"]
    url = f"/v1/apps/{app}/channels/adm"
    assert call("PUT", url, {"ClientId": "client", "ClientSecret": "first"}).status == 200
    ((arn, _),) = platform_applications().items()
    boto3.client("sns").delete_platform_application(PlatformApplicationArn=arn)
    r = call("PUT", url, {"ClientId": "client", "ClientSecret": "second"})
    assert r.status == 200, r.body
    assert platform_applications() == {arn: {"PlatformPrincipal": "client", "PlatformCredential": "second"}}
