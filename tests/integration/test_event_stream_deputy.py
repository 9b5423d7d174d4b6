"""PutEventStream without a confused deputy: only allowed accounts, and the app's ExternalId on AssumeRole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from homing.adapters.streams import StreamForwarder
from homing.settings import ApiSettings
from tests.conftest import API_ENV
from tests.integration.test_apps_api import create

OWN = "123456789012"  # the account of RESOURCE_ARN_PREFIX in the test environment
STREAM = f"arn:aws:kinesis:us-east-1:{OWN}:stream/customer-events"
ROLE = f"arn:aws:iam::{OWN}:role/homing-export"


def put_stream(call: Any, app: str, destination: str, role: str) -> Any:
    return call("POST", f"/v1/apps/{app}/eventstream", {"DestinationStreamArn": destination, "RoleArn": role})


@pytest.mark.parametrize(
    ("destination", "role", "field"),
    [
        ("arn:aws:kinesis:us-east-1:999999999999:stream/theirs", ROLE, "DestinationStreamArn"),
        ("arn:aws:firehose:us-east-1:999999999999:deliverystream/theirs", ROLE, "DestinationStreamArn"),
        (STREAM, "arn:aws:iam::999999999999:role/trusts-homing", "RoleArn"),
    ],
)
def test_put_event_stream_refuses_other_accounts(call: Any, destination: str, role: str, field: str) -> None:
    app = create(call)["Id"]
    r = put_stream(call, app, destination, role)
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert r.body["Message"].startswith(field)
    assert OWN in r.body["Message"]
    assert call("GET", f"/v1/apps/{app}/eventstream").status == 404


def test_put_event_stream_accepts_the_own_account(call: Any) -> None:
    app = create(call)["Id"]
    r = put_stream(call, app, STREAM, ROLE)
    assert r.status == 200, r.body
    assert (r.body["DestinationStreamArn"], r.body["RoleArn"]) == (STREAM, ROLE)


def test_allowed_accounts_setting(call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ApiSettings.from_env({**API_ENV, "EVENT_STREAM_ACCOUNTS": "111111111111, 222222222222"})
    assert settings.allowed_event_stream_accounts == {"111111111111", "222222222222"}
    assert ApiSettings.from_env(API_ENV).allowed_event_stream_accounts == {OWN}

    from homing.bootstrap import services

    app = create(call)["Id"]
    monkeypatch.setattr(services().event_streams, "_allowed", settings.allowed_event_stream_accounts)
    assert put_stream(call, app, STREAM, ROLE).status == 400  # the own account is no longer listed
    other = "arn:aws:kinesis:us-east-1:222222222222:stream/x"
    assert put_stream(call, app, other, "arn:aws:iam::111111111111:role/r").status == 200


class _RecordingSession:
    """A boto3 session whose STS client is stubbed: records the AssumeRole parameters Homing sends."""

    def __init__(self) -> None:
        self.sts = boto3.client("sts", region_name="us-east-1")
        self.stubber = Stubber(self.sts)

    def client(self, service: str, region_name: str | None = None) -> Any:
        assert service == "sts"
        return self.sts


def test_assume_role_sends_the_apps_external_id(aws: None) -> None:
    session = _RecordingSession()
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    creds = {"AccessKeyId": "AKIA0000000000000000", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expires}
    for app in ("app-a", "app-b"):
        session.stubber.add_response(
            "assume_role",
            {"Credentials": creds},
            {"RoleArn": ROLE, "RoleSessionName": "homing-event-stream", "ExternalId": app},
        )
    boto3.client("kinesis").create_stream(StreamName="customer-events", ShardCount=1)
    forwarder = StreamForwarder(lambda app_id: (STREAM, ROLE), session_factory=lambda: session)
    record = {"client": {"client_id": "ep"}, "event_type": "x"}
    with session.stubber:
        # two apps naming the same role: each is assumed with its own ExternalId (no shared client)
        forwarder.forward([("app-a", record), ("app-b", record)])
        session.stubber.assert_no_pending_responses()


def test_a_stream_in_an_account_no_longer_allowed_is_not_used(call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from homing.bootstrap import services

    app = create(call)["Id"]
    assert put_stream(call, app, STREAM, ROLE).status == 200
    svc = services().event_streams
    assert svc.target(app) == (STREAM, ROLE)
    monkeypatch.setattr(svc, "_allowed", frozenset({"111111111111"}))
    assert svc.target(app) is None
