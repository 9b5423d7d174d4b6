"""The Campaigns table: per app, a campaign's head, its immutable versions, its activities, and which
campaigns use each segment.

- ``C#<campaign id>``: the head, the current version in full (with the run status the delivery
  workflow records), its campaign ``version`` and a ``revision`` that every write of the head bumps
  (an update and a state change both plan from it, so neither overwrites the other);
- ``V#<campaign id>#<version, 10 digits>``: each version as it was written, never changed;
- ``A#<campaign id>#<activity id>``: one run of one treatment (the id sorts by scheduled start);
- ``U#<segment id>``: the set of campaign ids using the segment. Written in the campaign's own
  transaction (with a check that the segment still exists) and checked by DeleteSegment's
  transaction (``segment_unused``), so a segment in use can never be deleted, whatever the race;
- ``R#<campaign id>#<run id>``: an event-triggered send already added to its day's activity
  (``add_trigger_counts``), so a replayed trigger is not counted twice; expires (TTL) after
  ``TRIGGER_MARKER_TTL``. Event campaigns' activities carry their running totals in ``counts``
  (ADDed per trigger) rather than in the body, which is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.dynamodb.paging import decode_token, encode_token
from homing.adapters.dynamodb.segments import SegmentItem, head_entry
from homing.codec import build, dump, snake
from homing.domain.campaigns import ACTIVITY_COMPLETED, ACTIVITY_EXECUTING, Activity, Campaign
from homing.domain.errors import BadRequest

HEAD, VERSION, ACTIVITY, USAGE, TRIGGERED = "C#", "V#", "A#", "U#", "R#"
TRIGGER_MARKER_TTL = timedelta(days=7)  # past any retry of an asynchronous invocation or replay of a stream record
# An event campaign's activity counts: TotalEndpointCount, SuccessfulEndpointCount; other keys are ExecutionMetrics.
TOTAL, SUCCESSFUL = "TotalEndpointCount", "SuccessfulEndpointCount"


def campaign_entry(campaign_id: str) -> str:
    return f"{HEAD}{campaign_id}"


def version_entry(campaign_id: str, version: int) -> str:
    return f"{VERSION}{campaign_id}#{version:010d}"


def activity_entry(campaign_id: str, activity_id: str) -> str:
    return f"{ACTIVITY}{campaign_id}#{activity_id}"


def usage_entry(segment_id: str) -> str:
    return f"{USAGE}{segment_id}"


def triggered_entry(campaign_id: str, run_id: str) -> str:
    return f"{TRIGGERED}{campaign_id}#{run_id}"


class CampaignItem(Model):
    """A campaign head, version or activity, or a segment's usage marker (see the module doc)."""

    class Meta:
        table_name = "campaigns"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    version = NumberAttribute(null=True)
    revision = NumberAttribute(null=True)
    body = JSONAttribute(null=True)
    state = UnicodeAttribute(null=True)  # an activity's
    campaign_ids = UnicodeSetAttribute(null=True)  # a usage marker's
    counts: MapAttribute[str, Any] = MapAttribute(null=True)  # event campaigns' activity totals (ADD)
    expires = TTLAttribute(null=True)  # a trigger marker's


def _transact(write: Callable[[TransactWrite], None], what: str) -> None:
    try:
        with TransactWrite(connection=CampaignItem._get_connection().connection) as tx:
            write(tx)
    except TransactWriteError as exc:
        codes = {r.code for r in exc.cancellation_reasons if r is not None}
        if codes & {"ConditionalCheckFailed", "TransactionConflict"}:
            raise StaleVersion() from exc
        if exc.cause_response_code == "ValidationException" or "ValidationError" in codes:
            raise BadRequest(f"{what}: rejected by storage: {exc.cause_response_message}") from None
        raise


