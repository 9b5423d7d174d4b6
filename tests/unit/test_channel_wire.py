"""Channels' wire shapes against botocore's Pinpoint model: every member Homing answers is one the
model names for that response, and no credential or SNS ARN is ever in a response."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from homing.api.wire.channels import channel_request, channel_response, channels_response
from homing.domain.channels import PATHS, Channel
from homing.domain.errors import BadRequest

RESPONSE_SHAPES = {
    "EMAIL": "EmailChannelResponse",
    "SMS": "SMSChannelResponse",
    "VOICE": "VoiceChannelResponse",
    "APNS": "APNSChannelResponse",
    "APNS_SANDBOX": "APNSSandboxChannelResponse",
    "APNS_VOIP": "APNSVoipChannelResponse",
    "APNS_VOIP_SANDBOX": "APNSVoipSandboxChannelResponse",
    "GCM": "GCMChannelResponse",
    "BAIDU": "BaiduChannelResponse",
    "ADM": "ADMChannelResponse",
}
REQUEST_SHAPES = {t: s.replace("Response", "Request") for t, s in RESPONSE_SHAPES.items()}


def _model() -> Any:
    return botocore.session.get_session().get_service_model("pinpoint")


def _everything(channel_type: str) -> Channel:
    """A channel with every field set, credentials and SNS ARN included."""
    return Channel(
        application_id="a" * 32,
        channel_type=channel_type,
        creation_date="2026-11-30T10:00:00.000Z",
        last_modified_date="2026-11-30T10:00:00.000Z",
        last_modified_by="arn:aws:iam::123456789012:user/ops",
        from_address="a@example.com",
        identity="arn:aws:ses:us-east-1:123456789012:identity/example.com",
        configuration_set="cs",
        role_arn="arn:aws:iam::123456789012:role/r",
        orchestration_sending_role_arn="arn:aws:iam::123456789012:role/o",
        messages_per_second=1,
        sender_id="Homing",
        short_code="12345",
        promotional_messages_per_second=20,
        transactional_messages_per_second=20,
        default_authentication_method="TOKEN",
        bundle_id="com.example",
        team_id="TEAM123456",
        token_key_id="ABCDE12345",
        client_id="client",
        platform_application_arn="arn:aws:sns:us-east-1:123456789012:app/GCM/homing-x",
        credentials={"token_key": "SEALED", "api_key": "SEALED"},
    )


@pytest.mark.parametrize("channel_type", sorted(RESPONSE_SHAPES))
def test_responses_use_only_the_models_members_and_no_secret(channel_type: str) -> None:
    shape = _model().shape_for(RESPONSE_SHAPES[channel_type])
    body = channel_response(_everything(channel_type))
    assert set(body) <= set(shape.members)
    assert set(shape.required_members) <= set(body) | {"Credential"}  # Credential: never filled (decisions.md)
    assert body["Platform"] == channel_type
    assert "SEALED" not in repr(body)
    assert "sns" not in repr(body)


def test_get_channels_entries_are_channel_responses() -> None:
    members = set(_model().shape_for("ChannelResponse").members)
    body = channels_response([_everything("EMAIL"), _everything("GCM")])
    assert set(body["Channels"]) == {"EMAIL", "GCM"}
    for entry in body["Channels"].values():
        assert set(entry) <= members


@pytest.mark.parametrize("channel_type", sorted(REQUEST_SHAPES))
def test_every_request_member_of_the_model_is_read(channel_type: str) -> None:
    """Each member botocore's request shape has is parsed for that type (none silently dropped)."""
    members = _model().shape_for(REQUEST_SHAPES[channel_type]).members
    body = {name: True if name == "Enabled" else "x" for name in members}
    change = channel_request(channel_type, json.dumps(body))
    read = set(change.settings) | set(change.credentials) | ({"enabled"} if change.enabled is not None else set())
    assert len(read) == len(members)


def test_paths_cover_every_channel_type_and_bodies_must_be_objects() -> None:
    from homing.api.routers.channels import CHANNEL_PATHS

    assert set(PATHS.values()) == set(RESPONSE_SHAPES)
    assert CHANNEL_PATHS == PATHS  # the router's copy (kept there so it loads no domain module)
    with pytest.raises(BadRequest):
        channel_request("SMS", "[]")
