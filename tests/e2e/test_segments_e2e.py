"""Segments through the stock boto3 pinpoint client against the local stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import error_of, new_app

DIMENSIONS = {
    "Demographic": {"Platform": {"DimensionType": "INCLUSIVE", "Values": ["iOS"]}},
    "Location": {"GPSPoint": {"Coordinates": {"Latitude": 47.6, "Longitude": -122.3}, "RangeInKilometers": 10.0}},
    "Behavior": {"Recency": {"Duration": "DAY_7", "RecencyType": "ACTIVE"}},
    "Metrics": {"score": {"ComparisonOperator": "GREATER_THAN", "Value": 1.5}},
    "Attributes": {"signup": {"AttributeType": "BETWEEN", "Values": ["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"]}},
}


@pytest.fixture
def app(pinpoint: Any) -> Iterator[dict[str, Any]]:
    with new_app(pinpoint, "segments") as created:
        yield created


def test_segment_lifecycle_through_boto3(pinpoint: Any, app: dict[str, Any]) -> None:
    app_id = app["Id"]
    created = pinpoint.create_segment(
        ApplicationId=app_id, WriteSegmentRequest={"Name": "ios", "Dimensions": DIMENSIONS, "tags": {"t": "1"}}
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    seg = created["SegmentResponse"]
    assert (seg["SegmentType"], seg["Version"], seg["Dimensions"], seg["tags"]) == (
        "DIMENSIONAL",
        1,
        DIMENSIONS,
        {"t": "1"},
    )

    updated = pinpoint.update_segment(
        ApplicationId=app_id, SegmentId=seg["Id"], WriteSegmentRequest={"Name": "ios users"}
    )["SegmentResponse"]
    assert (updated["Version"], updated["Name"], updated["Dimensions"]) == (2, "ios users", DIMENSIONS)
    first = pinpoint.get_segment_version(ApplicationId=app_id, SegmentId=seg["Id"], Version="1")["SegmentResponse"]
    assert first["Name"] == "ios"
    versions = pinpoint.get_segment_versions(ApplicationId=app_id, SegmentId=seg["Id"])["SegmentsResponse"]["Item"]
    assert [v["Version"] for v in versions] == [1, 2]

    other = pinpoint.create_segment(ApplicationId=app_id, WriteSegmentRequest={"Name": "other"})["SegmentResponse"]
    page = pinpoint.get_segments(ApplicationId=app_id, PageSize="1")["SegmentsResponse"]
    rest = pinpoint.get_segments(ApplicationId=app_id, PageSize="1", Token=page["NextToken"])["SegmentsResponse"]
    assert {page["Item"][0]["Id"], rest["Item"][0]["Id"]} == {seg["Id"], other["Id"]}

    deleted = pinpoint.delete_segment(ApplicationId=app_id, SegmentId=seg["Id"])["SegmentResponse"]
    assert deleted["Version"] == 2
    with pytest.raises(ClientError) as err:
        pinpoint.get_segment(ApplicationId=app_id, SegmentId=seg["Id"])
    assert error_of(err)[:2] == ("NotFoundException", 404)


def test_bad_dimension_is_a_bad_request_naming_the_field(pinpoint: Any, app: dict[str, Any]) -> None:
    bad = {"Name": "x", "Dimensions": {"Behavior": {"Recency": {"Duration": "DAY_2", "RecencyType": "ACTIVE"}}}}
    with pytest.raises(ClientError) as err:
        pinpoint.create_segment(ApplicationId=app["Id"], WriteSegmentRequest=bad)
    code, status, message = error_of(err)
    assert (code, status) == ("BadRequestException", 400)
    assert "Behavior.Recency.Duration" in message
