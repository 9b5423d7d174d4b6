"""PutEvents: update each batch item's endpoint, validate its events, put the accepted ones on the stream.

Every event gets its own verdict (202 or 400 with a message), as in Pinpoint's EventsResponse; a
rejected event or endpoint never blocks the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from homing.adapters.dynamodb.repositories import CatalogRepository
from homing.domain.endpoints import validate_endpoint_id
from homing.domain.errors import BadRequest, HomingError
from homing.domain.events import EventsBatch, check_event, is_custom, partition_key, stream_record
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.model import Endpoint
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService

EVENT_TYPE_KIND = "event#"  # catalogue entries for custom event types: event#<type>
ACCEPTED = {"StatusCode": 202, "Message": "Accepted"}


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

    def put_events(self, app_id: str, batch: dict[str, EventsBatch], request_id: str) -> dict[str, Any]:
        self._apps.require(app_id)
        total = sum(len(item.events) + len(item.refused) for item in batch.values())
        if total > self._quotas.events_per_request:
            raise BadRequest(f"BatchItem: at most {self._quotas.events_per_request} events per request ({total} sent)")
        now = self._clock()
        arrival = int(now.timestamp() * 1000)
        results: dict[str, Any] = {}
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
            events_result: dict[str, Any] = {}
            if endpoint_id in refusals:  # no key to count its events under: the item is refused whole
                refused = {"StatusCode": 400, "Message": refusals[endpoint_id]}
                results[endpoint_id] = {"EndpointItemResponse": refused, "EventsItemResponse": events_result}
                events_result.update(dict.fromkeys([*item.events, *item.refused], refused))
                continue
            endpoint, endpoint_result = self._endpoint_result(upserted[endpoint_id])
            results[endpoint_id] = {"EndpointItemResponse": endpoint_result, "EventsItemResponse": events_result}
            events_result.update({eid: {"StatusCode": 400, "Message": why} for eid, why in item.refused.items()})
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
                    events_result[event_id] = {"StatusCode": 400, "Message": exc.message}
                    continue
                record = stream_record(
                    app_id=app_id,
                    endpoint_id=endpoint_id,
                    event_id=event_id,
                    event=event,
                    endpoint=endpoint,
                    arrival_ms=arrival,
                )
                # One JSON object per line: Firehose concatenates records, this keeps the archive NDJSON.
                pending.append((endpoint_id, event_id, (json.dumps(record, separators=(",", ":")) + "\n").encode()))
        if pending:
            stored = self._publisher().publish([(partition_key(endpoint_id), data) for endpoint_id, _, data in pending])
            for (endpoint_id, event_id, _), ok in zip(pending, stored, strict=True):
                results[endpoint_id]["EventsItemResponse"][event_id] = (
                    ACCEPTED if ok else {"StatusCode": 500, "Message": "The event could not be stored; retry it"}
                )
        if new_types:
            self._catalog.add(app_id, new_types)
        return {"Results": results}

    @staticmethod
    def _endpoint_result(outcome: Endpoint | HomingError | None) -> tuple[Endpoint | None, dict[str, Any]]:
        """The item's endpoint and its EndpointItemResponse; events are accepted even when the write failed."""
        if isinstance(outcome, HomingError):
            return None, {"StatusCode": 400, "Message": outcome.message}
        return outcome, ACCEPTED
