"""PutEvents rules, pure: event validation against Pinpoint's limits and the event-stream record.

The record put on the Kinesis stream is Pinpoint's event-stream JSON (reference/pinpoint-formats.md
§1), so the archive and the customer's own stream get what Pinpoint users' Athena/QuickSight setups
already read. Two keys are Homing's own: ``event_id`` (the PutEvents event id, which makes
processing idempotent) and ``endpoint`` (the endpoint as stored after the batch's update; users
report Pinpoint's app-event records carry it too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from homing.codec import dump
from homing.domain.errors import BadRequest
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.model import Endpoint, EndpointRequest
from homing.domain.timestamps import parse_timestamp


@dataclass
class Session:
    id: str | None = None
    start_timestamp: str | None = None
    stop_timestamp: str | None = None
    duration: int | None = None


@dataclass
class Event:
    event_type: str | None = None
    timestamp: str | None = None
    attributes: dict[str, str] | None = None
    metrics: dict[str, float] | None = None
    session: Session | None = None
    app_package_name: str | None = None
    app_title: str | None = None
    app_version_code: str | None = None
    client_sdk_version: str | None = None
    sdk_name: str | None = None


@dataclass
class EventsBatch:
    """One ``BatchItem`` value: the endpoint to create or update, and its events by event id."""

    endpoint: EndpointRequest | None = None
    events: dict[str, Event] = field(default_factory=dict)


def is_custom(event_type: str) -> bool:
    """Standard events (sessions, auth, purchases, engagement) start with ``_``; all others are custom."""
    return not event_type.startswith("_")


def to_ms(value: str, field: str) -> int:
    return int(parse_timestamp(value, field).timestamp() * 1000)


def check_event(event: Event, quotas: Quotas = QUOTAS) -> None:
    """Raise BadRequest with Pinpoint-style text when one event breaks a limit (only that event is rejected)."""
    if not event.event_type or not event.event_type.strip():
        raise BadRequest("EventType is required")
    if len(event.event_type) > quotas.event_type_length:
        raise BadRequest(f"EventType must be at most {quotas.event_type_length} characters")
    if not event.timestamp:
        raise BadRequest("Timestamp is required")
    parse_timestamp(event.timestamp, "Timestamp")
    attributes, metrics = event.attributes or {}, event.metrics or {}
    if len(attributes) + len(metrics) > quotas.event_keys:
        raise BadRequest(f"Number of attributes per event submitted should be less than {quotas.event_keys}.")
    for name, value in attributes.items():
        if not name or len(name) > quotas.event_key_length:
            raise BadRequest(f"Attributes.{name}: attribute names are 1-{quotas.event_key_length} characters")
        if len(value) > quotas.event_attribute_value_length:
            raise BadRequest(f"Attributes.{name}: values are at most {quotas.event_attribute_value_length} characters")
    for name in metrics:
        if not name or len(name) > quotas.event_key_length:
            raise BadRequest(f"Metrics.{name}: metric names are 1-{quotas.event_key_length} characters")
    if event.session is not None:
        if not event.session.id:
            raise BadRequest("Session.Id is required")
        if not event.session.start_timestamp:
            raise BadRequest("Session.StartTimestamp is required")
        parse_timestamp(event.session.start_timestamp, "Session.StartTimestamp")
        if event.session.stop_timestamp:
            parse_timestamp(event.session.stop_timestamp, "Session.StopTimestamp")
        if event.session.duration is not None and event.session.duration < 0:
            raise BadRequest("Session.Duration must not be negative")
    if len(json.dumps(dump(event)).encode()) > quotas.event_size_bytes:
        raise BadRequest("The event exceeds the maximum event size of 1,000 KB")


def stream_record(
    *, app_id: str, endpoint_id: str, event_id: str, event: Event, endpoint: Endpoint | None, arrival_ms: int
) -> dict[str, object]:
    """Pinpoint's app-event stream record for one accepted event (pinpoint-formats.md §1.2-1.3)."""
    assert event.event_type is not None
    assert event.timestamp is not None
    demographic = endpoint.demographic if endpoint else None
    session: dict[str, object] = {}
    if event.session is not None and event.session.id:
        session = {"session_id": event.session.id}
        if event.session.start_timestamp:
            session["start_timestamp"] = to_ms(event.session.start_timestamp, "Session.StartTimestamp")
        if event.session.stop_timestamp:
            session["stop_timestamp"] = to_ms(event.session.stop_timestamp, "Session.StopTimestamp")
        if event.session.duration is not None:
            session["duration"] = event.session.duration
    sdk = {k: v for k, v in (("name", event.sdk_name), ("version", event.client_sdk_version)) if v}
    application: dict[str, object] = {"app_id": app_id, "sdk": sdk}
    for key, value in (
        ("package_name", event.app_package_name),
        ("title", event.app_title),
        ("version_code", event.app_version_code),
    ):
        if value:
            application[key] = value
    device: dict[str, object] = {"platform": {}}
    if demographic is not None:
        platform = {k: v for k, v in (("name", demographic.platform), ("version", demographic.platform_version)) if v}
        device = {"platform": platform}
        if demographic.locale:
            device["locale"] = {"code": demographic.locale}
        if demographic.make:
            device["make"] = demographic.make
        if demographic.model:
            device["model"] = demographic.model
    record: dict[str, object] = {
        "event_type": event.event_type,
        "event_timestamp": to_ms(event.timestamp, "Timestamp"),
        "arrival_timestamp": arrival_ms,
        "event_version": "3.0",
        "event_id": event_id,
        "application": application,
        "client": {"client_id": endpoint_id},
        "device": device,
        "session": session,
        "attributes": dict(event.attributes or {}),
        "metrics": dict(event.metrics or {}),
    }
    if endpoint is not None:
        record["endpoint"] = dump(endpoint)
    return record
