"""Event-triggered campaigns in local mode, driven by the stock boto3 pinpoint client.

An EVENT campaign on a segment of "gold" endpoints: PutEvents for a gold endpoint puts the message
in the local outbox within seconds (process_events matched the event and started send_batch
asynchronously); the same event for an endpoint outside the segment sends nothing; other event
types trigger nothing; the day's activity counts the send.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import settle
from tests.e2e.test_apps_e2e import new_app
from tests.e2e.test_campaign_delivery_e2e import local

pytestmark = pytest.mark.e2e

SENDER = "shop@example.com"


def emails_to(api_url: str, address: str) -> list[dict[str, Any]]:
    return [row for row in local(api_url, "outbox", channel="EMAIL")["Items"] if address in (row.get("To") or [])]


@pytest.fixture
def shop(pinpoint: Any) -> Iterator[dict[str, Any]]:
    """An app with the email channel, a gold and a free endpoint, and an EVENT campaign for gold purchases."""
    run = uuid.uuid4().hex[:8]
    with new_app(pinpoint, "triggers") as app:
        app_id = app["Id"]
        pinpoint.update_email_channel(
            ApplicationId=app_id,
            EmailChannelRequest={
                "Enabled": True,
                "FromAddress": SENDER,
                "Identity": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            },
        )
        addresses = {"gold": f"gold-{run}@example.com", "free": f"free-{run}@example.com"}
        for plan, address in addresses.items():
            pinpoint.update_endpoint(
                ApplicationId=app_id,
                EndpointId=f"ep-{plan}",
                EndpointRequest={
                    "ChannelType": "EMAIL",
                    "Address": address,
                    "User": {"UserId": f"u-{plan}", "UserAttributes": {"plan": [plan]}},
                },
            )
        segment = pinpoint.create_segment(
            ApplicationId=app_id,
            WriteSegmentRequest={
                "Name": "gold",
                "Dimensions": {"UserAttributes": {"plan": {"AttributeType": "INCLUSIVE", "Values": ["gold"]}}},
            },
        )["SegmentResponse"]
        campaign = pinpoint.create_campaign(
            ApplicationId=app_id,
            WriteCampaignRequest={
                "Name": "thanks",
                "SegmentId": segment["Id"],
                "MessageConfiguration": {
                    "EmailMessage": {"Title": "Thanks", "HtmlBody": "<p>Thank you</p>", "FromAddress": SENDER}
                },
                "Schedule": {
                    "StartTime": "IMMEDIATE",
                    "Frequency": "EVENT",
                    "EventFilter": {
                        "FilterType": "ENDPOINT",
                        "Dimensions": {
                            "EventType": {"DimensionType": "INCLUSIVE", "Values": ["purchase"]},
                            "Metrics": {"amount": {"ComparisonOperator": "GREATER_THAN", "Value": 10.0}},
                        },
                    },
                },
            },
        )["CampaignResponse"]
        yield {"app_id": app_id, "campaign_id": campaign["Id"], "addresses": addresses}


def put_event(pinpoint: Any, app_id: str, endpoint_id: str, event_type: str, amount: float) -> None:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    answer = pinpoint.put_events(
        ApplicationId=app_id,
        EventsRequest={
            "BatchItem": {
                endpoint_id: {
                    "Endpoint": {},
                    "Events": {
                        uuid.uuid4().hex: {
                            "EventType": event_type,
                            "Timestamp": now,
                            "Metrics": {"amount": amount},
                            "Session": {"Id": "s1", "StartTimestamp": now},
                        }
                    },
                }
            }
        },
    )
    results = answer["EventsResponse"]["Results"][endpoint_id]["EventsItemResponse"]
    assert all(r["StatusCode"] == 202 for r in results.values()), results


def test_an_event_from_a_segment_member_sends_within_seconds_and_others_send_nothing(
    api_url: str, pinpoint: Any, shop: dict[str, Any]
) -> None:
    app_id, gold, free = shop["app_id"], shop["addresses"]["gold"], shop["addresses"]["free"]
    put_event(pinpoint, app_id, "ep-free", "purchase", 50)  # matches the filter, not the segment
    put_event(pinpoint, app_id, "ep-gold", "page.view", 50)  # another event type
    put_event(pinpoint, app_id, "ep-gold", "purchase", 5)  # below the metric's threshold
    put_event(pinpoint, app_id, "ep-gold", "purchase", 50)

    deadline = time.monotonic() + 30
    while not emails_to(api_url, gold) and time.monotonic() < deadline:
        time.sleep(0.2)
    [mail] = emails_to(api_url, gold)
    assert mail["Subject"] == "Thanks"

    settle(api_url)  # every event handled (and every trigger started): still exactly one message
    assert len(emails_to(api_url, gold)) == 1
    assert emails_to(api_url, free) == []

    [activity] = pinpoint.get_campaign_activities(ApplicationId=app_id, CampaignId=shop["campaign_id"])[
        "ActivitiesResponse"
    ]["Item"]
    assert (activity["TotalEndpointCount"], activity["SuccessfulEndpointCount"]) == (1, 1)
    today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00.000Z")
    assert activity["ScheduledStart"] == today
