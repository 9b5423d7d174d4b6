"""The KPI registry answers every KPI name exactly as the if-chain it replaced (tests/unit/legacy_kpis.py,
the old homing.services.kpis) on a fixture of counters covering every counter the Aggregator writes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from homing.api.wire.analytics import event_stats_response, kpi_response
from homing.domain import kpis as registry
from homing.domain.analytics import (
    DEMOGRAPHICS,
    EMAIL_KINDS,
    RETENTION_DAYS,
    app_day,
    app_value_key,
    campaign_day,
    day_number,
    event_day,
    event_values_key,
    journey_day,
)
from homing.domain.errors import HomingError, NotFound
from homing.services.kpis import KpiService
from tests.unit import legacy_kpis

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = day_number(int(NOW.timestamp() * 1000))
APP, CAMPAIGN, JOURNEY, EVENT = "app1", "cmp1", "jny1", "purchase"


class FakeApps:
    def require(self, app_id: str) -> None:
        if app_id != APP:
            raise NotFound(f"Application {app_id} not found")


class FakeRepo:
    """AnalyticsRepository.counters over a dict: pk -> sk -> counters (app value items merged in)."""

    def __init__(self, store: dict[str, dict[str, dict[str, float]]]) -> None:
        self.store = store

    def counters(self, pk: str, first_sk: str, last_sk: str, *, values: bool = True) -> dict[str, dict[str, float]]:
        out = {sk: dict(c) for sk, c in sorted(self.store.get(pk, {}).items()) if first_sk <= sk <= last_sk}
        if values and pk.startswith("APP#"):
            for sk, c in sorted(self.store.get("APV#" + pk[4:], {}).items()):
                if first_sk <= sk <= last_sk + "#\uffff":
                    day, _, name = sk.partition("#")
                    out.setdefault(day, {})[name] = c["n"]
        return out


@cache
def fixture(seed: int) -> FakeRepo:
    """Counters of every kind, on days before and inside the range, with fractional prices."""
    rng = random.Random(seed)
    store: dict[str, dict[str, dict[str, float]]] = {}

    def add(key: tuple[str, str], name: str, value: float | None = None) -> None:
        if ":" in name and key[0].startswith("APP#"):
            key, name = app_value_key(key, name), "n"
        counters = store.setdefault(key[0], {}).setdefault(key[1], {})
        counters[name] = counters.get(name, 0.0) + (rng.randint(1, 9) if value is None else value)

    for day in range(TODAY - 60, TODAY + 1):
        if rng.random() < 0.3 and day < TODAY - 5:
            continue  # days without items
        app, cmp, jny = app_day(APP, day), campaign_day(APP, CAMPAIGN, day), journey_day(APP, JOURNEY, day)
        for name in ("events", "sessions", "session_stops", "active_endpoints", "active_users", "new_endpoints"):
            add(app, name)
        add(app, "new_users", rng.choice([0, 3, 5]))
        add(app, "session_ms", rng.uniform(100, 9000))
        for n in RETENTION_DAYS:
            add(app, f"retained_{n}")
        for who in ("endpoints", "users"):
            add(app, f"mau_{who}_delta", rng.choice([-2, -1, 1, 2, 3]))
        for name in DEMOGRAPHICS:
            add(app, f"demo:{name}:{rng.choice(['a', 'b:c', '2.1'])}")
        for t in ("purchase", "level:up", "tap"):
            add(app, f"evt:{t}")
        for kind in EMAIL_KINDS.values():
            add(app, f"txn_email_{kind}")
            add(app, f"txn_email_{kind}:unique")
            for c in ("c1", "c2"):
                add(app, f"bycmp:{c}:email_{kind}")
                add(app, f"bycmp:{c}:email_{kind}:unique")
            for activity in ("", "a1", "a2"):
                for suffix in ("", f":{activity}"):
                    for owner in (cmp, jny):
                        add(owner, f"email_{kind}{suffix}")
                        add(owner, f"email_{kind}{suffix}:unique")
        for c in ("c1", "c2"):
            for name in ("sent", "push_sent", "push_opened", "unique_deliveries", "unique_deliveries_day"):
                add(app, f"bycmp:{c}:{name}")
        for country in ("US", "FR", "UNKNOWN"):
            for kind in ("sent", "delivered"):
                for suffix in ("", f":{country}"):
                    add(app, f"txn_sms_{kind}{suffix}")
                    add(app, f"txn_sms_{kind}_parts{suffix}", rng.choice([1.0, 2.0, 3.0]))
            add(app, f"txn_sms_price:{country}", rng.uniform(0.1, 700.0))
            add(app, f"txn_sms_priced:{country}")
            add(app, f"txn_sms_priced_parts:{country}")
        for code in ("UNREACHABLE", "BLOCKED", "x:y"):
            add(app, f"txn_sms_error:{code}")
        for status in ("SUCCESS", "FAILURE", "QUIET_TIME", "HOLDOUT", "THROTTLED"):
            add(cmp, f"send:{status}")
            for activity in ("a1", "a2", "a3"):
                add(cmp, f"send:{status}:{activity}")
        for name in ("push_sent", "push_opened", "unique_deliveries"):
            add(cmp, name)
            for activity in ("a1", "a2"):
                add(cmp, f"{name}:{activity}")
        add(cmp, "unique_deliveries_day")
        add(cmp, "sms_spend", rng.uniform(1, 50))
        ev = event_day(APP, EVENT, day)
        add(ev, "count")
        for metric in ("price", "score.max"):
            add(ev, f"sum:{metric}", rng.uniform(-5, 50))
            add(ev, f"n:{metric}")
            store[ev[0]][ev[1]][f"min:{metric}"] = rng.uniform(-5, 0)
            store[ev[0]][ev[1]][f"max:{metric}"] = rng.uniform(50, 60)
        for name, value in (("item", "hat"), ("item", "cap"), ("a#b", "v#w")):
            add(event_values_key(APP, EVENT, day, name, value), "count")
    return FakeRepo(store)


GROUPS = [
    None, "date", "campaign", "campaign-activity", "journey-activity", "country", "event-type", "platform",
    "app-version", "make", "model", "locale", "error-code", "nothing",
]  # fmt: skip
ODD_NAMES = [
    "no-such-kpi", "Bad_Name", "x", "txn-emails-xyz", "txn-sms-xyz", "retention-8-day", "emails-sent",
    "journey-emails-bogus", "Journey-Emails-Sent", "txn-sms-error-distribution-grouped-by-date",
    "daily-active-endpoints", "emails-opened-grouped-by-journey-activity-grouped-by-date", "grouped-by-date",
    "journey-emails-sent-grouped-by-journey-activity", "sms-spend-grouped-by-campaign-activity",
]  # fmt: skip


def kpi_names() -> list[str]:
    bases = {name for _, name in registry.KPIS} | set(legacy_kpis.HOMING_APP_KPIS)
    names = set(ODD_NAMES)
    for base in bases:
        names.update(base if g is None else f"{base}-grouped-by-{g}" for g in GROUPS)
    return sorted(names)


RANGES = {
    "default": (None, None),
    "week": ((NOW - timedelta(days=6)).isoformat(), NOW.isoformat()),
    "long": ((NOW - timedelta(days=45)).isoformat(), NOW.isoformat()),  # Homing KPIs only
    "reversed": (NOW.isoformat(), (NOW - timedelta(days=1)).isoformat()),
    "bad": ("nope", None),
}


def outcome(call: Any) -> Any:
    try:
        return call()
    except HomingError as exc:
        return (type(exc).__name__, exc.message)


def old_and_new(scope: str, app: str, name: str, start: str | None, end: str | None, seed: int = 1) -> tuple[Any, Any]:
    repo = fixture(seed)
    old = legacy_kpis.KpiService(FakeApps(), repo, clock=lambda: NOW)  # type: ignore[arg-type]
    new = KpiService(FakeApps(), repo, clock=lambda: NOW)  # type: ignore[arg-type]
    ids = {"app": (), "campaign": (CAMPAIGN,), "journey": (JOURNEY,)}[scope]
    method = {"app": "application"}.get(scope, scope)

    def old_call() -> Any:
        rng, rows = getattr(old, method)(app, *ids, name, start, end)
        return rng.start, rng.end, rows

    def new_call() -> Any:
        result = getattr(new, method)(app, *ids, name, start, end)
        return result.range.start, result.range.end, kpi_response({}, result)["KpiResult"]["Rows"]

    return outcome(old_call), outcome(new_call)


@pytest.mark.parametrize("scope", ["app", "campaign", "journey"])
@pytest.mark.parametrize("span", list(RANGES))
def test_every_kpi_name_answers_as_the_old_if_chain(scope: str, span: str) -> None:
    start, end = RANGES[span]
    answered = 0
    for name in kpi_names():
        old, new = old_and_new(scope, APP, name, start, end)
        assert new == old, (scope, name, span)
        answered += not isinstance(old, tuple) or len(old) == 3
    if span in ("default", "week"):
        assert answered > {"app": 60, "campaign": 15, "journey": 15}[scope]


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_kpis_with_data_agree_on_other_fixtures(seed: int) -> None:
    for scope in ("app", "campaign", "journey"):
        for name in kpi_names():
            old, new = old_and_new(scope, APP, name, *RANGES["week"], seed=seed)
            assert new == old, (scope, name)


def test_unknown_app_is_not_found_before_any_name_or_range_check() -> None:
    for scope in ("app", "campaign", "journey"):
        old, new = old_and_new(scope, "nope", "Bad_Name", "nope", None)
        assert new == old == ("NotFound", "Application nope not found")


def test_event_stats_answer_as_before() -> None:
    repo = fixture(5)
    new = KpiService(FakeApps(), repo, clock=lambda: NOW)  # type: ignore[arg-type]
    for start, end in RANGES.values():
        got = outcome(lambda: event_stats_response(new.event_stats(APP, EVENT, start, end)))  # noqa: B023

        def old() -> Any:
            rng = legacy_kpis.KpiService(FakeApps(), repo, clock=lambda: NOW).range(start, end, homing_kpi=True)  # type: ignore[arg-type]  # noqa: B023
            return legacy_kpis.event_stats(repo, APP, EVENT, rng)  # type: ignore[arg-type]

        assert got == outcome(old)
