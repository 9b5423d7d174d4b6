"""The Caps table: per-endpoint send counters of campaigns (Daily, Total, Session), and a marker per counted send.

A send is counted by one transaction: a marker for its (campaign, run, treatment, endpoint) put
only if absent, and an ``ADD sends 1`` on each counter conditional on the counter being below its
cap. So a send over any cap is refused with nothing written, a retried or replayed batch finds its
marker and counts nothing twice, and batches racing on one endpoint are serialised by DynamoDB's
conditions: the counter never passes the cap.

Keys: the partition is ``<app id>#<shard>`` (``SHARDS`` of them, chosen by the entry), so one
app's campaign at full rate spreads its writes over many partitions while DeleteApp's clean-up
still finds everything with one query per shard. Entries are SHA-256 digests of the counter or
marker key, so no endpoint id (often an address-like value) is stored and every key has one size.
Items expire (TTL): markers after ``MARKER_TTL``, counters when their window has passed.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.common import MAX_TRANSACTION_ITEMS, WriteConflict
from homing.domain.campaign_rules import CapCheck

SHARDS = 16
MARKER_TTL = timedelta(days=7)  # past any retry of a batch or replay of a run


class CapItem(Model):
    """A send counter (``sends``) or a counted send's marker (no ``sends``)."""

    class Meta:
        table_name = "caps"

    pk = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    sends = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)


class Counted(enum.Enum):
    COUNTED = "COUNTED"  # this call counted the send: send it
    ALREADY = "ALREADY"  # an earlier attempt counted it: send it (the dispatcher's ledger stops a second delivery)
    CAPPED = "CAPPED"  # a cap is reached: do not send


@dataclass(frozen=True)
class CapOutcome:
    counted: Counted
    scope: str | None = None  # the cap that refused the send ("daily", "total", "session")

    @property
    def may_send(self) -> bool:
        return self.counted is not Counted.CAPPED


@dataclass(frozen=True)
class SendKey:
    """What makes a send one send: a retried batch repeats all four."""

    campaign_id: str
    run_id: str
    treatment: int
    endpoint_id: str

    def marker(self) -> str:
        return f"M#{self.campaign_id}#{self.run_id}#{self.treatment}#{self.endpoint_id.lower()}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _keys(app_id: str, key: str) -> tuple[str, str]:
    entry = _digest(key)
    return f"{app_id}#{int(entry[:8], 16) % SHARDS:02d}", entry


class CapCounter:
    """Counts campaign sends against the per-endpoint caps (``domain.campaign_rules.cap_checks``)."""

    def __init__(self, attempts: int = 10) -> None:
        self._attempts = attempts

    def count(self, app_id: str, send: SendKey, checks: tuple[CapCheck, ...], now: datetime) -> CapOutcome:
        """Count one send, atomically against every cap; idempotent per ``send``.

        A transaction that loses a race on the same items (TransactionConflict) is tried again,
        a bounded number of times, then WriteConflict: the batch fails and its retry counts it.
        With no cap to count against nothing is written (the delivery ledger alone keeps a send once).
        """
        if not checks:
            return CapOutcome(Counted.COUNTED)
        if len(checks) + 1 > MAX_TRANSACTION_ITEMS:
            raise ValueError("too many caps for one transaction")
        for _ in range(self._attempts):
            try:
                self._commit(app_id, send, checks, now)
                return CapOutcome(Counted.COUNTED)
            except TransactWriteError as exc:
                if exc.cause_response_code != "TransactionCanceledException":
                    raise
                reasons = list(exc.cancellation_reasons or [])
                codes = [r.code if r is not None else None for r in reasons]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return CapOutcome(Counted.ALREADY)
                for check, code in zip(checks, codes[1:], strict=False):
                    if code == "ConditionalCheckFailed":
                        return CapOutcome(Counted.CAPPED, check.scope)
                if not any(code == "TransactionConflict" for code in codes):
                    raise
        raise WriteConflict()

    def _commit(self, app_id: str, send: SendKey, checks: tuple[CapCheck, ...], now: datetime) -> None:
        with TransactWrite(connection=CapItem._get_connection().connection) as tx:
            pk, entry = _keys(app_id, send.marker())
            tx.save(CapItem(pk, entry, expires=now + MARKER_TTL), condition=CapItem.pk.does_not_exist())
            for check in checks:
                pk, entry = _keys(app_id, check.counter)
                actions: list[Action] = [CapItem.sends.add(1)]
                if check.expires_at is not None:
                    actions.append(CapItem.expires.set(check.expires_at))
                tx.update(
                    CapItem(pk, entry),
                    actions=actions,
                    condition=CapItem.sends.does_not_exist() | (CapItem.sends < check.cap),
                )

    def sends(self, app_id: str, counter: str) -> int:
        """What a counter holds now (0 if it was never counted)."""
        pk, entry = _keys(app_id, counter)
        try:
            return int(CapItem.get(pk, entry, consistent_read=True, attributes_to_get=["sends"]).sends or 0)
        except CapItem.DoesNotExist:
            return 0

    def delete_some(self, app_id: str, limit: int) -> int:
        """Up to ``limit`` of the app's counters and markers (DeleteApp's clean-up), shard by shard."""
        deleted = 0
        for shard in range(SHARDS):
            if deleted >= limit:
                break
            pk = f"{app_id}#{shard:02d}"
            entries = [i.entry for i in CapItem.query(pk, attributes_to_get=["entry"], limit=limit - deleted)]
            with CapItem.batch_write() as batch:
                for entry in entries:
                    batch.delete(CapItem(pk, entry))
            deleted += len(entries)
        return deleted
