"""Every dimension type selects the right endpoints: segments made with stock boto3, audiences resolved by the
local stack's state machine (the Homing extension, signed HTTP), pages read back from the local stack's S3."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import REGION, settle
from tests.e2e.test_apps_e2e import new_app
from tests.e2e.test_events_e2e import signed_request

OLD = "2025-01-01T00:00:00Z"  # every endpoint's EffectiveDate: only events make one recently active
ENDPOINTS: dict[str, dict[str, Any]] = {
    "ep-ios": {
        "ChannelType": "EMAIL",
        "Address": "ios@example.com",
        "Demographic": {"Platform": "iOS", "AppVersion": "2.0", "Make": "Apple", "Model": "iPhone"},
        "Location": {"Country": "US", "Latitude": 47.6, "Longitude": -122.3},
        "Attributes": {"tier": ["gold"], "signup": ["2025-01-15T10:00:00Z"]},
        "User": {"UserId": "u-ios", "UserAttributes": {"plan": ["pro"], "since": ["2025-01-15T10:00:00Z"]}},
        "Metrics": {"score": 5.0},
    },
    "ep-android": {
        "ChannelType": "GCM",
        "Address": "token-android",
        "Demographic": {"Platform": "android", "AppVersion": "1.0", "Make": "Samsung", "Model": "Galaxy"},
        "Location": {"Country": "DE", "Latitude": 52.5, "Longitude": 13.4},
        "Attributes": {"tier": ["silver"], "signup": ["2024-06-01T00:00:00Z"]},
        "User": {"UserId": "u-android", "UserAttributes": {"plan": ["free"], "since": ["2024-06-01T00:00:00Z"]}},
        "Metrics": {"score": 1.0},
    },
    "ep-web": {
        "ChannelType": "EMAIL",
        "Address": "web@example.com",
        "Demographic": {"Platform": "web"},
        "Location": {"Country": "us", "Latitude": 40.7, "Longitude": -74.0},
        "Attributes": {"tier": ["gold", "vip"], "signup": ["2025-03-01T00:00:00Z"]},
        "User": {"UserId": "u-web", "UserAttributes": {"plan": ["pro-trial"], "since": ["2025-03-01T00:00:00Z"]}},
        "Metrics": {"score": 3.0},
    },
    "ep-sms": {"ChannelType": "SMS", "Address": "+15550100", "Location": {"Country": "FR"}},
}
EVERYONE = set(ENDPOINTS)


def demographic(name: str, kind: str, *values: str) -> dict[str, Any]:
    return {"Demographic": {name: {"DimensionType": kind, "Values": list(values)}}}


def attribute(kind: str, *values: str, name: str = "tier", user: bool = False) -> dict[str, Any]:
    return {"UserAttributes" if user else "Attributes": {name: {"AttributeType": kind, "Values": list(values)}}}


def metric(op: str, value: float) -> dict[str, Any]:
    return {"Metrics": {"score": {"ComparisonOperator": op, "Value": value}}}


def recency(kind: str) -> dict[str, Any]:
    return {"Behavior": {"Recency": {"Duration": "DAY_7", "RecencyType": kind}}}


# (name, Dimensions, expected endpoint ids)
DIMENSIONAL: list[tuple[str, dict[str, Any], set[str]]] = [
    ("platform", demographic("Platform", "INCLUSIVE", "IOS"), {"ep-ios"}),
    ("app version", demographic("AppVersion", "EXCLUSIVE", "1.0"), EVERYONE - {"ep-android"}),
    ("make", demographic("Make", "INCLUSIVE", "samsung"), {"ep-android"}),
    ("model", demographic("Model", "INCLUSIVE", "iPhone"), {"ep-ios"}),
    ("channel", demographic("Channel", "INCLUSIVE", "EMAIL"), {"ep-ios", "ep-web"}),
    ("device type", demographic("DeviceType", "EXCLUSIVE", "phone"), EVERYONE),
    ("country", {"Location": {"Country": {"DimensionType": "INCLUSIVE", "Values": ["US"]}}}, {"ep-ios", "ep-web"}),
    (
        "gps",
        {"Location": {"GPSPoint": {"Coordinates": {"Latitude": 47.5, "Longitude": -122.2}, "RangeInKilometers": 50}}},
        {"ep-ios"},
    ),
    ("recency active", recency("ACTIVE"), {"ep-ios", "ep-web"}),
    ("recency inactive", recency("INACTIVE"), {"ep-android", "ep-sms"}),
    ("attr inclusive", attribute("INCLUSIVE", "gold"), {"ep-ios", "ep-web"}),
    ("attr exclusive", attribute("EXCLUSIVE", "gold"), {"ep-android", "ep-sms"}),
    ("attr contains", attribute("CONTAINS", "ilv"), {"ep-android"}),
    ("attr before", attribute("BEFORE", "2025-01-01T00:00:00Z", name="signup"), {"ep-android"}),
    ("attr after", attribute("AFTER", "2025-02-01T00:00:00Z", name="signup"), {"ep-web"}),
    ("attr on", attribute("ON", "2025-01-15T00:00:00Z", name="signup"), {"ep-ios"}),
    (
        "attr between",
        attribute("BETWEEN", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", name="signup"),
        {"ep-ios"},
    ),
    ("user attr inclusive", attribute("INCLUSIVE", "pro", name="plan", user=True), {"ep-ios"}),
    ("user attr contains", attribute("CONTAINS", "pro", name="plan", user=True), {"ep-ios", "ep-web"}),
    ("user attr exclusive", attribute("EXCLUSIVE", "free", name="plan", user=True), EVERYONE - {"ep-android"}),
    ("user attr before", attribute("BEFORE", "2025-01-01T00:00:00Z", name="since", user=True), {"ep-android"}),
    ("user attr after", attribute("AFTER", "2025-02-01T00:00:00Z", name="since", user=True), {"ep-web"}),
    ("user attr on", attribute("ON", "2025-01-15T00:00:00Z", name="since", user=True), {"ep-ios"}),
    (
        "user attr between",
        attribute("BETWEEN", "2024-01-01T00:00:00Z", "2025-01-31T00:00:00Z", name="since", user=True),
        {"ep-ios", "ep-android"},
    ),
    ("metric >", metric("GREATER_THAN", 2.0), {"ep-ios", "ep-web"}),
    ("metric <", metric("LESS_THAN", 3.0), {"ep-android"}),
    ("metric >=", metric("GREATER_THAN_OR_EQUAL", 3.0), {"ep-ios", "ep-web"}),
    ("metric <=", metric("LESS_THAN_OR_EQUAL", 1.0), {"ep-android"}),
    ("metric =", metric("EQUAL", 5.0), {"ep-ios"}),
]


@pytest.fixture(scope="module")
def app(pinpoint: Any, api_url: str) -> Iterator[str]:
    with new_app(pinpoint, "audiences") as created:
        app_id = created["Id"]
        items = [{"Id": k, "EffectiveDate": OLD, **v} for k, v in ENDPOINTS.items()]
        pinpoint.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items})
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        pinpoint.put_events(
            ApplicationId=app_id,
            EventsRequest={
                "BatchItem": {
                    e: {"Endpoint": {}, "Events": {"e1": {"EventType": "opened", "Timestamp": now}}}
                    for e in ("ep-ios", "ep-web")
                }
            },
        )
        settle(api_url)  # the activity items are written by process_events
        yield app_id


def create(pinpoint: Any, app_id: str, name: str, **request: Any) -> str:
    segment = pinpoint.create_segment(ApplicationId=app_id, WriteSegmentRequest={"Name": name, **request})
    return str(segment["SegmentResponse"]["Id"])


def resolve(api_url: str, app_id: str, segment_id: str) -> dict[str, Any]:
    """Start a resolution (202), then poll the extension until it is COMPLETED; the final answer."""
    path = f"/v1/apps/{app_id}/segments/{segment_id}/audience"
    started = signed_request(api_url, "POST", path)
    assert started["State"] == "PROCESSING"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        answer: dict[str, Any] = signed_request(api_url, "GET", path)
        if answer["Id"] == started["Id"] and answer["State"] != "PROCESSING":
            assert answer["State"] == "COMPLETED", answer
            return answer
        time.sleep(0.2)
    raise AssertionError(f"resolution of {segment_id} did not finish")


def members(moto_url: str, manifest_url: str) -> list[dict[str, Any]]:
    """Every page the manifest names, read from the local stack's S3."""
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION)
    bucket, key = manifest_url.removeprefix("s3://").split("/", 1)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    out: list[dict[str, Any]] = []
    for page in manifest["pages"]:
        out += json.loads(s3.get_object(Bucket=bucket, Key=page["key"])["Body"].read())["members"]
    return out


