"""The Caps table against moto: sends counted atomically against every cap, once per (run, treatment, endpoint),
and never past a cap when batches race on one endpoint."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from homing.adapters.dynamodb.caps import SHARDS, CapCounter, CapItem, Counted, SendKey
from homing.domain.campaign_rules import Limits, cap_checks

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
APP = "app1"


@pytest.fixture
def counter(aws: None) -> CapCounter:
    return CapCounter()


def checks(limits: Limits, campaign: str = "A", endpoint: str = "ep", *, session: str | None = None) -> Any:
    return cap_checks(limits, campaign_id=campaign, endpoint_id=endpoint, now=NOW, session_id=session)


def items() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    return [
        i for page in client.get_paginator("scan").paginate(TableName=CapItem.Meta.table_name) for i in page["Items"]
    ]


def test_sends_are_counted_up_to_the_cap_and_a_refused_send_writes_nothing(counter: CapCounter) -> None:
    limits = Limits(daily=2, total=3)
    outcomes = [counter.count(APP, SendKey("A", f"run{i}", 0, "ep"), checks(limits), NOW) for i in range(3)]
    assert [o.counted for o in outcomes] == [Counted.COUNTED, Counted.COUNTED, Counted.CAPPED]
    assert outcomes[2].scope == "daily"
    assert not outcomes[2].may_send
    daily, total = checks(limits)
    assert counter.sends(APP, daily.counter) == counter.sends(APP, total.counter) == 2
    assert len(items()) == 4  # two counters, two markers: the refused send left no marker
    # A retry of the refused send is refused again (no marker was written for it).
    again = counter.count(APP, SendKey("A", "run2", 0, "ep"), checks(limits), NOW)
    assert again.counted is Counted.CAPPED


def test_a_send_without_caps_writes_nothing(counter: CapCounter) -> None:
    assert counter.count(APP, SendKey("A", "run1", 0, "ep"), checks(Limits()), NOW).counted is Counted.COUNTED
    assert items() == []


def test_a_replayed_send_is_counted_once(counter: CapCounter) -> None:
    limits = Limits(daily=5)
    send = SendKey("A", "run1", 1, "ep")
    assert counter.count(APP, send, checks(limits), NOW).counted is Counted.COUNTED
    replay = counter.count(APP, send, checks(limits), NOW)
    assert replay.counted is Counted.ALREADY
    assert replay.may_send  # the dispatcher's ledger keeps it from being delivered twice
    assert counter.sends(APP, checks(limits)[0].counter) == 1
    # Another treatment or run of the same endpoint is another send.
    assert counter.count(APP, SendKey("A", "run1", 2, "ep"), checks(limits), NOW).counted is Counted.COUNTED
    assert counter.count(APP, SendKey("A", "run2", 1, "EP"), checks(limits), NOW).counted is Counted.COUNTED
    assert counter.sends(APP, checks(limits)[0].counter) == 3


def test_daily_is_counted_across_campaigns_and_total_per_campaign(counter: CapCounter) -> None:
    limits = Limits(daily=3, total=2)
    outcomes = [
        counter.count(APP, SendKey(campaign, run, 0, "ep"), checks(limits, campaign), NOW)
        for campaign, run in [("A", "r1"), ("A", "r2"), ("A", "r3"), ("B", "r1"), ("B", "r2")]
    ]
    assert [(o.counted, o.scope) for o in outcomes] == [
        (Counted.COUNTED, None),
        (Counted.COUNTED, None),
        (Counted.CAPPED, "total"),  # A's own total of 2; the endpoint's day holds 2 of 3
        (Counted.COUNTED, None),  # B has its own total, and the day's third message
        (Counted.CAPPED, "daily"),  # the day's 3, counted over A and B
    ]
    # Another app's counters are its own.
    assert counter.count("app2", SendKey("A", "r1", 0, "ep"), checks(limits), NOW).counted is Counted.COUNTED


def test_a_session_cap_counts_per_session(counter: CapCounter) -> None:
    limits = Limits(session=1)
    first = counter.count(APP, SendKey("A", "e1", 0, "ep"), checks(limits, session="s1"), NOW)
    second = counter.count(APP, SendKey("A", "e2", 0, "ep"), checks(limits, session="s1"), NOW)
    other = counter.count(APP, SendKey("A", "e3", 0, "ep"), checks(limits, session="s2"), NOW)
    assert (first.counted, second.counted, second.scope, other.counted) == (
        Counted.COUNTED,
        Counted.CAPPED,
        "session",
        Counted.COUNTED,
    )


def test_items_expire_and_hold_no_endpoint_id(counter: CapCounter) -> None:
    limits = Limits(daily=1)
    counter.count(
        APP, SendKey("A", "run1", 0, "someone@example.com"), checks(limits, endpoint="someone@example.com"), NOW
    )
    stored = items()
    assert len(stored) == 2
    assert all("example.com" not in str(item) for item in stored)
    expiries = sorted(int(i["expires"]["N"]) for i in stored)
    assert expiries == [
        int(datetime(2026, 12, 3, tzinfo=UTC).timestamp()),  # the daily counter: two days after its day
        int((NOW + timedelta(days=7)).timestamp()),  # the marker
    ]
    assert {i["pk"]["S"].rsplit("#", 1)[0] for i in stored} == {APP}


def test_concurrent_batches_on_one_endpoint_never_pass_the_cap(counter: CapCounter) -> None:
    """Twenty-four sends from different runs race on one endpoint with a daily cap of 5: exactly
    five are counted, and the counter holds 5."""
    limits = Limits(daily=5, total=20)
    sends = [SendKey(f"C{i % 3}", f"run{i}", 0, "ep") for i in range(24)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(lambda s: counter.count(APP, s, checks(limits, s.campaign_id), NOW), sends))
    assert sum(o.counted is Counted.COUNTED for o in outcomes) == 5
    assert {o.scope for o in outcomes if o.counted is Counted.CAPPED} == {"daily"}
    assert counter.sends(APP, checks(limits)[0].counter) == 5


def test_concurrent_replays_of_one_send_count_it_once(counter: CapCounter) -> None:
    limits = Limits(daily=5)
    send = SendKey("A", "run1", 0, "ep")
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: counter.count(APP, send, checks(limits), NOW), range(8)))
    assert sorted(o.counted.value for o in outcomes) == ["ALREADY"] * 7 + ["COUNTED"]
    assert counter.sends(APP, checks(limits)[0].counter) == 1


def test_delete_some_removes_an_app_s_items_in_bounded_chunks(counter: CapCounter) -> None:
    limits = Limits(daily=100)
    for i in range(30):
        counter.count(APP, SendKey("A", "run1", 0, f"ep{i}"), checks(limits, endpoint=f"ep{i}"), NOW)
    counter.count("app2", SendKey("A", "run1", 0, "ep"), checks(limits), NOW)
    assert len({i["pk"]["S"] for i in items() if i["pk"]["S"].startswith(f"{APP}#")}) > 1  # spread over shards
    removed = [counter.delete_some(APP, 25) for _ in range(4)]
    assert removed == [25, 25, 10, 0]
    assert {i["pk"]["S"].rsplit("#", 1)[0] for i in items()} == {"app2"}
    assert SHARDS == 16
