"""The KPI registry, pure: each KPI declared once, as data, and its evaluation over day counters.

A KPI (``Kpi``) names the scope it belongs to (app, campaign, journey), the groupings it allows
(none, by date, by a dimension), the counters it reads and how it combines them (a small formula
tree: ``Sum``, ``Minus``, ``Rate``, ``Ratio``, ``NonZero``, ``Attempted``). Counter names come from
``homing.domain.analytics``, the one home that the Aggregator writes with. Definitions follow
reference/pinpoint-formats.md §2 and §4: campaign deliveries = sends - hard bounces; transactional
and journey email deliveries = sends - soft bounces - hard bounces - rejects; rates are fractions
(0-1). A metric with no data has no rows.

The service (homing.services.kpis) reads the day items of a range, and this module turns them
into ``KpiRow`` values; Pinpoint's JSON (``KpiResult.Rows``) is shaped in homing.api.wire.analytics.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from homing.domain import analytics as a
from homing.domain.errors import BadRequest
from homing.domain.events import EARLIEST_EVENT, FUTURE_SKEW
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.timestamps import parse_timestamp

Counters = dict[str, float]
Days = dict[str, Counters]  # ISO day -> counter -> value
Scope = Literal["app", "campaign", "journey"]
KPI_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
GROUPED_BY = "-grouped-by-"
HOMING_MAX_DAYS = 366  # Homing's own KPIs read aggregates kept for good


# --- ranges ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime

    @property
    def first_day(self) -> int:
        return a.day_number(int(self.start.timestamp() * 1000))

    @property
    def last_day(self) -> int:
        return a.day_number(int(self.end.timestamp() * 1000))

    def days(self) -> list[str]:
        return [a.day_iso(d) for d in range(self.first_day, self.last_day + 1)]


def check_range_time(value: str, field: str, now: datetime) -> datetime:
    """A range bound within what Homing stores: events are counted from 2000 to a day ahead of now
    (domain.events), so a bound outside that can only be a mistake: 400, not an empty answer."""
    at = parse_timestamp(value, field)
    if not EARLIEST_EVENT <= at <= now + FUTURE_SKEW:
        raise BadRequest(f"{field} must be between {EARLIEST_EVENT.date().isoformat()} and 24 hours from now")
    return at


def kpi_range(start: str | None, end: str | None, now: datetime, *, homing: bool, quotas: Quotas = QUOTAS) -> Range:
    """Pinpoint's rules for ``start-time``/``end-time``: inclusive, ≤ 31 days, start < 90 days ago,
    default the preceding 31 days. Homing's own KPIs allow any start and ranges up to 366 days."""
    end_at = check_range_time(end, "end-time", now) if end else now
    start_at = check_range_time(start, "start-time", now) if start else end_at - timedelta(days=quotas.kpi_max_days)
    if start_at > end_at:
        raise BadRequest("start-time must be before end-time")
    max_days = HOMING_MAX_DAYS if homing else quotas.kpi_max_days
    if end_at - start_at > timedelta(days=max_days):
        raise BadRequest(f"The range between start-time and end-time must be at most {max_days} days")
    if not homing and start_at < now - timedelta(days=quotas.kpi_max_age_days):
        raise BadRequest(f"start-time must be less than {quotas.kpi_max_age_days} days ago")
    return Range(start_at, end_at)


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiRow:
    """One value, and the groups it is for (dimension, group), e.g. (("Date", "2026-11-30"),)."""

    value: float
    grouped_by: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class KpiResult:
    name: str
    range: Range
    rows: list[KpiRow]


@dataclass(frozen=True)
class MetricStats:
    sum: float
    count: float
    min: float
    max: float
    average: float


@dataclass(frozen=True)
class EventStats:
    """Homing extension: one custom event type over a range."""

    app_id: str
    event_type: str
    range: Range
    count: float
    days: list[tuple[str, float]]  # (ISO day, count), days with events only
    attributes: dict[str, dict[str, float]]  # attribute name -> value -> count
    metrics: dict[str, MetricStats]


