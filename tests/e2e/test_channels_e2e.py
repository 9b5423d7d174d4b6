"""Channels through the stock boto3 ``pinpoint`` client and the AWS CLI against the local stack:
every channel type's Update/Get/Delete, GetChannels, Pinpoint's errors, and the SNS platform
applications that carry the push channels (read from the embedded moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.channel_credentials import certificate_and_key, service_json, token_key
from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY, AwsCli
from tests.e2e.test_apps_e2e import new_app

IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
TOKEN = {"TokenKeyId": "ABCDE12345", "TeamId": "TEAM123456", "BundleId": "com.example.app"}
SECRETS = {"Certificate", "PrivateKey", "TokenKey", "ApiKey", "ServiceJson", "ClientSecret", "SecretKey"}


def channels() -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(method suffix, request member, response member, Platform, request) for every channel type."""
    cert, key = certificate_and_key()
    return [
        (
            "email",
            "EmailChannelRequest",
            "EmailChannelResponse",
            "EMAIL",
            {"FromAddress": "a@example.com", "Identity": IDENTITY},
        ),
        ("sms", "SMSChannelRequest", "SMSChannelResponse", "SMS", {"SenderId": "Homing"}),
        ("voice", "VoiceChannelRequest", "VoiceChannelResponse", "VOICE", {"Enabled": True}),
        ("apns", "APNSChannelRequest", "APNSChannelResponse", "APNS", {"Certificate": cert, "PrivateKey": key}),
        (
            "apns_sandbox",
            "APNSSandboxChannelRequest",
            "APNSSandboxChannelResponse",
            "APNS_SANDBOX",
            {"TokenKey": token_key(), **TOKEN},
        ),
        (
            "apns_voip",
            "APNSVoipChannelRequest",
            "APNSVoipChannelResponse",
            "APNS_VOIP",
            {"Certificate": cert, "PrivateKey": key},
        ),
        (
            "apns_voip_sandbox",
            "APNSVoipSandboxChannelRequest",
            "APNSVoipSandboxChannelResponse",
            "APNS_VOIP_SANDBOX",
            {"TokenKey": token_key(), **TOKEN, "DefaultAuthenticationMethod": "TOKEN"},
        ),
        (
            "gcm",
            "GCMChannelRequest",
            "GCMChannelResponse",
            "GCM",
            {"ServiceJson": service_json(), "DefaultAuthenticationMethod": "TOKEN"},
        ),
        ("baidu", "BaiduChannelRequest", "BaiduChannelResponse", "BAIDU", {"ApiKey": "api", "SecretKey": "secret"}),
        ("adm", "ADMChannelRequest", "ADMChannelResponse", "ADM", {"ClientId": "client", "ClientSecret": "secret"}),
    ]


@pytest.fixture
def app_id(pinpoint: Any) -> Iterator[str]:
    with new_app(pinpoint, "channels") as app:
        yield str(app["Id"])


@pytest.fixture(scope="module")
def sns(moto_url: str) -> Any:
    return boto3.client(
        "sns", endpoint_url=moto_url, region_name=REGION, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
    )


def homing_applications(sns: Any, app_id: str) -> list[str]:
    arns = [a["PlatformApplicationArn"] for a in sns.list_platform_applications().get("PlatformApplications", [])]
    return sorted(a for a in arns if f"homing-{app_id}-" in a)


