"""Campaigns through the stock boto3 pinpoint client against the local stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import error_of, new_app

EMAIL = {"EmailMessage": {"Title": "Spring sale", "HtmlBody": "<p>20% off</p>", "FromAddress": "shop@example.com"}}


@pytest.fixture
def app(pinpoint: Any) -> Iterator[dict[str, Any]]:
    with new_app(pinpoint, "campaigns") as created:
        yield created


def test_campaign_lifecycle_through_boto3(pinpoint: Any, app: dict[str, Any]) -> None:
    app_id = app["Id"]
    segment = pinpoint.create_segment(ApplicationId=app_id, WriteSegmentRequest={"Name": "all"})["SegmentResponse"]
    request = {
        "Name": "spring",
        "SegmentId": segment["Id"],
        "MessageConfiguration": EMAIL,
        "Schedule": {"StartTime": "2030-03-01T09:00:00Z", "Frequency": "ONCE", "Timezone": "UTC+05:45"},
        "HoldoutPercent": 5,
        "AdditionalTreatments": [{"SizePercent": 45, "TreatmentName": "B", "MessageConfiguration": EMAIL}],
        "Limits": {"Daily": 1, "MessagesPerSecond": 100},
        "tags": {"team": "growth"},
    }
    created = pinpoint.create_campaign(ApplicationId=app_id, WriteCampaignRequest=request)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    campaign = created["CampaignResponse"]
    assert (campaign["Version"], campaign["SegmentVersion"], campaign["State"]["CampaignStatus"]) == (
        1,
        1,
        "SCHEDULED",
    )
    assert campaign["AdditionalTreatments"][0]["Id"] == "1"
    assert campaign["tags"] == {"team": "growth"}
    cid = campaign["Id"]
    assert pinpoint.get_campaign(ApplicationId=app_id, CampaignId=cid)["CampaignResponse"] == campaign

    updated = pinpoint.update_campaign(
        ApplicationId=app_id, CampaignId=cid, WriteCampaignRequest={"Name": "spring v2", "IsPaused": True}
    )["CampaignResponse"]
    assert (updated["Version"], updated["Name"], updated["State"]["CampaignStatus"]) == (2, "spring v2", "PAUSED")
    first = pinpoint.get_campaign_version(ApplicationId=app_id, CampaignId=cid, Version="1")["CampaignResponse"]
    assert first == campaign
    versions = pinpoint.get_campaign_versions(ApplicationId=app_id, CampaignId=cid)["CampaignsResponse"]["Item"]
    assert [v["Version"] for v in versions] == [1, 2]
    listed = pinpoint.get_campaigns(ApplicationId=app_id)["CampaignsResponse"]["Item"]
    assert [c["Id"] for c in listed] == [cid]
    activities = pinpoint.get_campaign_activities(ApplicationId=app_id, CampaignId=cid)["ActivitiesResponse"]
    assert activities["Item"] == []

    # the segment is in use: refused, and still there
    with pytest.raises(ClientError) as err:
        pinpoint.delete_segment(ApplicationId=app_id, SegmentId=segment["Id"])
    assert error_of(err)[:2] == ("BadRequestException", 400)

    with pytest.raises(ClientError) as err:
        pinpoint.update_campaign(ApplicationId=app_id, CampaignId=cid, WriteCampaignRequest={"HoldoutPercent": 60})
    assert error_of(err)[:2] == ("BadRequestException", 400)

    deleted = pinpoint.delete_campaign(ApplicationId=app_id, CampaignId=cid)["CampaignResponse"]
    assert (deleted["Id"], deleted["Version"], deleted["State"]["CampaignStatus"]) == (cid, 2, "DELETED")
    with pytest.raises(ClientError) as err:
        pinpoint.get_campaign(ApplicationId=app_id, CampaignId=cid)
    assert error_of(err)[:2] == ("NotFoundException", 404)
    pinpoint.delete_segment(ApplicationId=app_id, SegmentId=segment["Id"])  # free again
