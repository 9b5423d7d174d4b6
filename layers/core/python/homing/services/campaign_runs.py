"""The delivery workflow's own steps (functions/run_campaign): begin a run, plan its batches, finish it.

The state machine (stacks/constructs/campaign_delivery.py) is::

    Begin (run_campaign) -> skip? -> audience parts and finalize (resolve_audience)
      -> Plan (run_campaign) -> Distributed Map over the plan's items (send_batch, then a pacing Wait)
      -> Finish (run_campaign);  any failure after Begin -> Fail (run_campaign)

A run is (campaign, ``run_id``), derived from the scheduled instant, so every step is idempotent per
run: a duplicate fire from Scheduler, or a step Step Functions retries, finds the same activities and
the same delivery keys, and finishing twice records the totals once (docs/decisions.md, "Campaign
delivery workflow (issue 10)").

``CampaignTriggers`` is what CampaignService calls when a campaign is written: arm the schedule of
its next run, start an IMMEDIATE run now, or disarm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from homing.domain.campaign_rules import (
    TREATMENT_HOLDOUT,
    Limits,
    app_limits,
    effective_limits,
    pacing_plan,
    send_deadline,
)
from homing.domain.campaign_runs import (
    HOLDOUT,
    BatchItem,
    BatchTally,
    CampaignRun,
    items_key,
    run_id,
    run_prefix,
)
from homing.domain.campaigns import (
    ACTIVITY_COMPLETED,
    COMPLETED,
    DEFAULT_TREATMENT_ID,
    EXECUTING,
    PENDING_NEXT_RUN,
    ActivityCounts,
    Campaign,
)
from homing.domain.campaigns import Schedule as CampaignSchedule
from homing.domain.errors import BadRequest, NotFound
from homing.domain.schedules import IMMEDIATE, Schedule, first_run, next_run
from homing.domain.timestamps import iso_now, parse_timestamp

SUCCESS, FAILURE = "SUCCESS", "FAILURE"
TALLY_READERS = 16  # S3 GETs at once when Finish reads a run's tallies (boto3 clients are thread-safe)


# -- the schedule of a campaign --------------------------------------------------------------------
def _moment(value: str) -> datetime:
    """A campaign timestamp as stored; one without an offset stays naive (read in Schedule.Timezone)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def schedule_of(campaign: Campaign) -> Schedule:
    """The campaign's ``Schedule`` as the schedule math reads it; IMMEDIATE pinned to the instant the
    version was written (``LastModifiedDate``), which is the first run's ``RunAt`` (``immediate_run``)."""
    raw = campaign.schedule or CampaignSchedule(start_time=IMMEDIATE)
    quiet = raw.quiet_time
    start: datetime | Literal["IMMEDIATE"] = (
        "IMMEDIATE" if raw.start_time in (None, IMMEDIATE) else _moment(str(raw.start_time))
    )
    schedule = Schedule(
        start_time=start,
        frequency=raw.frequency or "ONCE",
        end_time=_moment(raw.end_time) if raw.end_time else None,
        is_local_time=bool(raw.is_local_time),
        timezone=raw.timezone or "UTC",
        quiet_time_start=quiet.start if quiet else None,
        quiet_time_end=quiet.end if quiet else None,
    )
    return schedule.pinned(immediate_run(campaign))


def immediate_run(campaign: Campaign) -> datetime:
    """When an IMMEDIATE campaign's first run is: the instant its version was written."""
    return parse_timestamp(campaign.last_modified_date, "LastModifiedDate")


def is_immediate(campaign: Campaign) -> bool:
    return campaign.schedule is None or campaign.schedule.start_time in (None, IMMEDIATE)


def run_at_text(moment: datetime) -> str:
    """A run's instant as the run carries it (and ``run_id`` hashes it): ISO 8601 UTC, milliseconds."""
    return iso_now(moment.astimezone(UTC))


def is_run_of(campaign: Campaign, moment: datetime) -> bool:
    """Whether ``moment`` is one of the runs of the campaign's schedule (to the millisecond)."""
    schedule = schedule_of(campaign)
    if schedule.event_triggered:
        return False
    due = first_run(schedule, moment)
    return due is not None and run_at_text(due) == run_at_text(moment)


# -- what the runner needs of the other services -------------------------------------------------------
class Campaigns(Protocol):
    """CampaignService's reads and the delivery workflow's writes."""

    def get(self, app_id: str, campaign_id: str) -> Campaign: ...

    def version(self, app_id: str, campaign_id: str, version: int) -> Campaign: ...

    def start_activity(
        self,
        app_id: str,
        campaign_id: str,
        treatment_id: str,
        scheduled_start: datetime,
        *,
        campaign_version: int | None = None,
        timezones_total_count: int | None = None,
    ) -> Any: ...

    def finish_activity(self, app_id: str, campaign_id: str, activity_id: str, counts: ActivityCounts) -> Any: ...

    def set_state(self, app_id: str, campaign_id: str, run_status: str, *, unless: tuple[str, ...] = ()) -> Any: ...