def event_stats(app_id: str, event_type: str, rng: Range, days: Days, values: Days) -> EventStats:
    """From an event type's day items and its attribute-value items (sort key -> counters)."""
    attributes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for sk, counters in values.items():
        _, name, value = a.event_value_from_key(sk)
        attributes[name][value] += counters.get(a.EVENT_COUNT, 0.0)
    merged = merge(days.values())
    metrics: dict[str, MetricStats] = {}
    for name in sorted({k[len(a.METRIC_SUM_PREFIX) :] for k in merged if k.startswith(a.METRIC_SUM_PREFIX)}):
        n = merged.get(a.metric_count(name), 0.0)
        mins = [c[a.metric_min(name)] for c in days.values() if a.metric_min(name) in c]
        maxs = [c[a.metric_max(name)] for c in days.values() if a.metric_max(name) in c]
        total = merged[a.metric_sum(name)]
        metrics[name] = MetricStats(
            sum=total,
            count=n,
            min=min(mins) if mins else 0.0,
            max=max(maxs) if maxs else 0.0,
            average=total / n if n else 0.0,
        )
    return EventStats(
        app_id=app_id,
        event_type=event_type,
        range=rng,
        count=merged.get(a.EVENT_COUNT, 0.0),
        days=[(d, c.get(a.EVENT_COUNT, 0.0)) for d, c in sorted(days.items()) if c.get(a.EVENT_COUNT)],
        attributes={k: dict(v) for k, v in sorted(attributes.items())},
        metrics=metrics,
    )


# --- views: the counters a formula sees --------------------------------------------------------


class View(Protocol):
    def get(self, name: str) -> float | None: ...

    def names(self) -> Iterator[str]: ...


@dataclass(frozen=True)
class Plain:
    """Counters as stored."""

    counters: Counters

    def get(self, name: str) -> float | None:
        return self.counters.get(name)

    def names(self) -> Iterator[str]:
        return iter(self.counters)


@dataclass(frozen=True)
class Narrowed:
    """Counters of one group: ``name`` reads ``narrow(name, group)``."""

    counters: Counters
    group: str

    def get(self, name: str) -> float | None:
        return self.counters.get(a.narrow(name, self.group))

    def names(self) -> Iterator[str]:
        suffix = ":" + self.group
        return (k[: -len(suffix)] for k in self.counters if k.endswith(suffix))


@dataclass(frozen=True)
class OneCampaign:
    """An app's counters of one campaign (by_campaign)."""

    counters: Counters
    campaign: str

    def get(self, name: str) -> float | None:
        return self.counters.get(a.by_campaign(self.campaign, name))

    def names(self) -> Iterator[str]:
        return iter(())


@dataclass(frozen=True)
class AllCampaigns:
    """An app's counters summed over its campaigns."""

    counters: Counters

    def get(self, name: str) -> float | None:
        return a.all_campaigns(self.counters, name)

    def names(self) -> Iterator[str]:
        return iter(())


# --- formulas: how a KPI combines counters (None = no data) ------------------------------------


class Formula(Protocol):
    def __call__(self, view: View) -> float | None: ...

    def reads(self) -> set[str]:
        """The counters (base names) it reads."""
        ...


@dataclass(frozen=True)
class Sum:
    counter: str

    def __call__(self, view: View) -> float | None:
        return view.get(self.counter)

    def reads(self) -> set[str]:
        return {self.counter}


@dataclass(frozen=True)
class Minus:
    """``total`` less the parts present; no data when ``total`` has none."""

    total: Formula
    parts: tuple[Formula, ...]

    def __call__(self, view: View) -> float | None:
        t = self.total(view)
        return None if t is None else t - sum(p(view) or 0.0 for p in self.parts)

    def reads(self) -> set[str]:
        return self.total.reads().union(*(p.reads() for p in self.parts))


