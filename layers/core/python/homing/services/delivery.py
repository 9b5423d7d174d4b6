"""Idempotent dispatch: every delivery handed to its channel's sender, concurrently, each key at most once.

Before a send its key is claimed in the ledger (a conditional put); after it the result is recorded
on the claim. So a retried Step Functions task or a replayed batch answers the recorded result of a
key already sent instead of sending again, and two dispatchers racing on the same keys send each key
exactly once. A key claimed and never completed (a crash between claim and record, or a send still
in flight elsewhere) is **not** sent again: it answers UNKNOWN_FAILURE. At most once is the choice:
a duplicate message to a person is worse than a missing one, and UNKNOWN_FAILURE is Pinpoint's own
status for "the outcome is not known" (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

from homing.domain.dispatch import Claim
from homing.domain.messages import PERMANENT_FAILURE, UNKNOWN_FAILURE, Delivery, DeliveryResult, Sender
from homing.observability import logger

# Concurrent sends per dispatch: boto3's and PynamoDB's HTTP pools hold 10 connections by default,
# so more threads would only queue for (or churn) connections.
DISPATCH_THREADS = 10

UNFINISHED = DeliveryResult(
    UNKNOWN_FAILURE,
    500,
    "A send under this key was started and its outcome is not known; it is not sent again",
)


class Ledger(Protocol):
    def claim(self, key: str, now: datetime) -> Claim: ...

    def complete(self, key: str, result: DeliveryResult) -> None: ...


class Dispatcher:
    """Hands deliveries to the sender of their channel (``senders``: channel type -> Sender)."""

    def __init__(
        self,
        senders: Mapping[str, Sender],
        ledger: Ledger,
        clock: Callable[[], datetime],
        threads: int = DISPATCH_THREADS,
    ) -> None:
        self.senders = dict(senders)
        self.ledger = ledger
        self.clock = clock
        self.threads = threads

    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]:
        """The results in the order of ``deliveries``; a key repeated in the batch is sent once and
        every occurrence answers its result. A ledger failure (DynamoDB unreachable) raises after the
        other sends finish; those are recorded, so the retried batch sends only what is left."""
        unique: dict[str, Delivery] = {}
        for delivery in deliveries:
            unique.setdefault(delivery.key, delivery)
        if not unique:
            return []
        workers = max(1, min(self.threads, len(unique)))
        if workers == 1:
            results = [self.send(d) for d in unique.values()]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send") as pool:
                results = list(pool.map(self.send, unique.values()))
        by_key = dict(zip(unique, results, strict=True))
        return [by_key[d.key] for d in deliveries]

    def send(self, delivery: Delivery) -> DeliveryResult:
        """One delivery: claim its key, send, record; or the recorded answer of an earlier claim."""
        sender = self.senders.get(delivery.channel)
        if sender is None:
            return DeliveryResult(PERMANENT_FAILURE, 400, f"No sender for channel {delivery.channel}")
        claim = self.ledger.claim(delivery.key, self.clock())
        if not claim.won:
            return claim.result or UNFINISHED
        try:
            result = sender.send(delivery)
        except Exception:  # a bug in a sender: the message may or may not have gone
            logger.exception("sender failed", extra={"channel": delivery.channel})
            result = DeliveryResult(UNKNOWN_FAILURE, 500, "The sender failed unexpectedly")
        try:
            self.ledger.complete(delivery.key, result)
        except Exception:  # the send happened: answer it; the key stays claimed (never resent)
            logger.exception("could not record a delivery result", extra={"channel": delivery.channel})
        return result