class Apps(Protocol):
    def require(self, app_id: str) -> Any: ...


class Audiences(Protocol):
    """AudienceService: record a resolution request, and the Map's part items for it."""

    def prepare(self, app_id: str, segment_id: str, version: str | None = None) -> Any: ...

    @staticmethod
    def part_inputs(request: Any) -> list[dict[str, Any]]: ...


class Store(Protocol):
    """The audience bucket (AudienceStore): manifests, the items file and the batches' tallies."""

    bucket: str

    def put_json(self, key: str, value: Any) -> None: ...

    def get_json(self, key: str) -> Any | None: ...

    def keys(self, prefix: str) -> Any: ...


class Schedules(Protocol):
    """EventBridge Scheduler (homing.adapters.schedules.CampaignSchedules)."""

    def arm(self, app_id: str, campaign_id: str, run_at: datetime, payload: dict[str, Any] | None = None) -> str: ...

    def disarm(self, app_id: str, campaign_id: str) -> bool: ...


class Workflow(Protocol):
    """The delivery state machine (homing.adapters.workflows.StateMachine)."""

    def start_once(self, name: str, payload: dict[str, Any]) -> bool: ...


# -- arming runs (CampaignService and the workflow's Finish) -------------------------------------------
class CampaignTriggers:
    """Start a campaign's runs: a run due now is started at once (execution named by its ``run_id``, so a
    retried start is one run), a later one armed as the campaign's one Scheduler schedule."""

    def __init__(self, schedules: Schedules, workflow: Workflow, *, clock: Callable[[], datetime]) -> None:
        self._schedules, self._workflow, self._clock = schedules, workflow, clock

    def arm(self, app_id: str, campaign_id: str, run_at: datetime) -> None:
        if run_at <= self._clock():
            self.start_now(app_id, campaign_id, run_at)
        else:
            self._schedules.arm(app_id, campaign_id, run_at)

    def start_now(self, app_id: str, campaign_id: str, run_at: datetime) -> None:
        text = run_at_text(run_at)
        self._workflow.start_once(
            run_id(campaign_id, text), {"ApplicationId": app_id, "CampaignId": campaign_id, "RunAt": text}
        )

    def disarm(self, app_id: str, campaign_id: str) -> None:
        self._schedules.disarm(app_id, campaign_id)

    # -- CampaignService's Scheduling ------------------------------------------------------------------
    def plans_run(self, campaign: Campaign, now: datetime, fresh: bool = True) -> bool:
        """Whether writing this version arms (or starts) a run (``written`` does)."""
        return first_start(campaign, now, fresh) is not None

    def written(self, campaign: Campaign, now: datetime, fresh: bool = True) -> None:
        """After a create or update: arm (or start) the version's first run from ``now``; disarm when it
        is paused, event-triggered or has no run left. ``fresh``: the campaign has not run yet, or the
        write sent a new Schedule (an IMMEDIATE campaign's run then starts now)."""
        first = first_start(campaign, now, fresh)
        if first is None:
            self.disarm(campaign.application_id, campaign.id)
        elif is_immediate(campaign) and fresh:
            self.start_now(campaign.application_id, campaign.id, first)
        else:
            self.arm(campaign.application_id, campaign.id, first)

    def deleted(self, app_id: str, campaign_id: str) -> None:
        self.disarm(app_id, campaign_id)


def first_start(campaign: Campaign, now: datetime, fresh: bool = True) -> datetime | None:
    """The first run a written version arms: IMMEDIATE at the write when ``fresh`` (never run, or a new
    Schedule sent) — otherwise the recurrence's next run after the write, so renaming or un-pausing a
    campaign that already sent does not send it again —, else the schedule's first run from ``now``;
    None when paused, event-triggered or no run is left."""
    schedule = schedule_of(campaign)
    if campaign.is_paused or schedule.event_triggered:
        return None
    if is_immediate(campaign):
        return immediate_run(campaign) if fresh else next_run(schedule, now)
    return first_run(schedule, now)


