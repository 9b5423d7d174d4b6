"""Event aggregation, pure: what one event-stream record adds to the analytics.

``Aggregator.apply`` turns records into three kinds of writes, given the current per-entity state:
- counter deltas (DynamoDB ``ADD``) on small day items — reading a 90-day range is one query;
- new versions of state items (endpoint and user activity, first-time markers) that decide whether a
  record counts as a new active endpoint/user, a retained user, a unique open, …;
- idempotent extras (metric min/max, funnel timelines) that may be applied more than once.
The storage side (homing.services.analytics) commits the first two atomically with the shard's
checkpoint, which is what makes a replayed batch count nothing twice.

Day numbers are days since 1970-01-01 (UTC); day items are keyed by their ISO date.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

DAY_MS = 86_400_000
MAU_WINDOW = 30  # rolling 30-day window for monthly active endpoints/users
RETENTION_DAYS = (7, 14, 30)
KEEP_ACTIVE_DAYS = 120  # active days remembered per endpoint/user (covers MAU and retention windows)
# Engagement events are produced by sending, not by the app being used: they never count as activity.
ENGAGEMENT_PREFIXES = ("_campaign.", "_journey.", "_email.", "_SMS.", "_sms.", "_push.", "_voice.", "_inapp.")
DEMOGRAPHICS = {
    "platform": ("Demographic", "Platform"),
    "app_version": ("Demographic", "AppVersion"),
    "make": ("Demographic", "Make"),
    "model": ("Demographic", "Model"),
    "locale": ("Demographic", "Locale"),
    "country": ("Location", "Country"),
}
PUSH_DELIVERY_TYPES = {"ADM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "GCM", "BAIDU", "PUSH"}
EMAIL_KINDS = {
    "_email.send": "sent",
    "_email.delivered": "delivered",
    "_email.open": "opened",
    "_email.click": "clicked",
    "_email.hardbounce": "hardbounced",
    "_email.softbounce": "softbounced",
    "_email.complaint": "complained",
    "_email.rejected": "rejected",
    "_email.unsubscribe": "unsubscribed",
}
UNIQUE_EMAIL_KINDS = {"opened", "clicked"}

Key = tuple[str, str]


# --- counter names: the one home. The Aggregator below writes them, the KPI registry
# (homing.domain.kpis) reads them, the repository stores them. A name is ``<base>[:<group>][:unique]``:
# ``group`` narrows a counter to one campaign activity, journey activity, country, event type,
# demographic value or SMS error code (narrow()); ``:unique`` counts once per message (unique()).

EVENTS = "events"  # activity events of an app day
SESSIONS = "sessions"
SESSION_STOPS = "session_stops"  # stops with a duration
SESSION_MS = "session_ms"
ACTIVE_ENDPOINTS = "active_endpoints"
ACTIVE_USERS = "active_users"
NEW_ENDPOINTS = "new_endpoints"
NEW_USERS = "new_users"
CUSTOM_EVENT = "evt"  # narrowed by event type: evt:<type>
EVENT_COUNT = "count"  # on an event type's day item, and on each attribute-value item
SMS_SPEND = "sms_spend"  # on a campaign's day item
PUSH_SENT = "push_sent"
PUSH_OPENED = "push_opened"
UNIQUE_DELIVERIES = "unique_deliveries"  # endpoints a campaign reached, once ever
UNIQUE_DELIVERIES_DAY = "unique_deliveries_day"  # endpoints a campaign reached, once per day
SEND_SUCCESS = "SUCCESS"
CAMPAIGN_SENT = "sent"  # successful sends of one campaign, on the app's day items (by_campaign)
# campaign sends that were never attempted (Pinpoint's campaign_send_status values)
NOT_ATTEMPTED = frozenset(
    {"HOLDOUT", "QUIET_TIME", "DAILY_CAP", "CAMPAIGN_CAP", "DUPLICATE_ADDRESS", "EXPIRED", "UNSUPPORTED_CHANNEL"}
)
SEND_PREFIX = "send:"
BY_CAMPAIGN_PREFIX = "bycmp:"
SMS_ERROR = "txn_sms_error"  # narrowed by record status: txn_sms_error:<code>
UNIQUE_SUFFIX = ":unique"


def narrow(name: str, group: str) -> str:
    """``name`` counted for one group only: ``email_opened:unique`` -> ``email_opened:<group>:unique``."""
    if name.endswith(UNIQUE_SUFFIX):
        return f"{name[: -len(UNIQUE_SUFFIX)]}:{group}{UNIQUE_SUFFIX}"
    return f"{name}:{group}"


def unique(name: str) -> str:
    return name + UNIQUE_SUFFIX


def retained(days: int) -> str:
    """Users first seen on this day who came back ``days`` days later."""
    return f"retained_{days}"


def mau_delta(who: str) -> str:
    """+1/-1 where a rolling 30-day window of ``who`` (endpoints, users) gains or loses an active one."""
    return f"mau_{who}_delta"


def demographic(name: str) -> str:
    """Active endpoints by a demographic (DEMOGRAPHICS), narrowed by its value: demo:<name>:<value>."""
    return f"demo:{name}"


def metric_sum(name: str) -> str:
    return f"sum:{name}"


def metric_count(name: str) -> str:
    return f"n:{name}"


def metric_min(name: str) -> str:
    return f"min:{name}"


def metric_max(name: str) -> str:
    return f"max:{name}"


METRIC_SUM_PREFIX = "sum:"


def email(kind: str) -> str:
    """Campaign and journey email events by kind (EMAIL_KINDS values)."""
    return f"email_{kind}"


def txn_email(kind: str) -> str:
    """Transactional (no campaign, no journey) email events by kind."""
    return f"txn_email_{kind}"


def txn_sms(kind: str) -> str:
    """Transactional SMS: sent, delivered, sent_parts, delivered_parts, price, priced, priced_parts."""
    return f"txn_sms_{kind}"


def send(status: str) -> str:
    """Campaign sends by campaign_send_status."""
    return f"{SEND_PREFIX}{status}"


def by_campaign(campaign: str, name: str) -> str:
    """An app-day counter of one campaign (campaign KPIs of the whole app): bycmp:<campaign>:<name>."""
    return f"{BY_CAMPAIGN_PREFIX}{campaign}:{name}"


# Readers of the groups in counter names (KPIs grouped by a dimension).


def suffixes(counters: dict[str, float], base: str) -> list[str]:
    """Every group of ``base`` (everything after ``<base>:``; event types and demographic values may hold ``:``)."""
    prefix = base + ":"
    return sorted(k[len(prefix) :] for k in counters if k.startswith(prefix))


def campaign_activities(counters: dict[str, float]) -> list[str]:
    """Activities of a campaign's day items, from its send:<status>:<activity> counters."""
    return sorted({k.split(":")[2] for k in counters if k.startswith(SEND_PREFIX) and k.count(":") == 2})


