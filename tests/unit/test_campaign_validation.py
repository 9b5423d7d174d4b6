"""Campaign rules, pure: WriteCampaignRequest's shape checks, the reported state, activity ids."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.codec import build, dump
from homing.domain.campaigns import (
    TIMEZONES,
    Campaign,
    CampaignDefinition,
    activity_id,
    check_campaign,
    status,
    template_refs,
    wire_name,
)
from homing.domain.errors import BadRequest

EMAIL = {"EmailMessage": {"Title": "Hi", "HtmlBody": "<p>x</p>"}}


def campaign(**wire: Any) -> Campaign:
    """A campaign version from WriteCampaignRequest JSON (the wire's parse, then the service's merge)."""
    body = {"MessageConfiguration": EMAIL, "Schedule": {"StartTime": "IMMEDIATE"}, **wire}
    definition = build(CampaignDefinition, {k: v for k, v in body.items() if v is not None}, "", wire_name)
    base = Campaign(id="c", application_id="a", version=1, creation_date="", last_modified_date="", segment_id="s",
                    segment_version=1)  # fmt: skip
    for f in dataclasses.fields(CampaignDefinition):
        value = getattr(definition, f.name)
        if value is not None:
            setattr(base, f.name, value)
    return base


def rejected(**wire: Any) -> str:
    with pytest.raises(BadRequest) as err:
        check_campaign(campaign(**wire))
    return err.value.message


def test_a_plain_campaign_passes_and_round_trips_through_pinpoint_json() -> None:
    c = campaign(
        Limits={"Daily": 100, "Total": 0, "MessagesPerSecond": 1, "MaximumDuration": 60},
        Schedule={"StartTime": "2030-01-01T00:00:00Z", "EndTime": "2030-01-01T00:00:01Z", "Timezone": "UTC-11"},
        tags={"k": "v"},
        MessageConfiguration={"SMSMessage": {"Body": "hi", "MessageType": "PROMOTIONAL"}, "GCMMessage": {"Body": "x"}},
    )
    check_campaign(c)
    shaped = dump(c, wire_name)
    assert shaped["MessageConfiguration"]["SMSMessage"] == {"Body": "hi", "MessageType": "PROMOTIONAL"}
    assert "GCMMessage" in shaped["MessageConfiguration"]
    assert shaped["tags"] == {"k": "v"}


@pytest.mark.parametrize("holdout", [-1, 101])
def test_holdout_is_a_percentage(holdout: int) -> None:
    assert "HoldoutPercent" in rejected(HoldoutPercent=holdout)


def test_treatments_and_holdout_share_at_most_the_whole_segment() -> None:
    ok = [{"SizePercent": 45, "MessageConfiguration": EMAIL}, {"SizePercent": 45}]
    check_campaign(campaign(HoldoutPercent=10, AdditionalTreatments=ok))
    assert "at most 100" in rejected(HoldoutPercent=11, AdditionalTreatments=ok)
    assert "[1].SizePercent" in rejected(AdditionalTreatments=[{"SizePercent": 5}, {"SizePercent": 0}])
    assert "[0].SizePercent is required" in rejected(AdditionalTreatments=[{}])
    assert "[0].Schedule.Frequency" in rejected(
        AdditionalTreatments=[{"SizePercent": 5, "Schedule": {"StartTime": "IMMEDIATE", "Frequency": "NEVER"}}]
    )


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"Daily": 101}, "Daily"),
        ({"Daily": -1}, "Daily"),
        ({"Total": 101}, "Total"),
        ({"MessagesPerSecond": 0}, "MessagesPerSecond"),
        ({"MessagesPerSecond": 20_001}, "MessagesPerSecond"),
        ({"MaximumDuration": 59}, "MaximumDuration"),
        ({"Session": -1}, "Session"),
    ],
)
def test_limits_ranges(limits: dict[str, int], field: str) -> None:
    assert f"Limits.{field}" in rejected(Limits=limits)


def test_limits_bounds_are_inclusive() -> None:
    check_campaign(campaign(Limits={"Daily": 100, "Total": 100, "MessagesPerSecond": 20_000, "MaximumDuration": 60}))


@pytest.mark.parametrize("zone", sorted(TIMEZONES))
def test_every_documented_timezone_is_accepted(zone: str) -> None:
    check_campaign(campaign(Schedule={"StartTime": "IMMEDIATE", "Timezone": zone}))


@pytest.mark.parametrize("zone", ["UTC+14", "UTC+1", "UTC-12", "Europe/Paris", "utc", "UTC+05:30:00", ""])
def test_other_timezones_are_refused(zone: str) -> None:
    assert "Schedule.Timezone" in rejected(Schedule={"StartTime": "IMMEDIATE", "Timezone": zone})


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({}, "Schedule.StartTime is required"),
        ({"StartTime": "tomorrow"}, "Schedule.StartTime"),
        ({"StartTime": "2030-01-01T00:00:00Z", "EndTime": "2030-01-01T00:00:00Z"}, "EndTime must be after"),
        ({"StartTime": "IMMEDIATE", "EndTime": "later"}, "Schedule.EndTime"),
        ({"StartTime": "IMMEDIATE", "Frequency": "daily"}, "Schedule.Frequency"),
        ({"StartTime": "IMMEDIATE", "QuietTime": {"Start": "7:00"}}, "QuietTime.Start"),
        ({"StartTime": "IMMEDIATE", "QuietTime": {"End": "24:00"}}, "QuietTime.End"),
        ({"StartTime": "IMMEDIATE", "Frequency": "EVENT"}, "EventFilter is required"),
        (
            {"StartTime": "IMMEDIATE", "Frequency": "DAILY", "EventFilter": {"FilterType": "SYSTEM", "Dimensions": {}}},
            "only with Frequency EVENT",
        ),
        ({"StartTime": "IMMEDIATE", "Frequency": "EVENT", "EventFilter": {"Dimensions": {}}}, "FilterType"),
        ({"StartTime": "IMMEDIATE", "Frequency": "EVENT", "EventFilter": {"FilterType": "SYSTEM"}}, "Dimensions"),
        (
            {
                "StartTime": "IMMEDIATE",
                "Frequency": "EVENT",
                "EventFilter": {"FilterType": "SYSTEM", "Dimensions": {"EventType": {"Values": []}}},
            },
            "EventType.Values",
        ),
    ],
)
def test_schedule_shape(schedule: dict[str, Any], field: str) -> None:
    assert field in rejected(Schedule=schedule)


def test_a_schedule_is_required() -> None:
    assert "Schedule is required" in rejected(Schedule=None)


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        ({"Hook": {"Mode": "ASYNC"}}, "Hook.Mode"),
        ({"Hook": {"LambdaFunctionName": "arn:aws:s3:::bucket"}}, "Hook.LambdaFunctionName"),
        ({"Hook": {"WebUrl": "http://x"}}, "Hook.WebUrl"),
        ({"CustomDeliveryConfiguration": {}}, "DeliveryUri is required"),
        ({"CustomDeliveryConfiguration": {"DeliveryUri": "https://"}}, "DeliveryUri"),
        ({"CustomDeliveryConfiguration": {"DeliveryUri": "ftp://x"}}, "DeliveryUri"),
        ({"CustomDeliveryConfiguration": {"DeliveryUri": "fn", "EndpointTypes": ["FAX"]}}, "EndpointTypes[0]"),
        ({"MessageConfiguration": {}}, "MessageConfiguration must hold a message"),
        ({"MessageConfiguration": {"APNSMessage": {"Action": "CALL"}}}, "APNSMessage.Action"),
        ({"MessageConfiguration": {"CustomMessage": {"Data": "x" * 5121}}}, "CustomMessage.Data"),
        ({"TemplateConfiguration": {"VoiceTemplate": {"Name": "v"}}}, "VoiceTemplate"),
        ({"Name": "n" * 1025}, "Name"),
    ],
)
def test_hooks_custom_delivery_and_messages(wire: dict[str, Any], field: str) -> None:
    assert field in rejected(**wire)


@pytest.mark.parametrize(
    "uri",
    [
        "my-function",
        "my-function:live",
        "arn:aws:lambda:eu-west-1:123456789012:function:deliver",
        "arn:aws:lambda:eu-west-1:123456789012:function:deliver:$LATEST",
        "https://hooks.example.com/deliver",
    ],
)
def test_delivery_uris_pinpoint_accepts(uri: str) -> None:
    check_campaign(campaign(MessageConfiguration=None, CustomDeliveryConfiguration={"DeliveryUri": uri}))


def test_a_template_alone_is_something_to_send_and_is_listed_for_the_service_to_check() -> None:
    c = campaign(
        MessageConfiguration=None,
        TemplateConfiguration={"SMSTemplate": {"Name": "otp", "Version": "2"}},
        AdditionalTreatments=[{"SizePercent": 10, "TemplateConfiguration": {"EmailTemplate": {"Name": "b"}}}],
    )
    check_campaign(c)
    assert template_refs(c) == [
        ("otp", "SMS", "2", "TemplateConfiguration.SMSTemplate"),
        ("b", "EMAIL", None, "AdditionalTreatments[0].TemplateConfiguration.EmailTemplate"),
    ]


def test_status_is_paused_while_is_paused_else_what_the_runs_recorded() -> None:
    c = campaign()
    assert status(c) == "SCHEDULED"
    c.run_status = "PENDING_NEXT_RUN"
    assert status(c) == "PENDING_NEXT_RUN"
    c.is_paused = True
    assert status(c) == "PAUSED"


def test_activity_ids_are_stable_distinct_and_sort_by_scheduled_start() -> None:
    start = datetime(2030, 3, 1, 9, tzinfo=UTC)
    a = activity_id("c1", "0", start)
    assert a == activity_id("c1", "0", start)
    assert len(a) == 32
    assert all(ch in "0123456789abcdef" for ch in a)
    assert len({a, activity_id("c1", "1", start), activity_id("c2", "0", start)}) == 3
    later = [activity_id("c1", "0", start + timedelta(hours=h)) for h in range(1, 30, 7)]
    assert sorted([a, *later]) == [a, *later]