@dataclass(frozen=True)
class Rate:
    """``num / den`` (no numerator counts as 0); no data when the denominator is absent or 0."""

    num: Formula
    den: Formula

    def __call__(self, view: View) -> float | None:
        n, d = self.num(view), self.den(view)
        return (n or 0.0) / d if d else None

    def reads(self) -> set[str]:
        return self.num.reads() | self.den.reads()


@dataclass(frozen=True)
class Ratio:
    """``num / den``; no data unless both are present and non-zero (the sticky factor)."""

    num: Formula
    den: Formula

    def __call__(self, view: View) -> float | None:
        n, d = self.num(view), self.den(view)
        return n / d if n and d else None

    def reads(self) -> set[str]:
        return self.num.reads() | self.den.reads()


@dataclass(frozen=True)
class NonZero:
    value: Formula

    def __call__(self, view: View) -> float | None:
        return self.value(view) or None

    def reads(self) -> set[str]:
        return self.value.reads()


@dataclass(frozen=True)
class Attempted:
    """Campaign sends that were attempted: every send:<status> but the NOT_ATTEMPTED ones."""

    def __call__(self, view: View) -> float | None:
        vals = []
        for name in view.names():
            parts = name.split(":")
            if parts[0] == a.SEND_PREFIX[:-1] and len(parts) == 2 and parts[1] not in a.NOT_ATTEMPTED:
                value = view.get(name)
                if value is not None:
                    vals.append(value)
        return sum(vals) if vals else None

    def reads(self) -> set[str]:
        return {a.send("*")}


# Counters the service derives before evaluating (rolling windows read the app's whole history).
MONTHLY_ACTIVE = {"endpoints": "monthly_active_endpoints", "users": "monthly_active_users"}
ROLLING = {name: a.mau_delta(who) for who, name in MONTHLY_ACTIVE.items()}  # derived -> delta counter


# --- groupings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """How rows are grouped: ``name`` is what follows ``-grouped-by-`` in the KPI name (None: nothing
    follows); ``keys`` are the row's GroupedBys; ``per_day`` gives each day its rows; ``groups`` lists
    the groups present in counters and ``view`` narrows counters to one of them."""

    name: str | None
    keys: tuple[str, ...] = ()
    per_day: bool = False
    groups: Callable[[Counters], list[str]] | None = None
    view: Callable[[Counters, str], View] = Narrowed


def _suffix_groups(base: str) -> Callable[[Counters], list[str]]:
    return lambda counters: a.suffixes(counters, base)


TOTAL = Grouping(None)
DATE = Grouping("date", ("Date",), per_day=True)
CAMPAIGN_ACTIVITY = Grouping("campaign-activity", ("CampaignActivityId",), groups=a.campaign_activities)
JOURNEY_ACTIVITY = Grouping("journey-activity", ("JourneyActivityId",), groups=a.journey_activities)
CAMPAIGN = Grouping("campaign", ("CampaignId",), groups=a.campaigns, view=OneCampaign)
COUNTRY = Grouping("country", ("Country",), groups=a.sms_countries)
EVENT_TYPE = Grouping("event-type", ("EventType",), groups=_suffix_groups(a.CUSTOM_EVENT))
ERROR_CODE = Grouping(None, ("ErrorCode",), groups=_suffix_groups(a.SMS_ERROR))
# daily active endpoints by demographic: KPI grouping name -> (demographic counter, GroupedBy key)
DEMOGRAPHIC_GROUPINGS = {
    "platform": ("platform", "Platform"),
    "app-version": ("app_version", "AppVersion"),
    "country": ("country", "Country"),
    "make": ("make", "Make"),
    "model": ("model", "Model"),
    "locale": ("locale", "Locale"),
}
DEMOGRAPHIC = {
    grouping: Grouping(grouping, ("Date", key), per_day=True, groups=_suffix_groups(a.demographic(name)))
    for grouping, (name, key) in DEMOGRAPHIC_GROUPINGS.items()
}


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    """One KPI. ``name`` is the KPI name before ``-grouped-by-``; ``value_by`` gives a grouping its own
    formula (unique deliveries per day are counted once per day, not once ever); ``per_campaign``: the
    counters are an app's per-campaign counters (by_campaign), summed over campaigns unless grouped by
    campaign; ``over_range``: ``sum`` adds the range's counters before combining them, ``mean`` averages
    the daily values; ``homing``: one of Homing's own app analytics (its range rules differ)."""

    scope: Scope
    name: str
    groupings: tuple[Grouping, ...]
    value: Formula
    value_by: Mapping[str, Formula] = field(default_factory=dict)
    per_campaign: bool = False
    over_range: Literal["sum", "mean"] = "sum"
    homing: bool = False

    def formula(self, grouping: Grouping) -> Formula:
        return self.value_by.get(grouping.name or "", self.value)

    def reads(self) -> set[str]:
        return self.value.reads().union(*(f.reads() for f in self.value_by.values()))

    def rolling(self) -> set[str]:
        """The derived rolling counters it reads (ROLLING)."""
        return self.reads() & ROLLING.keys()