def journey_activities(counters: dict[str, float]) -> list[str]:
    """Activities of a journey's day items, from its email_<kind>:<activity> counters."""
    return sorted(
        {
            p[1]
            for k in counters
            if k.startswith(email("")) and len(p := k.split(":")) > 1 and p[1] not in ("", "unique")
        }
    )


def sms_countries(counters: dict[str, float]) -> list[str]:
    """Countries of the transactional SMS counters (txn_sms_<kind>:<country>)."""
    return sorted(
        {k.split(":")[1] for k in counters if k.startswith("txn_sms_") and ":" in k and not k.startswith(SMS_ERROR)}
    )


def campaigns(counters: dict[str, float]) -> list[str]:
    """Campaigns of an app's bycmp:<campaign>:<name> counters."""
    return sorted({k[len(BY_CAMPAIGN_PREFIX) :].split(":")[0] for k in counters if k.startswith(BY_CAMPAIGN_PREFIX)})


def all_campaigns(counters: dict[str, float], name: str) -> float | None:
    """``name`` summed over every campaign of the app (bycmp:<any campaign>:<name>); None when none has it."""
    suffix = ":" + name
    vals = [
        v
        for k, v in counters.items()
        if k.startswith(BY_CAMPAIGN_PREFIX)
        and k.endswith(suffix)
        and ":" not in k[len(BY_CAMPAIGN_PREFIX) : len(k) - len(suffix)]
    ]
    return sum(vals) if vals else None


def rolling_actives(deltas: dict[int, float], first_day: int, last_day: int) -> dict[str, float]:
    """Rolling 30-day actives per day of [first_day, last_day]: the running sum of the window deltas
    (mau_delta) since the app began, by ISO day."""
    running, out = 0.0, {}
    for day in sorted(deltas):
        if day >= first_day:
            break
        running += deltas[day]
    for day in range(first_day, last_day + 1):
        running += deltas.get(day, 0.0)
        out[day_iso(day)] = running
    return out


