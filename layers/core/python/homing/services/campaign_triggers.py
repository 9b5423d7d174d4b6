"""Event-triggered campaigns: process_events finds the sends events trigger; send_batch makes each one.

- ``fire`` / ``find`` (process_events): each event record of a live app is matched against the app's
  EVENT campaigns (read from the Campaigns table, kept ``CACHE_SECONDS`` per warm instance); each
  match is one ``CampaignRun`` (``domain/campaign_triggers.py``), started by an asynchronous
  invocation of send_batch (``{"action": "trigger", "run": ...}``). A record whose trigger cannot
  be started is reported as a batch item failure, so the stream retries it (and the records after
  it); a retried record starts the same run, which delivers nothing twice (its delivery keys).
- ``run`` (send_batch): the campaign is re-read (paused, deleted or ended since: nothing is sent), the
  endpoint loaded and checked against the campaign's segment version, the day's activities opened,
  the one member sent with the campaign sender, and the counts added to the activities once.

The cache only delays when a new EVENT campaign is first seen: ``run`` decides from fresh reads.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from homing.adapters.dynamodb.campaigns import SUCCESSFUL, TOTAL, CampaignRepository
from homing.adapters.dynamodb.common import StaleVersion
from homing.codec import dump, snake
from homing.domain import campaign_triggers as triggers
from homing.domain.analytics import endpoint_activity_key
from homing.domain.audiences import member, uses_recency
from homing.domain.campaign_runs import HOLDOUT, BatchTally, CampaignRun
from homing.domain.campaigns import DEFAULT_TREATMENT_ID, Campaign, activity_id
from homing.domain.errors import BadRequest, NotFound
from homing.domain.segment_predicate import Predicate, compile_segment, epoch_ms, last_active_ms
from homing.domain.segments import Segment
from homing.domain.timestamps import parse_timestamp
from homing.observability import logger
from homing.services.retry import WRITE_ATTEMPTS, back_off

# How long a warm process_events keeps an app's EVENT campaigns. A campaign created (or un-paused)
# is first seen within this long; one paused, changed or deleted is caught by ``run``'s fresh read.
# Ten seconds bounds the reads to one Query per app per 10 s per shard whatever the event rate.
CACHE_SECONDS = 10.0
# How long send_batch keeps a compiled segment version. Versions never change, but a Recency window
# moves with the clock and a base segment named without a version can change: a minute at most.
PREDICATE_SECONDS = 60.0
HEADS_PAGE = 100
TRIGGER_ACTION = "trigger"


class Invoker(Protocol):
    def invoke(self, payload: Mapping[str, Any]) -> None: ...


class Sender(Protocol):
    """K1's ``CampaignSender``: sends a run's members (``domain.audiences.member`` dicts)."""

    def send(self, run: CampaignRun, members: list[dict[str, Any]], *, now: datetime | None = None) -> BatchTally: ...


class Activities(Protocol):
    """``CampaignService.start_activity``."""

    def start_activity(
        self,
        app_id: str,
        campaign_id: str,
        treatment_id: str,
        scheduled_start: datetime,
        *,
        campaign_version: int | None = None,
        timezones_total_count: int | None = None,
        counted: bool = False,
    ) -> Any: ...


class Endpoints(Protocol):
    """``EndpointRepository.get``."""

    def get(self, app_id: str, endpoint_id: str) -> Any: ...


class ActivityDays(Protocol):
    """``AudienceSource.activity_days``: active UTC days per endpoint (for Recency)."""

    def activity_days(self, app_id: str, endpoint_ids: Any) -> dict[str, list[int]]: ...


ResolveBase = Callable[[str, int | None], Segment]


class CampaignTriggers:
    def __init__(
        self,
        repo: CampaignRepository,
        *,
        clock: Callable[[], datetime],
        invoker: Invoker | None = None,
        activities: Activities | None = None,
        endpoints: Endpoints | None = None,
        segments: Callable[[str], ResolveBase] | None = None,
        activity_days: ActivityDays | None = None,
        sender: Sender | None = None,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._repo, self._clock, self._invoker = repo, clock, invoker
        self._activities, self._endpoints, self._segments = activities, endpoints, segments
        self._activity_days, self._sender = activity_days, sender
        self._cache_seconds, self._monotonic = cache_seconds, monotonic
        self._sleep, self._rng = sleep, rng or random.Random()
        self._campaigns: dict[str, tuple[float, list[triggers.EventCampaign]]] = {}
        self._predicates: dict[tuple[str, str, int], tuple[float, Predicate, bool]] = {}
        self._opened: set[tuple[str, str, str, str]] = set()  # (app, campaign, treatment, day) activities

    # -- process_events ------------------------------------------------------------------------------

    def event_campaigns(self, app_id: str) -> list[triggers.EventCampaign]:
        """The app's EVENT campaigns that are not paused (cached ``cache_seconds``)."""
        now = self._monotonic()
        cached = self._campaigns.get(app_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        found: list[triggers.EventCampaign] = []
        token: str | None = None
        while True:
            page, token = self._repo.page(app_id, HEADS_PAGE, token)
            found += [c for c in map(triggers.event_campaign, page) if c is not None]
            if token is None:
                break
        self._campaigns[app_id] = (now, found)
        return found

    def find(self, app_id: str, records: Sequence[Mapping[str, Any]]) -> list[CampaignRun]:
        """The sends the app's event records trigger (one run per matching campaign and event)."""
        campaigns = self.event_campaigns(app_id)
        return triggers.find_runs(app_id, campaigns, records) if campaigns else []

    def fire(self, items: Sequence[tuple[str, str, Mapping[str, Any]]]) -> list[str]:
        """Start the sends (sequence, app id, record) items trigger; the sequences whose send could not
        be started (reported as batch item failures: the stream retries them)."""
        by_app: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
        for sequence, app_id, record in items:
            by_app[app_id].append((sequence, record))
        failed: list[str] = []
        for app_id, entries in by_app.items():
            try:
                campaigns = self.event_campaigns(app_id)
            except Exception as exc:  # the app's triggers are retried with its records
                logger.error("event campaigns could not be read", extra={"application_id": app_id, "error": repr(exc)})
                failed += [sequence for sequence, _ in entries]
                continue
            if not campaigns:
                continue
            for sequence, record in entries:
                try:
                    for run in triggers.find_runs(app_id, campaigns, [record]):
                        self._start(run)
                except Exception as exc:
                    logger.error(
                        "event-triggered send could not be started",
                        extra={"application_id": app_id, "sequence": sequence, "error": repr(exc)[:300]},
                    )
                    failed.append(sequence)
        return failed

    def _start(self, run: CampaignRun) -> None:
        if self._invoker is None:
            raise RuntimeError("no send_batch function to start event-triggered sends with")
        self._invoker.invoke({"action": TRIGGER_ACTION, "run": run.to_json()})
        logger.info(
            "event-triggered send started",
            extra={"application_id": run.application_id, "campaign_id": run.campaign_id, "run_id": run.run_id},
        )

    # -- send_batch ----------------------------------------------------------------------------------

    def run(self, run: CampaignRun) -> BatchTally:
        """Send one event-triggered run to its endpoint if the campaign and the endpoint still qualify."""
        if self._sender is None or self._endpoints is None or self._activities is None:
            raise RuntimeError("CampaignTriggers.run needs the sender, endpoints and activities")
        now = self._clock()
        app_id, campaign_id = run.application_id, run.campaign_id
        endpoint_id = str((run.trigger or {}).get("endpoint_id") or "")
        extra = {"application_id": app_id, "campaign_id": campaign_id, "run_id": run.run_id}
        if run.deadline is not None and now > parse_timestamp(run.deadline, "deadline"):
            logger.warning("event-triggered send dropped: not sent within 5 minutes of the event", extra=extra)
            return BatchTally()
        head = self._repo.get(app_id, campaign_id)
        current = triggers.event_campaign(head[0]) if head is not None else None
        if head is None or current is None or not triggers.live(current, now):
            logger.info("event-triggered send skipped: the campaign is paused, deleted or over", extra=extra)
            return BatchTally()
        # The version the event matched (the campaign may have changed since; that version is what it met).
        campaign = self._repo.get_version(app_id, campaign_id, run.campaign_version) or head[0]
        endpoint = self._endpoints.get(app_id, endpoint_id) if endpoint_id else None
        if endpoint is None:
            logger.info("event-triggered send skipped: no such endpoint", extra=extra)
            return BatchTally()
        body = dump(endpoint, snake)
        if not self._in_segment(campaign, body, now):
            logger.info("event-triggered send skipped: the endpoint is not in the segment", extra=extra)
            return BatchTally()
        day = triggers.day_start(now)
        activities = {tid: self._open(campaign, tid, day) for tid in triggers.treatment_ids(campaign)}
        run = dataclasses.replace(run, campaign_version=campaign.version, activities=activities)
        tally = self._sender.send(run, [member(body)], now=now)
        self._count(run, tally)
        return tally

    def _open(self, campaign: Campaign, treatment_id: str, day: datetime) -> str:
        """The day's activity of a treatment (created on the first trigger of the day; known ones cached)."""
        assert self._activities is not None
        aid = activity_id(campaign.id, treatment_id, day)
        key = (campaign.application_id, campaign.id, treatment_id, aid)
        if key not in self._opened:
            self._activities.start_activity(
                campaign.application_id,
                campaign.id,
                treatment_id,
                day,
                campaign_version=campaign.version,
                counted=True,
            )
            self._opened.add(key)
        return aid

    def _count(self, run: CampaignRun, tally: BatchTally) -> None:
        """Add the tally to the day's activities, once per run (a replay adds nothing)."""
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for key, part in tally.treatments.items():
            aid = run.activities.get(DEFAULT_TREATMENT_ID if key == HOLDOUT else key)
            if aid is None:
                continue
            named = counts[aid]
            if key != HOLDOUT:
                named[TOTAL] += part.produced
                named[SUCCESSFUL] += part.successful
            named["ENDPOINT_PRODUCED"] += part.produced
            for reason, n in part.skipped.items():
                named[reason] += n
        if not any(any(v for v in named.values()) for named in counts.values()):
            return
        plain = {aid: dict(named) for aid, named in counts.items()}
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self._repo.add_trigger_counts(run.application_id, run.campaign_id, run.run_id, plain, self._clock())
                return
            except StaleVersion:
                if self._repo.get(run.application_id, run.campaign_id) is None:
                    return  # deleted since the send: its activities went with it
                back_off(attempt, self._rng, self._sleep)
        raise RuntimeError(f"could not count run {run.run_id} of campaign {run.campaign_id}")

    def _in_segment(self, campaign: Campaign, body: dict[str, Any], now: datetime) -> bool:
        """Whether the endpoint is in the campaign's segment version (evaluated as a resolution would)."""
        found = self._predicate(campaign, now)
        if found is None:
            return False
        predicate, needs_activity = found
        last_active = None
        if needs_activity and self._activity_days is not None:
            app_id, endpoint_id = campaign.application_id, str(body.get("id") or "")
            days = self._activity_days.activity_days(app_id, [endpoint_id])
            last_active = last_active_ms(
                days.get(endpoint_activity_key(app_id, endpoint_id)[1]), body.get("effective_date")
            )
        return bool(predicate(body, last_active))

    def _predicate(self, campaign: Campaign, now: datetime) -> tuple[Predicate, bool] | None:
        if self._segments is None:
            raise RuntimeError("CampaignTriggers.run needs the segments")
        key = (campaign.application_id, campaign.segment_id, campaign.segment_version)
        cached = self._predicates.get(key)
        if cached is not None and self._monotonic() - cached[0] < PREDICATE_SECONDS:
            return cached[1], cached[2]
        resolve = self._segments(campaign.application_id)
        try:
            segment = resolve(campaign.segment_id, campaign.segment_version or None)
            # Event campaigns target dynamic segments (Pinpoint's rule): an IMPORT segment has no members here.
            predicate = compile_segment(segment, resolve, now_ms=epoch_ms(now))
            needs_activity = uses_recency(segment, resolve)
        except (NotFound, BadRequest) as exc:
            logger.warning(
                "event campaign's segment cannot be evaluated",
                extra={"application_id": campaign.application_id, "campaign_id": campaign.id, "error": str(exc)},
            )
            return None
        self._predicates[key] = (self._monotonic(), predicate, needs_activity)
        return predicate, needs_activity
