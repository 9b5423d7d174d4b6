"""KPIs: Pinpoint's date-range KPIs (application, campaign, journey), Homing's app analytics and
custom event statistics, evaluated from the day items process_events writes.

Which KPIs exist, what they read and how they combine it is the registry's business
(homing.domain.kpis); this service checks the request (app, range, name), reads the range's
day items (one query per range; the app's history for rolling 30-day windows) and returns domain
values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.analytics import AnalyticsRepository
from homing.domain import analytics as a
from homing.domain import kpis as registry
from homing.domain.kpis import Days, EventStats, KpiResult, Range, Scope
from homing.domain.limits import QUOTAS, Quotas
from homing.services.apps import AppService


class KpiService:
    def __init__(
        self, apps: AppService, repo: AnalyticsRepository, *, clock: Callable[[], datetime], quotas: Quotas = QUOTAS
    ) -> None:
        self._apps, self._repo, self._clock, self._quotas = apps, repo, clock, quotas

    def range(self, start: str | None, end: str | None, *, homing_kpi: bool) -> Range:
        return registry.kpi_range(start, end, self._clock(), homing=homing_kpi, quotas=self._quotas)

    # --- operations -----------------------------------------------------------------------------

    def application(self, app_id: str, kpi: str, start: str | None, end: str | None) -> KpiResult:
        return self._kpi("app", a.app_partition(app_id), app_id, kpi, start, end)

    def campaign(self, app_id: str, campaign_id: str, kpi: str, start: str | None, end: str | None) -> KpiResult:
        return self._kpi("campaign", a.campaign_partition(app_id, campaign_id), app_id, kpi, start, end)

    def journey(self, app_id: str, journey_id: str, kpi: str, start: str | None, end: str | None) -> KpiResult:
        return self._kpi("journey", a.journey_partition(app_id, journey_id), app_id, kpi, start, end)

    def event_stats(self, app_id: str, event_type: str, start: str | None, end: str | None) -> EventStats:
        """Homing extension: one custom event type over a range: counts per day, per attribute value,
        and each metric's sum, count, min, max and average."""
        self._apps.require(app_id)
        rng = self.range(start, end, homing_kpi=True)
        first, last = a.day_iso(rng.first_day), a.day_iso(rng.last_day)
        # the same (bounded) keys process_events writes: any id from a path is a valid key
        days = self._repo.counters(a.event_partition(app_id, event_type), first, last)
        values = self._repo.counters(a.event_values_partition(app_id, event_type), *a.values_range(first, last))
        return registry.event_stats(app_id, event_type, rng, days, values)

    # --- helpers --------------------------------------------------------------------------------

    def _kpi(
        self, scope: Scope, partition: str, app_id: str, kpi: str, start: str | None, end: str | None
    ) -> KpiResult:
        """404 for an unknown app, then the range's 400s, then the name's (the order Pinpoint answers in)."""
        self._apps.require(app_id)
        found = registry.find(scope, kpi)
        rng = self.range(start, end, homing_kpi=found is not None and found[0].homing)
        if found is None:
            raise registry.unsupported(scope, kpi)
        entry, grouping = found
        days = self._repo.counters(partition, a.day_iso(rng.first_day), a.day_iso(rng.last_day))
        if entry.rolling():
            days = registry.with_rolling(days, self._rolling(partition, entry.rolling(), rng))
        return KpiResult(kpi, rng, registry.evaluate(entry, grouping, days))

    def _rolling(self, partition: str, names: set[str], rng: Range) -> dict[str, dict[str, float]]:
        """Rolling 30-day actives per day of the range, from the window deltas since the app began."""
        history: Days = self._repo.counters(partition, "0000", a.day_iso(rng.last_day), values=False)
        out = {}
        for name in names:
            delta = registry.ROLLING[name]
            deltas = {a.day_from_iso(d): c.get(delta, 0.0) for d, c in history.items()}
            out[name] = a.rolling_actives(deltas, rng.first_day, rng.last_day)
        return out