def audience_ids(api_url: str, moto_url: str, app_id: str, segment_id: str) -> tuple[dict[str, Any], set[str]]:
    answer = resolve(api_url, app_id, segment_id)
    found = [m["id"] for m in members(moto_url, answer["Manifest"])]
    assert len(found) == len(set(found)) == answer["SegmentSize"]  # each member once, as counted
    return answer, set(found)


def test_every_dimension_type_selects_the_right_endpoints(pinpoint: Any, api_url: str, moto_url: str, app: str) -> None:
    segments = {name: (create(pinpoint, app, name, Dimensions=dims), expected) for name, dims, expected in DIMENSIONAL}

    got = {name: audience_ids(api_url, moto_url, app, segment_id)[1] for name, (segment_id, _) in segments.items()}

    assert got == {name: expected for name, (_, expected) in segments.items()}


def test_segment_groups_with_base_segments_and_all_any_none(
    pinpoint: Any, api_url: str, moto_url: str, app: str
) -> None:
    gold = create(pinpoint, app, "gold", Dimensions=attribute("INCLUSIVE", "gold"))
    ios = create(pinpoint, app, "ios", Dimensions=demographic("Platform", "INCLUSIVE", "iOS"))

    def group(**g: Any) -> dict[str, Any]:
        return {"SegmentGroups": {"Include": g.pop("include", "ALL"), "Groups": [g]}}

    cases = {
        "bases any": (group(SourceSegments=[{"Id": gold}, {"Id": ios}], SourceType="ANY"), {"ep-ios", "ep-web"}),
        "bases all": (group(SourceSegments=[{"Id": gold}, {"Id": ios, "Version": 1}], SourceType="ALL"), {"ep-ios"}),
        "bases none": (group(SourceSegments=[{"Id": ios}], SourceType="NONE"), EVERYONE - {"ep-ios"}),
        "dims any": (
            group(
                Dimensions=[
                    demographic("Channel", "INCLUSIVE", "GCM"),
                    {"Location": {"Country": {"Values": ["FR"]}}},
                ],
                Type="ANY",
            ),
            {"ep-android", "ep-sms"},
        ),
        "dims all with base": (
            group(SourceSegments=[{"Id": gold}], Dimensions=[metric("GREATER_THAN", 4.0)], Type="ALL"),
            {"ep-ios"},
        ),
        "include none": (group(Dimensions=[metric("GREATER_THAN", 2.0)], include="NONE"), {"ep-android", "ep-sms"}),
    }
    segments = {name: (create(pinpoint, app, name, **request), expected) for name, (request, expected) in cases.items()}

    got = {name: audience_ids(api_url, moto_url, app, segment_id)[1] for name, (segment_id, _) in segments.items()}

    assert got == {name: expected for name, (_, expected) in segments.items()}


