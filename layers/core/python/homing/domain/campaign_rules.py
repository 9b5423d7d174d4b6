"""Campaign audience rules, pure: holdout and treatment assignment, caps, pacing, event filters, exclusions.

The delivery workflow (send_batch) and the events pipeline apply these to each endpoint of a run;
the campaign family maps its records onto the small inputs declared here (``Allocation``,
``Limits``, ``CampaignEventFilter``), so these rules do not depend on how campaigns are stored.
The semantics chosen where Pinpoint is silent are in docs/decisions.md ("Campaign audience rules").
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from homing.domain.apps import ApplicationSettings
from homing.domain.errors import BadRequest
from homing.domain.segments import (
    AttributeDimension,
    MetricDimension,
    SetDimension,
    attribute_values_match,
    check_dimension_attribute,
    check_dimension_metric,
    check_dimension_set,
    metric_value_matches,
    set_value_matches,
)

# --- stable assignment: holdout and treatments ----------------------------------------------------

HOLDOUT: Final = -1
"""``assign``'s answer for an endpoint in the campaign's holdout (it gets nothing, counted as holdout)."""
DEFAULT_TREATMENT: Final = 0
"""The campaign's own message; additional treatment ``i`` (0-based in AdditionalTreatments) is ``i + 1``."""
_SPAN = 1 << 53  # a float holds 53 bits exactly: buckets are k * 100 / 2**53, all below 100


@dataclass(frozen=True)
class Allocation:
    """What assignment needs of a campaign: its id, ``HoldoutPercent`` and each additional
    treatment's ``SizePercent`` (in AdditionalTreatments order); the default treatment gets the rest."""

    campaign_id: str
    holdout_percent: int = 0
    treatment_size_percents: tuple[int, ...] = ()

    @property
    def default_percent(self) -> int:
        return 100 - self.holdout_percent - sum(self.treatment_size_percents)


def check_allocation(allocation: Allocation) -> None:
    """Pinpoint's shares are of the whole segment: holdout plus the treatments' sizes at most 100."""
    if not 0 <= allocation.holdout_percent <= 100:
        raise BadRequest("HoldoutPercent must be between 0 and 100")
    for i, size in enumerate(allocation.treatment_size_percents):
        if not 0 <= size <= 100:
            raise BadRequest(f"AdditionalTreatments[{i}].SizePercent must be between 0 and 100")
    if allocation.default_percent < 0:
        raise BadRequest("HoldoutPercent and the AdditionalTreatments' SizePercent must add up to 100 or less")


def _key(campaign_id: str) -> bytes:
    # BLAKE2b keys are at most 64 bytes; a digest of the id always fits and keeps every id distinct.
    return hashlib.sha256(campaign_id.encode("utf-8", "surrogatepass")).digest()


def bucket(campaign_id: str, endpoint_id: str) -> float:
    """The endpoint's place in the campaign, in [0, 100): a keyed BLAKE2b hash of its id.

    Stable across runs, processes and Python versions (no ``hash()``), independent between
    campaigns (the campaign id is the key), and uniform. Endpoint ids are case-insensitive, so the
    id is lower-cased first.
    """
    digest = hashlib.blake2b(
        endpoint_id.lower().encode("utf-8", "surrogatepass"), key=_key(campaign_id), digest_size=8
    ).digest()
    return (int.from_bytes(digest, "big") >> 11) * 100 / _SPAN


def assign(allocation: Allocation, endpoint_id: str) -> int:
    """``HOLDOUT`` or the treatment index the endpoint gets.

    The bucket line is cut in order: the holdout first, then the additional treatments in their
    order, and the default treatment takes what is left, so a share of n percent holds endpoints
    whose buckets fall in an interval n wide.
    """
    place = bucket(allocation.campaign_id, endpoint_id)
    edge = float(allocation.holdout_percent)
    if place < edge:
        return HOLDOUT
    for index, size in enumerate(allocation.treatment_size_percents, start=1):
        edge += size
        if place < edge:
            return index
    return DEFAULT_TREATMENT


# --- limits: caps, duration, pacing ---------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Pinpoint's ``CampaignLimits`` (a campaign's own or the app's defaults), snake_case."""

    daily: int | None = None
    maximum_duration: int | None = None
    messages_per_second: int | None = None
    total: int | None = None
    session: int | None = None


def app_limits(settings: ApplicationSettings | None) -> Limits | None:
    """The app's default limits (its settings' ``Limits``), as this module's record."""
    if settings is None or settings.limits is None:
        return None
    found = settings.limits
    return Limits(found.daily, found.maximum_duration, found.messages_per_second, found.total, found.session)


