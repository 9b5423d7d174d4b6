"""AWS Amplify Analytics' request shapes through the stock boto3 ``pinpoint`` client.

Amplify JS v6 creates its endpoint with neither ``ChannelType`` nor ``Address`` (one endpoint per
app install, keyed by a UUID it caches), calls UpdateEndpoint again on ``identifyUser``, and sends
events with ``"Endpoint": {}``. Pinpoint stores such endpoints; so does Homing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import error_of, new_app

DEMOGRAPHIC = {
    "AppVersion": "ios/17.1",
    "Locale": "en-US",
    "Make": "Apple",
    "Model": "iPhone",
    "ModelVersion": "15",
    "Platform": "iOS",
    "PlatformVersion": "17.1",
    "Timezone": "Europe/Paris",
}


@pytest.fixture
def app_id(pinpoint: Any) -> Iterator[str]:
    with new_app(pinpoint, "amplify") as app:
        yield str(app["Id"])


def amplify_update_endpoint(pinpoint: Any, app_id: str, endpoint_id: str, **extra: Any) -> Any:
    """Amplify JS v6 ``updateEndpoint``: no ChannelType, no Address."""
    request = {
        "RequestId": str(uuid.uuid4()),
        "EffectiveDate": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "Attributes": {},
        "Demographic": DEMOGRAPHIC,
        "Location": {},
        "Metrics": {},
        "OptOut": "NONE",
        "User": {"UserId": "us-east-1:identity-1", "UserAttributes": {}},
        **extra,
    }
    return pinpoint.update_endpoint(ApplicationId=app_id, EndpointId=endpoint_id, EndpointRequest=request)


def test_amplify_endpoint_is_stored_without_channel_or_address(pinpoint: Any, app_id: str) -> None:
    endpoint_id = str(uuid.uuid4())
    written = amplify_update_endpoint(pinpoint, app_id, endpoint_id)
    assert written["ResponseMetadata"]["HTTPStatusCode"] == 202

    endpoint = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)["EndpointResponse"]
    assert "ChannelType" not in endpoint
    assert "Address" not in endpoint
    assert endpoint["EndpointStatus"] == "ACTIVE"
    assert endpoint["OptOut"] == "NONE"
    assert endpoint["Demographic"] == DEMOGRAPHIC
    assert endpoint["User"]["UserId"] == "us-east-1:identity-1"
    assert endpoint["RequestId"] == written["MessageBody"]["RequestID"]


def test_amplify_identify_user_updates_the_same_endpoint(pinpoint: Any, app_id: str) -> None:
    endpoint_id = str(uuid.uuid4())
    amplify_update_endpoint(pinpoint, app_id, endpoint_id)
    amplify_update_endpoint(
        pinpoint,
        app_id,
        endpoint_id,
        Attributes={"email": ["ana@example.com"], "name": ["Ana"], "plan": ["pro"]},
        Metrics={"visits": 3.0},
        Location={"City": "Lyon", "Country": "FR"},
        OptOut="ALL",
        User={"UserId": "user-ana", "UserAttributes": {"tier": ["gold"]}},
    )
    endpoint = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)["EndpointResponse"]
    assert endpoint["Attributes"] == {"email": ["ana@example.com"], "name": ["Ana"], "plan": ["pro"]}
    assert endpoint["Metrics"] == {"visits": 3.0}
    assert endpoint["Location"] == {"City": "Lyon", "Country": "FR"}
    assert endpoint["OptOut"] == "ALL"
    assert endpoint["User"] == {"UserId": "user-ana", "UserAttributes": {"tier": ["gold"]}}
    assert "ChannelType" not in endpoint
    users = pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="user-ana")["EndpointsResponse"]["Item"]
    assert [e["Id"] for e in users] == [endpoint_id]
    with pytest.raises(ClientError) as caught:
        pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="us-east-1:identity-1")
    assert error_of(caught)[:2] == ("NotFoundException", 404)


def test_amplify_record_with_an_empty_endpoint_is_accepted(pinpoint: Any, app_id: str) -> None:
    endpoint_id = str(uuid.uuid4())
    amplify_update_endpoint(pinpoint, app_id, endpoint_id)
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {"EventType": "_session.start", "Timestamp": now, "Session": {"Id": "s-1", "StartTimestamp": now}}
    results = pinpoint.put_events(
        ApplicationId=app_id,
        EventsRequest={"BatchItem": {endpoint_id: {"Endpoint": {}, "Events": {str(uuid.uuid4()): event}}}},
    )["EventsResponse"]["Results"]
    item = results[endpoint_id]
    assert item["EndpointItemResponse"] == {"StatusCode": 202, "Message": "Accepted"}
    assert list(item["EventsItemResponse"].values()) == [{"StatusCode": 202, "Message": "Accepted"}]
    endpoint = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)["EndpointResponse"]
    assert endpoint["Demographic"] == DEMOGRAPHIC  # an empty Endpoint keeps what is stored


def test_amplify_endpoints_do_not_deactivate_each_other_and_count_toward_the_user_cap(
    pinpoint: Any, app_id: str
) -> None:
    """No address, so no duplicate to deactivate; not a push channel, so the 16th is refused."""
    ids = [str(uuid.uuid4()) for _ in range(16)]
    for endpoint_id in ids[:15]:
        amplify_update_endpoint(pinpoint, app_id, endpoint_id, User={"UserId": "many-devices"})
    statuses = {
        pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=e)["EndpointResponse"]["EndpointStatus"]
        for e in ids[:15]
    }
    assert statuses == {"ACTIVE"}
    with pytest.raises(ClientError) as caught:
        amplify_update_endpoint(pinpoint, app_id, ids[15], User={"UserId": "many-devices"})
    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "maximum endpoint per user count: 15" in message
