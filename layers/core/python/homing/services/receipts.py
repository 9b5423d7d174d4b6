"""Delivery receipts -> Pinpoint engagement events on the events stream (and dead addresses made
INACTIVE). The mapping is pure (``homing.domain.receipts``); this is the I/O around it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from homing.domain.endpoints import Endpoint
from homing.domain.events import encode_record, partition_key
from homing.domain.receipts import from_event
from homing.observability import logger

INACTIVE = "INACTIVE"


class Publisher(Protocol):
    def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]: ...


class AddressMarker(Protocol):
    """``EndpointService.mark_address``."""

    def mark_address(
        self,
        app_id: str,
        channels: Iterable[str],
        address: str,
        *,
        opt_out: str | None = None,
        status: str | None = None,
    ) -> list[Endpoint]: ...


class NotStored(Exception):
    """The events stream refused the record after its retries: the invocation fails and is retried."""


class ReceiptService:
    def __init__(self, publisher: Publisher, endpoints: AddressMarker, *, clock: Callable[[], datetime]) -> None:
        self._publisher, self._endpoints, self._clock = publisher, endpoints, clock

    def record(self, message: Mapping[str, Any]) -> str | None:
        """Record one receipt; returns the event type recorded (None: not Homing's, or not recorded).
        ValueError for a malformed receipt. Deactivation runs first: it is idempotent, so a retry
        after a failed publish does it again harmlessly, and the record is published once it is done."""
        receipt = from_event(message, int(self._clock().timestamp() * 1000))
        if receipt is None:
            return None
        for channel, address in receipt.deactivate:
            changed = self._endpoints.mark_address(receipt.app_id, (channel,), address, status=INACTIVE)
            if changed:
                logger.info(
                    "endpoints deactivated by a receipt",
                    extra={"application_id": receipt.app_id, "count": len(changed)},
                )
        if receipt.record is None:
            return None
        client = receipt.record["client"]
        assert isinstance(client, dict)
        stored = self._publisher.publish([(partition_key(str(client["client_id"])), encode_record(receipt.record))])
        if not all(stored):
            raise NotStored("the events stream did not take the receipt's record")
        return str(receipt.record["event_type"])