# What a record must hold to be countable. PutEvents accepts narrower ranges (domain.events); these
# bounds keep the day arithmetic (windows reach 30+ days past an event) and DynamoDB's numbers
# (38 significant digits, ADD of rounded values) valid for any record that reaches the stream.
MIN_EVENT_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_EVENT_MS = 32_503_680_000_000  # 3000-01-01T00:00:00Z
MAX_METRIC = 1e15
MAX_DURATION_MS = 10**13
COUNTER_DECIMALS = 6  # counters add values rounded to this many decimals: sums stay exact in DynamoDB
MAX_SORT_KEY_BYTES = 1024
MAX_KEY_PART_BYTES = 400


def bounded(text: str, max_bytes: int = MAX_KEY_PART_BYTES) -> str:
    """``text`` if it fits in a key part, else a digest of it: a stable stand-in for ids too long
    for DynamoDB's key limits (sort keys ≤ 1,024 bytes, partition keys ≤ 2,048)."""
    if len(text.encode("utf-8", "surrogatepass")) <= max_bytes:
        return text
    return "~sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _escape(text: str) -> str:
    """Only what would be mistaken for a separator: unquote() reads these and the older, fully
    percent-encoded names alike, and key parts stay short (a 200-character value fits a sort key)."""
    return text.replace("%", "%25").replace("#", "%23")


def counter_value(value: float) -> float:
    return round(value, COUNTER_DECIMALS)


def day_number(ms: int) -> int:
    return ms // DAY_MS


@lru_cache(maxsize=4096)
def day_iso(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def day_from_iso(value: str) -> int:
    return (date.fromisoformat(value) - date(1970, 1, 1)).days


def now_day() -> int:
    return day_number(int(datetime.now(UTC).timestamp() * 1000))


# --- partition keys: the one home of the Analytics table's key shapes ---------------------------


def app_partition(app: str) -> str:
    """An app's day items (``APP#<app>``), one per day with counters."""
    return f"APP#{app}"


def app_values_partition(app_partition_key: str) -> str | None:
    """The partition of the value counters that belong with an app's day items (``APV#<app>``);
    None for any other partition (campaign, journey, event type)."""
    if not app_partition_key.startswith("APP#"):
        return None
    return "APV#" + app_partition_key[len("APP#") :]


def campaign_partition(app: str, campaign: str) -> str:
    return f"CMP#{app}#{bounded(campaign, 1024)}"


def journey_partition(app: str, journey: str) -> str:
    return f"JNY#{app}#{bounded(journey, 1024)}"


def event_partition(app: str, event_type: str) -> str:
    return f"EVT#{app}#{bounded(event_type, 1024)}"


def event_values_partition(app: str, event_type: str) -> str:
    return f"EVA#{app}#{bounded(event_type, 1024)}"


CHECKPOINT_PARTITION = "CKPT"  # shard checkpoints: CKPT / <shard id>


def app_day(app: str, day: int) -> Key:
    return (app_partition(app), day_iso(day))


VALUE_COUNTER = "n"


def app_value_key(day_key: Key, name: str) -> Key:
    """Counters named after user data (``demo:model:<value>``, ``evt:<type>``, ``bycmp:<campaign>:…``,
    per-country SMS counters) live in an item each, ``APV#<app>`` / ``<date>#<name>``, not on the app's
    day item: their number is unbounded, and one item holds at most 400 KB. KPIs read both as one."""
    pk, day = day_key
    values = app_values_partition(pk)
    assert values is not None, "value counters belong to an app's day items"
    return (values, f"{day}#{bounded(name, MAX_SORT_KEY_BYTES - 16)}")


def app_value_from_key(sk: str) -> tuple[str, str]:
    """(ISO day, counter name) of a value-counter item's sort key (app_value_key)."""
    day, _, name = sk.partition("#")
    return day, name


def values_range(first_day: str, last_day: str) -> tuple[str, str]:
    """Sort-key bounds of the value items (app values, event attribute values) of a range of days."""
    return first_day, last_day + "#\uffff"


def campaign_day(app: str, campaign: str, day: int) -> Key:
    return (campaign_partition(app, campaign), day_iso(day))


def journey_day(app: str, journey: str, day: int) -> Key:
    return (journey_partition(app, journey), day_iso(day))


def event_day(app: str, event_type: str, day: int) -> Key:
    return (event_partition(app, event_type), day_iso(day))


def event_values_key(app: str, event_type: str, day: int, attribute: str, value: str) -> Key:
    """The attribute name is percent-encoded so that ``#`` in it cannot be mistaken for the separator."""
    sk = f"{day_iso(day)}#{_escape(attribute)}#{value}"
    if len(sk.encode("utf-8", "surrogatepass")) > MAX_SORT_KEY_BYTES:
        sk = f"{day_iso(day)}#{bounded(_escape(attribute))}#{bounded(value)}"
    return (event_values_partition(app, event_type), sk)


def event_value_from_key(sk: str) -> tuple[str, str, str]:
    """(ISO day, attribute name, value) of an event attribute-value item's sort key."""
    day, name, value = sk.split("#", 2)
    return day, unquote(name), value


def endpoint_activity_key(app: str, endpoint_id: str) -> Key:
    return (f"EPA#{app}", bounded(endpoint_id.lower(), MAX_SORT_KEY_BYTES))


def user_activity_key(app: str, user_id: str) -> Key:
    return (f"USA#{app}", bounded(user_id, MAX_SORT_KEY_BYTES))


def message_marker_key(app: str, message_id: str) -> Key:
    return (f"MSG#{app}", bounded(message_id, MAX_SORT_KEY_BYTES))


def delivery_marker_key(app: str, campaign: str, endpoint_id: str) -> Key:
    return (f"CDE#{app}#{bounded(campaign, 1024)}", bounded(endpoint_id.lower(), MAX_SORT_KEY_BYTES))


def timeline_key(app: str, event_type: str, day: int) -> str:
    return f"FT#{app}#{bounded(event_type, 1024)}#{day_iso(day)}"


def timeline_entry(r: Record) -> tuple[str, str, dict[str, Any]]:
    """One funnel timeline item per event, keyed so that writing it twice changes nothing."""
    endpoint = bounded(quote(r.endpoint_id.lower(), safe=""))
    sk = f"{endpoint}#{r.timestamp_ms:013d}#{bounded(quote(r.event_id, safe=''))}"
    return timeline_key(r.app_id, r.event_type, r.day), sk, {"a": r.attributes, "u": r.user_id or ""}


def timeline_from_key(sk: str) -> tuple[str, int]:
    """(endpoint, event time in ms) of a timeline item's sort key (timeline_entry); the endpoint as
    written there, lower-cased and percent-encoded."""
    endpoint, ts, _ = sk.split("#")  # each part is percent-encoded: no "#" inside
    return endpoint, int(ts)


@dataclass
class State:
    """A read-modify-write item: activity of an endpoint or user, or a first-time marker."""

    version: int = 0  # 0 = does not exist yet
    first_day: int | None = None
    days: set[int] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)