def _email(counter: Callable[[str], str]) -> dict[str, Formula]:
    """Email metrics (transactional or journey) from counters named by ``counter(kind)``."""

    def c(kind: str, unique: bool = False) -> Sum:
        return Sum(a.unique(counter(kind)) if unique else counter(kind))

    delivered = Minus(c("sent"), (c("softbounced"), c("hardbounced"), c("rejected")))
    return {
        "sent": c("sent"),
        "delivered": delivered,
        "delivery-rate": Rate(delivered, c("sent")),
        "opened": c("opened"),
        "unique-opens": c("opened", True),
        "clicked": c("clicked"),
        "unique-clicks": c("clicked", True),
        "hard-bounced": c("hardbounced"),
        "soft-bounced": c("softbounced"),
        "with-complaints": c("complained"),
        "complaint-rate": Rate(c("complained"), delivered),
        "rejected": c("rejected"),
        "unsubscribed": c("unsubscribed"),
    }


def _registry() -> list[Kpi]:
    kpis: list[Kpi] = []

    def add(scope: Scope, name: str, groupings: Iterable[Grouping], value: Formula, **kw: object) -> None:
        kpis.append(Kpi(scope, name, tuple(groupings), value, **kw))  # type: ignore[arg-type]

    # Application: transactional email (pinpoint-formats.md §2).
    txn = _email(a.txn_email)
    for name in (
        "sent", "delivered", "delivery-rate", "opened", "unique-opens", "clicked", "unique-clicks",
        "hard-bounced", "soft-bounced", "with-complaints", "complaint-rate",
    ):  # fmt: skip
        add("app", f"txn-emails-{name}", (TOTAL, DATE), txn[name])

    # Application: transactional SMS, by country where the counters are kept per country.
    sms_sent, sms_delivered = Sum(a.txn_sms("sent")), Sum(a.txn_sms("delivered"))
    price = Sum(a.txn_sms("price"))
    add("app", "txn-sms-sent", (TOTAL, DATE, COUNTRY), sms_sent)
    add("app", "txn-sms-delivered", (TOTAL, DATE, COUNTRY), sms_delivered)
    add("app", "txn-sms-delivery-rate", (TOTAL, DATE), Rate(sms_delivered, sms_sent))
    add("app", "txn-sms-sent-by-parts", (TOTAL, COUNTRY), Sum(a.txn_sms("sent_parts")))
    add("app", "txn-sms-delivered-by-parts", (TOTAL, COUNTRY), Sum(a.txn_sms("delivered_parts")))
    add("app", "txn-sms-average-price", (COUNTRY,), Rate(price, Sum(a.txn_sms("priced"))))
    add("app", "txn-sms-average-price-by-parts", (COUNTRY,), Rate(price, Sum(a.txn_sms("priced_parts"))))
    add("app", "txn-sms-total-price", (COUNTRY,), price)
    add("app", "txn-sms-error-distribution", (ERROR_CODE,), Sum(a.SMS_ERROR))

    # Application: all its campaigns (or one, grouped by campaign).
    sent = Sum(a.CAMPAIGN_SENT)
    delivered = Minus(sent, (Sum(a.email("hardbounced")),))
    open_rate = Rate(Sum(a.unique(a.email("opened"))), Sum(a.email("delivered")))
    daily = {"date": Sum(a.UNIQUE_DELIVERIES_DAY)}
    add("app", "successful-delivery-rate", (TOTAL, DATE), Rate(delivered, sent), per_campaign=True)
    add("app", "email-open-rate", (TOTAL, CAMPAIGN), open_rate, per_campaign=True)
    add(
        "app", "unique-deliveries", (TOTAL, CAMPAIGN, DATE), Sum(a.UNIQUE_DELIVERIES), value_by=daily, per_campaign=True
    )
    add("app", "successful-deliveries", (CAMPAIGN,), delivered, per_campaign=True)
    push_open_rate = Rate(Sum(a.PUSH_OPENED), Sum(a.PUSH_SENT))
    add("app", "push-open-rate", (TOTAL, CAMPAIGN), push_open_rate, per_campaign=True)

    # Application: Homing's own analytics (README, "App analytics").
    for name, counter in (
        ("event-count", a.EVENTS),
        ("session-count", a.SESSIONS),
        ("new-endpoints", a.NEW_ENDPOINTS),
        ("new-users", a.NEW_USERS),
    ):
        add("app", name, (TOTAL, DATE), Sum(counter), homing=True)
    add("app", "average-session-length", (TOTAL, DATE), Rate(Sum(a.SESSION_MS), Sum(a.SESSION_STOPS)), homing=True)
    by_demographic = {g: Sum(a.demographic(name)) for g, (name, _) in DEMOGRAPHIC_GROUPINGS.items()}
    add(
        "app",
        "daily-active-endpoints",
        (DATE, *DEMOGRAPHIC.values()),
        Sum(a.ACTIVE_ENDPOINTS),
        value_by=by_demographic,
        homing=True,
    )
    add("app", "daily-active-users", (DATE,), Sum(a.ACTIVE_USERS), homing=True)
    for who, counter in MONTHLY_ACTIVE.items():
        add("app", f"monthly-active-{who}", (DATE,), NonZero(Sum(counter)), homing=True)
    sticky = Ratio(NonZero(Sum(a.ACTIVE_USERS)), Sum(MONTHLY_ACTIVE["users"]))
    add("app", "sticky-factor", (TOTAL, DATE), sticky, over_range="mean", homing=True)
    for n in a.RETENTION_DAYS:
        add("app", f"retention-{n}-day", (TOTAL, DATE), Rate(Sum(a.retained(n)), Sum(a.NEW_USERS)), homing=True)
    add("app", "custom-events", (EVENT_TYPE,), Sum(a.CUSTOM_EVENT), homing=True)

    # Campaign: its day items, narrowed to one activity when grouped by campaign activity.
    c_sent = Sum(a.send(a.SEND_SUCCESS))
    c_hard = Sum(a.email("hardbounced"))
    c_delivered = Minus(c_sent, (c_hard,))
    by_activity = (TOTAL, CAMPAIGN_ACTIVITY)
    add("campaign", "hard-bounce-rate", by_activity, Rate(c_hard, c_sent))
    add("campaign", "successful-delivery-rate", (*by_activity, DATE), Rate(c_delivered, c_sent))
    add("campaign", "email-open-rate", by_activity, open_rate)
    add("campaign", "direct-email-opens", (CAMPAIGN_ACTIVITY,), Sum(a.email("opened")))
    add("campaign", "unique-deliveries", (*by_activity, DATE), Sum(a.UNIQUE_DELIVERIES), value_by=daily)
    add("campaign", "clicks", (CAMPAIGN_ACTIVITY,), Sum(a.email("clicked")))
    add("campaign", "successful-deliveries", (CAMPAIGN_ACTIVITY,), c_delivered)
    add("campaign", "attempted-deliveries", (CAMPAIGN_ACTIVITY,), Attempted())
    add("campaign", "push-open-rate", by_activity, push_open_rate)
    add("campaign", "direct-push-opens", (CAMPAIGN_ACTIVITY,), Sum(a.PUSH_OPENED))
    add("campaign", "sms-spend", (TOTAL,), Sum(a.SMS_SPEND))

    # Journey: email metrics of its day items (opens are unique opens), whole or by journey activity.
    journey = _email(a.email)
    for kind, metric in (
        ("sent", "sent"), ("delivered", "delivered"), ("opened", "unique-opens"), ("clicked", "clicked"),
        ("hardbounced", "hard-bounced"), ("softbounced", "soft-bounced"), ("complained", "with-complaints"),
        ("rejected", "rejected"), ("unsubscribed", "unsubscribed"),
    ):  # fmt: skip
        add("journey", f"journey-emails-{kind}", (TOTAL,), journey[metric])
        add("journey", f"emails-{kind}", (JOURNEY_ACTIVITY,), journey[metric])
    return kpis


