"""Analytics storage: state items, counter day items and shard checkpoints in the Analytics table.

Counters have dynamic names, so they are top-level number attributes ``c:<name>`` written with
PynamoDB ``Path(...).add()`` and read back through PynamoDB's TableConnection (raw attribute maps).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

from pynamodb.connection import TableConnection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.analytics_tables import AnalyticsItem, TimelineItem
from homing.domain.analytics import (
    CHECKPOINT_PARTITION,
    VALUE_COUNTER,
    Key,
    State,
    Writes,
    app_day,
    app_value_from_key,
    app_value_key,
    app_values_partition,
    campaign_day,
    delivery_marker_key,
    endpoint_activity_key,
    event_day,
    event_values_key,
    journey_day,
    message_marker_key,
    timeline_key,
    user_activity_key,
    values_range,
)

COUNTER = "c:"
TIMELINE_TTL = timedelta(days=90)
KEEP_FAILED = 100  # sequence numbers of skipped (uncountable) records remembered per shard


# Pages of an app-deleting scan: at most this many items read per Scan call (1 MB caps it too).
SCAN_PAGE_ITEMS = 1000


def app_partitions(app_id: str) -> tuple[set[str], tuple[str, ...]]:
    """The Analytics partition keys that belong to ``app_id``: (exact keys, key prefixes).

    Derived from the key builders of homing.domain.analytics, so a change of key shape follows.
    Keys with a per-app partition (app days, activity, message markers) are exact; the others
    embed a second id after the app (campaign, journey, event type) and are matched by prefix.
    """
    exact = {
        app_day(app_id, 0)[0],
        app_value_key(app_day(app_id, 0), "")[0],
        endpoint_activity_key(app_id, "")[0],
        user_activity_key(app_id, "")[0],
        message_marker_key(app_id, "")[0],
    }
    prefixes = (
        campaign_day(app_id, "", 0)[0],
        journey_day(app_id, "", 0)[0],
        event_day(app_id, "", 0)[0],
        event_values_key(app_id, "", 0, "", "")[0],
        delivery_marker_key(app_id, "", "")[0],
    )
    return exact, prefixes


def timeline_prefix(app_id: str) -> str:
    """Funnel timeline partitions of ``app_id`` start with this (``FT#<app>#``)."""
    key = timeline_key(app_id, "", 0)
    return key[: key.index(f"#{app_id}#") + len(app_id) + 2]


class CheckpointMoved(Exception):
    """Another invocation advanced the shard's checkpoint (or changed a state item) first: reload and redo."""


ENCODED_COUNTER = "c~:"  # a counter whose name holds "[" or "]", percent-encoded


def counter_attribute(name: str) -> str:
    """The attribute holding counter ``name``. PynamoDB reads ``[n]`` in a path segment as a list
    index (and refuses a lone bracket), so names with brackets (user data: event types, values)
    are stored percent-encoded under their own prefix; all others as they are."""
    if "[" in name or "]" in name:
        return ENCODED_COUNTER + quote(name, safe="")
    return COUNTER + name


def counter_name(attribute: str) -> str | None:
    if attribute.startswith(COUNTER):
        return attribute[len(COUNTER) :]
    if attribute.startswith(ENCODED_COUNTER):
        return unquote(attribute[len(ENCODED_COUNTER) :])
    return None


def _number(raw: dict[str, Any]) -> float:
    return float(raw["N"])


class AnalyticsRepository:
    def _table(self) -> TableConnection:
        return AnalyticsItem._get_connection()

    # --- checkpoints and state ----------------------------------------------------------------

    def checkpoint(self, shard: str) -> str | None:
        return self.checkpoint_state(shard)[0]

    def checkpoint_state(self, shard: str) -> tuple[str | None, set[str]]:
        """The shard's last counted sequence number, and the records at or below it that were
        skipped because they could not be counted (reported as failures again on every replay)."""
        try:
            item = AnalyticsItem.get(CHECKPOINT_PARTITION, shard, consistent_read=True)
        except AnalyticsItem.DoesNotExist:
            return None, set()
        return item.seq, set(item.flags or ())

    def skip(self, shard: str, previous: str | None, seq: str) -> None:
        """Move the checkpoint past one record that cannot be counted, remembering it as failed."""
        _, failed = self.checkpoint_state(shard)
        keep = sorted(failed | {seq}, key=int)[-KEEP_FAILED:]
        condition = AnalyticsItem.seq.does_not_exist() if previous is None else AnalyticsItem.seq == previous
        try:
            AnalyticsItem(CHECKPOINT_PARTITION, shard).update(
                actions=[AnalyticsItem.seq.set(seq), AnalyticsItem.flags.set(set(keep))], condition=condition
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise CheckpointMoved() from exc
            raise

    def load_states(self, keys: set[Key]) -> dict[Key, State]:
        found: dict[Key, State] = {}
        for item in AnalyticsItem.batch_get(list(keys), consistent_read=True):
            found[(item.pk, item.sk)] = State(
                version=int(item.version or 0),
                first_day=None if item.first_day is None else int(item.first_day),
                days={int(d) for d in item.days or ()},
                flags=set(item.flags or ()),
            )
        return found

    def commit(self, writes: Writes, versions: dict[Key, int], shard: str, previous: str | None, seq: str) -> None:
        """Counters, state items and the shard checkpoint in one transaction: all or nothing."""
        try:
            with TransactWrite(connection=AnalyticsItem._get_connection().connection) as tx:
                for (pk, sk), counters in writes.counters.items():
                    actions: list[Action] = [
                        Path([counter_attribute(name)]).add(value) for name, value in counters.items() if value
                    ]
                    if actions:
                        tx.update(AnalyticsItem(pk, sk), actions=actions)
                for (pk, sk), state in writes.states.items():
                    old = versions.get((pk, sk), 0)
                    item = AnalyticsItem(
                        pk,
                        sk,
                        version=old + 1,
                        first_day=state.first_day,
                        days=state.days or None,
                        flags=state.flags or None,
                    )
                    tx.save(
                        item,
                        condition=AnalyticsItem.pk.does_not_exist() if old == 0 else AnalyticsItem.version == old,
                    )
                tx.update(  # an update, not a put: the item also remembers skipped records
                    AnalyticsItem(CHECKPOINT_PARTITION, shard),
                    actions=[AnalyticsItem.seq.set(seq)],
                    condition=AnalyticsItem.seq.does_not_exist() if previous is None else AnalyticsItem.seq == previous,
                )
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException" and any(
                r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons
            ):
                raise CheckpointMoved() from exc
            raise

    def apply_extremes(self, writes: Writes) -> None:
        """Metric minima/maxima: a conditional SET, safe to repeat (a replay cannot move an extreme)."""
        for ((pk, sk), name), value in writes.minima.items():
            self._extreme(pk, sk, counter_attribute(f"min:{name}"), value, lower=True)
        for ((pk, sk), name), value in writes.maxima.items():
            self._extreme(pk, sk, counter_attribute(f"max:{name}"), value, lower=False)

    def _extreme(self, pk: str, sk: str, attribute: str, value: float, *, lower: bool) -> None:
        path = Path([attribute])  # a list: names may contain dots, which must not become document paths
        condition = path.does_not_exist() | (path > value if lower else path < value)
        try:
            self._table().update_item(pk, sk, actions=[path.set(value)], condition=condition)
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise

    def put_timeline(self, entries: Iterable[tuple[str, str, dict[str, Any]]], expires_from: Any) -> None:
        """Funnel timeline items, keyed by the event, so writing one twice is harmless."""
        with TimelineItem.batch_write() as batch:
            for pk, sk, data in entries:
                batch.save(TimelineItem(pk, sk, data=data, expires=expires_from + TIMELINE_TTL))

    # --- reads ---------------------------------------------------------------------------------

    def counters(self, pk: str, first_sk: str, last_sk: str, *, values: bool = True) -> dict[str, dict[str, float]]:
        """Counter attributes of the items of ``pk`` with sk in [first_sk, last_sk], by sk. For an
        app's day items, the value counters kept in items of their own are merged in (unless
        ``values`` is False: the MAU history needs only the day items)."""
        out = self._counters(pk, first_sk, last_sk)
        values_pk = app_values_partition(pk)
        if values and values_pk is not None:
            for sk, counters in self._counters(values_pk, *values_range(first_sk, last_sk)).items():
                day, name = app_value_from_key(sk)
                if VALUE_COUNTER in counters:
                    out.setdefault(day, {})[name] = counters[VALUE_COUNTER]
        return out

    def _counters(self, pk: str, first_sk: str, last_sk: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        start = None
        while True:
            page = self._table().query(
                pk, range_key_condition=AnalyticsItem.sk.between(first_sk, last_sk), exclusive_start_key=start
            )
            for raw in page.get("Items", []):
                named = ((counter_name(k), v) for k, v in raw.items())
                out[raw["sk"]["S"]] = {name: _number(v) for name, v in named if name is not None}
            start = page.get("LastEvaluatedKey")
            if not start:
                return out

    def timeline(self, pk: str) -> list[tuple[str, dict[str, Any]]]:
        return [(i.sk, i.data or {}) for i in TimelineItem.query(pk)]

    # --- deletion -------------------------------------------------------------------------------

    def delete_activity(self, app_id: str, endpoint_ids: Iterable[str], user_id: str | None) -> None:
        """A user's (or endpoints') activity items: DeleteUserEndpoints forgets them."""
        keys = [endpoint_activity_key(app_id, e) for e in endpoint_ids]
        if user_id:
            keys.append(user_activity_key(app_id, user_id))
        for pk, sk in keys:  # DeleteItem only: the api function may not write analytics otherwise
            self._table().delete_item(pk, sk)

    def delete_app_page(
        self, app_id: str, segment: int, total_segments: int, start: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any] | None]:
        """One page of a parallel scan of Analytics for ``app_id``'s items, deleted.

        Returns (items deleted, where the segment goes on; None when it is finished).
        """
        exact, prefixes = app_partitions(app_id)
        condition = AnalyticsItem.pk.is_in(*sorted(exact))
        for prefix in prefixes:
            condition = condition | AnalyticsItem.pk.startswith(prefix)
        return _scan_delete(AnalyticsItem, condition, segment, total_segments, start)

    def delete_timelines_page(
        self, app_id: str, segment: int, total_segments: int, start: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any] | None]:
        """One page of a parallel scan of Timelines for ``app_id``'s funnel items, deleted."""
        condition = TimelineItem.pk.startswith(timeline_prefix(app_id))
        return _scan_delete(TimelineItem, condition, segment, total_segments, start)


def _scan_delete(
    model: type[AnalyticsItem] | type[TimelineItem],
    condition: Any,
    segment: int,
    total_segments: int,
    start: dict[str, Any] | None,
) -> tuple[int, dict[str, Any] | None]:
    page = model._get_connection().scan(
        filter_condition=condition,
        attributes_to_get=["pk", "sk"],
        limit=SCAN_PAGE_ITEMS,
        segment=segment,
        total_segments=total_segments,
        exclusive_start_key=start,  # type: ignore[arg-type]
    )
    items = page.get("Items", [])
    with model.batch_write() as batch:
        for raw in items:
            batch.delete(model(raw["pk"]["S"], raw["sk"]["S"]))
    return len(items), page.get("LastEvaluatedKey")
