"""Funnels (Homing extension): how many endpoints or users went through an ordered list of events.

A participant reaches step k when, after an occurrence of step 1 inside [start, end], steps 2..k
occur in order, each after the previous one and all within ``WindowMinutes`` of step 1. Timelines
come from the per-event items process_events writes (kept 90 days), read one query per step and day.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from homing.adapters.dynamodb.analytics import AnalyticsRepository
from homing.domain.analytics import day_number, timeline_key
from homing.domain.errors import BadRequest
from homing.services.apps import AppService
from homing.services.kpis import check_range_time

MAX_STEPS = 10
MAX_DAYS = 31


@dataclass
class Step:
    event_type: str
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def matches(self, attrs: dict[str, str]) -> bool:
        return all(attrs.get(name) in values for name, values in self.attributes.items())


@dataclass
class Funnel:
    steps: list[Step]
    start: datetime
    end: datetime
    window: timedelta
    count_by: str = "ENDPOINT"


def parse_funnel(body: dict[str, Any], now: datetime | None = None) -> Funnel:
    now = now or datetime.now(UTC)
    raw_steps = body.get("Steps")
    if not isinstance(raw_steps, list) or not 2 <= len(raw_steps) <= MAX_STEPS:
        raise BadRequest(f"Steps must be a list of 2 to {MAX_STEPS} steps")
    steps = []
    for i, raw in enumerate(raw_steps):
        if not isinstance(raw, dict) or not isinstance(raw.get("EventType"), str) or not raw["EventType"]:
            raise BadRequest(f"Steps[{i}].EventType is required")
        attrs = raw.get("Attributes") or {}
        if not isinstance(attrs, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in attrs.values()
        ):
            raise BadRequest(f"Steps[{i}].Attributes must map attribute names to lists of values")
        steps.append(Step(raw["EventType"], attrs))
    start, end = _time(body.get("StartTime"), "StartTime", now), _time(body.get("EndTime"), "EndTime", now)
    if end < start:
        raise BadRequest("StartTime must be before EndTime")
    if end - start > timedelta(days=MAX_DAYS):
        raise BadRequest(f"The funnel range must be at most {MAX_DAYS} days")
    window = body.get("WindowMinutes", 24 * 60)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 31 * 24 * 60:
        raise BadRequest("WindowMinutes must be an integer from 1 to 44640")
    count_by = body.get("CountBy", "ENDPOINT")
    if count_by not in ("ENDPOINT", "USER"):
        raise BadRequest("CountBy must be ENDPOINT or USER")
    return Funnel(steps, start, end, timedelta(minutes=window), count_by)


def _time(value: Any, name: str, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(f"{name} is required (ISO 8601)")
    return check_range_time(value, name, now)


def reached(occurrences: list[list[int]], start_ms: int, end_ms: int, window_ms: int) -> int:
    """How many steps one participant reached; ``occurrences[k]`` are the sorted times of step k."""
    best = 0
    for t0 in occurrences[0]:
        if not start_ms <= t0 <= end_ms:
            continue
        t, k = t0, 1
        while k < len(occurrences):
            i = bisect.bisect_right(occurrences[k], t)
            if i == len(occurrences[k]) or occurrences[k][i] > t0 + window_ms:
                break
            t, k = occurrences[k][i], k + 1
        best = max(best, k)
        if best == len(occurrences):
            break
    return best


class FunnelService:
    def __init__(self, apps: AppService, repo: AnalyticsRepository, *, clock: Callable[[], datetime]) -> None:
        self._apps, self._repo, self._clock = apps, repo, clock

    def run(self, app_id: str, funnel: Funnel) -> dict[str, Any]:
        self._apps.require(app_id)
        start_ms, end_ms = int(funnel.start.timestamp() * 1000), int(funnel.end.timestamp() * 1000)
        window_ms = int(funnel.window.total_seconds() * 1000)
        first, last = day_number(start_ms), day_number(end_ms + window_ms)
        # participant -> step -> times
        times: dict[str, list[list[int]]] = defaultdict(lambda: [[] for _ in funnel.steps])
        for k, step in enumerate(funnel.steps):
            for day in range(first, last + 1):
                for sk, data in self._repo.timeline(timeline_key(app_id, step.event_type, day)):
                    endpoint, ts, _ = sk.split("#")  # each part is percent-encoded: no "#" inside
                    if not step.matches(data.get("a") or {}):
                        continue
                    who = endpoint if funnel.count_by == "ENDPOINT" else data.get("u") or ""
                    if who:
                        times[who][k].append(int(ts))
        counts = [0] * len(funnel.steps)
        for occurrences in times.values():
            for steps in occurrences:
                steps.sort()
            for k in range(reached(occurrences, start_ms, end_ms, window_ms)):
                counts[k] += 1
        return {
            "CountBy": funnel.count_by,
            "StartTime": funnel.start.isoformat(),
            "EndTime": funnel.end.isoformat(),
            "WindowMinutes": int(funnel.window.total_seconds() // 60),
            "Steps": [
                {"EventType": s.event_type, "Attributes": s.attributes, "Count": counts[k]}
                for k, s in enumerate(funnel.steps)
            ],
        }
