"""Campaign audience rules, pure: assignment, caps, pacing, event filters and exclusions (docs/decisions.md,
"Campaign audience rules"). Property tests are derandomized so CI sees the same examples every run."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homing.domain.apps import ApplicationSettings, CampaignLimits
from homing.domain.campaign_rules import (
    DEFAULT_TREATMENT,
    ENDPOINT_INACTIVE,
    ENDPOINT_OPT_OUT,
    HOLDOUT,
    Allocation,
    CampaignEventFilter,
    EventDimensions,
    HookSettings,
    Limits,
    RunTally,
    app_limits,
    assign,
    bucket,
    cap_checks,
    check_allocation,
    check_event_filter,
    effective_limits,
    exclusion,
    hook_function,
    matches,
    pacing_plan,
    past_deadline,
    send_deadline,
    within_caps,
)
from homing.domain.errors import BadRequest
from homing.domain.events import Event, stream_record
from homing.domain.segments import AttributeDimension, MetricDimension, SetDimension

ci = settings(derandomize=True, deadline=None)
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)

# --- stable assignment ----------------------------------------------------------------------------


def test_buckets_are_pinned_values_so_every_process_and_release_agrees() -> None:
    """Golden values: a change of hash, key or scaling would move every endpoint between treatments."""
    assert bucket("c1", "ep-1") == 73.24187118054571
    assert bucket("c2", "ep-1") == 58.845972122073356
    assert bucket("a" * 200, "x") == 8.722077251818227  # a campaign id longer than BLAKE2b's key


def test_endpoint_ids_are_case_insensitive() -> None:
    assert bucket("c1", "EP-1") == bucket("c1", "ep-1")


@ci
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=80))
def test_a_bucket_is_in_range_and_the_same_every_time(campaign: str, endpoint: str) -> None:
    first = bucket(campaign, endpoint)
    assert 0 <= first < 100
    assert bucket(campaign, endpoint) == first


def test_buckets_are_uniform_chi_square_over_100000_ids() -> None:
    """100 equal bins of 100,000 ids: chi-square with 99 degrees of freedom under 148.2 (p = 0.001).
    The ids and campaign are fixed, so the statistic is a number, not a chance."""
    bins = Counter(int(bucket("campaign-uniform", f"endpoint-{i}")) for i in range(100_000))
    expected = 1000
    chi_square = sum((bins.get(b, 0) - expected) ** 2 / expected for b in range(100))
    assert chi_square < 148.2, chi_square


def test_campaigns_hold_out_different_endpoints() -> None:
    """The campaign id keys the hash: two 10% holdouts share about 1% of endpoints, not 10%."""
    ids = [f"e{i}" for i in range(20_000)]
    first = {e for e in ids if assign(Allocation("cmp-a", 10), e) == HOLDOUT}
    second = {e for e in ids if assign(Allocation("cmp-b", 10), e) == HOLDOUT}
    assert abs(len(first) - 2000) < 200
    assert abs(len(second) - 2000) < 200
    assert len(first & second) < 400  # independent: ~200 expected; identical would be ~2000


allocations = st.integers(0, 100).flatmap(
    lambda holdout: (
        st.lists(st.integers(0, 100), max_size=4)
        .filter(lambda sizes: holdout + sum(sizes) <= 100)
        .map(lambda sizes: Allocation("cmp", holdout, tuple(sizes)))
    )
)


@settings(derandomize=True, deadline=None, max_examples=25)
@given(allocations, st.integers(0, 1000))
def test_shares_are_within_tolerance_of_the_percentages(allocation: Allocation, salt: int) -> None:
    """Each share of 10,000 endpoints within 5 standard deviations (binomial) of its percentage."""
    n = 10_000
    allocation = Allocation(f"cmp-{salt}", allocation.holdout_percent, allocation.treatment_size_percents)
    got = Counter(assign(allocation, f"endpoint-{i}") for i in range(n))
    shares = {HOLDOUT: allocation.holdout_percent, DEFAULT_TREATMENT: allocation.default_percent}
    shares.update(dict(enumerate(allocation.treatment_size_percents, start=1)))
    assert set(got) <= set(shares)
    for group, percent in shares.items():
        p = percent / 100
        tolerance = 5 * math.sqrt(n * p * (1 - p)) + 1
        assert abs(got.get(group, 0) - n * p) <= tolerance, (group, percent, got)


def test_a_zero_share_gets_nobody_and_a_full_holdout_gets_everybody() -> None:
    ids = [f"x{i}" for i in range(2000)]
    assert {assign(Allocation("c", 0, (0, 50)), e) for e in ids} == {2, DEFAULT_TREATMENT}
    assert {assign(Allocation("c", 100), e) for e in ids} == {HOLDOUT}
    assert {assign(Allocation("c", 0, (60, 40)), e) for e in ids} == {1, 2}


def test_allocations_over_100_percent_are_refused_naming_the_field() -> None:
    check_allocation(Allocation("c", 20, (40, 40)))
    with pytest.raises(BadRequest, match="add up to 100 or less"):
        check_allocation(Allocation("c", 20, (40, 41)))
    with pytest.raises(BadRequest, match=r"AdditionalTreatments\[1\].SizePercent"):
        check_allocation(Allocation("c", 0, (1, -1)))
    with pytest.raises(BadRequest, match="HoldoutPercent"):
        check_allocation(Allocation("c", 101))


# --- limits and caps ------------------------------------------------------------------------------


def test_the_campaign_limit_wins_field_by_field_and_zero_means_no_limit() -> None:
    app = Limits(daily=5, total=10, messages_per_second=100, maximum_duration=600)
    own = Limits(daily=2, total=0, session=1)
    assert effective_limits(own, app) == Limits(
        daily=2, total=None, messages_per_second=100, maximum_duration=600, session=1
    )
    assert effective_limits(None, None) == Limits()
    assert effective_limits(None, app) == app


def test_the_app_default_limits_come_from_its_settings() -> None:
    settings = ApplicationSettings(limits=CampaignLimits(daily=4, maximum_duration=120, messages_per_second=10))
    assert app_limits(settings) == Limits(daily=4, maximum_duration=120, messages_per_second=10)
    assert app_limits(ApplicationSettings()) is None
    assert app_limits(None) is None
    assert effective_limits(Limits(daily=1), app_limits(settings)).messages_per_second == 10


def test_the_hook_is_the_campaign_s_else_the_app_s_and_only_in_filter_mode() -> None:
    own, app = HookSettings("campaign-fn", "FILTER"), HookSettings("app-fn", "FILTER")
    assert hook_function(own, app) == "campaign-fn"
    assert hook_function(HookSettings(), app) == "app-fn"  # a hook naming no function defers to the app's
    assert hook_function(None, HookSettings("app-fn")) == "app-fn"  # no mode: FILTER
    assert hook_function(HookSettings("campaign-fn", "DELIVERY"), app) is None
    assert hook_function(None, None) is None


def test_cap_counters_daily_across_campaigns_total_and_session_per_campaign() -> None:
    limits = Limits(daily=3, total=5, session=1)
    a = cap_checks(limits, campaign_id="A", endpoint_id="Ep", now=NOW, session_id="s1")
    b = cap_checks(limits, campaign_id="B", endpoint_id="ep", now=NOW)
    assert [c.scope for c in a] == ["daily", "total", "session"]
    assert [c.scope for c in b] == ["daily", "total"]  # no session without a triggering session
    assert a[0].counter == b[0].counter == "D#2026-11-30#ep"  # one daily counter for every campaign
    assert a[1].counter != b[1].counter
    tomorrow = cap_checks(limits, campaign_id="A", endpoint_id="ep", now=NOW + timedelta(days=1))
    assert tomorrow[0].counter != a[0].counter
    assert tomorrow[1].counter == a[1].counter
    assert cap_checks(Limits(), campaign_id="A", endpoint_id="ep", now=NOW) == ()


def test_counters_expire_two_days_after_their_window() -> None:
    ends = NOW + timedelta(days=30)
    daily, total, session = cap_checks(
        Limits(daily=1, total=1, session=1),
        campaign_id="A",
        endpoint_id="ep",
        now=NOW,
        session_id="s",
        campaign_ends=ends,
    )
    assert daily.expires_at == datetime(2026, 12, 3, tzinfo=UTC)  # the day ends 12-01 00:00, plus two days
    assert total.expires_at == ends + timedelta(days=2)
    assert session.expires_at == NOW + timedelta(days=2)
    (open_ended,) = cap_checks(Limits(total=1), campaign_id="A", endpoint_id="ep", now=NOW)
    assert open_ended.expires_at is None
    late = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 12-01 04:30 UTC
    assert cap_checks(Limits(daily=1), campaign_id="A", endpoint_id="ep", now=late)[0].counter == "D#2026-12-01#ep"


sends = st.lists(
    st.tuples(st.sampled_from("ABC"), st.sampled_from(["e1", "e2"]), st.integers(0, 3), st.sampled_from([None, "s"])),
    max_size=120,
)


@ci
@given(
    st.builds(
        Limits,
        daily=st.none() | st.integers(1, 6),
        total=st.none() | st.integers(1, 6),
        session=st.none() | st.integers(1, 3),
    ),
    sends,
)
def test_caps_are_never_exceeded_and_a_send_is_refused_only_at_a_cap(
    limits: Limits, attempts: list[tuple[str, str, int, str | None]]
) -> None:
    """A store that increments every counter of a send when ``within_caps`` allows it (what the Caps
    table does atomically): per endpoint, no UTC day holds more than Daily over all campaigns, no
    campaign more than Total, no session more than Session; and every refusal has a full counter."""
    counts: Counter[str] = Counter()
    sent: list[tuple[str, str, int, str | None]] = []
    for campaign, endpoint, day, session in attempts:
        checks = cap_checks(
            limits, campaign_id=campaign, endpoint_id=endpoint, now=NOW + timedelta(days=day), session_id=session
        )
        if within_caps(counts, checks):
            counts.update(c.counter for c in checks)
            sent.append((campaign, endpoint, day, session))
        else:
            assert any(counts[c.counter] >= c.cap for c in checks)
    per_day = Counter((e, d) for _, e, d, _ in sent)
    per_campaign = Counter((c, e) for c, e, _, _ in sent)
    per_session = Counter((c, e, s) for c, e, _, s in sent if s)
    assert limits.daily is None or max(per_day.values(), default=0) <= limits.daily
    assert limits.total is None or max(per_campaign.values(), default=0) <= limits.total
    assert limits.session is None or max(per_session.values(), default=0) <= limits.session


def test_maximum_duration_is_a_deadline_after_the_scheduled_start() -> None:
    limits = Limits(maximum_duration=60)
    assert send_deadline(NOW, limits) == NOW + timedelta(seconds=60)
    assert not past_deadline(NOW + timedelta(seconds=60), NOW, limits)
    assert past_deadline(NOW + timedelta(seconds=61), NOW, limits)
    assert send_deadline(NOW, Limits()) is None
    assert not past_deadline(NOW + timedelta(days=9), NOW, Limits())


@ci
@given(st.integers(0, 10_000_000), st.integers(1, 20_000), st.integers(1, 1000), st.integers(1, 100))
def test_a_pacing_plan_never_sends_faster_than_messages_per_second(
    endpoints: int, rate: int, max_batch: int, max_concurrency: int
) -> None:
    plan = pacing_plan(endpoints, rate, max_batch=max_batch, max_concurrency=max_concurrency)
    assert 1 <= plan.batch_size <= max_batch
    assert 1 <= plan.concurrency <= max_concurrency
    assert plan.wait_seconds >= 1
    assert plan.concurrency * plan.batch_size <= rate * plan.wait_seconds  # never faster than the rate
    assert plan.batches * plan.batch_size >= endpoints > (plan.batches - 1) * plan.batch_size
    if rate <= max_batch * max_concurrency:  # and not much slower, when the Map can carry the rate
        assert plan.concurrency * plan.batch_size > rate - plan.concurrency


def test_pacing_examples() -> None:
    plan = pacing_plan(100_000, 1200, max_batch=500, max_concurrency=40)
    assert (plan.batch_size, plan.concurrency, plan.wait_seconds, plan.batches) == (400, 3, 1, 250)
    assert plan.estimated_seconds == 84  # 250 batches, 3 at a time, one a second
    unpaced = pacing_plan(1001, None, max_batch=500, max_concurrency=40)
    assert (unpaced.batch_size, unpaced.wait_seconds, unpaced.batches) == (500, 0, 3)
    assert pacing_plan(0, 50).batches == 0
    assert pacing_plan(0, 50).estimated_seconds == 0


# --- event filters --------------------------------------------------------------------------------


def record(event_type: str, attributes: dict[str, str] | None = None, metrics: dict[str, float] | None = None) -> Any:
    event = Event(event_type=event_type, timestamp="2026-11-30T10:00:00Z", attributes=attributes, metrics=metrics)
    return stream_record(app_id="app", endpoint_id="ep", event_id="e1", event=event, endpoint=None, arrival_ms=0)


def event_filter(
    filter_type: str = "ENDPOINT",
    types: list[str] | None = None,
    dimension_type: str | None = None,
    attributes: dict[str, AttributeDimension] | None = None,
    metrics: dict[str, MetricDimension] | None = None,
) -> CampaignEventFilter:
    event_type = SetDimension(types, dimension_type) if types is not None else None
    return CampaignEventFilter(filter_type, EventDimensions(event_type, attributes or {}, metrics or {}))


def test_event_type_inclusive_and_exclusive() -> None:
    assert matches(event_filter(types=["purchase", "signup"]), record("Purchase"))
    assert not matches(event_filter(types=["purchase"]), record("refund"))
    assert matches(event_filter(types=["purchase"], dimension_type="EXCLUSIVE"), record("refund"))
    assert not matches(event_filter(types=["purchase"], dimension_type="EXCLUSIVE"), record("purchase"))
    assert matches(event_filter(), record("anything"))  # no criteria: every event of its filter type


def test_attributes_and_metrics_are_anded_and_missing_data_is_treated_as_in_segments() -> None:
    flt = event_filter(
        types=["purchase"],
        attributes={"item": AttributeDimension(["hat", "scarf"]), "note": AttributeDimension(["gift"], "CONTAINS")},
        metrics={"price": MetricDimension("GREATER_THAN_OR_EQUAL", 10.0)},
    )
    assert matches(flt, record("purchase", {"item": "hat", "note": "a gift for Al"}, {"price": 10.0}))
    assert not matches(flt, record("purchase", {"item": "hat", "note": "a gift for Al"}, {"price": 9.5}))
    assert not matches(flt, record("purchase", {"item": "coat", "note": "gift"}, {"price": 20.0}))
    assert not matches(flt, record("purchase", {"item": "hat"}, {"price": 20.0}))
    assert not matches(flt, record("purchase", {"item": "hat", "note": "gift"}))
    exclusive = event_filter(attributes={"item": AttributeDimension(["hat"], "EXCLUSIVE")})
    assert matches(exclusive, record("purchase", {"item": "coat"}))
    assert not matches(exclusive, record("purchase", {"item": "hat"}))
    assert matches(exclusive, record("purchase"))  # as a segment: a missing attribute matches only EXCLUSIVE


def test_endpoint_filters_see_app_events_and_system_filters_see_every_event() -> None:
    assert not matches(event_filter("ENDPOINT", ["_email.delivered"]), record("_email.delivered"))
    assert matches(event_filter("SYSTEM", ["_email.delivered"]), record("_email.delivered"))
    assert matches(event_filter("ENDPOINT", ["_session.start"]), record("_session.start"))
    assert matches(event_filter("SYSTEM", ["_session.start"]), record("_session.start"))


def test_event_filters_are_checked_naming_the_field() -> None:
    check_event_filter(event_filter(types=["a"], metrics={"m": MetricDimension("EQUAL", 1.0)}))
    with pytest.raises(BadRequest, match=r"Schedule\.EventFilter\.FilterType"):
        check_event_filter(event_filter("BOTH"))
    with pytest.raises(BadRequest, match=r"Schedule\.EventFilter\.Dimensions\.EventType\.Values"):
        check_event_filter(event_filter(types=[]))
    with pytest.raises(BadRequest, match=r"Dimensions.Metrics.m.ComparisonOperator"):
        check_event_filter(event_filter(metrics={"m": MetricDimension("ABOUT", 1.0)}))
    with pytest.raises(BadRequest, match=r"Dimensions.Attributes.d.Values"):
        check_event_filter(event_filter(attributes={"d": AttributeDimension(["x", "y"], "BEFORE")}))


# --- exclusions -----------------------------------------------------------------------------------


def test_opted_out_and_inactive_endpoints_are_excluded_and_counted_once() -> None:
    assert exclusion({"opt_out": "NONE", "endpoint_status": "ACTIVE"}) is None
    assert exclusion({}) is None
    assert exclusion({"opt_out": "ALL"}) == ENDPOINT_OPT_OUT
    assert exclusion({"endpoint_status": "INACTIVE"}) == ENDPOINT_INACTIVE
    assert exclusion({"opt_out": "ALL", "endpoint_status": "INACTIVE"}) == ENDPOINT_OPT_OUT
    tally, other = RunTally(), RunTally()
    admitted = [tally.admit(e) for e in ({}, {"opt_out": "ALL"}, {"endpoint_status": "INACTIVE"}, {"opt_out": "ALL"})]
    assert admitted == [True, False, False, False]
    other.admit({})
    other.held_out()
    assert tally.merge(other).execution_metrics() == {
        "ENDPOINT_PRODUCED": "5",
        "ENDPOINT_INACTIVE": "1",
        "ENDPOINT_OPT_OUT": "2",
        "TREATMENT_HOLDOUT": "1",
    }
