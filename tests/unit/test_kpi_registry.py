"""The KPI registry, table-driven: every KPI name the old if-chain answered, with the rows it gave on a
small hand-checkable fixture (two days of counters), and the same 400s and 404 for names it refused.

The table was produced by the if-chain the registry replaced (homing.services.kpis before issue 7),
after a test compared the two on every KPI name over randomised counters of every kind (commit
4c773ec, tests/unit/test_kpi_registry.py there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from homing.api.wire.analytics import event_stats_response, kpi_response
from homing.domain import kpis as registry
from homing.domain.analytics import event_values_key
from homing.domain.errors import BadRequest, NotFound
from homing.services.kpis import KpiService

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
START = "2026-11-29T00:00:00Z"
APP, CAMPAIGN, JOURNEY = "app1", "cmp1", "jny1"
D1, D2 = "2026-11-29", "2026-11-30"


class FakeApps:
    def require(self, app_id: str) -> None:
        if app_id != APP:
            raise NotFound(f"Application {app_id} not found")


class FakeRepo:
    """AnalyticsRepository.counters over a dict: pk -> sk -> counters (an app's value items merged in)."""

    def __init__(self, store: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.store = store

    def counters(self, pk: str, first_sk: str, last_sk: str, *, values: bool = True) -> dict[str, dict[str, float]]:
        items = sorted(self.store.get(pk, {}).items())
        out = {sk: {k: float(v) for k, v in c.items()} for sk, c in items if first_sk <= sk <= last_sk}
        if values and pk.startswith("APP#"):
            for sk, c in sorted(self.store.get("APV#" + pk[4:], {}).items()):
                if first_sk <= sk <= last_sk + "#\uffff":
                    day, _, name = sk.partition("#")
                    out.setdefault(day, {})[name] = float(c["n"])
        return out


STORE: dict[str, dict[str, dict[str, Any]]] = {
    "APP#app1": {
        "2026-11-29": {
            "events": 6,
            "sessions": 2,
            "session_stops": 2,
            "session_ms": 3000,
            "active_endpoints": 3,
            "active_users": 2,
            "new_endpoints": 2,
            "new_users": 2,
            "retained_7": 1,
            "mau_users_delta": 2,
            "mau_endpoints_delta": 3,
            "txn_email_sent": 10,
            "txn_email_delivered": 8,
            "txn_email_opened": 5,
            "txn_email_opened:unique": 4,
            "txn_email_clicked": 3,
            "txn_email_clicked:unique": 2,
            "txn_email_hardbounced": 1,
            "txn_email_softbounced": 1,
            "txn_email_rejected": 0,
            "txn_email_complained": 1,
            "txn_sms_sent": 4,
            "txn_sms_delivered": 3,
            "txn_sms_sent_parts": 6,
            "txn_sms_delivered_parts": 4,
        },
        "2026-11-30": {
            "events": 2,
            "active_endpoints": 1,
            "active_users": 1,
            "new_endpoints": 0,
            "mau_users_delta": 0,
            "txn_email_sent": 2,
            "txn_sms_sent": 1,
            "txn_sms_sent_parts": 1,
        },
    },
    "APV#app1": {
        "2026-11-29#demo:platform:ios": {"n": 2},
        "2026-11-29#demo:platform:android": {"n": 1},
        "2026-11-30#demo:platform:ios": {"n": 1},
        "2026-11-29#demo:app_version:2.1": {"n": 3},
        "2026-11-29#evt:purchase": {"n": 3},
        "2026-11-30#evt:level:up": {"n": 1},
        "2026-11-29#txn_sms_sent:US": {"n": 3},
        "2026-11-29#txn_sms_sent:FR": {"n": 1},
        "2026-11-30#txn_sms_sent:US": {"n": 1},
        "2026-11-29#txn_sms_delivered:US": {"n": 3},
        "2026-11-29#txn_sms_sent_parts:US": {"n": 5},
        "2026-11-29#txn_sms_delivered_parts:US": {"n": 4},
        "2026-11-29#txn_sms_price:US": {"n": 1.5},
        "2026-11-29#txn_sms_priced:US": {"n": 3},
        "2026-11-29#txn_sms_priced_parts:US": {"n": 5},
        "2026-11-29#txn_sms_error:BLOCKED": {"n": 2},
        "2026-11-29#bycmp:c1:sent": {"n": 4},
        "2026-11-29#bycmp:c2:sent": {"n": 6},
        "2026-11-29#bycmp:c1:email_hardbounced": {"n": 1},
        "2026-11-29#bycmp:c1:email_opened:unique": {"n": 2},
        "2026-11-29#bycmp:c1:email_delivered": {"n": 3},
        "2026-11-29#bycmp:c1:unique_deliveries": {"n": 3},
        "2026-11-29#bycmp:c2:unique_deliveries": {"n": 5},
        "2026-11-29#bycmp:c1:unique_deliveries_day": {"n": 3},
        "2026-11-30#bycmp:c2:unique_deliveries_day": {"n": 2},
        "2026-11-29#bycmp:c2:push_sent": {"n": 4},
        "2026-11-29#bycmp:c2:push_opened": {"n": 1},
    },
    "CMP#app1#cmp1": {
        "2026-11-29": {
            "send:SUCCESS": 8,
            "send:SUCCESS:a1": 5,
            "send:SUCCESS:a2": 3,
            "send:QUIET_TIME": 2,
            "send:QUIET_TIME:a1": 2,
            "send:FAILURE": 1,
            "send:FAILURE:a2": 1,
            "email_hardbounced": 2,
            "email_hardbounced:a1": 2,
            "email_delivered": 6,
            "email_delivered:a1": 3,
            "email_delivered:a2": 3,
            "email_opened": 4,
            "email_opened:unique": 3,
            "email_opened:a1": 4,
            "email_opened:a1:unique": 3,
            "email_clicked": 1,
            "email_clicked:a2": 1,
            "push_sent": 2,
            "push_sent:a2": 2,
            "push_opened": 1,
            "push_opened:a2": 1,
            "unique_deliveries": 7,
            "unique_deliveries:a1": 5,
            "unique_deliveries:a2": 2,
            "unique_deliveries_day": 7,
            "sms_spend": 2.5,
        },
        "2026-11-30": {"send:SUCCESS": 2, "send:SUCCESS:a1": 2, "unique_deliveries_day": 2},
    },
    "JNY#app1#jny1": {
        "2026-11-29": {
            "email_sent": 5,
            "email_sent:j1": 3,
            "email_sent:j2": 2,
            "email_delivered": 4,
            "email_softbounced": 1,
            "email_softbounced:j2": 1,
            "email_opened": 3,
            "email_opened:unique": 2,
            "email_opened:j1": 3,
            "email_opened:j1:unique": 2,
            "email_clicked": 1,
            "email_clicked:j1": 1,
            "email_complained": 1,
            "email_complained:j2": 1,
            "email_unsubscribed": 1,
            "email_unsubscribed:j1": 1,
        }
    },
}

TABLE: dict[tuple[str, str], list[tuple[float, tuple[tuple[str, str], ...]]]] = {
    ("app", "average-session-length"): [(1500.0, ())],
    ("app", "average-session-length-grouped-by-date"): [(1500.0, (("Date", "2026-11-29"),))],
    ("app", "custom-events-grouped-by-event-type"): [
        (1.0, (("EventType", "level:up"),)),
        (3.0, (("EventType", "purchase"),)),
    ],
    ("app", "daily-active-endpoints-grouped-by-app-version"): [(3.0, (("Date", "2026-11-29"), ("AppVersion", "2.1")))],
    ("app", "daily-active-endpoints-grouped-by-country"): [],
    ("app", "daily-active-endpoints-grouped-by-date"): [
        (3.0, (("Date", "2026-11-29"),)),
        (1.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "daily-active-endpoints-grouped-by-locale"): [],
    ("app", "daily-active-endpoints-grouped-by-make"): [],
    ("app", "daily-active-endpoints-grouped-by-model"): [],
    ("app", "daily-active-endpoints-grouped-by-platform"): [
        (1.0, (("Date", "2026-11-29"), ("Platform", "android"))),
        (2.0, (("Date", "2026-11-29"), ("Platform", "ios"))),
        (1.0, (("Date", "2026-11-30"), ("Platform", "ios"))),
    ],
    ("app", "daily-active-users-grouped-by-date"): [(2.0, (("Date", "2026-11-29"),)), (1.0, (("Date", "2026-11-30"),))],
    ("app", "email-open-rate"): [(0.6666666666666666, ())],
    ("app", "email-open-rate-grouped-by-campaign"): [(0.6666666666666666, (("CampaignId", "c1"),))],
    ("app", "event-count"): [(8.0, ())],
    ("app", "event-count-grouped-by-date"): [(6.0, (("Date", "2026-11-29"),)), (2.0, (("Date", "2026-11-30"),))],
    ("app", "monthly-active-endpoints-grouped-by-date"): [
        (3.0, (("Date", "2026-11-29"),)),
        (3.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "monthly-active-users-grouped-by-date"): [
        (2.0, (("Date", "2026-11-29"),)),
        (2.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "new-endpoints"): [(2.0, ())],
    ("app", "new-endpoints-grouped-by-date"): [(2.0, (("Date", "2026-11-29"),)), (0.0, (("Date", "2026-11-30"),))],
    ("app", "new-users"): [(2.0, ())],
    ("app", "new-users-grouped-by-date"): [(2.0, (("Date", "2026-11-29"),))],
    ("app", "push-open-rate"): [(0.25, ())],
    ("app", "push-open-rate-grouped-by-campaign"): [(0.25, (("CampaignId", "c2"),))],
    ("app", "retention-14-day"): [(0.0, ())],
    ("app", "retention-14-day-grouped-by-date"): [(0.0, (("Date", "2026-11-29"),))],
    ("app", "retention-30-day"): [(0.0, ())],
    ("app", "retention-30-day-grouped-by-date"): [(0.0, (("Date", "2026-11-29"),))],
    ("app", "retention-7-day"): [(0.5, ())],
    ("app", "retention-7-day-grouped-by-date"): [(0.5, (("Date", "2026-11-29"),))],
    ("app", "session-count"): [(2.0, ())],
    ("app", "session-count-grouped-by-date"): [(2.0, (("Date", "2026-11-29"),))],
    ("app", "sticky-factor"): [(0.75, ())],
    ("app", "sticky-factor-grouped-by-date"): [(1.0, (("Date", "2026-11-29"),)), (0.5, (("Date", "2026-11-30"),))],
    ("app", "successful-deliveries-grouped-by-campaign"): [
        (3.0, (("CampaignId", "c1"),)),
        (6.0, (("CampaignId", "c2"),)),
    ],
    ("app", "successful-delivery-rate"): [(0.9, ())],
    ("app", "successful-delivery-rate-grouped-by-date"): [(0.9, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-clicked"): [(3.0, ())],
    ("app", "txn-emails-clicked-grouped-by-date"): [(3.0, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-complaint-rate"): [(0.1, ())],
    ("app", "txn-emails-complaint-rate-grouped-by-date"): [
        (0.125, (("Date", "2026-11-29"),)),
        (0.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "txn-emails-delivered"): [(10.0, ())],
    ("app", "txn-emails-delivered-grouped-by-date"): [
        (8.0, (("Date", "2026-11-29"),)),
        (2.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "txn-emails-delivery-rate"): [(0.8333333333333334, ())],
    ("app", "txn-emails-delivery-rate-grouped-by-date"): [
        (0.8, (("Date", "2026-11-29"),)),
        (1.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "txn-emails-hard-bounced"): [(1.0, ())],
    ("app", "txn-emails-hard-bounced-grouped-by-date"): [(1.0, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-opened"): [(5.0, ())],
    ("app", "txn-emails-opened-grouped-by-date"): [(5.0, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-sent"): [(12.0, ())],
    ("app", "txn-emails-sent-grouped-by-date"): [(10.0, (("Date", "2026-11-29"),)), (2.0, (("Date", "2026-11-30"),))],
    ("app", "txn-emails-soft-bounced"): [(1.0, ())],
    ("app", "txn-emails-soft-bounced-grouped-by-date"): [(1.0, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-unique-clicks"): [(2.0, ())],
    ("app", "txn-emails-unique-clicks-grouped-by-date"): [(2.0, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-unique-opens"): [(4.0, ())],
    ("app", "txn-emails-unique-opens-grouped-by-date"): [(4.0, (("Date", "2026-11-29"),))],
    ("app", "txn-emails-with-complaints"): [(1.0, ())],
    ("app", "txn-emails-with-complaints-grouped-by-date"): [(1.0, (("Date", "2026-11-29"),))],
    ("app", "txn-sms-average-price-by-parts-grouped-by-country"): [(0.3, (("Country", "US"),))],
    ("app", "txn-sms-average-price-grouped-by-country"): [(0.5, (("Country", "US"),))],
    ("app", "txn-sms-delivered"): [(3.0, ())],
    ("app", "txn-sms-delivered-by-parts"): [(4.0, ())],
    ("app", "txn-sms-delivered-by-parts-grouped-by-country"): [(4.0, (("Country", "US"),))],
    ("app", "txn-sms-delivered-grouped-by-country"): [(3.0, (("Country", "US"),))],
    ("app", "txn-sms-delivered-grouped-by-date"): [(3.0, (("Date", "2026-11-29"),))],
    ("app", "txn-sms-delivery-rate"): [(0.6, ())],
    ("app", "txn-sms-delivery-rate-grouped-by-date"): [
        (0.75, (("Date", "2026-11-29"),)),
        (0.0, (("Date", "2026-11-30"),)),
    ],
    ("app", "txn-sms-error-distribution"): [(2.0, (("ErrorCode", "BLOCKED"),))],
    ("app", "txn-sms-sent"): [(5.0, ())],
    ("app", "txn-sms-sent-by-parts"): [(7.0, ())],
    ("app", "txn-sms-sent-by-parts-grouped-by-country"): [(5.0, (("Country", "US"),))],
    ("app", "txn-sms-sent-grouped-by-country"): [(1.0, (("Country", "FR"),)), (4.0, (("Country", "US"),))],
    ("app", "txn-sms-sent-grouped-by-date"): [(4.0, (("Date", "2026-11-29"),)), (1.0, (("Date", "2026-11-30"),))],
    ("app", "txn-sms-total-price-grouped-by-country"): [(1.5, (("Country", "US"),))],
    ("app", "unique-deliveries"): [(8.0, ())],
    ("app", "unique-deliveries-grouped-by-campaign"): [(3.0, (("CampaignId", "c1"),)), (5.0, (("CampaignId", "c2"),))],
    ("app", "unique-deliveries-grouped-by-date"): [(3.0, (("Date", "2026-11-29"),)), (2.0, (("Date", "2026-11-30"),))],
    ("campaign", "attempted-deliveries-grouped-by-campaign-activity"): [
        (7.0, (("CampaignActivityId", "a1"),)),
        (4.0, (("CampaignActivityId", "a2"),)),
    ],
    ("campaign", "clicks-grouped-by-campaign-activity"): [(1.0, (("CampaignActivityId", "a2"),))],
    ("campaign", "direct-email-opens-grouped-by-campaign-activity"): [(4.0, (("CampaignActivityId", "a1"),))],
    ("campaign", "direct-push-opens-grouped-by-campaign-activity"): [(1.0, (("CampaignActivityId", "a2"),))],
    ("campaign", "email-open-rate"): [(0.5, ())],
    ("campaign", "email-open-rate-grouped-by-campaign-activity"): [
        (1.0, (("CampaignActivityId", "a1"),)),
        (0.0, (("CampaignActivityId", "a2"),)),
    ],
    ("campaign", "hard-bounce-rate"): [(0.2, ())],
    ("campaign", "hard-bounce-rate-grouped-by-campaign-activity"): [
        (0.2857142857142857, (("CampaignActivityId", "a1"),)),
        (0.0, (("CampaignActivityId", "a2"),)),
    ],
    ("campaign", "push-open-rate"): [(0.5, ())],
    ("campaign", "push-open-rate-grouped-by-campaign-activity"): [(0.5, (("CampaignActivityId", "a2"),))],
    ("campaign", "sms-spend"): [(2.5, ())],
    ("campaign", "successful-deliveries-grouped-by-campaign-activity"): [
        (5.0, (("CampaignActivityId", "a1"),)),
        (3.0, (("CampaignActivityId", "a2"),)),
    ],
    ("campaign", "successful-delivery-rate"): [(0.8, ())],
    ("campaign", "successful-delivery-rate-grouped-by-campaign-activity"): [
        (0.7142857142857143, (("CampaignActivityId", "a1"),)),
        (1.0, (("CampaignActivityId", "a2"),)),
    ],
    ("campaign", "successful-delivery-rate-grouped-by-date"): [
        (0.75, (("Date", "2026-11-29"),)),
        (1.0, (("Date", "2026-11-30"),)),
    ],
    ("campaign", "unique-deliveries"): [(7.0, ())],
    ("campaign", "unique-deliveries-grouped-by-campaign-activity"): [
        (5.0, (("CampaignActivityId", "a1"),)),
        (2.0, (("CampaignActivityId", "a2"),)),
    ],
    ("campaign", "unique-deliveries-grouped-by-date"): [
        (7.0, (("Date", "2026-11-29"),)),
        (2.0, (("Date", "2026-11-30"),)),
    ],
    ("journey", "emails-clicked-grouped-by-journey-activity"): [(1.0, (("JourneyActivityId", "j1"),))],
    ("journey", "emails-complained-grouped-by-journey-activity"): [(1.0, (("JourneyActivityId", "j2"),))],
    ("journey", "emails-delivered-grouped-by-journey-activity"): [
        (3.0, (("JourneyActivityId", "j1"),)),
        (1.0, (("JourneyActivityId", "j2"),)),
    ],
    ("journey", "emails-hardbounced-grouped-by-journey-activity"): [],
    ("journey", "emails-opened-grouped-by-journey-activity"): [(2.0, (("JourneyActivityId", "j1"),))],
    ("journey", "emails-rejected-grouped-by-journey-activity"): [],
    ("journey", "emails-sent-grouped-by-journey-activity"): [
        (3.0, (("JourneyActivityId", "j1"),)),
        (2.0, (("JourneyActivityId", "j2"),)),
    ],
    ("journey", "emails-softbounced-grouped-by-journey-activity"): [(1.0, (("JourneyActivityId", "j2"),))],
    ("journey", "emails-unsubscribed-grouped-by-journey-activity"): [(1.0, (("JourneyActivityId", "j1"),))],
    ("journey", "journey-emails-clicked"): [(1.0, ())],
    ("journey", "journey-emails-complained"): [(1.0, ())],
    ("journey", "journey-emails-delivered"): [(4.0, ())],
    ("journey", "journey-emails-hardbounced"): [],
    ("journey", "journey-emails-opened"): [(2.0, ())],
    ("journey", "journey-emails-rejected"): [],
    ("journey", "journey-emails-sent"): [(5.0, ())],
    ("journey", "journey-emails-softbounced"): [(1.0, ())],
    ("journey", "journey-emails-unsubscribed"): [(1.0, ())],
}


def service(store: dict[str, dict[str, dict[str, Any]]] = STORE) -> KpiService:
    return KpiService(FakeApps(), FakeRepo(store), clock=lambda: NOW)  # type: ignore[arg-type]


def answer(scope: str, name: str, app: str = APP, start: str | None = START, end: str | None = None) -> Any:
    svc = service()
    if scope == "app":
        return svc.application(app, name, start, end)
    return getattr(svc, scope)(app, CAMPAIGN if scope == "campaign" else JOURNEY, name, start, end)


@pytest.mark.parametrize(("scope", "name"), list(TABLE))
def test_every_kpi_answers_as_before(scope: str, name: str) -> None:
    result = answer(scope, name)
    assert [(row.value, row.grouped_by) for row in result.rows] == TABLE[(scope, name)]
    rows = kpi_response({}, result)["KpiResult"]["Rows"]
    key = name.split("-grouped-by-")[0].title().replace("-", "")  # Pinpoint's value key: TxnEmailsSent
    assert all(row["Values"][0]["Key"] == key and row["Values"][0]["Type"] == "Double" for row in rows)


def test_the_table_covers_every_registry_entry_and_grouping() -> None:
    declared = {
        (kpi.scope, kpi.name if g.name is None else f"{kpi.name}-grouped-by-{g.name}")
        for kpi in registry.KPIS.values()
        for g in kpi.groupings
    }
    assert declared == set(TABLE)


REFUSED = [
    "no-such-kpi", "txn-emails-xyz", "txn-sms-xyz", "retention-8-day", "emails-sent", "journey-emails-bogus",
    "txn-sms-error-distribution-grouped-by-date", "daily-active-endpoints", "grouped-by-date",
    "emails-opened-grouped-by-journey-activity-grouped-by-date", "journey-emails-sent-grouped-by-journey-activity",
    "sms-spend-grouped-by-campaign-activity", "event-count-grouped-by-country", "txn-sms-average-price",
    "successful-deliveries", "journey-emails-sent-grouped-by-date",
]  # fmt: skip
BAD_SHAPE = ["Bad_Name", "x", "Journey-Emails-Sent", "txn_emails_sent"]
NOUN = {"app": "application", "campaign": "campaign", "journey": "journey"}


@pytest.mark.parametrize("scope", ["app", "campaign", "journey"])
@pytest.mark.parametrize("name", REFUSED + BAD_SHAPE)
def test_unknown_names_are_refused_as_before(scope: str, name: str) -> None:
    if (scope, name) in TABLE:
        return  # e.g. successful-deliveries is refused ungrouped only where the table has no such entry
    with pytest.raises(BadRequest) as caught:
        answer(scope, name)
    if name in BAD_SHAPE and scope != "journey":  # journey names were never checked for shape
        assert caught.value.message == "kpi-name must be two or more lowercase alphanumeric terms joined by hyphens"
    else:
        assert caught.value.message == f"kpi-name {name} is not a supported {NOUN[scope]} KPI"


@pytest.mark.parametrize("scope", ["app", "campaign", "journey"])
def test_an_unknown_app_is_not_found_before_the_range_and_the_name_are_checked(scope: str) -> None:
    with pytest.raises(NotFound):
        answer(scope, "Bad_Name", app="nope", start="nope")


def test_the_range_is_checked_before_the_name_and_homing_kpis_allow_longer_ranges() -> None:
    with pytest.raises(BadRequest, match=r"^start-time must be an ISO 8601 timestamp"):
        answer("app", "Bad_Name", start="nope")
    long_ago = "2026-10-01T00:00:00Z"
    assert answer("app", "event-count", start=long_ago).rows
    with pytest.raises(BadRequest, match="at most 31 days"):
        answer("app", "txn-emails-sent", start=long_ago)
    with pytest.raises(BadRequest, match="at most 31 days"):
        answer("campaign", "sms-spend", start=long_ago)


def test_rolling_kpis_read_the_history_others_do_not() -> None:
    rolling = {(k.scope, k.name) for k in registry.KPIS.values() if k.rolling()}
    assert rolling == {("app", "monthly-active-endpoints"), ("app", "monthly-active-users"), ("app", "sticky-factor")}


def test_event_stats() -> None:
    store: dict[str, dict[str, dict[str, Any]]] = {
        f"EVT#{APP}#buy": {
            D1: {"count": 3, "sum:price": 6.0, "n:price": 3, "min:price": 1.0, "max:price": 3.0},
            D2: {"count": 1, "sum:price": 10.0, "n:price": 1, "min:price": 10.0, "max:price": 10.0},
        },
        f"EVA#{APP}#buy": {
            event_values_key(APP, "buy", 20786, "item", "hat")[1]: {"count": 3},
            event_values_key(APP, "buy", 20787, "item", "hat")[1]: {"count": 1},
            event_values_key(APP, "buy", 20787, "a#b", "v#w")[1]: {"count": 1},
        },
    }
    got = event_stats_response(service(store).event_stats(APP, "buy", START, None))
    assert got == {
        "ApplicationId": APP,
        "EventType": "buy",
        "StartTime": "2026-11-29T00:00:00+00:00",
        "EndTime": "2026-11-30T12:00:00+00:00",
        "Count": 4.0,
        "Days": [{"Date": D1, "Count": 3.0}, {"Date": D2, "Count": 1.0}],
        "Attributes": {"a#b": {"v#w": 1.0}, "item": {"hat": 4.0}},
        "Metrics": {"price": {"Sum": 16.0, "Count": 4.0, "Min": 1.0, "Max": 10.0, "Average": 4.0}},
    }
