"""KPIs: Pinpoint's date-range KPI names (application, campaign, journey) and Homing's app analytics.

Every KPI reads day items (one query per range) and computes rows in Pinpoint's result shape:
``{"Rows": [{"GroupedBys": [...], "Values": [{"Key", "Type": "Double", "Value": "29.0"}]}]}``.
Definitions follow reference/pinpoint-formats.md §2 and §4: campaign deliveries = sends - hard
bounces; transactional and journey email deliveries = sends - soft bounces - hard bounces - rejects;
rates are fractions (0-1). A metric with no data returns ``Rows: []``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from homing.adapters.dynamodb.analytics import AnalyticsRepository
from homing.domain.analytics import (
    RETENTION_DAYS,
    campaign_day,
    day_from_iso,
    day_iso,
    day_number,
    event_day,
    event_values_key,
    journey_day,
)
from homing.domain.errors import BadRequest
from homing.domain.events import EARLIEST_EVENT, FUTURE_SKEW
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.timestamps import parse_timestamp
from homing.services.apps import AppService

Counters = dict[str, dict[str, float]]  # ISO day -> counter -> value
Row = dict[str, list[dict[str, str]]]
KPI_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
NOT_ATTEMPTED = {
    "HOLDOUT",
    "QUIET_TIME",
    "DAILY_CAP",
    "CAMPAIGN_CAP",
    "DUPLICATE_ADDRESS",
    "EXPIRED",
    "UNSUPPORTED_CHANNEL",
}
EMAIL_KINDS = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "hardbounced",
    "softbounced",
    "complained",
    "rejected",
    "unsubscribed",
)


def _value(key: str, value: float) -> dict[str, str]:
    return {"Key": key, "Type": "Double", "Value": repr(float(value))}


def _group(key: str, value: str) -> dict[str, str]:
    return {"Key": key, "Type": "String", "Value": value}


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def check_range_time(value: str, field: str, now: datetime) -> datetime:
    """A range bound within what Homing stores: events are counted from 2000 to a day ahead of now
    (domain.events), so a bound outside that can only be a mistake: 400, not an empty answer."""
    at = parse_timestamp(value, field)
    if not EARLIEST_EVENT <= at <= now + FUTURE_SKEW:
        raise BadRequest(f"{field} must be between {EARLIEST_EVENT.date().isoformat()} and 24 hours from now")
    return at


def pascal_key(kpi_name: str) -> str:
    """``txn-emails-opened-grouped-by-date`` -> ``TxnEmailsOpened`` (Pinpoint's value key)."""
    base = kpi_name.split("-grouped-by-")[0]
    return "".join(part.capitalize() for part in base.split("-"))


@dataclass(frozen=True)
class Range:
    start: datetime
    end: datetime

    @property
    def first_day(self) -> int:
        return day_number(int(self.start.timestamp() * 1000))

    @property
    def last_day(self) -> int:
        return day_number(int(self.end.timestamp() * 1000))

    def days(self) -> list[str]:
        return [day_iso(d) for d in range(self.first_day, self.last_day + 1)]


# A metric: counters of one day (or of a range summed) -> value, or None when there is no data.
Metric = Callable[[dict[str, float]], float | None]


def _sum(*names: str) -> Metric:
    def metric(c: dict[str, float]) -> float | None:
        present = [c[n] for n in names if n in c]
        return sum(present) if present else None

    return metric


def _rate(num: Metric, den: Metric) -> Metric:
    def metric(c: dict[str, float]) -> float | None:
        n, d = num(c), den(c)
        return _ratio(n or 0.0, d) if d else None

    return metric


def _minus(total: Metric, *parts: Metric) -> Metric:
    def metric(c: dict[str, float]) -> float | None:
        t = total(c)
        return None if t is None else t - sum(p(c) or 0.0 for p in parts)

    return metric


def _prefix(prefix: str, suffix: str = "") -> Metric:
    """Sum of every counter named ``<prefix><anything><suffix>`` (e.g. all campaigns' sends)."""

    def metric(c: dict[str, float]) -> float | None:
        vals = [
            v
            for k, v in c.items()
            if k.startswith(prefix) and k.endswith(suffix) and ":" not in k[len(prefix) : len(k) - len(suffix)]
        ]
        return sum(vals) if vals else None

    return metric


def _attempted(activity: str | None = None) -> Metric:
    def metric(c: dict[str, float]) -> float | None:
        vals = []
        for k, v in c.items():
            parts = k.split(":")
            if parts[0] != "send" or parts[1] in NOT_ATTEMPTED:
                continue
            if (activity is None and len(parts) == 2) or (activity is not None and parts[2:] == [activity]):
                vals.append(v)
        return sum(vals) if vals else None

    return metric


# --- metric definitions ------------------------------------------------------------------------


def _campaign_metrics(suffix: str = "") -> dict[str, Metric]:
    """Campaign metrics over a CMP# day item; ``suffix`` ``:<activity>`` narrows them to one run."""
    sent = _sum(f"send:SUCCESS{suffix}")
    hard = _sum(f"email_hardbounced{suffix}")
    delivered = _minus(sent, hard)
    return {
        "hard-bounce-rate": _rate(hard, sent),
        "successful-delivery-rate": _rate(delivered, sent),
        "email-open-rate": _rate(_sum(f"email_opened{suffix}:unique"), _sum(f"email_delivered{suffix}")),
        "direct-email-opens": _sum(f"email_opened{suffix}"),
        "unique-deliveries": _sum(f"unique_deliveries{suffix}"),
        "clicks": _sum(f"email_clicked{suffix}"),
        "successful-deliveries": delivered,
        "attempted-deliveries": _attempted(suffix[1:] or None),
        "push-open-rate": _rate(_sum(f"push_opened{suffix}"), _sum(f"push_sent{suffix}")),
        "direct-push-opens": _sum(f"push_opened{suffix}"),
        "sms-spend": _sum("sms_spend"),
    }


def _app_campaign_metrics(campaign: str | None) -> dict[str, Metric]:
    """All campaigns of an app (or one, for grouped-by-campaign), from ``bycmp:`` counters."""

    def c(name: str) -> Metric:
        return _sum(f"bycmp:{campaign}:{name}") if campaign else _prefix("bycmp:", f":{name}")

    sent = c("sent")
    delivered = _minus(sent, c("email_hardbounced"))
    return {
        "successful-delivery-rate": _rate(delivered, sent),
        "email-open-rate": _rate(c("email_opened:unique"), c("email_delivered")),
        "unique-deliveries": c("unique_deliveries"),
        "successful-deliveries": delivered,
        "push-open-rate": _rate(c("push_opened"), c("push_sent")),
    }


def _email_metrics(prefix: str, suffix: str = "") -> dict[str, Metric]:
    def c(kind: str, unique: bool = False) -> Metric:
        return _sum(f"{prefix}{kind}{suffix}{':unique' if unique else ''}")

    delivered = _minus(c("sent"), c("softbounced"), c("hardbounced"), c("rejected"))
    return {
        "sent": c("sent"),
        "delivered": delivered,
        "delivery-rate": _rate(delivered, c("sent")),
        "opened": c("opened"),
        "unique-opens": c("opened", True),
        "clicked": c("clicked"),
        "unique-clicks": c("clicked", True),
        "hard-bounced": c("hardbounced"),
        "soft-bounced": c("softbounced"),
        "with-complaints": c("complained"),
        "complaint-rate": _rate(c("complained"), delivered),
    }


def _txn_sms(country: str | None = None) -> dict[str, Metric]:
    s = f":{country}" if country else ""
    return {
        "sent": _sum(f"txn_sms_sent{s}"),
        "delivered": _sum(f"txn_sms_delivered{s}"),
        "delivery-rate": _rate(_sum(f"txn_sms_delivered{s}"), _sum(f"txn_sms_sent{s}")),
        "sent-by-parts": _sum(f"txn_sms_sent_parts{s}"),
        "delivered-by-parts": _sum(f"txn_sms_delivered_parts{s}"),
        "average-price": _rate(_sum(f"txn_sms_price{s}"), _sum(f"txn_sms_priced{s}")),
        "average-price-by-parts": _rate(_sum(f"txn_sms_price{s}"), _sum(f"txn_sms_priced_parts{s}")),
        "total-price": _sum(f"txn_sms_price{s}"),
    }


def _journey_metrics(suffix: str = "") -> dict[str, Metric]:
    m = _email_metrics("email_", suffix)
    return {
        "sent": m["sent"],
        "delivered": m["delivered"],
        "opened": m["unique-opens"],
        "clicked": m["clicked"],
        "hardbounced": m["hard-bounced"],
        "softbounced": m["soft-bounced"],
        "complained": m["with-complaints"],
        "rejected": _sum(f"email_rejected{suffix}"),
        "unsubscribed": _sum(f"email_unsubscribed{suffix}"),
    }


APP_SUMS = {  # Homing app analytics that are plain sums of day counters
    "event-count": "events",
    "session-count": "sessions",
    "new-endpoints": "new_endpoints",
    "new-users": "new_users",
}
DEMOGRAPHIC_GROUPS = {
    "platform": "Platform",
    "app-version": "AppVersion",
    "country": "Country",
    "make": "Make",
    "model": "Model",
    "locale": "Locale",
}


def _merge(days: Iterable[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for counters in days:
        for k, v in counters.items():
            out[k] += v
    return out


def _suffixes(counters: dict[str, float], prefix: str) -> list[str]:
    """Everything after ``prefix`` in counter names (event types and demographic values may hold ``:``)."""
    return sorted(k[len(prefix) :] for k in counters if k.startswith(prefix))


def _groups(counters: dict[str, float], prefix: str) -> list[str]:
    """Distinct <group> in counter names ``<prefix><group>:...``."""
    return sorted({k[len(prefix) :].split(":")[0] for k in counters if k.startswith(prefix)})


class KpiService:
    def __init__(
        self, apps: AppService, repo: AnalyticsRepository, *, clock: Callable[[], datetime], quotas: Quotas = QUOTAS
    ) -> None:
        self._apps, self._repo, self._clock, self._quotas = apps, repo, clock, quotas

    # --- request rules --------------------------------------------------------------------------

    def range(self, start: str | None, end: str | None, *, homing_kpi: bool) -> Range:
        """Pinpoint's rules: inclusive, ≤ 31 days, start < 90 days ago, default the preceding 31 days.

        Homing's own KPI names read aggregates Homing keeps for good, so they allow any start and
        ranges up to 366 days.
        """
        now = self._clock()
        end_at = check_range_time(end, "end-time", now) if end else now
        start_at = (
            check_range_time(start, "start-time", now) if start else end_at - timedelta(days=self._quotas.kpi_max_days)
        )
        if start_at > end_at:
            raise BadRequest("start-time must be before end-time")
        max_days = 366 if homing_kpi else self._quotas.kpi_max_days
        if end_at - start_at > timedelta(days=max_days):
            raise BadRequest(f"The range between start-time and end-time must be at most {max_days} days")
        if not homing_kpi and start_at < now - timedelta(days=self._quotas.kpi_max_age_days):
            raise BadRequest(f"start-time must be less than {self._quotas.kpi_max_age_days} days ago")
        return Range(start_at, end_at)

    # --- operations -----------------------------------------------------------------------------

    def application(self, app_id: str, kpi: str, start: str | None, end: str | None) -> tuple[Range, list[Row]]:
        self._apps.require(app_id)
        homing_kpi = kpi in HOMING_APP_KPIS
        rng = self.range(start, end, homing_kpi=homing_kpi)
        if homing_kpi:
            return rng, self._homing_app(app_id, kpi, rng)
        days = self._days(f"APP#{app_id}", rng)
        base, group = _split(kpi)
        if base.startswith("txn-emails-"):
            metrics = _email_metrics("txn_email_")
            name = base[len("txn-emails-") :]
            if name in metrics and group in (None, "date"):
                return rng, self._rows(kpi, days, metrics[name], group)
        elif base.startswith("txn-sms-") or kpi == "txn-sms-error-distribution":
            return rng, self._txn_sms(kpi, days)
        else:
            campaign = _app_campaign_metrics(None)
            allowed: dict[str, set[str | None]] = {
                "successful-delivery-rate": {None, "date"},
                "email-open-rate": {None, "campaign"},
                "unique-deliveries": {None, "campaign", "date"},
                "successful-deliveries": {"campaign"},
                "push-open-rate": {None, "campaign"},
            }
            if base in allowed and group in allowed[base]:
                if group == "campaign":
                    merged = _merge(days.values())
                    campaigns = _groups(merged, "bycmp:")
                    return rng, _grouped_rows(
                        kpi, merged, "CampaignId", campaigns, lambda c: _app_campaign_metrics(c)[base]
                    )
                if base == "unique-deliveries" and group == "date":
                    return rng, self._rows(kpi, days, _prefix("bycmp:", ":unique_deliveries_day"), "date")
                return rng, self._rows(kpi, days, campaign[base], group)
        raise BadRequest(f"kpi-name {kpi} is not a supported application KPI")

    def campaign(
        self, app_id: str, campaign_id: str, kpi: str, start: str | None, end: str | None
    ) -> tuple[Range, list[Row]]:
        self._apps.require(app_id)
        rng = self.range(start, end, homing_kpi=False)
        days = self._days(campaign_day(app_id, campaign_id, 0)[0], rng)
        base, group = _split(kpi)
        allowed: dict[str, set[str | None]] = {
            "hard-bounce-rate": {None, "campaign-activity"},
            "successful-delivery-rate": {None, "campaign-activity", "date"},
            "email-open-rate": {None, "campaign-activity"},
            "direct-email-opens": {"campaign-activity"},
            "unique-deliveries": {None, "campaign-activity", "date"},
            "clicks": {"campaign-activity"},
            "successful-deliveries": {"campaign-activity"},
            "attempted-deliveries": {"campaign-activity"},
            "push-open-rate": {None, "campaign-activity"},
            "direct-push-opens": {"campaign-activity"},
            "sms-spend": {None},
        }
        if base not in allowed or group not in allowed[base]:
            raise BadRequest(f"kpi-name {kpi} is not a supported campaign KPI")
        if group == "campaign-activity":
            merged = _merge(days.values())
            activities = sorted({k.split(":")[2] for k in merged if k.startswith("send:") and k.count(":") == 2})
            return rng, _grouped_rows(
                kpi, merged, "CampaignActivityId", activities, lambda a: _campaign_metrics(f":{a}")[base]
            )
        if base == "unique-deliveries" and group == "date":
            return rng, self._rows(kpi, days, _sum("unique_deliveries_day"), "date")
        return rng, self._rows(kpi, days, _campaign_metrics()[base], group)

    def journey(
        self, app_id: str, journey_id: str, kpi: str, start: str | None, end: str | None
    ) -> tuple[Range, list[Row]]:
        self._apps.require(app_id)
        rng = self.range(start, end, homing_kpi=False)
        days = self._days(journey_day(app_id, journey_id, 0)[0], rng)
        m = re.fullmatch(r"journey-emails-([a-z]+)", kpi) or re.fullmatch(
            r"emails-([a-z]+)-grouped-by-journey-activity", kpi
        )
        if not m or m.group(1) not in EMAIL_KINDS:
            raise BadRequest(f"kpi-name {kpi} is not a supported journey KPI")
        kind = m.group(1)
        if kpi.startswith("journey-"):
            return rng, self._rows(kpi, days, _journey_metrics()[kind], None)
        merged = _merge(days.values())
        activities = {
            p[1] for k in merged if k.startswith("email_") and len(p := k.split(":")) > 1 and p[1] not in ("", "unique")
        }
        return rng, _grouped_rows(
            kpi, merged, "JourneyActivityId", sorted(activities), lambda a: _journey_metrics(f":{a}")[kind]
        )

    # --- helpers --------------------------------------------------------------------------------

    def _days(self, pk: str, rng: Range) -> Counters:
        return self._repo.counters(pk, day_iso(rng.first_day), day_iso(rng.last_day))

    @staticmethod
    def _rows(kpi: str, days: Counters, metric: Metric, group: str | None) -> list[Row]:
        key = pascal_key(kpi)
        if group == "date":
            rows = []
            for day in sorted(days):
                value = metric(days[day])
                if value is not None:
                    rows.append(_row(key, value, [_group("Date", day)]))
            return rows
        value = metric(_merge(days.values()))
        return [] if value is None else [_row(key, value, None)]

    def _txn_sms(self, kpi: str, days: Counters) -> list[Row]:
        if kpi == "txn-sms-error-distribution":
            merged = _merge(days.values())
            return [
                _row("TxnSmsErrorDistribution", v, [_group("ErrorCode", k.split(":", 1)[1])])
                for k, v in sorted(merged.items())
                if k.startswith("txn_sms_error:")
            ]
        base, group = _split(kpi)
        name = base[len("txn-sms-") :]
        allowed: dict[str, set[str | None]] = {
            "sent": {None, "date", "country"},
            "delivered": {None, "date", "country"},
            "delivery-rate": {None, "date"},
            "sent-by-parts": {None, "country"},
            "delivered-by-parts": {None, "country"},
            "average-price": {"country"},
            "average-price-by-parts": {"country"},
            "total-price": {"country"},
        }
        if name not in allowed or group not in allowed[name]:
            raise BadRequest(f"kpi-name {kpi} is not a supported application KPI")
        if group == "country":
            merged = _merge(days.values())
            countries = sorted(
                {
                    k.split(":")[1]
                    for k in merged
                    if k.startswith("txn_sms_") and ":" in k and not k.startswith("txn_sms_error")
                }
            )
            return _grouped_rows(kpi, merged, "Country", countries, lambda c: _txn_sms(c)[name])
        return self._rows(kpi, days, _txn_sms()[name], group)

    def _homing_app(self, app_id: str, kpi: str, rng: Range) -> list[Row]:
        base, group = _split(kpi)
        days = self._days(f"APP#{app_id}", rng)
        key = pascal_key(kpi)
        if base in APP_SUMS:
            return self._rows(kpi, days, _sum(APP_SUMS[base]), group)
        if base == "average-session-length":
            return self._rows(kpi, days, _rate(_sum("session_ms"), _sum("session_stops")), group)
        if base in ("daily-active-endpoints", "daily-active-users") and group == "date":
            return self._rows(kpi, days, _sum(base.replace("daily-", "").replace("-", "_")), "date")
        if base == "daily-active-endpoints" and group in DEMOGRAPHIC_GROUPS:
            name = group.replace("-", "_")
            rows = []
            for day in sorted(days):
                for value in _suffixes(days[day], f"demo:{name}:"):
                    rows.append(
                        _row(
                            key,
                            days[day][f"demo:{name}:{value}"],
                            [_group("Date", day), _group(DEMOGRAPHIC_GROUPS[group], value)],
                        )
                    )
            return rows
        if base in ("monthly-active-endpoints", "monthly-active-users") and group == "date":
            who = base.split("-")[-1]
            return [_row(key, v, [_group("Date", d)]) for d, v in self._mau(app_id, who, rng).items() if v]
        if base == "sticky-factor":
            dau, mau = self._rows_by_day(days, "active_users"), self._mau(app_id, "users", rng)
            ratios = {d: dau[d] / mau[d] for d in dau if mau.get(d)}
            if group == "date":
                return [_row(key, v, [_group("Date", d)]) for d, v in sorted(ratios.items())]
            return [_row(key, sum(ratios.values()) / len(ratios), None)] if ratios else []
        m = re.fullmatch(r"retention-(\d+)-day", base)
        if m and int(m.group(1)) in RETENTION_DAYS:
            n = int(m.group(1))
            return self._rows(kpi, days, _rate(_sum(f"retained_{n}"), _sum("new_users")), group)
        if base == "custom-events" and group == "event-type":
            merged = _merge(days.values())
            return [_row(key, merged[f"evt:{t}"], [_group("EventType", t)]) for t in _suffixes(merged, "evt:")]
        raise BadRequest(f"kpi-name {kpi} is not a supported application KPI")

    @staticmethod
    def _rows_by_day(days: Counters, counter: str) -> dict[str, float]:
        return {d: c[counter] for d, c in days.items() if c.get(counter)}

    def _mau(self, app_id: str, who: str, rng: Range) -> dict[str, float]:
        """Rolling 30-day actives per day: the running sum of the +1/-1 window deltas since the app began."""
        history = self._repo.counters(f"APP#{app_id}", "0000", day_iso(rng.last_day), values=False)
        running, out = 0.0, {}
        deltas = {day_from_iso(d): c.get(f"mau_{who}_delta", 0.0) for d, c in history.items()}
        for day in sorted(deltas):
            if day >= rng.first_day:
                break
            running += deltas[day]
        for day in range(rng.first_day, rng.last_day + 1):
            running += deltas.get(day, 0.0)
            out[day_iso(day)] = running
        return out


HOMING_APP_KPIS = {
    "event-count", "event-count-grouped-by-date", "session-count", "session-count-grouped-by-date",
    "average-session-length", "average-session-length-grouped-by-date",
    "new-endpoints", "new-endpoints-grouped-by-date", "new-users", "new-users-grouped-by-date",
    "daily-active-endpoints-grouped-by-date", "daily-active-users-grouped-by-date",
    "monthly-active-endpoints-grouped-by-date", "monthly-active-users-grouped-by-date",
    "sticky-factor", "sticky-factor-grouped-by-date",
    "retention-7-day", "retention-7-day-grouped-by-date", "retention-14-day", "retention-14-day-grouped-by-date",
    "retention-30-day", "retention-30-day-grouped-by-date",
    "custom-events-grouped-by-event-type",
    *(f"daily-active-endpoints-grouped-by-{g}" for g in DEMOGRAPHIC_GROUPS),
}  # fmt: skip


def _split(kpi: str) -> tuple[str, str | None]:
    if not KPI_NAME.match(kpi):
        raise BadRequest("kpi-name must be two or more lowercase alphanumeric terms joined by hyphens")
    base, sep, group = kpi.partition("-grouped-by-")
    return base, (group if sep else None)


def _grouped_rows(
    kpi: str, counters: dict[str, float], key: str, groups: Iterable[str], metric_of: Callable[[str], Metric]
) -> list[Row]:
    """One row per group that has data (Pinpoint omits the groups without)."""
    rows = []
    for group in groups:
        value = metric_of(group)(counters)
        if value is not None:
            rows.append(_row(pascal_key(kpi), value, [_group(key, group)]))
    return rows


def _row(key: str, value: float, grouped_bys: list[dict[str, str]] | None) -> Row:
    row: Row = {"Values": [_value(key, value)]}
    row["GroupedBys"] = grouped_bys or []
    return row


def event_stats(repo: AnalyticsRepository, app_id: str, event_type: str, rng: Range) -> dict[str, object]:
    """Homing extension: one custom event type over a range: counts per day, per attribute value,
    and each metric's sum, count, min, max and average."""
    # the same (bounded) keys process_events writes: any id from a path is a valid key
    days = repo.counters(event_day(app_id, event_type, 0)[0], day_iso(rng.first_day), day_iso(rng.last_day))
    values_pk = event_values_key(app_id, event_type, 0, "", "")[0]
    values = repo.counters(values_pk, day_iso(rng.first_day), day_iso(rng.last_day) + "#\uffff")
    attributes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for sk, counters in values.items():
        _, name, value = sk.split("#", 2)
        attributes[unquote(name)][value] += counters.get("count", 0.0)
    merged = _merge(days.values())
    metrics: dict[str, dict[str, float]] = {}
    for name in sorted({k[4:] for k in merged if k.startswith("sum:")}):
        n = merged.get(f"n:{name}", 0.0)
        mins = [c[f"min:{name}"] for c in days.values() if f"min:{name}" in c]
        maxs = [c[f"max:{name}"] for c in days.values() if f"max:{name}" in c]
        metrics[name] = {
            "Sum": merged[f"sum:{name}"],
            "Count": n,
            "Min": min(mins) if mins else 0.0,
            "Max": max(maxs) if maxs else 0.0,
            "Average": merged[f"sum:{name}"] / n if n else 0.0,
        }
    return {
        "ApplicationId": app_id,
        "EventType": event_type,
        "StartTime": rng.start.isoformat(),
        "EndTime": rng.end.isoformat(),
        "Count": merged.get("count", 0.0),
        "Days": [{"Date": d, "Count": c.get("count", 0.0)} for d, c in sorted(days.items()) if c.get("count")],
        "Attributes": {k: dict(v) for k, v in sorted(attributes.items())},
        "Metrics": metrics,
    }