@dataclass
class Record:
    """The fields of an event-stream record that analytics uses."""

    app_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    timestamp_ms: int
    attributes: dict[str, str]
    metrics: dict[str, float]
    session: dict[str, Any]
    endpoint: dict[str, Any]

    @property
    def user_id(self) -> str | None:
        user = self.endpoint.get("User") or {}
        return user.get("UserId") or None

    @property
    def day(self) -> int:
        return day_number(self.timestamp_ms)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    number = float(value)  # OverflowError for ints past a double: caught by the caller
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} is out of range")
    return number


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def parse_record(data: dict[str, Any]) -> Record:
    """Validate a stream record; raises ValueError for one that cannot be counted (reported as a
    batch item failure). Everything a record carries is checked here, so counting it cannot fail."""
    try:
        app = _text(data["application"]["app_id"], "app_id")
        endpoint_id = _text(data["client"]["client_id"], "client_id")
        event_type = _text(data["event_type"], "event_type")
        ts = int(_number(data["event_timestamp"], "event_timestamp", MIN_EVENT_MS, MAX_EVENT_MS))
        attributes = data.get("attributes") or {}
        metrics = data.get("metrics") or {}
        session = data.get("session") or {}
        endpoint = data.get("endpoint") or {}
        if not all(isinstance(m, dict) for m in (attributes, metrics, session, endpoint)):
            raise ValueError("attributes, metrics, session and endpoint must be maps")
        clean_session: dict[str, Any] = {}
        for name, high in (
            ("duration", MAX_DURATION_MS),
            ("start_timestamp", MAX_EVENT_MS),
            ("stop_timestamp", MAX_EVENT_MS),
        ):
            if session.get(name) is not None:
                clean_session[name] = int(_number(session[name], f"session.{name}", -high, high))
        if session.get("session_id") is not None:
            clean_session["session_id"] = str(session["session_id"])
        user = endpoint.get("User") or {}
        if not isinstance(user, dict) or not isinstance(user.get("UserId") or "", str):
            raise ValueError("endpoint.User.UserId must be a string")
        for group, _ in DEMOGRAPHICS.values():
            if not isinstance(endpoint.get(group) or {}, dict):
                raise ValueError(f"endpoint.{group} must be a map")
        return Record(
            app_id=app,
            endpoint_id=endpoint_id,
            event_id=str(data.get("event_id") or f"{endpoint_id}:{event_type}:{ts}"),
            event_type=event_type,
            timestamp_ms=ts,
            attributes={str(k): str(v) for k, v in attributes.items()},
            metrics={str(k): _number(v, f"metrics.{k}", -MAX_METRIC, MAX_METRIC) for k, v in metrics.items()},
            session=clean_session,
            endpoint=endpoint,
        )
    except KeyError as exc:
        raise ValueError(f"not an event-stream record: missing {exc}") from None
    except (TypeError, OverflowError, ValueError) as exc:
        raise ValueError(f"not an event-stream record: {exc}") from None


