"""IsLocalTime per recipient's zone: a local-time run is sent in fires, each to the members whose zone
reaches the run's wall clock in (After, FireAt]; the next fire is armed at the earliest instant a batch
left a member for; the last fire sums every fire into the activities."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.domain.campaign_runs import (
    BatchTally,
    CampaignRun,
    TreatmentTally,
    fired_key,
    items_key,
    run_id,
    tally_key,
)
from homing.domain.campaigns import ACTIVITY_COMPLETED, COMPLETED, EXECUTING
from homing.services.campaign_runs import CampaignArming
from homing.services.campaign_sending import DUE, MISSING_ZONE, NOT_THIS_FIRE, FireWindow
from tests.unit.test_campaign_runs import NOW, campaign, world

# 09:00 wall clock on 1 Dec 2026: Berlin (CET, +1) at 08:00Z, New York (EST, -5) at 14:00Z
RUN_AT = "2026-12-01T09:00:00.000Z"
WINDOW_START = "2026-11-30T19:00:00.000Z"  # UTC+14 reaches 09:00 first
BERLIN, NEW_YORK = "2026-12-01T08:00:00.000Z", "2026-12-01T14:00:00.000Z"
LOCAL = {"StartTime": "2026-12-01T09:00:00Z", "Frequency": "ONCE", "IsLocalTime": True, "Timezone": "UTC"}


def member(endpoint_id: str, zone: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": endpoint_id, "channel_type": "EMAIL", "address": f"{endpoint_id}@example.com"}
    if zone is not None:
        body["demographic"] = {"timezone": zone}
    return {"id": endpoint_id, "endpoint": body}


def window(fire: str, after: str | None = None, run_at: str = RUN_AT, timezone: str = "UTC") -> FireWindow:
    c = campaign(Schedule={**LOCAL, "Timezone": timezone})
    run = CampaignRun("a1", "c1", 1, run_at, run_id("c1", run_at), fire=fire, after=after)
    found = FireWindow.of(run, c)
    assert found is not None
    return found


# -- which members a fire sends ------------------------------------------------------------------------
def test_the_first_fire_takes_the_members_without_a_zone_and_leaves_the_others_for_later() -> None:
    tally = BatchTally()
    first = window(WINDOW_START)
    assert first.due(member("b", "Europe/Berlin"), tally) == NOT_THIS_FIRE
    assert first.due(member("n", "America/New_York"), tally) == NOT_THIS_FIRE
    assert first.due(member("x", None), tally) == MISSING_ZONE
    assert first.due(member("y", "Mars/Olympus"), tally) == MISSING_ZONE  # not an IANA name: no zone
    assert first.due("not a member", tally) == MISSING_ZONE  # unreadable: the first fire counts it (UNKNOWN)
    assert (tally.next_due, tally.slices) == (BERLIN, set())


def test_each_later_fire_sends_the_zones_due_since_the_fire_before() -> None:
    berlin, new_york = member("b", "Europe/Berlin"), member("n", "america/new_york")  # any case
    tally = BatchTally()
    second = window(BERLIN, after=WINDOW_START)
    assert second.due(berlin, tally) == DUE
    assert second.due(new_york, tally) == NOT_THIS_FIRE
    assert second.due(member("x", None), tally) == NOT_THIS_FIRE  # counted by the first fire only
    assert (tally.next_due, tally.slices) == (NEW_YORK, {BERLIN})

    last = BatchTally()
    third = window(NEW_YORK, after=BERLIN)
    assert third.due(berlin, last) == NOT_THIS_FIRE  # sent by the fire before
    assert third.due(new_york, last) == DUE
    assert (last.next_due, last.slices) == (None, {NEW_YORK})


def test_a_first_fire_started_late_sends_every_zone_already_due() -> None:
    tally = BatchTally()
    late = window("2026-12-01T10:00:00.000Z")
    assert late.due(member("b", "Europe/Berlin"), tally) == DUE
    assert late.due(member("k", "Pacific/Kiritimati"), tally) == DUE
    assert late.due(member("n", "America/New_York"), tally) == NOT_THIS_FIRE
    assert tally.slices == {BERLIN, "2026-11-30T19:00:00.000Z"}


def test_the_wall_clock_is_read_in_the_schedules_offset_and_dst_gaps_move_on() -> None:
    # 02:30 on 14 Mar 2027 in New York does not exist (spring forward): sent at 03:30 EDT = 07:30Z
    tally = BatchTally()
    spring = window("2027-03-14T07:30:00.000Z", after="2027-03-14T07:29:59.999Z", run_at="2027-03-14T02:30:00.000Z")
    assert spring.due(member("n", "America/New_York"), tally) == DUE
    # Schedule.Timezone UTC+02: the run at 07:00Z is 09:00 wall clock, Berlin's 09:00 CET is 08:00Z
    shifted = window(BERLIN, after=WINDOW_START, run_at="2026-12-01T07:00:00.000Z", timezone="UTC+02")
    assert shifted.due(member("b", "Europe/Berlin"), BatchTally()) == DUE
    # fall back: 01:30 on 7 Nov 2027 in New York happens twice; it is sent at the first (EDT, 05:30Z)
    fall = window("2027-11-07T05:30:00.000Z", after="2027-11-07T05:29:00.000Z", run_at="2027-11-07T01:30:00.000Z")
    assert fall.due(member("n", "America/New_York"), BatchTally()) == DUE


def test_a_run_without_a_fire_has_no_window() -> None:
    run = CampaignRun("a1", "c1", 1, RUN_AT, run_id("c1", RUN_AT))
    assert FireWindow.of(run, campaign(Schedule=LOCAL)) is None


# -- what batches report, where fires keep it ------------------------------------------------------------
def test_next_due_merges_as_the_earliest_and_slices_as_the_union() -> None:
    a, b = BatchTally(next_due=NEW_YORK, slices={BERLIN}), BatchTally(next_due=BERLIN, slices={NEW_YORK})
    merged = a.merge(b).merge(BatchTally())
    assert (merged.next_due, merged.slices) == (BERLIN, {BERLIN, NEW_YORK})
    assert BatchTally.from_json(merged.to_json()) == merged


def test_a_tally_without_fires_keeps_its_json() -> None:
    tally = BatchTally({"0": TreatmentTally(1, 1, Counter({"SUCCESS": 1}))})
    assert set(tally.to_json()) == {"treatments"}
    assert BatchTally.from_json({"treatments": {}}) == BatchTally()


def test_each_fire_has_its_own_items_and_tallies_and_a_run_without_fires_keeps_its_keys() -> None:
    plain = CampaignRun("a1", "c1", 1, RUN_AT, "r")
    first = CampaignRun("a1", "c1", 1, RUN_AT, "r", fire=WINDOW_START)
    second = CampaignRun("a1", "c1", 1, RUN_AT, "r", fire=BERLIN, after=WINDOW_START)
    assert items_key(plain) == "campaign-runs/a1/c1/r/items.json"
    assert tally_key(plain, 3) == "campaign-runs/a1/c1/r/tallies/0000003.json"
    assert items_key(first) == "campaign-runs/a1/c1/r/fires/20261130T190000000Z/items.json"
    assert tally_key(second, 3) == "campaign-runs/a1/c1/r/fires/20261201T080000000Z/tallies/0000003.json"
    assert fired_key(second) == "campaign-runs/a1/c1/r/fired/20261201T080000000Z.json"
    assert len({items_key(first), items_key(second), tally_key(first, 0), tally_key(second, 0)}) == 4


# -- the runner's fires ----------------------------------------------------------------------------------
def sent(fire_tally: BatchTally, produced: int, successful: int, missing_zone: int = 0) -> dict[str, Any]:
    skipped = Counter({"ENDPOINT_MISSING_TIMEZONE": missing_zone}) if missing_zone else Counter()
    fire_tally.treatments["0"] = TreatmentTally(produced, successful, Counter({"SUCCESS": successful}), skipped)
    return fire_tally.to_json()


def document(run_at: str = RUN_AT, **more: str) -> dict[str, str]:
    return {"ApplicationId": "a1", "CampaignId": "c1", "RunAt": run_at, **more}


def test_a_local_time_run_is_armed_at_its_first_fire_and_sent_fire_by_fire() -> None:
    c = campaign(Schedule=LOCAL)
    w = world(c)
    w.runner._triggers.written(c, NOW)
    assert w.schedules.armed[("a1", "c1")] == datetime(2026, 11, 30, 19, tzinfo=UTC)
    assert w.schedules.inputs[("a1", "c1")] == {"RunAt": RUN_AT, "FireAt": WINDOW_START}

    # the first fire: nobody due yet but the missing-zone endpoint; Berlin is next
    first = CampaignRun.from_json(w.runner.begin(document(FireAt=WINDOW_START))["run"])
    assert (first.fire, first.after) == (WINDOW_START, None)
    w.runner.plan(first, {"pages": [{"key": "p", "count": 3}]})
    w.store.put_json(tally_key(first, 0), sent(BatchTally(next_due=BERLIN), 1, 0, missing_zone=1))
    assert w.runner.finish(first) == {"result": "PENDING", "failed_batches": 0, "state": EXECUTING,
                                      "next_fire": BERLIN}  # fmt: skip
    assert w.schedules.armed[("a1", "c1")] == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert w.schedules.inputs[("a1", "c1")] == {"RunAt": RUN_AT, "FireAt": BERLIN, "After": WINDOW_START}
    (activity,) = w.campaigns.activities.values()
    assert activity.state != ACTIVITY_COMPLETED

    second = CampaignRun.from_json(w.runner.begin(document(FireAt=BERLIN, After=WINDOW_START))["run"])
    assert second.activities == first.activities
    assert second.run_id == first.run_id
    w.runner.plan(second, {"pages": [{"key": "p", "count": 3}]})
    w.store.put_json(tally_key(second, 0), sent(BatchTally(next_due=NEW_YORK, slices={BERLIN}), 1, 1))
    assert w.runner.finish(second)["next_fire"] == NEW_YORK

    third = CampaignRun.from_json(w.runner.begin(document(FireAt=NEW_YORK, After=BERLIN))["run"])
    w.runner.plan(third, {"pages": [{"key": "p", "count": 3}]})
    w.store.put_json(tally_key(third, 0), sent(BatchTally(slices={NEW_YORK}), 1, 1))
    assert w.runner.finish(third) == {"result": "SUCCESS", "failed_batches": 0, "state": COMPLETED}

    assert (activity.state, activity.result) == (ACTIVITY_COMPLETED, "SUCCESS")
    assert (activity.total_endpoint_count, activity.successful_endpoint_count) == (3, 2)
    assert activity.execution_metrics == {"ENDPOINT_PRODUCED": "3", "ENDPOINT_MISSING_TIMEZONE": "1"}
    assert w.schedules.armed == {}
    # a fire delivered again, or a retried finish, counts nothing twice
    assert w.runner.finish(third)["result"] == "SUCCESS"
    assert activity.total_endpoint_count == 3
    assert w.runner.begin(document(FireAt=NEW_YORK, After=BERLIN))["skip"] is True


def test_the_last_fire_reports_the_zones_it_sent_at() -> None:
    c = campaign(Schedule=LOCAL)
    w = world(c)
    counts: list[Any] = []
    finish = w.campaigns.finish_activity

    def recording(app_id: str, campaign_id: str, aid: str, found: Any) -> Any:
        counts.append(found)
        return finish(app_id, campaign_id, aid, found)

    w.campaigns.finish_activity = recording  # type: ignore[method-assign,assignment]
    run = CampaignRun.from_json(w.runner.begin(document(FireAt=NEW_YORK))["run"])  # late: everything is due
    w.runner.plan(run, {"pages": [{"key": "p", "count": 2}]})
    w.store.put_json(tally_key(run, 0), sent(BatchTally(slices={BERLIN, NEW_YORK}), 2, 2))
    w.runner.finish(run)
    ((total, completed),) = [(n.timezones_total_count, n.timezones_completed_count) for n in counts]
    assert (total, completed) == (2, 2)


def test_a_fire_whose_batch_never_reported_makes_the_run_a_failure() -> None:
    c = campaign(Schedule=LOCAL)
    w = world(c)
    first = CampaignRun.from_json(w.runner.begin(document(FireAt=BERLIN))["run"])
    w.runner.plan(first, {"pages": [{"key": "p", "count": 1000}]})  # two batches; batch 1 never reports
    w.store.put_json(tally_key(first, 0), sent(BatchTally(next_due=NEW_YORK, slices={BERLIN}), 500, 500))
    assert w.runner.finish(first)["next_fire"] == NEW_YORK  # the others still get theirs

    last = CampaignRun.from_json(w.runner.begin(document(FireAt=NEW_YORK, After=BERLIN))["run"])
    w.runner.plan(last, {"pages": [{"key": "p", "count": 1000}]})
    for batch in (0, 1):
        w.store.put_json(tally_key(last, batch), sent(BatchTally(slices={NEW_YORK}), 10, 10))
    assert w.runner.finish(last) == {"result": "FAILURE", "failed_batches": 1, "state": COMPLETED}  # the run's
    (activity,) = w.campaigns.activities.values()
    assert (activity.result, activity.total_endpoint_count) == ("FAILURE", 520)


def test_a_failed_fire_that_knows_no_later_member_fires_once_more_at_the_end_of_the_window() -> None:
    c = campaign(Schedule=LOCAL)
    w = world(c)
    run = CampaignRun.from_json(w.runner.begin(document(FireAt=BERLIN))["run"])
    assert w.runner.fail(run, {"Error": "States.TaskFailed"})["next_fire"] == "2026-12-01T21:00:00.000Z"  # UTC-12
    last = CampaignRun.from_json(w.runner.begin(document(FireAt="2026-12-01T21:00:00.000Z", After=BERLIN))["run"])
    assert w.runner.finish(last)["result"] == "FAILURE"


def test_a_pause_between_fires_ends_the_run_with_what_it_sent() -> None:
    c = campaign(Schedule=LOCAL)
    w = world(c)
    run = CampaignRun.from_json(w.runner.begin(document(FireAt=BERLIN))["run"])
    w.runner.plan(run, {"pages": [{"key": "p", "count": 2}]})
    w.store.put_json(tally_key(run, 0), sent(BatchTally(next_due=NEW_YORK, slices={BERLIN}), 1, 1))
    c.is_paused = True
    assert w.runner.finish(run)["result"] == "SUCCESS"
    (activity,) = w.campaigns.activities.values()
    assert (activity.state, activity.successful_endpoint_count) == (ACTIVITY_COMPLETED, 1)
    assert w.schedules.armed == {}


@pytest.mark.parametrize("late", [False, True])
def test_a_fire_due_now_is_started_once_named_by_the_run_and_the_fire_before(late: bool) -> None:
    w = world()
    triggers = CampaignArming(w.schedules, w.workflow, clock=lambda: NOW)
    run_at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    fire = NOW - timedelta(hours=1)
    after = "2026-11-30T10:00:00.000Z" if late else None
    for _ in range(2):  # a retried finish (or create) starts the fire once
        triggers.arm_fire("a1", "c1", run_at, fire, after)
    ((name, payload),) = w.workflow.started.items()
    rid = run_id("c1", "2026-11-30T09:00:00.000Z")
    if late:
        assert name == f"{rid}-20261130T100000000Z"
        assert (payload["FireAt"], payload["After"]) == ("2026-11-30T11:00:00.000Z", after)
    else:  # a first fire started late takes everything due by now
        assert (name, payload["FireAt"]) == (rid, "2026-11-30T12:00:00.000Z")
    assert w.schedules.armed == {}


def test_an_immediate_local_time_campaign_starts_its_first_fire_now() -> None:
    c = campaign(Schedule={"StartTime": "IMMEDIATE", "IsLocalTime": True})
    w = world(c)
    w.runner._triggers.written(c, NOW)
    (payload,) = w.workflow.started.values()
    assert payload == {"ApplicationId": "a1", "CampaignId": "c1", "RunAt": "2026-11-30T11:00:00.000Z",
                       "FireAt": "2026-11-30T12:00:00.000Z"}  # fmt: skip
    run = CampaignRun.from_json(w.runner.begin(payload)["run"])
    assert (run.fire, run.after) == ("2026-11-30T12:00:00.000Z", None)
