"""The issue's headline run: an IMMEDIATE email campaign to a 10,000-endpoint segment through the local stack.

Driven by the stock boto3 client as a new user would: 10,000 EMAIL endpoints (200 opted out, 200
inactive) in one segment; a campaign holding out 10 % with an additional treatment of 30 %; the app's
daily cap of one message per endpoint. The run must end with exact counts: every reachable endpoint
either held out or sent exactly once, in the outbox, under its treatment's subject; the shares within
tolerance; the opted-out and inactive never sent; and a second campaign to the same segment the same
day sends nothing, every endpoint having reached its daily cap.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pytest

from tests.e2e.test_apps_e2e import new_app
from tests.e2e.test_campaign_delivery_e2e import local

pytestmark = pytest.mark.e2e

SENDER = "scale@example.com"
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
ENDPOINTS = 10_000
RUN_TIMEOUT = 1_500  # seconds; 10,000 sends on a shared 2-core machine through moto


def wait_completed(pinpoint: Any, app_id: str, campaign_id: str, treatments: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + RUN_TIMEOUT
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = pinpoint.get_campaign_activities(ApplicationId=app_id, CampaignId=campaign_id)["ActivitiesResponse"][
            "Item"
        ]
        if len(items) == treatments and all(a["State"] == "COMPLETED" for a in items):
            return items
        time.sleep(3)
    raise AssertionError(f"campaign {campaign_id} did not complete: {items}")


def recipient(row: dict[str, Any]) -> str:
    (to,) = row["To"]
    return str(to)


def email(subject: str) -> dict[str, Any]:
    return {"EmailMessage": {"Title": subject, "HtmlBody": "<p>Hi {{Attributes.name}}</p>", "Body": "Hi"}}


def test_a_campaign_to_ten_thousand_endpoints_sends_each_exactly_once(pinpoint: Any, api_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    suffix = f"-{run}@scale.example.com"
    address = {i: f"u{i}-{run}@scale.example.com" for i in range(ENDPOINTS)}
    opted_out = {i for i in range(ENDPOINTS) if i % 50 == 0}
    inactive = {i for i in range(ENDPOINTS) if i % 50 == 25}
    with new_app(pinpoint, "scale") as app:
        app_id = app["Id"]
        pinpoint.update_email_channel(
            ApplicationId=app_id, EmailChannelRequest={"Enabled": True, "FromAddress": SENDER, "Identity": IDENTITY}
        )
        pinpoint.update_application_settings(
            ApplicationId=app_id, WriteApplicationSettingsRequest={"Limits": {"Daily": 1}}
        )
        for start in range(0, ENDPOINTS, 100):
            items = []
            for i in range(start, start + 100):
                item: dict[str, Any] = {
                    "Id": f"e{i:05d}",
                    "ChannelType": "EMAIL",
                    "Address": address[i],
                    "Attributes": {"cohort": ["scale"], "name": [f"n{i}"]},
                }
                if i in opted_out:
                    item["OptOut"] = "ALL"
                if i in inactive:
                    item["EndpointStatus"] = "INACTIVE"
                items.append(item)
            pinpoint.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items})
        segment = pinpoint.create_segment(
            ApplicationId=app_id,
            WriteSegmentRequest={
                "Name": "scale",
                "Dimensions": {"Attributes": {"cohort": {"AttributeType": "INCLUSIVE", "Values": ["scale"]}}},
            },
        )["SegmentResponse"]

        def campaign(name: str, **extra: Any) -> dict[str, Any]:
            return pinpoint.create_campaign(
                ApplicationId=app_id,
                WriteCampaignRequest={
                    "Name": name,
                    "SegmentId": segment["Id"],
                    "Schedule": {"StartTime": "IMMEDIATE", "Frequency": "ONCE"},
                    **extra,
                },
            )["CampaignResponse"]

        first = campaign(
            "first",
            HoldoutPercent=10,
            MessageConfiguration=email("Treatment A"),
            AdditionalTreatments=[{"SizePercent": 30, "MessageConfiguration": email("Treatment B")}],
        )
        activities = wait_completed(pinpoint, app_id, first["Id"], treatments=2)

        reachable = {address[i] for i in range(ENDPOINTS) if i not in opted_out and i not in inactive}
        rows = [r for r in local(api_url, "outbox", channel="EMAIL")["Items"] if recipient(r).endswith(suffix)]
        sent = Counter(recipient(r) for r in rows)
        assert max(sent.values()) == 1  # nobody twice
        assert set(sent) <= reachable  # no opted-out or inactive endpoint
        subjects = Counter(r["Subject"] for r in rows)
        held_out = len(reachable) - len(sent)
        assert abs(held_out - 0.10 * len(reachable)) < 0.02 * len(reachable), held_out
        assert abs(subjects["Treatment B"] - 0.30 * len(reachable)) < 0.03 * len(reachable), subjects
        assert subjects["Treatment A"] + subjects["Treatment B"] == len(sent)
        successful = sum(a["SuccessfulEndpointCount"] for a in activities)
        assert successful == len(sent)
        assert {a["Result"] for a in activities} == {"SUCCESS"}

        second = campaign("second", MessageConfiguration=email("Again today"))
        wait_completed(pinpoint, app_id, second["Id"], treatments=1)
        again = [
            r
            for r in local(api_url, "outbox", channel="EMAIL")["Items"]
            if r["Subject"] == "Again today" and recipient(r).endswith(suffix)
        ]
        # held-out endpoints were not sent to, so only they are still under the daily cap
        assert len(again) == held_out