def max_new_keys(r: Record) -> int:
    """An upper bound on the items one record can add to a transaction: app day, retention cohort
    day, two MAU window ends for each of endpoint and user, event day, campaign/journey day, four
    state items, one item per attribute value, and the app's value counters (app_value_key): six
    demographics and the event type for app events, fewer for engagement events."""
    return 12 + 7 + len(r.attributes)  # + value counters: 6 demographics and the event type at most


def is_activity(event_type: str) -> bool:
    return not event_type.startswith(ENGAGEMENT_PREFIXES)


def _new_in_windows(days: set[int], day: int) -> list[tuple[int, int]]:
    """Days d in [day, day+29] whose rolling 30-day window gains its first active day with ``day``.

    Returned as (start, end) half-open ranges, so MAU can be kept as +1/-1 deltas (a difference array).
    """
    earlier = [d for d in days if day - MAU_WINDOW < d < day]
    later = [d for d in days if day < d < day + MAU_WINDOW]
    start = max(earlier) + MAU_WINDOW if earlier else day
    end = min(later) if later else day + MAU_WINDOW
    return [(start, end)] if start < end else []


@dataclass
class Writes:
    counters: dict[Key, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    states: dict[Key, State] = field(default_factory=dict)
    minima: dict[tuple[Key, str], float] = field(default_factory=dict)
    maxima: dict[tuple[Key, str], float] = field(default_factory=dict)
    timeline: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, key: Key, name: str, value: float = 1.0) -> None:
        if ":" in name and app_values_partition(key[0]) is not None:
            key, name = app_value_key(key, name), VALUE_COUNTER
        self.counters[key][name] += value

    def keys(self) -> set[Key]:
        return set(self.counters) | set(self.states)