def effective_limits(campaign: Limits | None, app_defaults: Limits | None) -> Limits:
    """Each limit from the campaign where it sets one, else the app's default; 0 and unset mean no limit."""
    own, default = campaign or Limits(), app_defaults or Limits()

    def pick(name: str) -> int | None:
        value = getattr(own, name)
        if value is None:
            value = getattr(default, name)
        return value if value else None  # 0 is "no limit", as an unset value

    return Limits(
        daily=pick("daily"),
        maximum_duration=pick("maximum_duration"),
        messages_per_second=pick("messages_per_second"),
        total=pick("total"),
        session=pick("session"),
    )


@dataclass(frozen=True)
class CapCheck:
    """One per-endpoint counter a send increments, and the most it may reach (``CapCounter``'s input)."""

    scope: str  # "daily" | "total" | "session"
    counter: str  # the counter's key within the app (see ``cap_checks``)
    cap: int
    expires_at: datetime | None = None  # when the store may forget it (None: with the app)


COUNTER_GRACE = timedelta(days=2)  # a counter outlives its window by this much (clock skew, late retries)


def utc_day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def cap_checks(
    limits: Limits,
    *,
    campaign_id: str,
    endpoint_id: str,
    now: datetime,
    session_id: str | None = None,
    campaign_ends: datetime | None = None,
) -> tuple[CapCheck, ...]:
    """The counters one send to the endpoint must stay within (Pinpoint's semantics, docs/decisions.md):

    - ``Daily``: messages to the endpoint in a UTC day, counted across every campaign of the app;
    - ``Total``: messages this campaign sends the endpoint over all its runs;
    - ``Session``: messages this campaign sends the endpoint within one session (event-triggered
      sends, whose triggering event names the session).

    Daily and session counters expire two days after their window; a Total counter when the
    campaign ends (``campaign_ends``) plus two days, or with the app when the campaign has no end.
    """
    endpoint = endpoint_id.lower()
    checks: list[CapCheck] = []
    if limits.daily:
        day_ends = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        checks.append(CapCheck("daily", f"D#{utc_day(now)}#{endpoint}", limits.daily, day_ends + COUNTER_GRACE))
    if limits.total:
        until = campaign_ends + COUNTER_GRACE if campaign_ends is not None else None
        checks.append(CapCheck("total", f"T#{campaign_id}#{endpoint}", limits.total, until))
    if limits.session and session_id:
        counter = f"S#{campaign_id}#{session_id}#{endpoint}"
        checks.append(CapCheck("session", counter, limits.session, now + COUNTER_GRACE))
    return tuple(checks)


def within_caps(counts: Mapping[str, int], checks: Sequence[CapCheck]) -> bool:
    """Whether one more send keeps every counter within its cap (the rule the store applies atomically)."""
    return all(counts.get(c.counter, 0) < c.cap for c in checks)


def send_deadline(scheduled_start: datetime, limits: Limits) -> datetime | None:
    """``MaximumDuration``: no send of the run starts after this (None: no deadline)."""
    if not limits.maximum_duration:
        return None
    return scheduled_start + timedelta(seconds=limits.maximum_duration)


def past_deadline(now: datetime, scheduled_start: datetime, limits: Limits) -> bool:
    deadline = send_deadline(scheduled_start, limits)
    return deadline is not None and now > deadline


MAX_BATCH: Final = 500  # endpoints per send_batch invocation
MAX_CONCURRENCY: Final = 40  # Map state branches at once


@dataclass(frozen=True)
class PacingPlan:
    """How the delivery workflow's Map state runs a campaign's batches.

    Each branch sends one batch of at most ``batch_size`` endpoints and then waits ``wait_seconds``
    (a Wait state: whole seconds), with at most ``concurrency`` branches at once; so in any
    ``wait_seconds`` window at most ``concurrency * batch_size`` messages go out, which is at most
    ``MessagesPerSecond * wait_seconds``.
    """

    batch_size: int
    concurrency: int
    wait_seconds: int
    batches: int

    @property
    def estimated_seconds(self) -> int:
        """The least time the run takes with this plan (sending time not counted)."""
        return math.ceil(self.batches / self.concurrency) * self.wait_seconds if self.batches else 0