def test_every_channel_type_updates_gets_and_deletes(pinpoint: Any, sns: Any, app_id: str) -> None:
    for suffix, request_member, response_member, platform, request in channels():
        with pytest.raises(ClientError) as missing:
            getattr(pinpoint, f"get_{suffix}_channel")(ApplicationId=app_id)
        assert missing.value.response["Error"]["Code"] == "NotFoundException", suffix

        updated = getattr(pinpoint, f"update_{suffix}_channel")(ApplicationId=app_id, **{request_member: request})
        body = updated[response_member]
        assert (body["Platform"], body["ApplicationId"], body["Enabled"], body["Version"]) == (
            platform,
            app_id,
            True,
            1,
        )
        assert not SECRETS & set(body), suffix
        got = getattr(pinpoint, f"get_{suffix}_channel")(ApplicationId=app_id)[response_member]
        assert got == body

    listed = pinpoint.get_channels(ApplicationId=app_id)["ChannelsResponse"]["Channels"]
    assert set(listed) == {c[3] for c in channels()}
    assert all(c["Enabled"] for c in listed.values())
    push = ("APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "GCM", "BAIDU", "ADM")
    assert all(listed[t]["HasCredential"] for t in push)
    assert len(homing_applications(sns, app_id)) == len(push)  # one SNS platform application per push channel

    for suffix, _, response_member, platform, _ in channels():
        deleted = getattr(pinpoint, f"delete_{suffix}_channel")(ApplicationId=app_id)[response_member]
        assert deleted["Platform"] == platform
    assert pinpoint.get_channels(ApplicationId=app_id)["ChannelsResponse"]["Channels"] == {}
    assert homing_applications(sns, app_id) == []


def test_updates_merge_and_credentials_are_never_returned(pinpoint: Any, sns: Any, app_id: str) -> None:
    first = pinpoint.update_gcm_channel(ApplicationId=app_id, GCMChannelRequest={"ApiKey": "legacy-key"})
    assert first["GCMChannelResponse"]["DefaultAuthenticationMethod"] == "KEY"
    (arn,) = homing_applications(sns, app_id)
    assert sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"]["PlatformCredential"] == (
        "legacy-key"
    )
    off = pinpoint.update_gcm_channel(ApplicationId=app_id, GCMChannelRequest={"Enabled": False})["GCMChannelResponse"]
    assert (off["Enabled"], off["Version"], off["HasCredential"]) == (False, 2, True)
    fcm = pinpoint.update_gcm_channel(
        ApplicationId=app_id, GCMChannelRequest={"ServiceJson": service_json(), "DefaultAuthenticationMethod": "TOKEN"}
    )["GCMChannelResponse"]
    assert (fcm["Enabled"], fcm["HasFcmServiceCredentials"], fcm["DefaultAuthenticationMethod"]) == (
        False,
        True,
        "TOKEN",
    )
    assert homing_applications(sns, app_id) == [arn]  # the same application, its credentials replaced
    assert "legacy-key" not in json.dumps(pinpoint.get_gcm_channel(ApplicationId=app_id))


def test_bad_requests_name_the_field(pinpoint: Any, app_id: str) -> None:
    with pytest.raises(ClientError) as bad:
        pinpoint.update_apns_channel(ApplicationId=app_id, APNSChannelRequest={"Certificate": "x", "PrivateKey": "y"})
    assert bad.value.response["Error"]["Code"] == "BadRequestException"
    assert "Certificate" in bad.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as bad:
        pinpoint.update_email_channel(
            ApplicationId=app_id, EmailChannelRequest={"FromAddress": "nobody", "Identity": IDENTITY}
        )
    assert (bad.value.response["Error"]["Code"], bad.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "BadRequestException",
        400,
    )
    assert "FromAddress" in bad.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        pinpoint.get_channels(ApplicationId="f" * 32)
    assert missing.value.response["Error"]["Code"] == "NotFoundException"


def test_the_aws_cli_configures_an_sms_channel(aws_cli: AwsCli, app_id: str) -> None:
    code, out, err = aws_cli(
        "update-sms-channel", "--application-id", app_id, "--sms-channel-request", "Enabled=true,SenderId=Homing"
    )
    assert code == 0, err
    assert (out["SMSChannelResponse"]["SenderId"], out["SMSChannelResponse"]["Platform"]) == ("Homing", "SMS")
    code, out, err = aws_cli("get-channels", "--application-id", app_id)
    assert code == 0, err
    assert set(out["ChannelsResponse"]["Channels"]) == {"SMS"}
    code, out, err = aws_cli("delete-sms-channel", "--application-id", app_id)
    assert (code, out["SMSChannelResponse"]["SenderId"]) == (0, "Homing")
    code, _, err = aws_cli("get-sms-channel", "--application-id", app_id)
    assert code != 0
    assert "NotFoundException" in err
