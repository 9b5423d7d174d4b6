"""CreateCampaign, GetCampaign(s), UpdateCampaign, DeleteCampaign, GetCampaignVersion(s),
GetCampaignActivities; and what the delivery workflow calls: ``version``, ``start_activity``,
``finish_activity``, ``set_state``.

Every write to a campaign makes a new immutable version: it reads the head, plans the next version
from it and commits head, version and the segment's usage marker in one conditional transaction,
re-planning on a conflict (the concurrency model in docs/decisions.md). State changes rewrite the
head only, conditional on the same revision, so they never lose a concurrent update (or the reverse).
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from homing.adapters.dynamodb.campaigns import CampaignRepository
from homing.adapters.dynamodb.common import StaleVersion
from homing.codec import dump, snake
from homing.domain.campaigns import (
    ACTIVITY_COMPLETED,
    EXECUTING,
    RESULTS,
    RUN_STATUSES,
    SCHEDULED,
    Activity,
    ActivityCounts,
    Campaign,
    CampaignDefinition,
    activity_id,
    check_campaign,
    template_refs,
)
from homing.domain.errors import BadRequest, Conflict, NotFound
from homing.domain.keys import SORT_KEY_BYTES, check_item_size, utf8_len
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.tags import check_tags
from homing.domain.timestamps import iso_now
from homing.services.apps import AppService
from homing.services.retry import WRITE_ATTEMPTS, back_off

# A campaign version is one item (twice: head and history); leave room for the keys and counters.
MAX_CAMPAIGN_BYTES = 350 * 1024
# Ids longer than this cannot be in a sort key (with its prefix): nothing to read, DynamoDB would refuse it.
MAX_ID_BYTES = SORT_KEY_BYTES - 64


class Segments(Protocol):
    """What campaigns need of segments (SegmentService): the version a campaign targets exists."""

    def resolver(self, app_id: str) -> Callable[[str, int | None], object]: ...


class Templates(Protocol):
    """TemplateService.resolve: the template version a send renders (NotFound if absent)."""

    def resolve(self, name: str, template_type: str, version: str | None = None) -> object: ...


class Scheduling(Protocol):
    """The delivery workflow's triggers (services/campaign_runs.CampaignArming): a written version's
    first run armed on EventBridge Scheduler (or started now when IMMEDIATE), disarmed on pause or delete."""

    def plans_run(self, campaign: Campaign, now: datetime, fresh: bool = True) -> bool: ...

    def written(self, campaign: Campaign, now: datetime, fresh: bool = True) -> None: ...

    def deleted(self, app_id: str, campaign_id: str) -> None: ...


class CampaignService:
    def __init__(
        self,
        apps: AppService,
        repo: CampaignRepository,
        segments: Segments,
        templates: Templates,
        *,
        arn_prefix: str,
        clock: Callable[[], datetime],
        quotas: Quotas = QUOTAS,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        scheduling: Scheduling | None = None,
    ) -> None:
        self._apps, self._repo, self._segments, self._templates = apps, repo, segments, templates
        self._scheduling = scheduling  # None: runs are neither armed nor started (no workflow deployed)
        self._arn_prefix, self._clock, self._quotas = arn_prefix, clock, quotas
        self._sleep, self._rng = sleep, rng or random.Random()

    def arn(self, campaign: Campaign) -> str:
        return f"{self._arn_prefix}:apps/{campaign.application_id}/campaigns/{campaign.id}"

    # -- reads -------------------------------------------------------------------------------------

    def get(self, app_id: str, campaign_id: str) -> Campaign:
        self._apps.require(app_id)
        return self._require(app_id, campaign_id)[0]

    def _require(self, app_id: str, campaign_id: str) -> tuple[Campaign, int]:
        found = self._repo.get(app_id, campaign_id) if utf8_len(campaign_id) <= MAX_ID_BYTES else None
        if found is None:
            raise NotFound(f"Campaign {campaign_id} not found")
        return found

    def get_version(self, app_id: str, campaign_id: str, version: str) -> Campaign:
        self._apps.require(app_id)
        self._require(app_id, campaign_id)  # a deleted campaign's left-over history is not shown
        try:
            number = int(version)
        except ValueError:
            raise BadRequest("version must be an integer") from None
        found = self._repo.get_version(app_id, campaign_id, number) if number >= 1 else None
        if found is None:
            raise NotFound(f"Campaign {campaign_id} has no version {version}")
        return found

    def version(self, app_id: str, campaign_id: str, version: int) -> Campaign:
        """The version a run delivers (the delivery workflow); NotFound once the campaign is deleted."""
        return self.get_version(app_id, campaign_id, str(version))

    def page(self, app_id: str, page_size: int, token: str | None) -> tuple[list[Campaign], str | None]:
        self._apps.require(app_id)
        return self._repo.page(app_id, page_size, token)

    def versions(
        self, app_id: str, campaign_id: str, page_size: int, token: str | None
    ) -> tuple[list[Campaign], str | None]:
        self._apps.require(app_id)
        self._require(app_id, campaign_id)
        return self._repo.versions(app_id, campaign_id, page_size, token)

    def activities(
        self, app_id: str, campaign_id: str, page_size: int, token: str | None
    ) -> tuple[list[Activity], str | None]:
        self._apps.require(app_id)
        self._require(app_id, campaign_id)
        return self._repo.activities(app_id, campaign_id, page_size, token)

    # -- writes ------------------------------------------------------------------------------------

    def create(self, app_id: str, definition: CampaignDefinition) -> Campaign:
        self._apps.require(app_id)
        if not definition.segment_id:
            raise BadRequest("SegmentId is required")
        now = iso_now(self._clock())
        for attempt in range(WRITE_ATTEMPTS):
            campaign = self._merged(
                Campaign(
                    id=uuid.uuid4().hex,
                    application_id=app_id,
                    version=1,
                    creation_date=now,
                    last_modified_date=now,
                    segment_id=definition.segment_id,
                    segment_version=0,
                ),
                definition,
            )
            try:
                self._repo.write(campaign, None, None)
            except StaleVersion:  # the segment was deleted while we planned: the next plan says so
                back_off(attempt, self._rng, self._sleep)
                continue
            self._schedule(campaign)
            return campaign
        raise Conflict("The segment is being changed by other requests; retry the request")

    def update(self, app_id: str, campaign_id: str, changes: CampaignDefinition) -> Campaign:
        """A new version: each member sent replaces the stored one, members not sent are kept."""
        self._apps.require(app_id)
        for attempt in range(WRITE_ATTEMPTS):
            current, revision = self._require(app_id, campaign_id)
            base = dataclasses.replace(current, version=current.version + 1, last_modified_date=iso_now(self._clock()))
            if changes.segment_id is not None and changes.segment_id != current.segment_id:
                base.segment_version = 0  # the new segment's current version unless one is sent
            updated = self._merged(base, changes)
            # not yet run, or a new Schedule: an IMMEDIATE campaign runs again now (else its next recurrence)
            fresh = changes.schedule is not None or current.run_status == SCHEDULED
            if (
                self._scheduling is not None
                and current.run_status != EXECUTING
                and self._scheduling.plans_run(updated, self._clock(), fresh)
            ):
                updated.run_status = SCHEDULED  # the new version has a run to come
            try:
                self._repo.write(updated, revision, current.segment_id)
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
                continue
            self._schedule(updated, fresh)
            return updated
        raise Conflict(f"Campaign {campaign_id} is being changed by other requests; retry the request")

    def delete(self, app_id: str, campaign_id: str) -> Campaign:
        self._apps.require(app_id)
        for attempt in range(WRITE_ATTEMPTS):
            current, revision = self._require(app_id, campaign_id)
            try:
                self._repo.delete(current, revision)
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
                continue
            if self._scheduling is not None:
                self._scheduling.deleted(app_id, campaign_id)
            return current
        raise Conflict(f"Campaign {campaign_id} is being changed by other requests; retry the request")

    def set_state(self, app_id: str, campaign_id: str, run_status: str, *, unless: tuple[str, ...] = ()) -> Campaign:
        """Record the delivery workflow's status of the campaign (SCHEDULED, EXECUTING, PENDING_NEXT_RUN,
        COMPLETED, INVALID) on the head, without a new version; left as it is when the stored status is
        one of ``unless`` (e.g. a late EXECUTING must not undo COMPLETED)."""
        if run_status not in RUN_STATUSES:
            raise BadRequest(f"CampaignStatus must be one of {', '.join(RUN_STATUSES)}")
        for attempt in range(WRITE_ATTEMPTS):
            current, revision = self._require(app_id, campaign_id)
            if current.run_status == run_status or current.run_status in unless:
                return current
            updated = dataclasses.replace(current, run_status=run_status)
            try:
                self._repo.write_head(updated, revision)
                return updated
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"Campaign {campaign_id} is being changed by other requests; retry the request")

    def _schedule(self, campaign: Campaign, fresh: bool = True) -> None:
        """After a committed write: arm (or start) the version's first run, or disarm."""
        if self._scheduling is not None:
            self._scheduling.written(campaign, self._clock(), fresh)

    # -- activities (the delivery workflow) --------------------------------------------------------

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
    ) -> Activity:
        """The activity of this run of this treatment, created EXECUTING on the first call; a retried
        start (same campaign, treatment and scheduled start) returns the activity the first one made.
        ``counted``: an event campaign's day, whose totals grow with each trigger (``add_trigger_counts``)."""
        self._require(app_id, campaign_id)
        aid = activity_id(campaign_id, treatment_id, scheduled_start)
        activity = Activity(
            id=aid,
            application_id=app_id,
            campaign_id=campaign_id,
            treatment_id=treatment_id,
            scheduled_start=iso_now(scheduled_start),
            start=iso_now(self._clock()),
            campaign_version=campaign_version,
            timezones_total_count=timezones_total_count,
        )
        if self._repo.add_activity(activity, counted=counted):
            return activity
        existing = self._repo.get_activity(app_id, campaign_id, aid)
        if existing is None:  # deleted with its campaign between the two calls
            raise NotFound(f"Campaign {campaign_id} not found")
        return existing

    def finish_activity(self, app_id: str, campaign_id: str, activity_id: str, counts: ActivityCounts) -> Activity:
        """Record a run's totals once: the first call completes the activity, later ones (a retried
        finalize) change nothing and return what the first recorded."""
        if counts.result not in RESULTS:
            raise BadRequest(f"Result must be one of {', '.join(RESULTS)}")
        current = (
            self._repo.get_activity(app_id, campaign_id, activity_id)
            if utf8_len(campaign_id) + utf8_len(activity_id) <= MAX_ID_BYTES
            else None
        )
        if current is None:
            raise NotFound(f"Activity {activity_id} of campaign {campaign_id} not found")
        if current.state == ACTIVITY_COMPLETED:
            return current
        finished = dataclasses.replace(
            current,
            state=ACTIVITY_COMPLETED,
            end=iso_now(self._clock()),
            result=counts.result,
            total_endpoint_count=counts.total_endpoint_count,
            successful_endpoint_count=counts.successful_endpoint_count,
            timezones_total_count=counts.timezones_total_count,
            timezones_completed_count=counts.timezones_completed_count,
            execution_metrics=dict(counts.execution_metrics),
        )
        if self._repo.complete_activity(finished):
            return finished
        again = self._repo.get_activity(app_id, campaign_id, activity_id)
        if again is None:
            raise NotFound(f"Activity {activity_id} of campaign {campaign_id} not found")
        return again

    # -- planning ----------------------------------------------------------------------------------

    def _merged(self, base: Campaign, changes: CampaignDefinition) -> Campaign:
        """``base`` with every member ``changes`` sends, checked whole (shape, segment, templates, size)."""
        updated = dataclasses.replace(base)
        for f in dataclasses.fields(CampaignDefinition):
            value = getattr(changes, f.name)
            if value is None or f.name in ("additional_treatments", "tags"):
                continue
            setattr(updated, f.name, value)
        if changes.tags is not None:
            updated.tags = dict(changes.tags)
        if changes.additional_treatments is not None:
            updated.additional_treatments = [
                dataclasses.replace(t, id=str(i + 1)) for i, t in enumerate(changes.additional_treatments)
            ]
        self._check(updated)
        return updated

    def _check(self, campaign: Campaign) -> None:
        check_campaign(campaign)
        check_tags(campaign.tags, "tags", self._quotas)
        if utf8_len(campaign.segment_id) > MAX_ID_BYTES:
            raise BadRequest(f"SegmentId: segment {campaign.segment_id[:64]}… not found")
        resolve = self._segments.resolver(campaign.application_id)
        try:
            segment = resolve(campaign.segment_id, None)
        except NotFound:
            raise BadRequest(f"SegmentId: segment {campaign.segment_id} not found") from None
        if not campaign.segment_version:
            campaign.segment_version = int(getattr(segment, "version", 1))
        else:
            try:
                resolve(campaign.segment_id, campaign.segment_version)
            except NotFound:
                raise BadRequest(
                    f"SegmentVersion: segment {campaign.segment_id} has no version {campaign.segment_version}"
                ) from None
        for name, kind, version, path in template_refs(campaign):
            try:
                self._templates.resolve(name, kind, version)
            except NotFound:
                raise BadRequest(f"{path}: template {name} ({kind}) not found") from None
            except BadRequest as exc:
                raise BadRequest(f"{path}: {exc.message}") from None
        check_item_size(dump(campaign, snake), "The campaign", MAX_CAMPAIGN_BYTES)