class CampaignRepository:
    """Campaigns, their versions and activities."""

    @staticmethod
    def _campaign(item: CampaignItem) -> Campaign:
        return build(Campaign, item.body, key_of=snake)

    # -- campaigns ---------------------------------------------------------------------------------

    def get(self, app_id: str, campaign_id: str) -> tuple[Campaign, int] | None:
        """The current version and the head's revision (strongly consistent: a write plans from it)."""
        try:
            item = CampaignItem.get(app_id, campaign_entry(campaign_id), consistent_read=True)
        except CampaignItem.DoesNotExist:
            return None
        return self._campaign(item), int(item.revision or 0)

    def get_version(self, app_id: str, campaign_id: str, version: int) -> Campaign | None:
        try:
            return self._campaign(CampaignItem.get(app_id, version_entry(campaign_id, version), consistent_read=True))
        except CampaignItem.DoesNotExist:
            return None

    def _page(
        self, app_id: str, prefix: str, scope: str, page_size: int, token: str | None, *, forward: bool = True
    ) -> tuple[list[CampaignItem], str | None]:
        results = CampaignItem.query(
            app_id,
            CampaignItem.entry.startswith(prefix),
            limit=page_size,
            last_evaluated_key=decode_token(token, scope),
            consistent_read=True,
            scan_index_forward=forward,
        )
        items = list(results)
        last: dict[str, Any] | None = results.last_evaluated_key
        return items, encode_token(last, scope) if len(items) >= page_size else None

    def page(self, app_id: str, page_size: int, token: str | None) -> tuple[list[Campaign], str | None]:
        """The app's campaigns (current versions), in campaign id order."""
        items, next_token = self._page(app_id, HEAD, f"campaigns/{app_id}", page_size, token)
        return [self._campaign(i) for i in items], next_token

    def versions(
        self, app_id: str, campaign_id: str, page_size: int, token: str | None
    ) -> tuple[list[Campaign], str | None]:
        """Every version of one campaign, oldest first."""
        scope = f"campaign-versions/{app_id}/{campaign_id}"
        items, next_token = self._page(app_id, f"{VERSION}{campaign_id}#", scope, page_size, token)
        return [self._campaign(i) for i in items], next_token

    def write(self, campaign: Campaign, read_revision: int | None, previous_segment: str | None) -> None:
        """Store ``campaign`` as the head and as version ``campaign.version``, and move the segment usage
        marker from ``previous_segment``; StaleVersion if the head is no longer at ``read_revision``
        (None: there must be no head) or the segment it now uses was deleted."""
        app, cid, body = campaign.application_id, campaign.id, dump(campaign, snake)
        revision = (read_revision or 0) + 1

        def write(tx: TransactWrite) -> None:
            head = CampaignItem(app, campaign_entry(cid), version=campaign.version, revision=revision, body=body)
            tx.save(head, condition=self._head_condition(read_revision))
            tx.save(
                CampaignItem(app, version_entry(cid, campaign.version), version=campaign.version, body=body),
                condition=CampaignItem.entry.does_not_exist(),
            )
            if previous_segment != campaign.segment_id:
                tx.condition_check(
                    SegmentItem, app, head_entry(campaign.segment_id), condition=SegmentItem.entry.exists()
                )
                tx.update(
                    CampaignItem(app, usage_entry(campaign.segment_id)),
                    actions=[CampaignItem.campaign_ids.add({cid})],
                )
                if previous_segment is not None:
                    tx.update(
                        CampaignItem(app, usage_entry(previous_segment)),
                        actions=[CampaignItem.campaign_ids.delete({cid})],
                    )

        _transact(write, f"Campaign {cid}")

    @staticmethod
    def _head_condition(read_revision: int | None) -> Any:
        return CampaignItem.entry.does_not_exist() if read_revision is None else CampaignItem.revision == read_revision

    def write_head(self, campaign: Campaign, read_revision: int) -> None:
        """Rewrite the head only (a state change: no new version); StaleVersion if it moved on."""
        item = CampaignItem(
            campaign.application_id,
            campaign_entry(campaign.id),
            version=campaign.version,
            revision=read_revision + 1,
            body=dump(campaign, snake),
        )
        try:
            item.save(condition=CampaignItem.revision == read_revision)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleVersion() from exc
            raise

    def delete(self, campaign: Campaign, read_revision: int) -> None:
        """Delete the head (if still at ``read_revision``) and release the segment in one transaction,
        then the history and the activities (left-overs of an interrupted delete go with DeleteApp's clean-up)."""
        app, cid = campaign.application_id, campaign.id

        def write(tx: TransactWrite) -> None:
            tx.delete(CampaignItem(app, campaign_entry(cid)), condition=CampaignItem.revision == read_revision)
            tx.update(
                CampaignItem(app, usage_entry(campaign.segment_id)), actions=[CampaignItem.campaign_ids.delete({cid})]
            )

        _transact(write, f"Campaign {cid}")
        for prefix in (f"{VERSION}{cid}#", f"{ACTIVITY}{cid}#"):
            entries = [
                i.entry
                for i in CampaignItem.query(app, CampaignItem.entry.startswith(prefix), attributes_to_get=["entry"])
            ]
            with CampaignItem.batch_write() as batch:
                for entry in entries:
                    batch.delete(CampaignItem(app, entry))

    def segment_unused(self, app_id: str, segment_id: str) -> Callable[[TransactWrite], None]:
        """A condition for DeleteSegment's transaction (segments' ``SegmentUsage``): no campaign uses it."""

        def check(tx: TransactWrite) -> None:
            tx.condition_check(
                CampaignItem, app_id, usage_entry(segment_id), condition=CampaignItem.campaign_ids.does_not_exist()
            )

        return check

    def segment_users(self, app_id: str, segment_id: str) -> list[str]:
        """Ids of the campaigns that use the segment (sorted)."""
        try:
            item = CampaignItem.get(app_id, usage_entry(segment_id), consistent_read=True)
        except CampaignItem.DoesNotExist:
            return []
        return sorted(item.campaign_ids or ())

    # -- activities --------------------------------------------------------------------------------

    @staticmethod
    def _activity(item: CampaignItem) -> Activity:
        activity = build(Activity, item.body, key_of=snake)
        if item.counts is not None:  # an event campaign's day: the totals ADDed so far
            counts = {str(k): int(v) for k, v in item.counts.as_dict().items()}
            activity.total_endpoint_count = counts.pop(TOTAL, 0)
            activity.successful_endpoint_count = counts.pop(SUCCESSFUL, 0)
            activity.execution_metrics = {k: str(v) for k, v in sorted(counts.items()) if v}
        return activity

    def get_activity(self, app_id: str, campaign_id: str, activity_id: str) -> Activity | None:
        try:
            item = CampaignItem.get(app_id, activity_entry(campaign_id, activity_id), consistent_read=True)
        except CampaignItem.DoesNotExist:
            return None
        return self._activity(item)

    def add_activity(self, activity: Activity, *, counted: bool = False) -> bool:
        """Store a new activity; False (nothing written) if one with its id exists already. ``counted``:
        an event campaign's, whose totals ``add_trigger_counts`` adds to as triggers are sent."""
        item = CampaignItem(
            activity.application_id,
            activity_entry(activity.campaign_id, activity.id),
            state=activity.state,
            body=dump(activity, snake),
            counts={TOTAL: 0, SUCCESSFUL: 0} if counted else None,
        )
        try:
            item.save(condition=CampaignItem.entry.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def complete_activity(self, activity: Activity) -> bool:
        """Record ``activity`` (now COMPLETED) if the stored one is still EXECUTING; False otherwise."""
        item = CampaignItem(activity.application_id, activity_entry(activity.campaign_id, activity.id))
        try:
            item.update(
                actions=[CampaignItem.state.set(ACTIVITY_COMPLETED), CampaignItem.body.set(dump(activity, snake))],
                condition=CampaignItem.state == ACTIVITY_EXECUTING,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def add_trigger_counts(
        self,
        app_id: str,
        campaign_id: str,
        run_id: str,
        counts: Mapping[str, Mapping[str, int]],
        now: datetime,
    ) -> bool:
        """Add one trigger's counts (activity id -> count name -> n) to those activities, once: a marker for
        (campaign, run) is put in the same transaction, conditional on its absence, so a replay adds
        nothing and returns False. The activities must exist (NotFound-free: StaleVersion if one is gone)."""

        def write(tx: TransactWrite) -> None:
            tx.save(
                CampaignItem(app_id, triggered_entry(campaign_id, run_id), expires=now + TRIGGER_MARKER_TTL),
                condition=CampaignItem.entry.does_not_exist(),
            )
            for aid, named in counts.items():
                actions = [CampaignItem.counts[name].add(n) for name, n in sorted(named.items()) if n]
                if actions:
                    tx.update(
                        CampaignItem(app_id, activity_entry(campaign_id, aid)),
                        actions=actions,
                        condition=CampaignItem.counts.exists(),
                    )

        try:
            _transact(write, f"Campaign {campaign_id}")
        except StaleVersion:
            try:
                CampaignItem.get(app_id, triggered_entry(campaign_id, run_id), consistent_read=True)
            except CampaignItem.DoesNotExist:
                raise  # not a replay: an activity is gone (the campaign was deleted) or a write raced
            return False
        return True

    def activities(
        self, app_id: str, campaign_id: str, page_size: int, token: str | None
    ) -> tuple[list[Activity], str | None]:
        """The campaign's activities, the latest scheduled first."""
        scope = f"campaign-activities/{app_id}/{campaign_id}"
        items, next_token = self._page(app_id, f"{ACTIVITY}{campaign_id}#", scope, page_size, token, forward=False)
        return [self._activity(i) for i in items], next_token

    def delete_some(self, app_id: str, limit: int) -> int:
        """Up to ``limit`` of the app's items of any kind (DeleteApp's clean-up)."""
        entries = [i.entry for i in CampaignItem.query(app_id, attributes_to_get=["entry"], limit=limit)]
        with CampaignItem.batch_write() as batch:
            for entry in entries:
                batch.delete(CampaignItem(app_id, entry))
        return len(entries)
