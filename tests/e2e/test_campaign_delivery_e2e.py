"""Campaigns run through the delivery workflow in local mode, driven by the stock boto3 pinpoint client.

An IMMEDIATE email campaign to a small segment completes with exact counts and its messages in the
local outbox; a DAILY campaign runs when the local clock reaches its start and again a day later; a
paused campaign is not armed and does not run; a batch whose first attempt fails after it sent (its
answer lost, ``POST /_local/faults``) is retried and every recipient gets the message exactly once.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from homing.adapters.schedules import schedule_name
from tests.e2e.test_apps_e2e import new_app

pytestmark = pytest.mark.e2e

SENDER = "shop@example.com"


def local(api_url: str, name: str, body: dict[str, Any] | None = None, **query: str) -> Any:
    """GET (or POST ``body`` to) a ``/_local/<name>`` page."""
    url = f"{api_url}/_local/{name}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=120) as page:
        return json.load(page)


def outbox_to(api_url: str, addresses: set[str]) -> Counter[str]:
    """How many emails each of ``addresses`` received (every address of a message's To counts)."""
    rows = local(api_url, "outbox", channel="EMAIL")["Items"]
    to = [str(t).lower() for row in rows for t in (row["To"] if isinstance(row["To"], list) else [row["To"]])]
    return Counter(t for t in to if t in addresses)


@pytest.fixture
def shop(pinpoint: Any) -> Iterator[dict[str, Any]]:
    """An app with the email channel and ``people`` endpoints: five reachable, one opted out, one inactive."""
    run = uuid.uuid4().hex[:8]
    with new_app(pinpoint, "delivery") as app:
        app_id = app["Id"]
        pinpoint.update_email_channel(
            ApplicationId=app_id,
            EmailChannelRequest={
                "Enabled": True,
                "FromAddress": SENDER,
                "Identity": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            },
        )
        reachable = {f"r{i}-{run}@example.com" for i in range(5)}
        for i, address in enumerate(sorted(reachable)):
            pinpoint.update_endpoint(
                ApplicationId=app_id,
                EndpointId=f"reachable-{i}",
                EndpointRequest={"ChannelType": "EMAIL", "Address": address},
            )
        pinpoint.update_endpoint(
            ApplicationId=app_id,
            EndpointId="opted-out",
            EndpointRequest={"ChannelType": "EMAIL", "Address": f"out-{run}@example.com", "OptOut": "ALL"},
        )
        pinpoint.update_endpoint(
            ApplicationId=app_id,
            EndpointId="inactive",
            EndpointRequest={
                "ChannelType": "EMAIL",
                "Address": f"gone-{run}@example.com",
                "EndpointStatus": "INACTIVE",
            },
        )
        segment = pinpoint.create_segment(ApplicationId=app_id, WriteSegmentRequest={"Name": "everyone"})
        yield {
            "app_id": app_id,
            "segment_id": segment["SegmentResponse"]["Id"],
            "reachable": reachable,
            "skipped": {f"out-{run}@example.com", f"gone-{run}@example.com"},
        }


def campaign_request(shop: dict[str, Any], schedule: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "Name": "delivery",
        "SegmentId": shop["segment_id"],
        "MessageConfiguration": {
            "EmailMessage": {"Title": "Spring sale", "HtmlBody": "<p>20% off</p>", "FromAddress": SENDER}
        },
        "Schedule": schedule,
        **more,
    }


def activities(pinpoint: Any, app_id: str, campaign_id: str) -> list[dict[str, Any]]:
    found = pinpoint.get_campaign_activities(ApplicationId=app_id, CampaignId=campaign_id)
    items: list[dict[str, Any]] = found["ActivitiesResponse"]["Item"]
    return items


def completed(pinpoint: Any, app_id: str, campaign_id: str, runs: int, timeout: float = 180) -> list[dict[str, Any]]:
    """Wait until ``runs`` activities are COMPLETED and the campaign left EXECUTING; the activities."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = activities(pinpoint, app_id, campaign_id)
        done = [a for a in found if a["State"] == "COMPLETED"]
        state = pinpoint.get_campaign(ApplicationId=app_id, CampaignId=campaign_id)["CampaignResponse"]["State"]
        if len(done) >= runs and state["CampaignStatus"] != "EXECUTING":
            return found
        time.sleep(0.25)
    raise AssertionError(f"the campaign's runs did not complete: {found}")


def local_now(api_url: str) -> datetime:
    (row,) = local(api_url, "clock")["Items"]
    return datetime.fromisoformat(row["Now"])


def fired_for(answer: dict[str, Any], app_id: str, campaign_id: str) -> list[dict[str, Any]]:
    """The fires of the campaign's schedule in a ``POST /_local/clock`` answer."""
    name = schedule_name(app_id, campaign_id)
    return [f for f in answer["Fired"] if f["Schedule"].endswith(f"/{name}")]


def test_an_immediate_campaign_sends_once_to_each_reachable_endpoint(
    api_url: str, pinpoint: Any, shop: dict[str, Any]
) -> None:
    app_id = shop["app_id"]
    campaign = pinpoint.create_campaign(
        ApplicationId=app_id, WriteCampaignRequest=campaign_request(shop, {"StartTime": "IMMEDIATE"})
    )["CampaignResponse"]

    (activity,) = completed(pinpoint, app_id, campaign["Id"], 1)

    assert activity["Result"] == "SUCCESS"
    assert (activity["TotalEndpointCount"], activity["SuccessfulEndpointCount"]) == (7, 5)
    assert activity["ExecutionMetrics"]["ENDPOINT_OPT_OUT"] == "1"
    assert activity["ExecutionMetrics"]["ENDPOINT_INACTIVE"] == "1"
    assert (activity["TreatmentId"], activity["ScheduledStart"]) == ("0", campaign["LastModifiedDate"])
    state = pinpoint.get_campaign(ApplicationId=app_id, CampaignId=campaign["Id"])["CampaignResponse"]["State"]
    assert state == {"CampaignStatus": "COMPLETED"}
    assert outbox_to(api_url, shop["reachable"]) == Counter(dict.fromkeys(shop["reachable"], 1))
    assert outbox_to(api_url, shop["skipped"]) == Counter()


def test_a_daily_campaign_runs_on_the_local_clock_and_again_a_day_later(
    api_url: str, pinpoint: Any, shop: dict[str, Any]
) -> None:
    app_id = shop["app_id"]
    start = (local_now(api_url) + timedelta(seconds=30)).replace(microsecond=0)
    schedule = {"StartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "Frequency": "DAILY", "Timezone": "UTC"}
    campaign = pinpoint.create_campaign(ApplicationId=app_id, WriteCampaignRequest=campaign_request(shop, schedule))[
        "CampaignResponse"
    ]
    cid = campaign["Id"]
    assert campaign["State"]["CampaignStatus"] == "SCHEDULED"
    assert activities(pinpoint, app_id, cid) == []

    assert len(fired_for(local(api_url, "clock", {"advance_seconds": 60}), app_id, cid)) == 1
    (first,) = completed(pinpoint, app_id, cid, 1)
    assert (first["Result"], first["SuccessfulEndpointCount"]) == ("SUCCESS", 5)
    assert datetime.fromisoformat(first["ScheduledStart"].replace("Z", "+00:00")) == start
    state = pinpoint.get_campaign(ApplicationId=app_id, CampaignId=cid)["CampaignResponse"]["State"]
    assert state == {"CampaignStatus": "PENDING_NEXT_RUN"}

    assert len(fired_for(local(api_url, "clock", {"advance_seconds": 86_400}), app_id, cid)) == 1
    runs = completed(pinpoint, app_id, cid, 2)
    starts = sorted(datetime.fromisoformat(a["ScheduledStart"].replace("Z", "+00:00")) for a in runs)
    assert starts == [start, start + timedelta(days=1)]
    assert outbox_to(api_url, shop["reachable"]) == Counter(dict.fromkeys(shop["reachable"], 2))

    pinpoint.delete_campaign(ApplicationId=app_id, CampaignId=cid)  # disarmed: nothing fires for it any more
    assert fired_for(local(api_url, "clock", {"advance_seconds": 86_400}), app_id, cid) == []


def test_a_paused_campaign_is_not_armed_and_does_not_run(api_url: str, pinpoint: Any, shop: dict[str, Any]) -> None:
    app_id = shop["app_id"]
    start = (local_now(api_url) + timedelta(seconds=30)).replace(microsecond=0)
    schedule = {"StartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "Frequency": "HOURLY"}
    paused = pinpoint.create_campaign(
        ApplicationId=app_id, WriteCampaignRequest=campaign_request(shop, schedule, IsPaused=True)
    )["CampaignResponse"]
    armed = pinpoint.create_campaign(ApplicationId=app_id, WriteCampaignRequest=campaign_request(shop, schedule))[
        "CampaignResponse"
    ]
    pinpoint.update_campaign(ApplicationId=app_id, CampaignId=armed["Id"], WriteCampaignRequest={"IsPaused": True})

    answer = local(api_url, "clock", {"advance_seconds": 7_200})

    assert fired_for(answer, app_id, paused["Id"]) == fired_for(answer, app_id, armed["Id"]) == []
    for campaign in (paused, armed):
        assert activities(pinpoint, app_id, campaign["Id"]) == []
        state = pinpoint.get_campaign(ApplicationId=app_id, CampaignId=campaign["Id"])["CampaignResponse"]["State"]
        assert state == {"CampaignStatus": "PAUSED"}
    assert outbox_to(api_url, shop["reachable"]) == Counter()


def test_a_batch_failing_mid_run_is_retried_and_sends_each_message_exactly_once(
    api_url: str, pinpoint: Any, shop: dict[str, Any]
) -> None:
    """Two messages a second: three batches of two, paced; batch 1's first attempt sends and then fails."""
    app_id = shop["app_id"]
    request = campaign_request(shop, {"StartTime": "IMMEDIATE"}, Limits={"MessagesPerSecond": 2}, IsPaused=True)
    cid = pinpoint.create_campaign(ApplicationId=app_id, WriteCampaignRequest=request)["CampaignResponse"]["Id"]
    local(api_url, "faults", {"function": "SendBatch", "match": {"run": {"campaign_id": cid}, "item": {"batch": 1}}})

    pinpoint.update_campaign(ApplicationId=app_id, CampaignId=cid, WriteCampaignRequest={"IsPaused": False})

    (activity,) = completed(pinpoint, app_id, cid, 1)
    assert (activity["Result"], activity["SuccessfulEndpointCount"]) == ("SUCCESS", 5)
    assert outbox_to(api_url, shop["reachable"]) == Counter(dict.fromkeys(shop["reachable"], 1))
    assert [row for row in local(api_url, "faults")["Items"] if row["Left"]] == []  # the fault was used


def test_a_batch_failing_every_attempt_is_counted_as_a_failed_run(
    api_url: str, pinpoint: Any, shop: dict[str, Any]
) -> None:
    """Batches of two in endpoint-id order: [inactive, opted-out], [r0, r1], [r2, r3], [r4]; the last one
    fails before it sends, on every attempt."""
    app_id = shop["app_id"]
    request = campaign_request(shop, {"StartTime": "IMMEDIATE"}, Limits={"MessagesPerSecond": 2}, IsPaused=True)
    cid = pinpoint.create_campaign(ApplicationId=app_id, WriteCampaignRequest=request)["CampaignResponse"]["Id"]
    # the last batch: moto's interpreter ignores ToleratedFailurePercentage (it logs so), so locally a batch
    # that still fails ends the Map there and the run goes through its catch; AWS runs the others on
    match = {"run": {"campaign_id": cid}, "item": {"batch": 3}}
    local(api_url, "faults", {"function": "SendBatch", "match": match, "count": 3, "before": True})

    pinpoint.update_campaign(ApplicationId=app_id, CampaignId=cid, WriteCampaignRequest={"IsPaused": False})

    (activity,) = completed(pinpoint, app_id, cid, 1)
    assert activity["Result"] == "FAILURE"  # batch 3 never reported its tally
    assert (activity["TotalEndpointCount"], activity["SuccessfulEndpointCount"]) == (6, 4)
    *sent, never = sorted(shop["reachable"])
    assert outbox_to(api_url, shop["reachable"]) == Counter(dict.fromkeys(sent, 1))
    assert never not in outbox_to(api_url, shop["reachable"])
    state = pinpoint.get_campaign(ApplicationId=app_id, CampaignId=cid)["CampaignResponse"]["State"]
    assert state == {"CampaignStatus": "COMPLETED"}
