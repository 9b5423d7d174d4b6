"""Pinpoint's JSON for PutEvents: the EventsRequest read into per-endpoint batches, the EventsResponse out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.codec import build
from homing.domain.endpoints import EndpointRequest
from homing.domain.errors import BadRequest, PayloadTooLarge
from homing.domain.events import Event, EventsBatch, ItemResult, Verdict
from homing.domain.limits import QUOTAS


def put_events_request(raw: str | None) -> dict[str, EventsBatch]:
    """At most 4 MB; lone surrogates are left to the per-event checks, so one bad event is refused alone."""
    raw = raw or ""
    if len(raw.encode()) > QUOTAS.events_request_bytes:
        raise PayloadTooLarge("A PutEvents request can be at most 4 MB")
    return parse_events_request(parse_body(raw, strict_text=False))


def parse_events_request(body: dict[str, Any]) -> dict[str, EventsBatch]:
    items = body.get("BatchItem")
    if not isinstance(items, dict) or not items:
        raise BadRequest("BatchItem is required and must map endpoint ids to events")
    batch = {}
    for endpoint_id, item in items.items():
        path = f"BatchItem.{endpoint_id}"
        if not isinstance(item, dict):
            raise BadRequest(f"{path} must be an object")
        events = item.get("Events") or {}
        if not isinstance(events, dict):
            raise BadRequest(f"{path}.Events must map event ids to events")
        endpoint = build(EndpointRequest, item["Endpoint"], f"{path}.Endpoint") if item.get("Endpoint") else None
        parsed, refused = {}, {}
        for eid, ev in events.items():
            if not isinstance(ev, dict):
                refused[eid] = "The event must be an object"
                continue
            try:  # one malformed event is refused alone (a per-event 400), as Pinpoint answers
                parsed[eid] = build(Event, ev)  # messages name the field within the event
            except BadRequest as exc:
                refused[eid] = exc.message
        batch[endpoint_id] = EventsBatch(endpoint=endpoint, events=parsed, refused=refused)
    return batch


def _verdict(v: Verdict) -> dict[str, Any]:
    return {"StatusCode": v.status, "Message": v.message}


def put_events_response(results: dict[str, ItemResult]) -> dict[str, Any]:
    """An EventsResponse: per endpoint id, ``EndpointItemResponse`` and ``EventsItemResponse`` by event id."""
    return {
        "Results": {
            endpoint_id: {
                "EndpointItemResponse": _verdict(item.endpoint),
                "EventsItemResponse": {eid: _verdict(v) for eid, v in item.events.items()},
            }
            for endpoint_id, item in results.items()
        }
    }
