"""Event-triggered campaigns, pure: which records trigger which campaign, and the run each one starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.domain import campaign_triggers as triggers
from homing.domain.campaign_runs import run_id
from homing.domain.campaigns import (
    Campaign,
    CampaignEventFilter,
    EventDimensions,
    Schedule,
    Treatment,
)
from homing.domain.segments import AttributeDimension, MetricDimension, SetDimension

APP = "app1"
ARRIVED = datetime(2026, 11, 30, 10, 30, 5, 123000, tzinfo=UTC)


def campaign(
    filter_type: str = "ENDPOINT",
    *,
    event_types: tuple[str, ...] = ("purchase",),
    attributes: dict[str, AttributeDimension] | None = None,
    metrics: dict[str, MetricDimension] | None = None,
    start: str = "IMMEDIATE",
    end: str | None = None,
    frequency: str = "EVENT",
    paused: bool = False,
    cid: str = "c1",
) -> Campaign:
    event_filter = CampaignEventFilter(
        dimensions=EventDimensions(
            event_type=SetDimension(list(event_types), "INCLUSIVE"), attributes=attributes, metrics=metrics
        ),
        filter_type=filter_type,
    )
    return Campaign(
        id=cid,
        application_id=APP,
        version=3,
        creation_date="2026-11-01T00:00:00.000Z",
        last_modified_date="2026-11-01T00:00:00.000Z",
        segment_id="s1",
        segment_version=1,
        is_paused=paused,
        schedule=Schedule(start_time=start, end_time=end, frequency=frequency, event_filter=event_filter),
    )


def record(event_type: str = "purchase", **extra: Any) -> dict[str, Any]:
    ms = int(ARRIVED.timestamp() * 1000)
    base: dict[str, Any] = {
        "event_type": event_type,
        "event_timestamp": ms - 2000,
        "arrival_timestamp": ms,
        "event_id": "ev-1",
        "application": {"app_id": APP},
        "client": {"client_id": "ep-1"},
        "session": {"session_id": "sess-9"},
        "attributes": {},
        "metrics": {},
    }
    base.update(extra)
    return base


def as_trigger(c: Campaign) -> triggers.EventCampaign:
    found = triggers.event_campaign(c)
    assert found is not None
    return found


def test_only_unpaused_event_campaigns_take_triggers() -> None:
    found = as_trigger(campaign())
    assert (found.campaign_id, found.version, found.starts, found.ends) == ("c1", 3, None, None)
    assert found.event_filter.filter_type == "ENDPOINT"
    assert triggers.event_campaign(campaign(paused=True)) is None
    assert triggers.event_campaign(campaign(frequency="DAILY")) is None
    no_schedule = campaign()
    no_schedule.schedule = None
    assert triggers.event_campaign(no_schedule) is None


def test_start_and_end_time_bound_the_triggers() -> None:
    c = as_trigger(campaign(start="2026-11-30T10:00:00Z", end="2026-11-30T11:00:00Z"))
    assert triggers.live(c, ARRIVED)
    assert not triggers.live(c, datetime(2026, 11, 30, 9, 59, 59, tzinfo=UTC))
    assert not triggers.live(c, datetime(2026, 11, 30, 11, 0, tzinfo=UTC))  # EndTime is excluded
    assert triggers.find_runs(APP, [c], [record()])
    late = record(arrival_timestamp=int(datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp() * 1000))
    assert triggers.find_runs(APP, [c], [late]) == []


def test_endpoint_filters_see_app_events_and_system_filters_see_every_event() -> None:
    endpoint = as_trigger(campaign("ENDPOINT", event_types=("purchase", "_email.open")))
    system = as_trigger(campaign("SYSTEM", event_types=("purchase", "_email.open")))
    assert triggers.triggers(endpoint, record("purchase"))
    assert triggers.triggers(endpoint, record("PURCHASE"))  # event types match case-insensitively
    assert not triggers.triggers(endpoint, record("_email.open"))  # a system event: never an ENDPOINT trigger
    assert triggers.triggers(system, record("_email.open"))
    assert triggers.triggers(system, record("purchase"))
    assert not triggers.triggers(system, record("signup"))


def test_attributes_and_metrics_must_all_match() -> None:
    c = as_trigger(
        campaign(
            attributes={"plan": AttributeDimension(["gold", "silver"], "INCLUSIVE")},
            metrics={"amount": MetricDimension("GREATER_THAN_OR_EQUAL", 100.0)},
        )
    )
    assert triggers.triggers(c, record(attributes={"plan": "gold"}, metrics={"amount": 100}))
    assert not triggers.triggers(c, record(attributes={"plan": "bronze"}, metrics={"amount": 150}))
    assert not triggers.triggers(c, record(attributes={"plan": "silver"}, metrics={"amount": 99.5}))
    assert not triggers.triggers(c, record(attributes={"plan": "gold"}))  # a missing metric never matches
    assert not triggers.triggers(c, record(metrics={"amount": 500}))  # a missing attribute matches only EXCLUSIVE
    exclusive = as_trigger(campaign(attributes={"plan": AttributeDimension(["free"], "EXCLUSIVE")}))
    assert triggers.triggers(exclusive, record())
    assert not triggers.triggers(exclusive, record(attributes={"plan": "free"}))


def test_a_campaign_is_not_triggered_by_the_events_of_its_own_sends() -> None:
    c = as_trigger(campaign("SYSTEM", event_types=("_email.send",)))
    assert not triggers.triggers(c, record("_email.send", attributes={"campaign_id": "c1"}))
    assert triggers.triggers(c, record("_email.send", attributes={"campaign_id": "another"}))


def test_the_run_is_named_by_the_campaign_and_the_event() -> None:
    c = as_trigger(campaign())
    [run] = triggers.find_runs(APP, [c], [record()])
    assert run.run_id == run_id("c1", "ev-1")
    assert (run.application_id, run.campaign_id, run.campaign_version) == (APP, "c1", 3)
    assert run.trigger == {"event_id": "ev-1", "endpoint_id": "ep-1", "session_id": "sess-9"}
    assert run.run_at == "2026-11-30T10:30:05.123Z"
    assert run.deadline == "2026-11-30T10:35:05.123Z"  # Pinpoint drops what is not delivered in 5 minutes
    assert run.activities == {}  # opened by send_batch, which may write
    # A replayed record is the same run; another event or campaign is another run.
    assert triggers.find_runs(APP, [c], [record()]) == [run]
    [other] = triggers.find_runs(APP, [c], [record(event_id="ev-2")])
    assert other.run_id != run.run_id
    assert run.run_id != run_id("c2", "ev-1")


def test_a_record_without_a_session_or_event_id_still_triggers() -> None:
    c = as_trigger(campaign())
    bare = record(session={})
    del bare["event_id"]
    [run] = triggers.find_runs(APP, [c], [bare])
    assert run.trigger is not None
    assert run.trigger["session_id"] is None
    expected = f"ep-1:purchase:{bare['event_timestamp']}"  # the events pipeline's own fallback id
    assert run.trigger["event_id"] == expected
    assert run.run_id == run_id("c1", expected)
    assert triggers.find_runs(APP, [c], [record(client={})]) == []  # no endpoint: nothing to send to


def test_each_record_triggers_each_matching_campaign() -> None:
    a, b = as_trigger(campaign(cid="a")), as_trigger(campaign(cid="b", event_types=("signup",)))
    runs = triggers.find_runs(APP, [a, b], [record(), record("signup", event_id="ev-2"), record("other")])
    assert [(r.campaign_id, r.trigger["event_id"] if r.trigger else None) for r in runs] == [
        ("a", "ev-1"),
        ("b", "ev-2"),
    ]


def test_every_treatment_has_an_activity_per_utc_day() -> None:
    c = campaign()
    c.additional_treatments = [Treatment(size_percent=10, id="1"), Treatment(size_percent=10, id="2")]
    assert triggers.treatment_ids(c) == ["0", "1", "2"]
    late_evening = datetime(2026, 11, 30, 23, 30, tzinfo=UTC) + timedelta(hours=1)
    assert triggers.day_start(late_evening) == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", [None, "x", True, 10**20])
def test_records_without_a_usable_time_trigger_nothing(bad: Any) -> None:
    c = as_trigger(campaign())
    assert triggers.find_runs(APP, [c], [record(arrival_timestamp=bad, event_timestamp=bad)]) == []