# -- the runner ---------------------------------------------------------------------------------------
class CampaignRunner:
    def __init__(
        self,
        apps: Apps,
        campaigns: Campaigns,
        audiences: Audiences,
        store: Store,
        triggers: CampaignTriggers,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._apps, self._campaigns, self._audiences, self._store = apps, campaigns, audiences, store
        self._triggers, self._clock = triggers, clock

    # -- begin ----------------------------------------------------------------------------------------
    def begin(self, document: dict[str, Any]) -> dict[str, Any]:
        """The run the schedule (or a direct start) names, its activities and its audience request; or
        ``{"skip": true}`` when the campaign is gone, paused, completed, or ``RunAt`` is not one of its runs."""
        app_id, campaign_id = str(document["ApplicationId"]), str(document["CampaignId"])
        moment = parse_timestamp(str(document["RunAt"]), "RunAt")
        try:
            app = self._apps.require(app_id)
            campaign = self._campaigns.get(app_id, campaign_id)
        except NotFound:  # deleted (with its app, whose clean-up leaves schedules): the fire removes its schedule
            self._triggers.disarm(app_id, campaign_id)
            return {"skip": True, "reason": "not found"}
        if campaign.is_paused:
            return {"skip": True, "reason": "paused"}
        if campaign.run_status == COMPLETED:
            return {"skip": True, "reason": "completed"}
        if not is_run_of(campaign, moment):
            return {"skip": True, "reason": "not a run of the schedule"}
        text = run_at_text(moment)
        limits = effective_limits(_limits(campaign), app_limits(getattr(app, "settings", None)))
        deadline = send_deadline(moment, limits)
        activities: dict[str, str] = {}
        finished = True
        for treatment in treatment_ids(campaign):
            activity = self._campaigns.start_activity(
                app_id, campaign_id, treatment, moment, campaign_version=campaign.version
            )
            activities[treatment] = activity.id
            finished = finished and activity.state == ACTIVITY_COMPLETED
        if finished:  # a late duplicate of a run that already finished
            return {"skip": True, "reason": "run already finished"}
        run = CampaignRun(
            application_id=app_id,
            campaign_id=campaign_id,
            campaign_version=campaign.version,
            run_at=text,
            run_id=run_id(campaign_id, text),
            activities=activities,
            deadline=run_at_text(deadline) if deadline else None,
        )
        self._campaigns.set_state(app_id, campaign_id, EXECUTING, unless=(COMPLETED,))
        try:
            request = self._audiences.prepare(app_id, campaign.segment_id, str(campaign.segment_version))
        except (NotFound, BadRequest) as error:  # the segment version cannot be resolved: a failed run
            self.finish(run, failed=True)
            return {"skip": True, "reason": f"audience: {error.message}"}
        return {
            "skip": False,
            "run": run.to_json(),
            "request": dataclasses.asdict(request),
            "parts": self._audiences.part_inputs(request),
        }

    # -- plan -----------------------------------------------------------------------------------------
    def plan(self, run: CampaignRun, manifest: dict[str, Any]) -> dict[str, Any]:
        """The Distributed Map's items (slices of the audience pages) written to ``items_key(run)``, and
        how to pace them (``pacing_plan`` for the campaign's MessagesPerSecond)."""
        pages = [(str(p["key"]), int(p["count"])) for p in manifest.get("pages", [])]
        total = sum(count for _, count in pages)
        pacing = pacing_plan(total, self._messages_per_second(run))
        items = plan_items(pages, pacing.batch_size)
        key = items_key(run)
        self._store.put_json(key, [item.to_json() for item in items])
        return {
            "bucket": self._store.bucket,
            "key": key,
            "concurrency": pacing.concurrency,
            "wait_seconds": pacing.wait_seconds,
            "batches": len(items),
        }

    def manifest(self, request: dict[str, Any]) -> dict[str, Any]:
        """The completed resolution's manifest (its pages and counts), from the audience bucket."""
        from homing.domain.audiences import MANIFEST, resolution_prefix

        key = resolution_prefix(request["application_id"], request["segment_id"], request["resolution_id"]) + MANIFEST
        found = self._store.get_json(key)
        if found is None:
            raise NotFound(f"The audience resolution {request['resolution_id']} has no manifest")
        return dict(found)

    def _messages_per_second(self, run: CampaignRun) -> int | None:
        """The run's version's MessagesPerSecond (or the app's default)."""
        try:
            app = self._apps.require(run.application_id)
            campaign = self._campaigns.version(run.application_id, run.campaign_id, run.campaign_version)
        except NotFound:
            return None
        return effective_limits(_limits(campaign), app_limits(getattr(app, "settings", None))).messages_per_second

    # -- finish ---------------------------------------------------------------------------------------
    def finish(self, run: CampaignRun, *, failed: bool = False) -> dict[str, Any]:
        """Sum the batches' tallies into each treatment's activity (FAILURE when a batch never reported, or
        the run ``failed``), then arm the next run (PENDING_NEXT_RUN) or complete the campaign.

        Idempotent: activities are completed once (``finish_activity``), states and schedules are set to
        the same values again."""
        tally, reported = self.tally(run)
        items = self._store.get_json(items_key(run))
        batches = len(items) if isinstance(items, list) else 0
        missing = max(0, batches - reported)
        result = FAILURE if failed or missing else SUCCESS
        for treatment, activity in run.activities.items():
            counts = activity_counts(tally, treatment, result)
            try:
                self._campaigns.finish_activity(run.application_id, run.campaign_id, activity, counts)
            except NotFound:
                return {"result": result, "failed_batches": missing, "state": "DELETED"}
        state = self._advance(run)
        return {"result": result, "failed_batches": missing, "state": state}

    def fail(self, run: CampaignRun, error: dict[str, Any] | None) -> dict[str, Any]:
        """The catch path: record what was sent as a FAILURE run, and still arm the next run."""
        return self.finish(run, failed=True)

    def tally(self, run: CampaignRun) -> tuple[BatchTally, int]:
        """Every batch's tally of the run merged, and how many batches reported. Read TALLY_READERS at a
        time: a 10-million-endpoint run has 20,000 tallies, a minute's worth of GETs one after another."""
        keys = sorted(self._store.keys(run_prefix(run) + "tallies/"))
        merged, reported = BatchTally(), 0
        with ThreadPoolExecutor(max_workers=TALLY_READERS) as pool:
            for raw in pool.map(self._store.get_json, keys):
                if raw is not None:
                    merged = merged.merge(BatchTally.from_json(raw))
                    reported += 1
        return merged, reported

    def _advance(self, run: CampaignRun) -> str:
        """The campaign's state after this run: its next run armed, or COMPLETED and disarmed. A newer
        version or a pause since the run started owns the schedule: it is left alone."""
        app_id, campaign_id = run.application_id, run.campaign_id
        try:
            campaign = self._campaigns.get(app_id, campaign_id)
        except NotFound:
            return "DELETED"
        if campaign.is_paused or campaign.version != run.campaign_version:
            return campaign.run_status
        after = max(parse_timestamp(run.run_at, "run_at"), self._clock())
        upcoming = next_run(schedule_of(campaign), after)
        if upcoming is None:
            self._campaigns.set_state(app_id, campaign_id, COMPLETED)
            self._triggers.disarm(app_id, campaign_id)
            return COMPLETED
        self._triggers.arm(app_id, campaign_id, upcoming)
        self._campaigns.set_state(app_id, campaign_id, PENDING_NEXT_RUN, unless=(COMPLETED,))
        return PENDING_NEXT_RUN


# -- pure helpers ---------------------------------------------------------------------------------------
def treatment_ids(campaign: Campaign) -> list[str]:
    """The default treatment "0" and each additional one ("1".."n"): one activity each per run."""
    return [DEFAULT_TREATMENT_ID, *(t.id or str(i + 1) for i, t in enumerate(campaign.additional_treatments))]


def plan_items(pages: list[tuple[str, int]], batch_size: int) -> list[BatchItem]:
    """Slices of at most ``batch_size`` members of each page, numbered in page order."""
    items: list[BatchItem] = []
    for key, count in pages:
        for offset in range(0, count, batch_size):
            items.append(BatchItem(len(items), key, offset, min(batch_size, count - offset)))
    return items


def activity_counts(tally: BatchTally, treatment: str, result: Literal["SUCCESS", "FAILURE"] | str) -> ActivityCounts:
    """A treatment's activity totals: its endpoints, its successful sends and its execution metrics; the
    default treatment's also counts the run's holdout (TREATMENT_HOLDOUT)."""
    own = tally.treatments.get(treatment)
    produced = own.produced if own else 0
    metrics = {"ENDPOINT_PRODUCED": str(produced)}
    if own:
        metrics.update({name: str(n) for name, n in sorted(own.skipped.items()) if n})
    held = tally.treatments.get(HOLDOUT)
    if treatment == DEFAULT_TREATMENT_ID and held is not None and held.produced:
        metrics[TREATMENT_HOLDOUT] = str(held.produced)
    return ActivityCounts(
        total_endpoint_count=produced,
        successful_endpoint_count=own.successful if own else 0,
        result=result,
        execution_metrics=metrics,
    )


def _limits(campaign: Campaign) -> Limits | None:
    found = campaign.limits
    if found is None:
        return None
    return Limits(found.daily, found.maximum_duration, found.messages_per_second, found.total, found.session)
