"""Event-triggered campaigns, pure: which events start which campaign's send, and the run each one starts.

A campaign with ``Schedule.Frequency`` EVENT sends its message to the endpoint that raised an event
matching ``Schedule.EventFilter`` (``campaign_rules.matches``), while the campaign is not paused and
the event arrives between ``StartTime`` and ``EndTime``. Each (campaign, event) is one
``CampaignRun`` whose id comes from the event id, so a replayed stream record is the same run (the
same delivery keys: it is never delivered twice). Pinpoint drops an event-based message it could not
deliver within 5 minutes: the run's deadline is the event's arrival plus ``DELIVERY_WINDOW``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from homing.domain import campaign_rules as rules
from homing.domain.campaign_runs import CampaignRun, run_id
from homing.domain.campaigns import DEFAULT_TREATMENT_ID, IMMEDIATE, Campaign
from homing.domain.timestamps import iso_now, parse_timestamp

EVENT: Final = "EVENT"
DELIVERY_WINDOW: Final = timedelta(minutes=5)  # Pinpoint's quota: not delivered within 5 minutes, dropped


@dataclass(frozen=True)
class EventCampaign:
    """What process_events needs of an EVENT campaign to decide whether an event triggers it."""

    campaign_id: str
    version: int
    event_filter: rules.CampaignEventFilter
    starts: datetime | None  # None: from its creation (StartTime IMMEDIATE)
    ends: datetime | None


def event_campaign(campaign: Campaign) -> EventCampaign | None:
    """The campaign as an event trigger, or None if events do not trigger it (another frequency, paused)."""
    schedule = campaign.schedule
    if campaign.is_paused or schedule is None or schedule.frequency != EVENT or schedule.event_filter is None:
        return None
    found = schedule.event_filter
    dims = found.dimensions
    event_filter = rules.CampaignEventFilter(
        found.filter_type or "",
        rules.EventDimensions(
            event_type=dims.event_type if dims else None,
            attributes=dict(dims.attributes or {}) if dims else {},
            metrics=dict(dims.metrics or {}) if dims else {},
        ),
    )
    starts = None
    if schedule.start_time and schedule.start_time != IMMEDIATE:
        starts = parse_timestamp(schedule.start_time, "Schedule.StartTime")
    ends = parse_timestamp(schedule.end_time, "Schedule.EndTime") if schedule.end_time else None
    return EventCampaign(campaign.id, campaign.version, event_filter, starts, ends)


def live(campaign: EventCampaign, at: datetime) -> bool:
    """Whether the campaign takes triggers at ``at`` (within its StartTime and EndTime)."""
    return (campaign.starts is None or at >= campaign.starts) and (campaign.ends is None or at < campaign.ends)


def triggers(campaign: EventCampaign, record: Mapping[str, Any]) -> bool:
    """Whether the stream record starts a send of the campaign.

    The filter decides (``campaign_rules.matches``), except that a campaign is never triggered by the
    events of its own sends (``attributes.campaign_id`` is its id): a SYSTEM filter on ``_email.send``
    would otherwise answer each of its messages with another one.
    """
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping) and attributes.get("campaign_id") == campaign.campaign_id:
        return False
    return rules.matches(campaign.event_filter, record)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def event_id(record: Mapping[str, Any]) -> str | None:
    """The record's event id; the events pipeline's own fallback (``analytics.parse_record``) when absent."""
    found = _text(record.get("event_id"))
    if found:
        return found
    client, event_type = record.get("client") or {}, _text(record.get("event_type"))
    endpoint = _text(client.get("client_id")) if isinstance(client, Mapping) else None
    timestamp = record.get("event_timestamp")
    if endpoint and event_type and isinstance(timestamp, int):
        return f"{endpoint}:{event_type}:{timestamp}"
    return None


def arrival(record: Mapping[str, Any]) -> datetime | None:
    """When the event reached Homing (``arrival_timestamp``, else its own timestamp), in UTC."""
    for name in ("arrival_timestamp", "event_timestamp"):
        value = record.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value / 1000, UTC)
            except (OverflowError, OSError, ValueError):
                return None
    return None


def trigger_run(app_id: str, campaign: EventCampaign, record: Mapping[str, Any]) -> CampaignRun | None:
    """The run one matching event starts, or None if the record names no endpoint, event or time."""
    client = record.get("client") or {}
    endpoint_id = _text(client.get("client_id")) if isinstance(client, Mapping) else None
    eid, arrived = event_id(record), arrival(record)
    if endpoint_id is None or eid is None or arrived is None:
        return None
    session = record.get("session") or {}
    session_id = _text(session.get("session_id")) if isinstance(session, Mapping) else None
    return CampaignRun(
        application_id=app_id,
        campaign_id=campaign.campaign_id,
        campaign_version=campaign.version,
        run_at=iso_now(arrived),
        run_id=run_id(campaign.campaign_id, eid),
        deadline=iso_now(arrived + DELIVERY_WINDOW),
        trigger={"event_id": eid, "endpoint_id": endpoint_id, "session_id": session_id},
    )


def find_runs(
    app_id: str, campaigns: Sequence[EventCampaign], records: Iterable[Mapping[str, Any]]
) -> list[CampaignRun]:
    """A run per (campaign, record) where the record triggers the live campaign, in record order."""
    runs: list[CampaignRun] = []
    for record in records:
        arrived = arrival(record)
        if arrived is None:
            continue
        for campaign in campaigns:
            if live(campaign, arrived) and triggers(campaign, record):
                run = trigger_run(app_id, campaign, record)
                if run is not None:
                    runs.append(run)
    return runs


def treatment_ids(campaign: Campaign) -> list[str]:
    """The default treatment and each additional one: each gets its own activity per day."""
    return [DEFAULT_TREATMENT_ID] + [t.id or str(i + 1) for i, t in enumerate(campaign.additional_treatments)]


def day_start(at: datetime) -> datetime:
    """The UTC day an event campaign's send is counted in (its activity's scheduled start)."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
