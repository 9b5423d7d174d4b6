"""The delivery workflow's steps (homing.services.campaign_runs) over in-memory stand-ins: which fires are
runs, how the audience is cut into batches, how a run's tallies become activities, what is armed next."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.codec import build
from homing.domain.campaign_runs import (
    HOLDOUT,
    BatchTally,
    CampaignRun,
    TreatmentTally,
    items_key,
    run_id,
    tally_key,
)
from homing.domain.campaigns import (
    ACTIVITY_COMPLETED,
    COMPLETED,
    EXECUTING,
    PENDING_NEXT_RUN,
    SCHEDULED,
    Activity,
    ActivityCounts,
    Campaign,
    CampaignDefinition,
    activity_id,
    wire_name,
)
from homing.domain.errors import NotFound
from homing.services.campaign_runs import (
    CampaignRunner,
    CampaignTriggers,
    activity_counts,
    first_start,
    is_run_of,
    plan_items,
    run_at_text,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EMAIL = {"EmailMessage": {"Title": "Hi", "HtmlBody": "<p>x</p>"}}


def campaign(**wire: Any) -> Campaign:
    body = {"MessageConfiguration": EMAIL, "Schedule": {"StartTime": "IMMEDIATE"}, **wire}
    definition = build(CampaignDefinition, body, "", wire_name)
    base = Campaign(id="c1", application_id="a1", version=1, creation_date="2026-11-30T11:00:00.000Z",
                    last_modified_date="2026-11-30T11:00:00.000Z", segment_id="s1", segment_version=1)  # fmt: skip
    for f in dataclasses.fields(CampaignDefinition):
        value = getattr(definition, f.name)
        if value is not None:
            setattr(base, f.name, value)
    return base


# -- stand-ins -------------------------------------------------------------------------------------
class Apps:
    def __init__(self) -> None:
        self.gone: set[str] = set()

    def require(self, app_id: str) -> Any:
        if app_id in self.gone:
            raise NotFound(f"Application {app_id} not found")
        return type("App", (), {"settings": None})()


class Campaigns:
    def __init__(self, *found: Campaign) -> None:
        self.heads = {c.id: c for c in found}
        self.activities: dict[str, Activity] = {}
        self.states: list[str] = []

    def get(self, app_id: str, campaign_id: str) -> Campaign:
        if campaign_id not in self.heads:
            raise NotFound(f"Campaign {campaign_id} not found")
        return self.heads[campaign_id]

    def version(self, app_id: str, campaign_id: str, version: int) -> Campaign:
        head = self.get(app_id, campaign_id)
        if head.version != version:
            raise NotFound(f"Campaign {campaign_id} has no version {version}")
        return head

    def start_activity(
        self, app_id: str, campaign_id: str, treatment_id: str, scheduled_start: datetime, **_: int | None
    ) -> Activity:
        aid = activity_id(campaign_id, treatment_id, scheduled_start)
        return self.activities.setdefault(
            aid, Activity(aid, app_id, campaign_id, treatment_id, run_at_text(scheduled_start))
        )

    def finish_activity(self, app_id: str, campaign_id: str, aid: str, counts: ActivityCounts) -> Activity:
        found = self.activities[aid]
        if found.state != ACTIVITY_COMPLETED:
            found.state, found.result = ACTIVITY_COMPLETED, counts.result
            found.total_endpoint_count = counts.total_endpoint_count
            found.successful_endpoint_count = counts.successful_endpoint_count
            found.execution_metrics = dict(counts.execution_metrics)
        return found

    def set_state(self, app_id: str, campaign_id: str, run_status: str, *, unless: tuple[str, ...] = ()) -> Any:
        head = self.heads[campaign_id]
        if head.run_status not in unless:
            head.run_status = run_status
            self.states.append(run_status)
        return head


class Audiences:
    def __init__(self) -> None:
        self.missing = False

    def prepare(self, app_id: str, segment_id: str, version: str | None = None) -> Any:
        from homing.domain.audiences import ResolutionRequest

        if self.missing:
            raise NotFound(f"Segment {segment_id} has no version {version}")

        return ResolutionRequest("r1", app_id, segment_id, int(version or 1), 0, "", parts=2)

    @staticmethod
    def part_inputs(request: Any) -> list[dict[str, Any]]:
        return [{"part": i} for i in range(request.parts)]


class Store:
    bucket = "audience-bucket"

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}

    def put_json(self, key: str, value: Any) -> None:
        self.objects[key] = value

    def get_json(self, key: str) -> Any | None:
        return self.objects.get(key)

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.objects if k.startswith(prefix)]


class Schedules:
    def __init__(self) -> None:
        self.armed: dict[tuple[str, str], datetime] = {}

    def arm(self, app_id: str, campaign_id: str, run_at: datetime, payload: dict[str, Any] | None = None) -> str:
        self.armed[(app_id, campaign_id)] = run_at
        return "arn"

    def disarm(self, app_id: str, campaign_id: str) -> bool:
        return self.armed.pop((app_id, campaign_id), None) is not None


class Workflow:
    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start_once(self, name: str, payload: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = payload
        return True


@dataclasses.dataclass
class World:
    runner: CampaignRunner
    campaigns: Campaigns
    apps: Apps
    store: Store
    schedules: Schedules
    workflow: Workflow
    audiences: Audiences


def world(*found: Campaign, now: datetime = NOW) -> World:
    apps, campaigns, store, schedules, workflow = Apps(), Campaigns(*found), Store(), Schedules(), Workflow()
    triggers = CampaignTriggers(schedules, workflow, clock=lambda: now)
    audiences = Audiences()
    runner = CampaignRunner(apps, campaigns, audiences, store, triggers, clock=lambda: now)
    return World(runner, campaigns, apps, store, schedules, workflow, audiences)


def fire(c: Campaign, run_at: str) -> dict[str, str]:
    return {"ApplicationId": c.application_id, "CampaignId": c.id, "RunAt": run_at}


# -- which fires are runs ---------------------------------------------------------------------------
DAILY = {"StartTime": "2026-12-01T09:00:00Z", "Frequency": "DAILY"}


def test_a_run_of_the_schedule_begins_with_one_activity_per_treatment() -> None:
    c = campaign(Schedule=DAILY, AdditionalTreatments=[{"SizePercent": 20, "MessageConfiguration": EMAIL}])
    c.additional_treatments[0].id = "1"
    w = world(c)

    begun = w.runner.begin(fire(c, "2026-12-02T09:00:00.000000Z"))

    assert begun["skip"] is False
    run = CampaignRun.from_json(begun["run"])
    assert run.run_at == "2026-12-02T09:00:00.000Z"
    assert run.run_id == run_id("c1", "2026-12-02T09:00:00.000Z")
    assert sorted(run.activities) == ["0", "1"]
    assert w.campaigns.heads["c1"].run_status == EXECUTING
    assert begun["request"]["segment_id"] == "s1"
    assert begun["parts"] == [{"part": 0}, {"part": 1}]
    again = w.runner.begin(fire(c, "2026-12-02T09:00:00Z"))  # a duplicate fire: the same run
    assert again["run"] == begun["run"]


@pytest.mark.parametrize(
    ("change", "run_at", "reason"),
    [
        ({"is_paused": True}, "2026-12-02T09:00:00Z", "paused"),
        ({"run_status": COMPLETED}, "2026-12-02T09:00:00Z", "completed"),
        ({}, "2026-12-02T09:30:00Z", "not a run of the schedule"),  # not on the daily grid
        ({}, "2026-11-30T09:00:00Z", "not a run of the schedule"),  # before StartTime
    ],
)
def test_fires_that_are_not_runs_are_skipped_without_writing(change: dict[str, Any], run_at: str, reason: str) -> None:
    c = dataclasses.replace(campaign(Schedule=DAILY), **change)
    w = world(c)

    assert w.runner.begin(fire(c, run_at)) == {"skip": True, "reason": reason}
    assert w.campaigns.activities == {}
    assert w.campaigns.states == []


def test_a_deleted_campaign_or_app_is_skipped() -> None:
    c = campaign(Schedule=DAILY)
    w = world(c)
    w.campaigns.heads.clear()
    w.schedules.armed[("a1", "c1")] = NOW
    assert w.runner.begin(fire(c, "2026-12-02T09:00:00Z")) == {"skip": True, "reason": "not found"}
    assert w.schedules.armed == {}  # a deleted campaign's fire removes its schedule
    w.apps.gone.add("a1")
    w.schedules.armed[("a1", "c1")] = NOW
    assert w.runner.begin(fire(c, "2026-12-02T09:00:00Z")) == {"skip": True, "reason": "not found"}
    assert w.schedules.armed == {}


def test_an_immediate_campaign_runs_at_the_instant_its_version_was_written() -> None:
    c = campaign()
    assert is_run_of(c, datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    assert not is_run_of(c, datetime(2026, 11, 30, 11, 0, 1, tzinfo=UTC))
    assert first_start(c, NOW) == datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    assert first_start(dataclasses.replace(c, is_paused=True), NOW) is None


def test_an_update_of_an_immediate_campaign_that_already_ran_does_not_send_it_again() -> None:
    once = campaign(Schedule={"StartTime": "IMMEDIATE"})
    hourly = campaign(Schedule={"StartTime": "IMMEDIATE", "Frequency": "HOURLY"})
    written = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # the versions' LastModifiedDate

    assert first_start(once, written, fresh=False) is None
    assert first_start(hourly, written, fresh=False) == written + timedelta(hours=1)
    w = world(once)
    triggers = CampaignTriggers(w.schedules, w.workflow, clock=lambda: written)
    triggers.written(once, written, fresh=False)
    triggers.written(hourly, written, fresh=False)
    assert w.workflow.started == {}
    assert w.schedules.armed == {("a1", "c1"): written + timedelta(hours=1)}
    triggers.written(once, written)  # fresh: never run, or a new Schedule sent
    assert list(w.workflow.started) == [run_id("c1", "2026-11-30T11:00:00.000Z")]


# -- planning ----------------------------------------------------------------------------------------
def test_pages_are_cut_into_batches_in_page_order() -> None:
    items = plan_items([("p0", 1000), ("p1", 3), ("p2", 0), ("p3", 501)], 500)

    assert [(i.batch, i.page, i.offset, i.count) for i in items] == [
        (0, "p0", 0, 500),
        (1, "p0", 500, 500),
        (2, "p1", 0, 3),
        (3, "p3", 0, 500),
        (4, "p3", 500, 1),
    ]


def test_plan_writes_the_items_file_and_paces_by_messages_per_second() -> None:
    c = campaign(Schedule=DAILY, Limits={"MessagesPerSecond": 100})
    w = world(c)
    run = CampaignRun.from_json(w.runner.begin(fire(c, "2026-12-02T09:00:00Z"))["run"])

    planned = w.runner.plan(run, {"pages": [{"key": "p0", "count": 250}, {"key": "p1", "count": 30}]})

    assert planned == {"bucket": "audience-bucket", "key": items_key(run), "concurrency": 1, "wait_seconds": 1,
                       "batches": 4}  # fmt: skip
    assert [i["count"] for i in w.store.objects[items_key(run)]] == [100, 100, 50, 30]


# -- finishing ---------------------------------------------------------------------------------------
def tally(**by_treatment: tuple[int, int]) -> dict[str, Any]:
    out = BatchTally()
    for key, (produced, successful) in by_treatment.items():
        out.treatments["holdout" if key == "h" else key.lstrip("t")] = TreatmentTally(
            produced, successful, Counter({"SUCCESS": successful}), Counter({"ENDPOINT_OPT_OUT": produced - successful})
        )
    return out.to_json()


def begun_and_planned(w: World, c: Campaign, run_at: str, batches: int) -> CampaignRun:
    run = CampaignRun.from_json(w.runner.begin(fire(c, run_at))["run"])
    w.runner.plan(run, {"pages": [{"key": "p", "count": batches * 500}]})
    return run


def test_finish_sums_the_tallies_into_each_activity_and_arms_the_next_run() -> None:
    c = campaign(Schedule=DAILY, HoldoutPercent=10,
                 AdditionalTreatments=[{"SizePercent": 20, "MessageConfiguration": EMAIL}])  # fmt: skip
    c.additional_treatments[0].id = "1"
    w = world(c)
    run = begun_and_planned(w, c, "2026-12-02T09:00:00Z", 2)
    w.store.put_json(tally_key(run, 0), tally(t0=(300, 290), t1=(100, 100), h=(50, 0)))
    w.store.put_json(tally_key(run, 1), tally(t0=(30, 30), t1=(10, 9), h=(10, 0)))

    finished = w.runner.finish(run)

    assert finished == {"result": "SUCCESS", "failed_batches": 0, "state": PENDING_NEXT_RUN}
    default = w.campaigns.activities[run.activities["0"]]
    assert (default.total_endpoint_count, default.successful_endpoint_count, default.result) == (330, 320, "SUCCESS")
    assert default.execution_metrics == {"ENDPOINT_PRODUCED": "330", "ENDPOINT_OPT_OUT": "10",
                                         "TREATMENT_HOLDOUT": "60"}  # fmt: skip
    other = w.campaigns.activities[run.activities["1"]]
    assert (other.total_endpoint_count, other.successful_endpoint_count) == (110, 109)
    assert "TREATMENT_HOLDOUT" not in other.execution_metrics
    assert w.schedules.armed[("a1", "c1")] == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    w.store.put_json(tally_key(run, 2), tally(t0=(1, 1)))  # a retried finish records nothing twice
    assert w.runner.finish(run)["result"] == "SUCCESS"
    assert w.campaigns.activities[run.activities["0"]].total_endpoint_count == 330


def test_a_batch_that_never_reported_makes_the_run_a_failure() -> None:
    c = campaign(Schedule={"StartTime": "2026-12-01T09:00:00Z", "Frequency": "ONCE"})
    w = world(c)
    run = begun_and_planned(w, c, "2026-12-01T09:00:00Z", 3)
    w.store.put_json(tally_key(run, 0), tally(t0=(500, 500)))
    w.store.put_json(tally_key(run, 2), tally(t0=(500, 500)))

    finished = w.runner.finish(run)

    assert finished == {"result": "FAILURE", "failed_batches": 1, "state": COMPLETED}
    activity = w.campaigns.activities[run.activities["0"]]
    assert (activity.total_endpoint_count, activity.result) == (1000, "FAILURE")
    assert w.schedules.armed == {}


def test_the_last_run_completes_the_campaign_and_disarms_it() -> None:
    c = campaign(Schedule={**DAILY, "EndTime": "2026-12-02T10:00:00Z"})
    w = world(c)
    w.schedules.armed[("a1", "c1")] = datetime(2026, 12, 2, 9, tzinfo=UTC)
    run = begun_and_planned(w, c, "2026-12-02T09:00:00Z", 0)

    assert w.runner.finish(run)["state"] == COMPLETED
    assert w.campaigns.heads["c1"].run_status == COMPLETED
    assert w.schedules.armed == {}
    assert w.runner.begin(fire(c, "2026-12-02T09:00:00Z"))["skip"] is True  # a late duplicate fire


def test_a_newer_version_or_a_pause_keeps_the_schedule_it_set() -> None:
    c = campaign(Schedule=DAILY)
    w = world(c)
    run = begun_and_planned(w, c, "2026-12-02T09:00:00Z", 0)
    w.campaigns.heads["c1"] = dataclasses.replace(c, version=2, run_status=SCHEDULED)

    assert w.runner.finish(run)["state"] == SCHEDULED
    assert w.schedules.armed == {}


def test_fail_records_a_failure_and_still_arms_the_next_run() -> None:
    c = campaign(Schedule=DAILY)
    w = world(c)
    run = CampaignRun.from_json(w.runner.begin(fire(c, "2026-12-02T09:00:00Z"))["run"])

    assert w.runner.fail(run, {"Error": "States.TaskFailed"}) == {"result": "FAILURE", "failed_batches": 0,
                                                                  "state": PENDING_NEXT_RUN}  # fmt: skip
    assert w.campaigns.activities[run.activities["0"]].result == "FAILURE"


def test_a_run_due_now_is_started_not_scheduled_and_only_once() -> None:
    w = world()
    triggers = CampaignTriggers(w.schedules, w.workflow, clock=lambda: NOW)
    triggers.arm("a1", "c1", NOW - timedelta(seconds=1))
    triggers.arm("a1", "c1", NOW - timedelta(seconds=1))
    triggers.arm("a1", "c1", NOW + timedelta(hours=1))

    (payload,) = w.workflow.started.values()
    assert payload == {"ApplicationId": "a1", "CampaignId": "c1", "RunAt": "2026-11-30T11:59:59.000Z"}
    assert w.schedules.armed == {("a1", "c1"): NOW + timedelta(hours=1)}


def test_activity_counts_of_a_treatment_without_endpoints() -> None:
    counts = activity_counts(BatchTally.from_json(tally(h=(5, 0))), "0", "SUCCESS")
    assert (counts.total_endpoint_count, counts.successful_endpoint_count) == (0, 0)
    assert counts.execution_metrics == {"ENDPOINT_PRODUCED": "0", "TREATMENT_HOLDOUT": "5"}
    assert HOLDOUT == "holdout"


def test_a_segment_version_that_cannot_be_resolved_fails_the_run_and_arms_the_next() -> None:
    c = campaign(Schedule=DAILY)
    w = world(c)
    w.audiences.missing = True

    begun = w.runner.begin(fire(c, "2026-12-02T09:00:00Z"))

    assert begun == {"skip": True, "reason": "audience: Segment s1 has no version 1"}
    (activity,) = w.campaigns.activities.values()
    assert (activity.state, activity.result) == (ACTIVITY_COMPLETED, "FAILURE")
    assert w.schedules.armed[("a1", "c1")] == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert w.campaigns.heads["c1"].run_status == PENDING_NEXT_RUN
