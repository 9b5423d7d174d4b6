"""PutEvents rules, pure: event validation against Pinpoint's limits and the event-stream record.

The record put on the Kinesis stream is Pinpoint's event-stream JSON (reference/pinpoint-formats.md
§1), so the archive and the customer's own stream get what Pinpoint users' Athena/QuickSight setups
already read. Two keys are Homing's own: ``event_id`` (the PutEvents event id, which makes
processing idempotent) and ``endpoint`` (the endpoint as stored after the batch's update; users
report Pinpoint's app-event records carry it too).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from homing.codec import check_text, dump
from homing.domain.endpoints import Endpoint, EndpointRequest
from homing.domain.errors import BadRequest
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.timestamps import parse_timestamp

# What PutEvents accepts beyond Pinpoint's documented quotas, so that every accepted event can be
# counted (docs/decisions.md, "Events that cannot poison"):
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)  # before any Pinpoint app; catches clocks reset to 1970
FUTURE_SKEW = timedelta(hours=24)  # device clocks run ahead, and local times sent without a zone (≤ 14 h)
MAX_METRIC = 1e15  # |value|; sums stay exact within DynamoDB's 38 significant digits
MAX_SESSION_MS = 366 * 86_400_000
MAX_PARTITION_KEY = 256  # Kinesis partition keys are 1-256 Unicode characters


def partition_key(endpoint_id: str) -> str:
    """The Kinesis partition key of an endpoint's events: the same for every spelling of the id
    (ids are case-insensitive), so an endpoint's events stay on one shard in order, and within
    Kinesis's 256 characters for any valid id (up to 512 bytes) — long ids are hashed."""
    key = endpoint_id.lower()
    if len(key) <= MAX_PARTITION_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def external_id(app_id: str) -> str:
    """The ``sts:ExternalId`` Homing sends when it assumes an app's event-stream role: the app id,
    which the customer's trust policy requires, so a caller of another app cannot make Homing use
    that role (the confused deputy)."""
    return app_id


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
    refused: dict[str, str] = field(default_factory=dict)  # event id -> why it could not be read


@dataclass(frozen=True)
class Verdict:
    """What became of one event or endpoint of a PutEvents request (Pinpoint's StatusCode and Message)."""

    status: int
    message: str


ACCEPTED = Verdict(202, "Accepted")
NOT_STORED = Verdict(500, "The event could not be stored; retry it")


@dataclass
class ItemResult:
    """One ``BatchItem``'s outcome: its endpoint's verdict and each event's, by event id."""

    endpoint: Verdict
    events: dict[str, Verdict] = field(default_factory=dict)


def is_custom(event_type: str) -> bool:
    """Standard events (sessions, auth, purchases, engagement) start with ``_``; all others are custom."""
    return not event_type.startswith("_")


def to_ms(value: str, field: str) -> int:
    return int(parse_timestamp(value, field).timestamp() * 1000)


def check_time(value: str, field: str, now: datetime) -> datetime:
    """An event time Homing can count: from 2000 to 24 hours ahead of the server's clock."""
    at = parse_timestamp(value, field)
    if not EARLIEST_EVENT <= at <= now + FUTURE_SKEW:
        raise BadRequest(
            f"{field} must be between {EARLIEST_EVENT.date().isoformat()} and 24 hours from now ({value} given)"
        )
    return at


def check_event(event: Event, quotas: Quotas = QUOTAS, now: datetime | None = None) -> None:
    """Raise BadRequest with Pinpoint-style text when one event breaks a limit (only that event is rejected)."""
    now = now or datetime.now(UTC)
    if not event.event_type or not event.event_type.strip():
        raise BadRequest("EventType is required")
    if len(event.event_type) > quotas.event_type_length:
        raise BadRequest(f"EventType must be at most {quotas.event_type_length} characters")
    check_text(event.event_type, "EventType")
    if not event.timestamp:
        raise BadRequest("Timestamp is required")
    check_time(event.timestamp, "Timestamp", now)
    attributes, metrics = event.attributes or {}, event.metrics or {}
    if len(attributes) + len(metrics) > quotas.event_keys:
        raise BadRequest(f"Number of attributes per event submitted should be less than {quotas.event_keys}.")
    for name, value in attributes.items():
        check_text(name, "Attributes (a name)")
        if not name or len(name) > quotas.event_key_length:
            raise BadRequest(f"Attributes.{name}: attribute names are 1-{quotas.event_key_length} characters")
        check_text(value, f"Attributes.{name}")
        if len(value) > quotas.event_attribute_value_length:
            raise BadRequest(f"Attributes.{name}: values are at most {quotas.event_attribute_value_length} characters")
    for name, number in metrics.items():
        check_text(name, "Metrics (a name)")
        if not name or len(name) > quotas.event_key_length:
            raise BadRequest(f"Metrics.{name}: metric names are 1-{quotas.event_key_length} characters")
        if not -MAX_METRIC <= number <= MAX_METRIC:
            raise BadRequest(f"Metrics.{name}: values must be between -1e15 and 1e15")
    for field_name in ("app_package_name", "app_title", "app_version_code", "client_sdk_version", "sdk_name"):
        text = getattr(event, field_name)
        if text is not None:
            check_text(text, "".join(part.capitalize() for part in field_name.split("_")))
    if event.session is not None:
        if not event.session.id:
            raise BadRequest("Session.Id is required")
        check_text(event.session.id, "Session.Id")
        if not event.session.start_timestamp:
            raise BadRequest("Session.StartTimestamp is required")
        check_time(event.session.start_timestamp, "Session.StartTimestamp", now)
        if event.session.stop_timestamp:
            check_time(event.session.stop_timestamp, "Session.StopTimestamp", now)
        if event.session.duration is not None and not 0 <= event.session.duration <= MAX_SESSION_MS:
            raise BadRequest(f"Session.Duration must be 0 to {MAX_SESSION_MS} milliseconds (366 days)")
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


def encode_record(record: dict[str, object]) -> bytes:
    """The stream record's bytes: one JSON object per line, so the Firehose archive (which
    concatenates records) stays NDJSON."""
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()