class Aggregator:
    """Applies records in order to a working copy of the state items they touch."""

    def __init__(self, load: Callable[[set[Key]], dict[Key, State]]) -> None:
        self._load = load
        self.state: dict[Key, State] = {}
        self.writes = Writes()

    def needs(self, record: Record) -> set[Key]:
        """State items ``record`` may read (loaded in bulk before applying a chunk)."""
        keys = {endpoint_activity_key(record.app_id, record.endpoint_id)}
        if record.user_id:
            keys.add(user_activity_key(record.app_id, record.user_id))
        message_id = record.attributes.get("message_id")
        if message_id:
            keys.add(message_marker_key(record.app_id, message_id))
        campaign = record.attributes.get("campaign_id")
        if campaign and record.event_type == "_campaign.send":
            keys.add(delivery_marker_key(record.app_id, campaign, record.endpoint_id))
        return keys

    def prefetch(self, records: Iterable[Record]) -> None:
        wanted = set().union(*(self.needs(r) for r in records)) - self.state.keys()
        if wanted:
            found = self._load(wanted)
            for key in wanted:
                self.state[key] = found.get(key, State())

    def _get(self, key: Key) -> State:
        if key not in self.state:
            self.state[key] = self._load({key}).get(key, State())
        return self.state[key]

    def _put(self, key: Key, state: State) -> None:
        self.state[key] = state
        self.writes.states[key] = state

    def reset_writes(self) -> None:
        self.writes = Writes()

    def committed(self) -> None:
        """After a commit the written versions are what is stored: bump them, start a new chunk."""
        for key in self.writes.states:
            self.state[key] = dataclasses.replace(self.state[key], version=self.state[key].version + 1)
        self.reset_writes()

    def forget(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self.state.pop(key, None)

    # --- the rules ------------------------------------------------------------------------------

    def apply(self, r: Record) -> None:
        w = self.writes
        if is_activity(r.event_type):
            self._activity(r)
            self._custom_event(r)
        elif r.event_type.startswith("_email."):
            self._email(r)
        elif r.event_type.startswith(("_SMS.", "_sms.")):
            self._sms(r)
        if r.event_type.startswith("_campaign."):
            self._campaign_send(r)
        if is_activity(r.event_type):
            w.timeline.append(timeline_entry(r))

    def _activity(self, r: Record) -> None:
        w, day, app = self.writes, r.day, app_day(r.app_id, r.day)
        w.add(app, EVENTS)
        if r.event_type == "_session.start":
            w.add(app, SESSIONS)
        elif r.event_type == "_session.stop":
            duration = r.session.get("duration")
            if duration is None and r.session.get("start_timestamp") and r.session.get("stop_timestamp"):
                duration = int(r.session["stop_timestamp"]) - int(r.session["start_timestamp"])
            if duration is not None and duration >= 0:
                w.add(app, SESSION_STOPS)
                w.add(app, SESSION_MS, float(min(duration, MAX_DURATION_MS)))
        ep_key = endpoint_activity_key(r.app_id, r.endpoint_id)
        ep = self._get(ep_key)
        if day not in ep.days:
            w.add(app, ACTIVE_ENDPOINTS)
            for name, (group, member) in DEMOGRAPHICS.items():
                value = (r.endpoint.get(group) or {}).get(member)
                if value not in (None, ""):
                    w.add(app, narrow(demographic(name), value))
            self._mau(r.app_id, "endpoints", ep.days, day)
            if ep.first_day is None:
                w.add(app, NEW_ENDPOINTS)
            self._put(ep_key, self._touch(ep, day))
        if r.user_id:
            u_key = user_activity_key(r.app_id, r.user_id)
            user = self._get(u_key)
            if day not in user.days:
                w.add(app, ACTIVE_USERS)
                self._mau(r.app_id, "users", user.days, day)
                if user.first_day is None:
                    w.add(app, NEW_USERS)
                else:
                    for n in RETENTION_DAYS:
                        if day - user.first_day == n:
                            w.add(app_day(r.app_id, user.first_day), retained(n))
                self._put(u_key, self._touch(user, day))

    def _mau(self, app: str, who: str, days: set[int], day: int) -> None:
        for start, end in _new_in_windows(days, day):
            self.writes.add(app_day(app, start), mau_delta(who), 1)
            self.writes.add(app_day(app, end), mau_delta(who), -1)

    @staticmethod
    def _touch(state: State, day: int) -> State:
        newest = max(max(state.days, default=day), day)
        days = {d for d in state.days if d > newest - KEEP_ACTIVE_DAYS}
        days.add(day)
        first = day if state.first_day is None else min(state.first_day, day)
        return dataclasses.replace(state, days=days, first_day=first)

    def _custom_event(self, r: Record) -> None:
        if r.event_type.startswith("_session."):
            return
        key = event_day(r.app_id, r.event_type, r.day)
        self.writes.add(key, EVENT_COUNT)
        self.writes.add(app_day(r.app_id, r.day), narrow(CUSTOM_EVENT, r.event_type))
        for name, value in r.metrics.items():
            self.writes.add(key, metric_sum(name), counter_value(value))
            self.writes.add(key, metric_count(name))
            mk = (key, name)
            self.writes.minima[mk] = min(value, self.writes.minima.get(mk, value))
            self.writes.maxima[mk] = max(value, self.writes.maxima.get(mk, value))
        for name, text in r.attributes.items():
            self.writes.add(event_values_key(r.app_id, r.event_type, r.day, name, text), EVENT_COUNT)

    def _first(self, key: Key, flag: str) -> bool:
        """True the first time ``flag`` is seen on marker ``key`` (and records it)."""
        state = self._get(key)
        if flag in state.flags:
            return False
        self._put(key, dataclasses.replace(state, flags=state.flags | {flag}))
        return True

    def _email(self, r: Record) -> None:
        kind = EMAIL_KINDS.get(r.event_type)
        if kind is None:
            return
        w, a = self.writes, r.attributes
        message_id = a.get("message_id")
        first_for_message = kind in UNIQUE_EMAIL_KINDS and (
            not message_id or self._first(message_marker_key(r.app_id, message_id), kind)
        )
        app = app_day(r.app_id, r.day)

        def count(key: Key, name: str) -> None:  # every event, and once per message for opens/clicks
            w.add(key, name)
            if first_for_message:
                w.add(key, unique(name))

        if a.get("campaign_id"):
            owner, activity = campaign_day(r.app_id, a["campaign_id"], r.day), a.get("campaign_activity_id", "")
            count(app, by_campaign(a["campaign_id"], email(kind)))
        elif a.get("journey_id"):
            owner, activity = journey_day(r.app_id, a["journey_id"], r.day), a.get("journey_activity_id", "")
        else:
            count(app, txn_email(kind))
            return
        count(owner, email(kind))
        count(owner, narrow(email(kind), activity))

    def _sms(self, r: Record) -> None:
        w, a = self.writes, r.attributes
        price = r.metrics.get("price_in_millicents_usd")
        if a.get("campaign_id"):
            if price is not None:
                w.add(campaign_day(r.app_id, a["campaign_id"], r.day), SMS_SPEND, counter_value(price))
            return
        if a.get("journey_id"):
            return
        key, country = app_day(r.app_id, r.day), a.get("iso_country_code") or "UNKNOWN"
        try:
            parts = float(a.get("number_of_message_parts") or 1)
        except ValueError:
            parts = 1.0
        if not 0 <= parts <= 1000:  # "nan", "1e400" and the like: an SMS has a few parts
            parts = 1.0
        parts = counter_value(parts)
        kind = {"_SMS.BUFFERED": "sent", "_SMS.SEND": "sent", "_SMS.SUCCESS": "delivered"}.get(r.event_type)
        if kind:
            for name in (txn_sms(kind), narrow(txn_sms(kind), country)):
                w.add(key, name)
            for name in (txn_sms(f"{kind}_parts"), narrow(txn_sms(f"{kind}_parts"), country)):
                w.add(key, name, parts)
        if r.event_type == "_SMS.FAILURE":
            w.add(key, narrow(SMS_ERROR, a.get("record_status") or "UNKNOWN"))
        if price is not None:
            w.add(key, narrow(txn_sms("price"), country), counter_value(price))
            w.add(key, narrow(txn_sms("priced"), country))
            w.add(key, narrow(txn_sms("priced_parts"), country), parts)

    def _campaign_send(self, r: Record) -> None:
        w, a = self.writes, r.attributes
        campaign = a.get("campaign_id")
        if not campaign:
            return
        key, app = campaign_day(r.app_id, campaign, r.day), app_day(r.app_id, r.day)
        activity = a.get("campaign_activity_id", "")
        if r.event_type == "_campaign.send":
            status = a.get("campaign_send_status", SEND_SUCCESS)
            w.add(key, send(status))
            w.add(key, narrow(send(status), activity))
            if status != SEND_SUCCESS:
                return
            w.add(app, by_campaign(campaign, CAMPAIGN_SENT))
            push = a.get("delivery_type") in PUSH_DELIVERY_TYPES
            if push:
                w.add(key, PUSH_SENT)
                w.add(key, narrow(PUSH_SENT, activity))
                w.add(app, by_campaign(campaign, PUSH_SENT))
            marker = delivery_marker_key(r.app_id, campaign, r.endpoint_id)
            if self._first(marker, "any"):
                w.add(key, UNIQUE_DELIVERIES)
                w.add(app, by_campaign(campaign, UNIQUE_DELIVERIES))
            if self._first(marker, f"day:{r.day}"):
                w.add(key, UNIQUE_DELIVERIES_DAY)
                w.add(app, by_campaign(campaign, UNIQUE_DELIVERIES_DAY))
            if self._first(marker, f"activity:{activity}"):
                w.add(key, narrow(UNIQUE_DELIVERIES, activity))
        elif r.event_type == "_campaign.opened_notification":
            w.add(key, PUSH_OPENED)
            w.add(key, narrow(PUSH_OPENED, activity))
            w.add(app, by_campaign(campaign, PUSH_OPENED))