def pacing_plan(
    endpoints: int,
    messages_per_second: int | None,
    *,
    max_batch: int = MAX_BATCH,
    max_concurrency: int = MAX_CONCURRENCY,
) -> PacingPlan:
    """Batch size, Map concurrency and the wait per batch that keep a run within ``MessagesPerSecond``.

    Without a rate the batches run as fast as the Map allows (no wait). With a rate ``r``: as few
    branches as can carry it (``ceil(r / max_batch)``, at most ``max_concurrency``), each sending
    ``r // branches`` per second, so the branches together never send more than ``r`` a second.
    """
    if endpoints < 0:
        raise ValueError("endpoints must not be negative")
    if not messages_per_second:
        batch = max_batch
        return PacingPlan(batch, max_concurrency, 0, math.ceil(endpoints / batch))
    concurrency = min(max_concurrency, math.ceil(messages_per_second / max_batch))
    batch = min(max_batch, messages_per_second // concurrency)
    return PacingPlan(batch, concurrency, 1, math.ceil(endpoints / batch))


# --- event filters (event-triggered campaigns) ----------------------------------------------------

FILTER_TYPES: Final = ("SYSTEM", "ENDPOINT")
# Event types Pinpoint records itself (sends, deliveries, engagement), by prefix: the "system" events.
SYSTEM_EVENT_PREFIXES: Final = ("_campaign.", "_journey.", "_email.", "_SMS.", "_voice.", "_push.", "_inapp.")


@dataclass(frozen=True)
class EventDimensions:
    """Pinpoint's ``EventDimensions``: the event type, attributes and metrics an event must match."""

    event_type: SetDimension | None = None
    attributes: Mapping[str, AttributeDimension] = field(default_factory=dict)
    metrics: Mapping[str, MetricDimension] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignEventFilter:
    """Pinpoint's ``CampaignEventFilter``: ``FilterType`` SYSTEM or ENDPOINT and the dimensions."""

    filter_type: str
    dimensions: EventDimensions


def is_system_event(event_type: str) -> bool:
    return event_type.startswith(SYSTEM_EVENT_PREFIXES)


def matches(event_filter: CampaignEventFilter, record: Mapping[str, Any]) -> bool:
    """Whether an events-stream record (``domain.events.stream_record``'s shape) triggers the campaign.

    ``ENDPOINT`` filters see the events an app records (PutEvents), ``SYSTEM`` filters every event
    of the app including those Homing records itself (sends, deliveries, opens). The criteria are
    ANDed and each one is evaluated exactly as the same dimension of a segment is
    (``domain/segments.py``): the event type is a SetDimension (case-insensitive, INCLUSIVE or
    EXCLUSIVE), an attribute an AttributeDimension over the event's one value, a metric a
    MetricDimension. Missing data is a segment's: a missing attribute matches only EXCLUSIVE, a
    missing metric never.
    """
    event_type = record.get("event_type")
    if not isinstance(event_type, str):
        return False
    if event_filter.filter_type == "ENDPOINT" and is_system_event(event_type):
        return False
    dims = event_filter.dimensions
    if dims.event_type is not None and not set_value_matches(dims.event_type, event_type):
        return False
    attributes = record.get("attributes") or {}
    for name, attribute in dims.attributes.items():
        value = attributes.get(name)
        if not attribute_values_match(attribute, [value] if isinstance(value, str) else []):
            return False
    metrics = record.get("metrics") or {}
    return all(metric_value_matches(metric, metrics.get(name)) for name, metric in dims.metrics.items())


def check_event_filter(event_filter: CampaignEventFilter) -> None:
    """The filter well formed (400 naming the field), with the segments' checks for each dimension."""
    where = "Schedule.EventFilter"
    if event_filter.filter_type not in FILTER_TYPES:
        raise BadRequest(f"{where}.FilterType must be one of {', '.join(FILTER_TYPES)}")
    dims = event_filter.dimensions
    if dims.event_type is not None:
        check_dimension_set(dims.event_type, f"{where}.Dimensions.EventType")
    for name, attribute in dims.attributes.items():
        if not name:
            raise BadRequest(f"{where}.Dimensions.Attributes: attribute names must not be empty")
        check_dimension_attribute(attribute, f"{where}.Dimensions.Attributes.{name}")
    for name, metric in dims.metrics.items():
        if not name:
            raise BadRequest(f"{where}.Dimensions.Metrics: metric names must not be empty")
        check_dimension_metric(metric, f"{where}.Dimensions.Metrics.{name}")


# --- exclusions -----------------------------------------------------------------------------------

ENDPOINT_OPT_OUT: Final = "ENDPOINT_OPT_OUT"
ENDPOINT_INACTIVE: Final = "ENDPOINT_INACTIVE"
TREATMENT_HOLDOUT: Final = "TREATMENT_HOLDOUT"


def exclusion(endpoint: Mapping[str, Any]) -> str | None:
    """Why a campaign skips the endpoint (its stored snake_case body), as Pinpoint's execution metric
    name, or None. Opted out (``OptOut`` ALL) is checked before inactive, so each skipped endpoint
    is counted once, under the customer's own choice first."""
    if endpoint.get("opt_out", "NONE") == "ALL":
        return ENDPOINT_OPT_OUT
    if endpoint.get("endpoint_status", "ACTIVE") == "INACTIVE":
        return ENDPOINT_INACTIVE
    return None


@dataclass
class RunTally:
    """A batch's (or a run's) count of endpoints produced and skipped, by Pinpoint's metric names."""

    produced: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def admit(self, endpoint: Mapping[str, Any]) -> bool:
        """Count the endpoint; True if the campaign may send to it (not opted out, not inactive)."""
        self.produced += 1
        reason = exclusion(endpoint)
        if reason is not None:
            self.skipped[reason] += 1
            return False
        return True

    def held_out(self) -> None:
        self.skipped[TREATMENT_HOLDOUT] += 1

    def merge(self, other: RunTally) -> RunTally:
        return RunTally(self.produced + other.produced, self.skipped + other.skipped)

    def execution_metrics(self) -> dict[str, str]:
        """``ActivityResponse.ExecutionMetrics``: a map of strings (pinpoint-formats.md §7.1)."""
        metrics = {"ENDPOINT_PRODUCED": str(self.produced)}
        metrics.update({name: str(count) for name, count in sorted(self.skipped.items()) if count})
        return metrics


# --- the campaign hook (FILTER mode) --------------------------------------------------------------

HOOK_BATCH: Final = 50  # endpoints per invocation, as Pinpoint calls custom-channel functions
HOOK_MUTABLE: Final = ("Attributes", "Metrics", "User", "Demographic", "Location")
"""What a hook may change in an endpoint it returns: the data messages are personalised with.
Id, Address, ChannelType, OptOut and EndpointStatus stay as stored, so a hook cannot send to another
address or channel than the one the caps and the delivery ledger counted, nor opt an endpoint back in."""


@dataclass(frozen=True)
class HookSettings:
    """Pinpoint's ``CampaignHook`` (a campaign's own or the app's default), snake_case."""

    lambda_function_name: str | None = None
    mode: str | None = None
    web_url: str | None = None


def hook_function(campaign: HookSettings | None, app_default: HookSettings | None) -> str | None:
    """The function to invoke in FILTER mode for a campaign's batches, or None.

    The campaign's hook when it names a function, else the app's default; only FILTER mode is
    invoked (DELIVERY is deprecated in Pinpoint, replaced by the custom channel), and a hook
    without a mode is taken as FILTER, the only one Pinpoint still supports.
    """
    for hook in (campaign, app_default):
        if hook is not None and hook.lambda_function_name:
            return hook.lambda_function_name if (hook.mode or "FILTER") == "FILTER" else None
    return None


@dataclass(frozen=True)
class HookVerdict:
    """What a hook's answer comes to for the endpoints it was given."""

    kept: dict[str, dict[str, Any]]  # endpoint id -> the endpoint (Pinpoint JSON) with the hook's changes
    dropped: tuple[str, ...]  # ids the hook left out: not sent


class HookAnswerInvalid(ValueError):
    """The hook returned something that is not Pinpoint's ``{endpointId: endpoint}`` map."""


def apply_hook_answer(sent: Mapping[str, Mapping[str, Any]], answer: Any) -> HookVerdict:
    """Apply a FILTER-mode hook's answer to the endpoints sent to it.

    An endpoint the answer leaves out is dropped; one it returns keeps its stored identity and
    address, with the answer's ``HOOK_MUTABLE`` members in place of the stored ones; ids the answer
    adds that were not sent are ignored (a hook filters and adjusts, it does not add recipients).
    Raises ``HookAnswerInvalid`` if the answer is not a map of endpoint id to endpoint object.
    """
    if not isinstance(answer, dict):
        raise HookAnswerInvalid("the hook must return a map of endpoint id to endpoint")
    kept: dict[str, dict[str, Any]] = {}
    for endpoint_id, endpoint in sent.items():
        if endpoint_id not in answer:
            continue
        returned = answer[endpoint_id]
        if not isinstance(returned, dict):
            raise HookAnswerInvalid("each endpoint the hook returns must be an object")
        merged = dict(endpoint)
        for member in HOOK_MUTABLE:
            if member in returned:
                merged[member] = _checked(member, returned[member])
        kept[endpoint_id] = merged
    return HookVerdict(kept, tuple(e for e in sent if e not in kept))


def _string_lists(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()
    )


def _checked(member: str, value: Any) -> Any:
    """The shapes rendering relies on: attribute maps of string lists, metric maps of numbers, objects."""
    ok = isinstance(value, dict)
    if member == "Attributes":
        ok = _string_lists(value)
    elif member == "Metrics":
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values())
    elif member == "User":
        ok = ok and _string_lists(value.get("UserAttributes") or {})
    if not ok:
        raise HookAnswerInvalid(f"the hook returned an endpoint whose {member} is not Pinpoint's shape")
    return value