KPIS: dict[tuple[Scope, str], Kpi] = {(k.scope, k.name): k for k in _registry()}
SCOPE_NOUN = {"app": "application", "campaign": "campaign", "journey": "journey"}


def find(scope: Scope, kpi_name: str) -> tuple[Kpi, Grouping] | None:
    """The KPI and grouping a KPI name asks for in ``scope``; None when the scope has no such KPI."""
    name, sep, group = kpi_name.partition(GROUPED_BY)
    kpi = KPIS.get((scope, name))
    if kpi is None:
        return None
    for grouping in kpi.groupings:
        if grouping.name == (group if sep else None):
            return kpi, grouping
    return None


def unsupported(scope: Scope, kpi_name: str) -> BadRequest:
    """The 400 for a KPI name ``find`` does not know (journey names are not checked for shape)."""
    if scope != "journey" and not KPI_NAME.match(kpi_name):
        return BadRequest("kpi-name must be two or more lowercase alphanumeric terms joined by hyphens")
    return BadRequest(f"kpi-name {kpi_name} is not a supported {SCOPE_NOUN[scope]} KPI")


# --- evaluation --------------------------------------------------------------------------------


def merge(days: Iterable[Counters]) -> Counters:
    out: dict[str, float] = defaultdict(float)
    for counters in days:
        for k, v in counters.items():
            out[k] += v
    return out