def test_the_extension_reports_size_channel_counts_inactive_and_opted_out(
    pinpoint: Any, api_url: str, moto_url: str, app: str
) -> None:
    pinpoint.update_endpoint(
        ApplicationId=app,
        EndpointId="ep-optout",
        EndpointRequest={
            "ChannelType": "EMAIL",
            "Address": "o@example.com",
            "OptOut": "ALL",
            "Attributes": {"tier": ["gold"]},
        },
    )
    pinpoint.update_endpoint(
        ApplicationId=app,
        EndpointId="ep-asleep",
        EndpointRequest={
            "ChannelType": "SMS",
            "Address": "+15550199",
            "EndpointStatus": "INACTIVE",
            "Attributes": {"tier": ["gold"]},
        },
    )
    gold = create(pinpoint, app, "gold again", Dimensions=attribute("INCLUSIVE", "gold"))

    answer, ids = audience_ids(api_url, moto_url, app, gold)

    assert ids == {"ep-ios", "ep-web", "ep-optout", "ep-asleep"}  # counted and flagged, not dropped
    assert answer["SegmentSize"] == 4
    assert answer["ChannelCounts"] == {"EMAIL": 3, "SMS": 1}
    assert (answer["InactiveCount"], answer["OptedOutCount"]) == (1, 1)
    assert answer["SegmentVersion"] == 1
    assert answer["Manifest"].startswith("s3://")
    flagged = {m["id"]: (m["inactive"], m["opted_out"]) for m in members(moto_url, answer["Manifest"])}
    assert flagged["ep-optout"] == (False, True)
    assert flagged["ep-asleep"] == (True, False)


def test_the_extension_refuses_bad_requests_naming_the_field(pinpoint: Any, api_url: str, app: str) -> None:
    segment = create(pinpoint, app, "errors", Dimensions=demographic("Platform", "INCLUSIVE", "ios"))
    path = f"/v1/apps/{app}/segments/{segment}/audience"
    with pytest.raises(AssertionError, match=r": 400 .*version"):
        signed_request(api_url, "POST", path, {"version": "x"})
    with pytest.raises(AssertionError, match=r": 404 "):
        signed_request(api_url, "POST", f"/v1/apps/{app}/segments/nosuchsegment/audience")
    with pytest.raises(AssertionError, match=r": 404 "):
        signed_request(api_url, "GET", f"/v1/apps/{app}/segments/nosuchsegment/audience")
