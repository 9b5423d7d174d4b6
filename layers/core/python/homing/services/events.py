"""PutEvents: update each batch item's endpoint, validate its events, put the accepted ones on the stream.

Every event gets its own verdict (202 or 400 with a message), as in Pinpoint's EventsResponse; a
rejected event or endpoint never blocks the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from homing.adapters.dynamodb.catalog import CatalogRepository
from homing.domain.endpoints import Endpoint, validate_endpoint_id
from homing.domain.errors import BadRequest, HomingError
from homing.domain.events import (
    ACCEPTED,
    NOT_STORED,
    EventsBatch,
    ItemResult,
    Verdict,
    check_event,
    encode_record,
    is_custom,
    partition_key,
    stream_record,
)
from homing.domain.limits import QUOTAS, Quotas
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService

EVENT_TYPE_KIND = "event#"  # catalogue entries for custom event types: event#<type>


def check_endpoint_id(endpoint_id: str) -> None:
    field = "BatchItem key (endpoint id)"
    try:
        endpoint_id.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{field} must be valid Unicode (no unpaired surrogates)") from None
    validate_endpoint_id(endpoint_id, field)


def check_event_id(event_id: str) -> None:
    field = "Events key (event id)"
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{field} must be valid Unicode (no unpaired surrogates)") from None
    if not event_id:
        raise BadRequest(f"{field} must not be empty")


class EventPublisher(Protocol):
    def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]:
        """Put (partition key, data) records on the events stream; True where a record was stored."""


class EventService:
    def __init__(
        self,
        apps: AppService,
        endpoints: EndpointService,
        catalog: CatalogRepository,
        publisher: Callable[[], EventPublisher],
        *,
        clock: Callable[[], datetime],
        quotas: Quotas = QUOTAS,
    ) -> None:
        self._apps, self._endpoints, self._catalog = apps, endpoints, catalog
        self._publisher, self._clock, self._quotas = publisher, clock, quotas

    def put_events(self, app_id: str, batch: dict[str, EventsBatch], request_id: str) -> dict[str, ItemResult]:
        """Each item's endpoint verdict and each event's, by endpoint id."""
        self._apps.require(app_id)
        total = sum(len(item.events) + len(item.refused) for item in batch.values())
        if total > self._quotas.events_per_request:
            raise BadRequest(f"BatchItem: at most {self._quotas.events_per_request} events per request ({total} sent)")
        now = self._clock()
        arrival = int(now.timestamp() * 1000)
        results: dict[str, ItemResult] = {}
        pending: list[tuple[str, str, bytes]] = []  # (endpoint id, event id, record)
        known_types: set[str] | None = None
        new_types: set[str] = set()
        refusals: dict[str, str] = {}
        for endpoint_id in batch:
            try:
                check_endpoint_id(endpoint_id)
            except BadRequest as exc:
                refusals[endpoint_id] = exc.message
        # The items' endpoints are written together where they are independent (EndpointService.upsert_each).
        valid = [(endpoint_id, item.endpoint) for endpoint_id, item in batch.items() if endpoint_id not in refusals]
        upserted = dict(
            zip((eid for eid, _ in valid), self._endpoints.upsert_each(app_id, valid, request_id), strict=True)
        )
        for endpoint_id, item in batch.items():
            if endpoint_id in refusals:  # no key to count its events under: the item is refused whole
                refused = Verdict(400, refusals[endpoint_id])
                results[endpoint_id] = ItemResult(refused, dict.fromkeys([*item.events, *item.refused], refused))
                continue
            endpoint, endpoint_result = self._endpoint_result(upserted[endpoint_id])
            events_result = {eid: Verdict(400, why) for eid, why in item.refused.items()}
            results[endpoint_id] = ItemResult(endpoint_result, events_result)
            for event_id, event in item.events.items():
                try:
                    check_event_id(event_id)
                    check_event(event, self._quotas, now)
                    assert event.event_type is not None
                    if is_custom(event.event_type):
                        if known_types is None:
                            known_types = self._catalog.names(app_id, EVENT_TYPE_KIND)
                        entry = f"{EVENT_TYPE_KIND}{event.event_type}"
                        if entry not in known_types and entry not in new_types:
                            if len(known_types) + len(new_types) >= self._quotas.custom_event_types_per_app:
                                raise BadRequest(
                                    f"EventType: an application can have at most "
                                    f"{self._quotas.custom_event_types_per_app} custom event types"
                                )
                            new_types.add(entry)
                except BadRequest as exc:
                    events_result[event_id] = Verdict(400, exc.message)
                    continue
                record = stream_record(
                    app_id=app_id,
                    endpoint_id=endpoint_id,
                    event_id=event_id,
                    event=event,
                    endpoint=endpoint,
                    arrival_ms=arrival,
                )
                pending.append((endpoint_id, event_id, encode_record(record)))
        if pending:
            stored = self._publisher().publish([(partition_key(endpoint_id), data) for endpoint_id, _, data in pending])
            for (endpoint_id, event_id, _), ok in zip(pending, stored, strict=True):
                results[endpoint_id].events[event_id] = ACCEPTED if ok else NOT_STORED
        if new_types:
            self._catalog.add(app_id, new_types)
        return results

    @staticmethod
    def _endpoint_result(outcome: Endpoint | HomingError | None) -> tuple[Endpoint | None, Verdict]:
        """The item's endpoint and its EndpointItemResponse; events are accepted even when the write failed."""
        if isinstance(outcome, HomingError):
            return None, Verdict(400, outcome.message)
        return outcome, ACCEPTED
