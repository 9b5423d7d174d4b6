"""process_events: Kinesis records -> analytics aggregates (exactly once), the app's event stream, and the
sends of event-triggered campaigns (``services/campaign_triggers.py``; a trigger that could not be
started is reported as a failure of its record, so the stream retries it).

Exactly-once counting on an at-least-once stream: records of a shard arrive in sequence order, so
each shard keeps a checkpoint (its last counted sequence number). A chunk of records is counted by
one DynamoDB transaction that adds the chunk's counters, writes the state items it changed and moves
the checkpoint from the value read to the chunk's last sequence number. A replayed record is at or
below the checkpoint and is skipped; a chunk whose transaction fails changed nothing. Malformed
records are reported as batch item failures every time they are seen (so they reach the on-failure
destination) and never block the records around them. A record whose counting fails (other than on
a transient AWS error, which fails the batch for a whole retry) is found by bisecting its chunk and
skipped: the checkpoint moves past it, the checkpoint item remembers it, and it is reported as a
failure on this and every replay, while the records around it are counted once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from homing.adapters.dynamodb.analytics import AnalyticsRepository, CheckpointMoved
from homing.domain.analytics import Aggregator, Record, max_new_keys, parse_record
from homing.observability import logger

MAX_TRANSACTION_ITEMS = 99  # DynamoDB transactions hold at most 100 items; one is the checkpoint
ATTEMPTS = 5
Item = tuple[int, str, Record, dict[str, Any]]  # (sequence as a number, sequence, parsed, raw record)
TRANSIENT = {
    "InternalServerError",
    "ItemCollectionSizeLimitExceededException",
    "LimitExceededException",
    "ProvisionedThroughputExceeded",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ThrottlingError",
    "ThrottlingException",
    "TransactionConflict",
    "TransactionConflictException",
    "TransactionInProgressException",
}


def transient(exc: BaseException) -> bool:
    """An AWS error that a retry of the same batch can get past (throttling, conflicts, outages);
    anything else is a property of the records and is isolated instead."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BotoCoreError | ConnectionError | TimeoutError):
            return True
        codes = {getattr(seen, "cause_response_code", None)}
        if isinstance(seen, ClientError):
            codes.add(seen.response.get("Error", {}).get("Code"))
        codes |= {getattr(r, "code", None) for r in getattr(seen, "cancellation_reasons", None) or () if r}
        if codes & TRANSIENT:
            return True
        wrapped = getattr(seen, "cause", None)  # PynamoDB keeps botocore's error here
        seen = wrapped if isinstance(wrapped, BaseException) else (seen.__cause__ or seen.__context__)
    return False


@dataclass(frozen=True)
class StreamRecord:
    shard: str
    sequence: str
    data: bytes


