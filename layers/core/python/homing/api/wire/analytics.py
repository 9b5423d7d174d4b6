"""Pinpoint's JSON for the analytics half: the date-range KPIs (application, campaign, journey), and
Homing's custom event statistics and funnels.

The domain modules load on first use (homing.bootstrap says why): only the timestamp rules are
imported here, which the api function loads anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from homing.api.schemas import parse_body
from homing.domain.errors import BadRequest
from homing.domain.keys import SORT_KEY_BYTES, check_key_part

if TYPE_CHECKING:
    from homing.domain.funnels import Funnel, FunnelResult
    from homing.domain.kpis import EventStats, KpiResult


def range_query(query: dict[str, str] | None) -> tuple[str | None, str | None]:
    """(``start-time``, ``end-time``) as sent; the service checks them after the app (404 before 400)."""
    query = query or {}
    return query.get("start-time") or None, query.get("end-time") or None


def check_path_id(value: str, field: str) -> str:
    """A path id that is part of the aggregates' keys (campaign-id, journey-id, event-type)."""
    check_key_part(value, field, SORT_KEY_BYTES)
    return value


def pascal_key(kpi_name: str) -> str:
    """``txn-emails-opened-grouped-by-date`` -> ``TxnEmailsOpened`` (Pinpoint's value key)."""
    name = kpi_name.split("-grouped-by-")[0]
    return "".join(part.capitalize() for part in name.split("-"))


def _iso_z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def kpi_response(ids: dict[str, str], result: KpiResult) -> dict[str, Any]:
    """An ``*DateRangeKpiResponse``: ``ids`` are ApplicationId and CampaignId or JourneyId."""
    key = pascal_key(result.name)
    rows = [
        {
            "Values": [{"Key": key, "Type": "Double", "Value": repr(float(row.value))}],
            "GroupedBys": [{"Key": k, "Type": "String", "Value": v} for k, v in row.grouped_by],
        }
        for row in result.rows
    ]
    return {
        **ids,
        "KpiName": result.name,
        "StartTime": _iso_z(result.range.start),
        "EndTime": _iso_z(result.range.end),
        "KpiResult": {"Rows": rows},
    }


def event_stats_response(stats: EventStats) -> dict[str, Any]:
    return {
        "ApplicationId": stats.app_id,
        "EventType": stats.event_type,
        "StartTime": stats.range.start.isoformat(),
        "EndTime": stats.range.end.isoformat(),
        "Count": stats.count,
        "Days": [{"Date": d, "Count": c} for d, c in stats.days],
        "Attributes": stats.attributes,
        "Metrics": {
            name: {"Sum": m.sum, "Count": m.count, "Min": m.min, "Max": m.max, "Average": m.average}
            for name, m in stats.metrics.items()
        },
    }


def funnel_request(raw: str | None, now: datetime | None = None) -> Funnel:
    """A funnel: ``Steps`` (2-10, each an ``EventType`` and optional ``Attributes``), ``StartTime`` and
    ``EndTime`` (ISO 8601, at most 31 days apart), ``WindowMinutes`` and ``CountBy``."""
    from homing.domain import funnels as f
    from homing.domain.kpis import check_range_time

    body = parse_body(raw)
    now = now or datetime.now(UTC)
    raw_steps = body.get("Steps")
    if not isinstance(raw_steps, list) or not 2 <= len(raw_steps) <= f.MAX_STEPS:
        raise BadRequest(f"Steps must be a list of 2 to {f.MAX_STEPS} steps")
    steps = []
    for i, step in enumerate(raw_steps):
        if not isinstance(step, dict) or not isinstance(step.get("EventType"), str) or not step["EventType"]:
            raise BadRequest(f"Steps[{i}].EventType is required")
        attrs = step.get("Attributes") or {}
        if not isinstance(attrs, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in attrs.values()
        ):
            raise BadRequest(f"Steps[{i}].Attributes must map attribute names to lists of values")
        steps.append(f.Step(step["EventType"], attrs))
    bounds = []
    for name in ("StartTime", "EndTime"):
        value = body.get(name)
        if not isinstance(value, str):
            raise BadRequest(f"{name} is required (ISO 8601)")
        bounds.append(check_range_time(value, name, now))
    start, end = bounds
    if end < start:
        raise BadRequest("StartTime must be before EndTime")
    if end - start > timedelta(days=f.MAX_DAYS):
        raise BadRequest(f"The funnel range must be at most {f.MAX_DAYS} days")
    window = body.get("WindowMinutes", f.DEFAULT_WINDOW_MINUTES)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= f.MAX_WINDOW_MINUTES:
        raise BadRequest(f"WindowMinutes must be an integer from 1 to {f.MAX_WINDOW_MINUTES}")
    count_by = body.get("CountBy", "ENDPOINT")
    if count_by not in f.COUNT_BY:
        raise BadRequest("CountBy must be ENDPOINT or USER")
    return f.Funnel(steps, start, end, timedelta(minutes=window), count_by)


def funnel_response(result: FunnelResult) -> dict[str, Any]:
    funnel = result.funnel
    return {
        "CountBy": funnel.count_by,
        "StartTime": funnel.start.isoformat(),
        "EndTime": funnel.end.isoformat(),
        "WindowMinutes": int(funnel.window.total_seconds() // 60),
        "Steps": [
            {"EventType": s.event_type, "Attributes": s.attributes, "Count": result.counts[k]}
            for k, s in enumerate(funnel.steps)
        ],
    }