def with_rolling(days: Days, rolling: Mapping[str, dict[str, float]]) -> Days:
    """``days`` with the derived rolling counters (derived name -> ISO day -> value) added, for every
    day they cover."""
    out = {d: dict(c) for d, c in days.items()}
    for name, by_day in rolling.items():
        for day, value in by_day.items():
            out.setdefault(day, {})[name] = value
    return out


def evaluate(kpi: Kpi, grouping: Grouping, days: Days) -> list[KpiRow]:
    """The rows of ``kpi`` grouped by ``grouping`` over ``days`` (the range's day items, in the order
    read; derived rolling counters already added). A group without data has no row, as in Pinpoint."""
    formula = kpi.formula(grouping)

    def base(counters: Counters) -> View:
        return AllCampaigns(counters) if kpi.per_campaign else Plain(counters)

    def rows(counters: Counters, grouped_by: tuple[tuple[str, str], ...]) -> list[KpiRow]:
        if grouping.groups is None:
            value = formula(base(counters))
            return [] if value is None else [KpiRow(value, grouped_by)]
        out = []
        for group in grouping.groups(counters):
            value = formula(grouping.view(counters, group))
            if value is not None:
                out.append(KpiRow(value, (*grouped_by, (grouping.keys[-1], group))))
        return out

    if grouping.per_day:
        return [row for day in sorted(days) for row in rows(days[day], ((grouping.keys[0], day),))]
    if kpi.over_range == "mean":
        daily = [v for day in sorted(days) if (v := formula(base(days[day]))) is not None]
        return [KpiRow(sum(daily) / len(daily))] if daily else []
    return rows(merge(days.values()), ())