class EventForwarder(Protocol):
    def forward(self, records: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Send (app id, record) pairs to each app's own event stream, if it has one."""


class Triggers(Protocol):
    def fire(self, items: Sequence[tuple[str, str, Mapping[str, Any]]]) -> list[str]:
        """Start the campaign sends (sequence, app id, record) items trigger; the sequences that failed."""


class ProcessingService:
    def __init__(
        self,
        repo: AnalyticsRepository,
        forwarder: EventForwarder,
        *,
        clock: Callable[[], datetime],
        funnel_timelines: bool = True,
        live_apps: Callable[[set[str]], set[str]] | None = None,
        triggers: Triggers | None = None,
    ) -> None:
        self._repo, self._forwarder, self._clock = repo, forwarder, clock
        self._funnel_timelines = funnel_timelines
        self._live_apps = live_apps
        self._triggers = triggers

    def process(self, records: Sequence[StreamRecord]) -> list[str]:
        """Count and forward a batch; returns the sequence numbers of the records that failed."""
        failures: list[str] = []
        by_shard: dict[str, list[Item]] = defaultdict(list)
        for rec in records:
            try:
                data = json.loads(rec.data)
                if not isinstance(data, dict):
                    raise ValueError("a record must be a JSON object")
                if b"\\u" in rec.data:  # escaped text: refuse lone surrogates, which UTF-8 cannot store
                    json.dumps(data, ensure_ascii=False).encode("utf-8")
                by_shard[rec.shard].append((int(rec.sequence), rec.sequence, parse_record(data), data))
            except (ValueError, UnicodeError, RecursionError) as exc:
                logger.warning("malformed event record", extra={"sequence": rec.sequence, "reason": str(exc)[:200]})
                failures.append(rec.sequence)
        if self._live_apps is not None:  # a deleted app's records are dropped: nothing is counted afresh
            live = self._live_apps({i[2].app_id for items in by_shard.values() for i in items})
            by_shard = {shard: [i for i in items if i[2].app_id in live] for shard, items in by_shard.items()}
        for shard, items in by_shard.items():
            failures += self._process_shard(shard, sorted(items, key=lambda i: i[0]))
        if self._triggers is not None:
            # Every record, replays included: a record reported failed (its trigger could not be started)
            # comes back with the ones after it; their sends are the same runs, delivered once.
            ordered = sorted((i for items in by_shard.values() for i in items), key=lambda i: i[0])
            failures += self._triggers.fire([(seq, record.app_id, data) for _, seq, record, data in ordered])
        return sorted(set(failures), key=int)

    def _process_shard(self, shard: str, items: list[Item]) -> list[str]:
        previous, skipped = self._repo.checkpoint_state(shard)
        again = [seq for _, seq, _, _ in items if seq in skipped]  # uncountable: reported on every replay
        fresh = [i for i in items if previous is None or i[0] > int(previous)]
        if not fresh:
            return again
        self._forwarder.forward([(r.app_id, data) for _, _, r, data in fresh])
        return again + self._count_isolating(shard, previous, fresh)

    def _count_isolating(self, shard: str, previous: str | None, items: list[Item]) -> list[str]:
        """Count ``items`` in order; a chunk that fails for a reason other than a transient AWS error
        is bisected down to the record that fails, which is skipped (the checkpoint moves past it and
        it is remembered as failed), so the records around it are still counted, exactly once."""
        for _ in range(ATTEMPTS):
            try:
                self._count(shard, previous, items)
                return []
            except CheckpointMoved:  # a concurrent writer changed a user's state or the checkpoint: redo
                pass
            except Exception as exc:
                if transient(exc):
                    raise  # the whole batch is retried; nothing counted twice
                return self._bisect(shard, items, exc)
            previous = self._repo.checkpoint(shard)
            items = [i for i in items if previous is None or i[0] > int(previous)]
            if not items:
                return []
        raise RuntimeError(f"could not commit shard {shard} after {ATTEMPTS} attempts")

    def _bisect(self, shard: str, items: list[Item], exc: Exception) -> list[str]:
        previous = self._repo.checkpoint(shard)  # chunks before the failing one may be committed
        rest = [i for i in items if previous is None or i[0] > int(previous)]
        if not rest:  # everything was counted; what failed came after the commit (extremes, timelines)
            logger.error("idempotent extras after a commit failed", extra={"error": type(exc).__name__})
            return []
        if len(rest) == 1:
            _, seq, record, _ = rest[0]
            logger.error(
                "event record could not be counted; skipped",
                extra={
                    "sequence": seq,
                    "application_id": record.app_id,
                    "error": type(exc).__name__,
                    "reason": str(exc)[:200],
                },
            )
            self._repo.skip(shard, previous, seq)
            return [seq]
        middle = len(rest) // 2
        failed = self._count_isolating(shard, previous, rest[:middle])
        return failed + self._count_isolating(shard, self._repo.checkpoint(shard), rest[middle:])

    def _count(self, shard: str, previous: str | None, items: list[Item]) -> None:
        agg = Aggregator(self._repo.load_states)
        agg.prefetch(r for _, _, r, _ in items)
        last = previous
        pending: str | None = None
        for _, seq, record, _ in items:
            if pending is not None and len(agg.writes.keys()) + max_new_keys(record) > MAX_TRANSACTION_ITEMS:
                last = self._commit(agg, shard, last, pending)
            agg.apply(record)
            pending = seq
        if pending is not None:
            self._commit(agg, shard, last, pending)

    def _commit(self, agg: Aggregator, shard: str, previous: str | None, seq: str) -> str:
        writes = agg.writes
        versions = {key: state.version for key, state in writes.states.items()}
        self._repo.commit(writes, versions, shard, previous, seq)
        agg.committed()
        # Idempotent extras, after the commit: repeating them after a crash changes nothing.
        self._repo.apply_extremes(writes)
        if self._funnel_timelines and writes.timeline:
            self._repo.put_timeline(writes.timeline, self._clock())
        return seq
