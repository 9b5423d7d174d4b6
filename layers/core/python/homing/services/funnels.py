"""Funnels (Homing extension): how many endpoints or users went through an ordered list of events.

Timelines come from the per-event items process_events writes (kept 90 days), read one query per
step and day; the rules are in homing.domain.funnels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.analytics import AnalyticsRepository
from homing.domain.analytics import day_number, timeline_from_key, timeline_key
from homing.domain.funnels import Funnel, FunnelResult, reached
from homing.services.apps import AppService


class FunnelService:
    def __init__(self, apps: AppService, repo: AnalyticsRepository, *, clock: Callable[[], datetime]) -> None:
        self._apps, self._repo, self._clock = apps, repo, clock

    def run(self, app_id: str, funnel: Funnel) -> FunnelResult:
        self._apps.require(app_id)
        start_ms, end_ms = int(funnel.start.timestamp() * 1000), int(funnel.end.timestamp() * 1000)
        window_ms = int(funnel.window.total_seconds() * 1000)
        first, last = day_number(start_ms), day_number(end_ms + window_ms)
        # participant -> step -> times
        times: dict[str, list[list[int]]] = defaultdict(lambda: [[] for _ in funnel.steps])
        for k, step in enumerate(funnel.steps):
            for day in range(first, last + 1):
                for sk, data in self._repo.timeline(timeline_key(app_id, step.event_type, day)):
                    endpoint, ts = timeline_from_key(sk)
                    if not step.matches(data.get("a") or {}):
                        continue
                    who = endpoint if funnel.count_by == "ENDPOINT" else data.get("u") or ""
                    if who:
                        times[who][k].append(ts)
        counts = [0] * len(funnel.steps)
        for occurrences in times.values():
            for steps in occurrences:
                steps.sort()
            for k in range(reached(occurrences, start_ms, end_ms, window_ms)):
                counts[k] += 1
        return FunnelResult(funnel, counts)
