"""Hand-checkable analytics: synthetic users over 60 days, expected values computed independently here."""

from __future__ import annotations

import base64
import json
import random
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.integration.test_apps_api import create

USERS = 300
DAYS = 60
TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=DAYS - 1)


def _ms(d: date, minute: int) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) + minute * 60_000


def _kinesis(seq: int, shard: str, record: dict[str, Any]) -> dict[str, Any]:
    data = base64.b64encode((json.dumps(record) + "\n").encode()).decode()
    return {"eventID": f"{shard}:{seq}", "kinesis": {"sequenceNumber": str(seq), "partitionKey": "x", "data": data}}


def synthetic(app: str) -> tuple[dict[str, set[date]], list[dict[str, Any]]]:
    """Users join over the period and come back with their own probability (seeded, so reproducible)."""
    rng = random.Random(20261128)
    active: dict[str, set[date]] = {}
    for u in range(USERS):
        start = rng.randrange(DAYS)
        p = rng.choice([0.05, 0.2, 0.5])
        days = {FIRST + timedelta(days=start)}
        days |= {FIRST + timedelta(days=d) for d in range(start + 1, DAYS) if rng.random() < p}
        active[f"user-{u}"] = days
    events: list[dict[str, Any]] = []
    for user, days in active.items():
        for d in days:
            for minute in (10, 20):
                events.append(
                    {
                        "event_type": "_session.start" if minute == 10 else "level_up",
                        "event_timestamp": _ms(d, minute),
                        "arrival_timestamp": _ms(d, minute),
                        "event_id": f"{user}-{d}-{minute}",
                        "application": {"app_id": app, "sdk": {}},
                        "client": {"client_id": f"ep-{user}"},
                        "attributes": {},
                        "metrics": {},
                        "session": {},
                        "endpoint": {"User": {"UserId": user}, "Demographic": {"Platform": "ios"}},
                    }
                )
    events.sort(key=lambda e: (e["event_timestamp"], e["event_id"]))  # arrival order
    shards = ("shardId-000000000000", "shardId-000000000001")
    records = [
        _kinesis(1000 + i, shards[zlib.crc32(e["client"]["client_id"].encode()) % 2], e) for i, e in enumerate(events)
    ]
    return active, records


def _rows(call: Any, app: str, kpi: str, start: date, end: date) -> dict[str, float]:
    q = {"start-time": [f"{start.isoformat()}T00:00:00Z"], "end-time": [f"{end.isoformat()}T23:59:59Z"]}
    r = call("GET", f"/v1/apps/{app}/kpis/daterange/{kpi}", query=q)
    assert r.status == 200, r.body
    out = {}
    for row in r.body["KpiResult"]["Rows"]:
        key = row["GroupedBys"][0]["Value"] if row["GroupedBys"] else "total"
        out[key] = float(row["Values"][0]["Value"])
    return out


def test_daily_monthly_retention_and_stickiness_match_an_independent_count(call: Any, process: Any) -> None:
    app = create(call)["Id"]
    active, records = synthetic(app)
    for i in range(0, len(records), 500):  # batches of 500, as the event source mapping delivers them
        assert process(records[i : i + 500]) == {"batchItemFailures": []}

    days = [FIRST + timedelta(days=i) for i in range(DAYS)]
    dau = {d: sum(d in a for a in active.values()) for d in days}
    mau = {d: sum(any(d - timedelta(days=29) <= x <= d for x in a) for a in active.values()) for d in days}
    first = {u: min(a) for u, a in active.items()}
    new = {d: sum(f == d for f in first.values()) for d in days}

    got_dau = _rows(call, app, "daily-active-users-grouped-by-date", FIRST, TODAY)
    assert got_dau == {d.isoformat(): float(n) for d, n in dau.items() if n}
    assert _rows(call, app, "daily-active-endpoints-grouped-by-date", FIRST, TODAY) == got_dau
    assert _rows(call, app, "monthly-active-users-grouped-by-date", FIRST, TODAY) == {
        d.isoformat(): float(n) for d, n in mau.items() if n
    }
    assert _rows(call, app, "new-users-grouped-by-date", FIRST, TODAY) == {
        d.isoformat(): float(n) for d, n in new.items() if n
    }
    assert _rows(call, app, "session-count", FIRST, TODAY) == {"total": float(sum(dau.values()))}

    sticky = _rows(call, app, "sticky-factor-grouped-by-date", FIRST, TODAY)
    assert sticky.keys() == {d.isoformat() for d in days if dau[d]}
    for d in days:
        if dau[d]:
            assert abs(sticky[d.isoformat()] - dau[d] / mau[d]) < 1e-9

    for n in (7, 14, 30):
        retained = {d: sum(f == d and d + timedelta(days=n) in active[u] for u, f in first.items()) for d in days}
        got = _rows(call, app, f"retention-{n}-day-grouped-by-date", FIRST, TODAY)
        expected = {d.isoformat(): retained[d] / new[d] for d in days if new[d]}
        assert got.keys() == expected.keys()
        for key, rate in expected.items():
            assert abs(got[key] - rate) < 1e-9, (n, key)
        total = _rows(call, app, f"retention-{n}-day", FIRST, TODAY)["total"]
        assert abs(total - sum(retained.values()) / sum(new.values())) < 1e-9

    # Replaying every batch, in a different chunking, counts nothing twice.
    before = _rows(call, app, "monthly-active-users-grouped-by-date", FIRST, TODAY)
    for i in range(0, len(records), 333):
        process(records[i : i + 333])
    assert _rows(call, app, "monthly-active-users-grouped-by-date", FIRST, TODAY) == before
    assert _rows(call, app, "daily-active-users-grouped-by-date", FIRST, TODAY) == got_dau
