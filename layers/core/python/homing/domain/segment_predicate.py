"""A segment version compiled once into one fast predicate over endpoints, and audience counts with it.

The predicate reads what is stored: the endpoint's snake_case body (``EndpointItem.body``, a dict)
and the endpoint's last-active time in epoch milliseconds (None if never active; see
``last_active_ms``), so a caller streaming the Endpoints table pays no conversion per endpoint. It
relies on the stored shapes the endpoints family guarantees (attributes are lists of strings,
metrics are numbers).

Why Python source handed to ``compile()`` rather than nested closures: a segment is a tree of
ANDs/ORs over a handful of field tests, and one generated function evaluates it with one Python
call per endpoint and short-circuiting ``and``/``or`` (closures cost a call per test, about twice
the time). No request text ever enters the source: every value the tests compare against (names,
sets, bounds) is bound as a constant ``c<n>`` in the function's namespace, and the source only
holds generated identifiers, operators and fixed field names. Within one SegmentDimensions the
tests are ordered cheapest first (metrics, recency, set membership, attribute sets, then substring,
date and distance tests), which is sound because every test is pure and they are ANDed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from homing.domain.errors import BadRequest
from homing.domain.segments import (
    DEFAULT_RANGE_KM,
    DEMOGRAPHIC_FIELDS,
    DURATION_MS,
    EARTH_RADIUS_KM,
    MAX_DIMENSIONS,
    AttributeDimension,
    ImportedMembership,
    ResolveBase,
    Segment,
    SegmentDimensions,
    SetDimension,
    parse_instant,
    utc_day,
)

Predicate = Callable[[Mapping[str, Any], int | None], bool]
"""(endpoint's stored snake_case body, its last-active epoch ms or None) -> in the segment?"""

_EMPTY: Mapping[str, Any] = {}
_OPERATORS = {
    "GREATER_THAN": ">",
    "LESS_THAN": "<",
    "GREATER_THAN_OR_EQUAL": ">=",
    "LESS_THAN_OR_EQUAL": "<=",
    "EQUAL": "==",
}


def last_active_ms(activity_days: Iterable[int] | None, effective_date: str | None) -> int | None:
    """The later of the endpoint's last active day (events pipeline, ``AnalyticsItem.days``) and its EffectiveDate.

    Activity is kept per UTC day, so an active day counts as active until its last millisecond.
    """
    days = list(activity_days or ())
    last = (max(days) + 1) * 86_400_000 - 1 if days else None
    effective = parse_instant(effective_date) if effective_date else None
    if effective is not None:
        ms = int(effective * 1000)
        last = ms if last is None else max(last, ms)
    return last


@lru_cache(maxsize=65_536)
def _instant(value: str) -> float | None:
    """Endpoint attribute values repeat a lot (dates of sign-up, of purchase): parse each once."""
    return parse_instant(value) if len(value) <= 64 else None


def _any_contains(values: Any, wanted: tuple[str, ...]) -> bool:
    if not values:
        return False
    for v in values:
        if isinstance(v, str):
            for w in wanted:
                if w in v:
                    return True
    return False


def _any_date(values: Any, low: float, high: float) -> bool:
    """Some value of the attribute is an instant in [low, high] (open ends are ±inf)."""
    if not values:
        return False
    for v in values:
        if isinstance(v, str):
            t = _instant(v)
            if t is not None and low <= t <= high:
                return True
    return False


def _any_on(values: Any, day: int) -> bool:
    if not values:
        return False
    for v in values:
        if isinstance(v, str):
            t = _instant(v)
            if t is not None and utc_day(t) == day:
                return True
    return False


def _near(location: Any, lat: float, lon: float, range_km: float) -> bool:
    if not location:
        return False
    la, lo = location.get("latitude"), location.get("longitude")
    if not isinstance(la, int | float) or not isinstance(lo, int | float):
        return False
    p1, p2 = math.radians(lat), math.radians(la)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo - lon) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a))) <= range_km


class _Compiler:
    """Accumulates the generated source's constants; one instance per compiled segment."""

    def __init__(self, now_ms: int, resolve_base: ResolveBase, imported: ImportedMembership | None) -> None:
        self.now_ms, self.resolve_base, self.imported = now_ms, resolve_base, imported
        self.names: dict[str, Any] = {
            "_E": _EMPTY,
            "_contains": _any_contains,
            "_date": _any_date,
            "_on": _any_on,
            "_near": _near,
            "_NAN": math.nan,
        }
        self._cache: dict[tuple[str, int], str] = {}

    def const(self, value: Any) -> str:
        name = f"c{len(self.names)}"
        self.names[name] = value
        return name

    # -- one test per criterion, each (cost rank, expression) --------------------------------------

    def set_test(self, dim: SetDimension, source: str, member: str) -> tuple[int, str]:
        wanted = self.const(frozenset(v.lower() for v in dim.values or ()))
        got = f"({source}.get({self.const(member)}) or '').lower()"  # Values never hold "" (validated)
        inclusive = (dim.dimension_type or "INCLUSIVE") == "INCLUSIVE"
        return 2, f"({got} in {wanted})" if inclusive else f"({got} not in {wanted})"

    def attribute_test(self, dim: AttributeDimension, source: str, name: str) -> tuple[int, str]:
        kind, values = dim.attribute_type or "INCLUSIVE", list(dim.values or ())
        got = f"{source}.get({self.const(name)})"
        if kind in ("INCLUSIVE", "EXCLUSIVE"):
            test = f"{self.const(frozenset(values))}.isdisjoint({got} or ())"
            return 3, f"(not {test})" if kind == "INCLUSIVE" else f"({test})"
        if kind == "CONTAINS":
            return 4, f"_contains({got}, {self.const(tuple(values))})"
        bounds = [parse_instant(v) for v in values]
        if any(b is None for b in bounds):
            raise BadRequest(f"Attribute {name}: {kind} needs ISO 8601 dates")
        if kind == "ON":
            return 5, f"_on({got}, {self.const(utc_day(bounds[0]))})"  # type: ignore[arg-type]
        low, high = {
            "BEFORE": (-math.inf, math.nextafter(bounds[0], -math.inf)),  # type: ignore[arg-type]
            "AFTER": (math.nextafter(bounds[0], math.inf), math.inf),  # type: ignore[arg-type]
            "BETWEEN": (bounds[0], bounds[-1]),
        }[kind]
        return 5, f"_date({got}, {self.const(low)}, {self.const(high)})"

    def dimensions(self, dims: SegmentDimensions) -> str:
        """One SegmentDimensions: its tests ANDed, cheapest first; ``True`` if it holds none."""
        tests: list[tuple[int, str]] = []
        for name, metric in (dims.metrics or {}).items():
            op = _OPERATORS[metric.comparison_operator or ""]
            value = f"(e.get('metrics') or _E).get({self.const(name)})"
            # A missing metric reads as NaN, which no comparison (not even EQUAL) matches.
            tests.append((0, f"({value[:-1]}, _NAN) {op} {self.const(float(metric.value or 0.0))})"))
        if dims.behavior is not None and dims.behavior.recency is not None:
            r = dims.behavior.recency
            since = self.const(self.now_ms - DURATION_MS[r.duration or ""])
            active = f"(t is not None and t >= {since})"
            tests.append((1, active if r.recency_type == "ACTIVE" else f"(not {active})"))
        demo = dims.demographic
        if demo is not None:
            for attr, (group, member) in DEMOGRAPHIC_FIELDS.items():
                dim = getattr(demo, attr)
                if dim is not None:
                    source = "e" if group is None else f"(e.get('{group}') or _E)"
                    tests.append(self.set_test(dim, source, member))
        location = dims.location
        if location is not None and location.country is not None:
            tests.append(self.set_test(location.country, "(e.get('location') or _E)", "country"))
        for name, adim in (dims.attributes or {}).items():
            tests.append(self.attribute_test(adim, "(e.get('attributes') or _E)", name))
        for name, adim in (dims.user_attributes or {}).items():
            user = "((e.get('user') or _E).get('user_attributes') or _E)"
            tests.append(self.attribute_test(adim, user, name))
        if location is not None and location.gps_point is not None:
            gps = location.gps_point
            coords = gps.coordinates
            assert coords is not None
            assert coords.latitude is not None
            assert coords.longitude is not None
            lat, lon = self.const(float(coords.latitude)), self.const(float(coords.longitude))
            km = self.const(float(DEFAULT_RANGE_KM if gps.range_in_kilometers is None else gps.range_in_kilometers))
            tests.append((6, f"_near(e.get('location'), {lat}, {lon}, {km})"))
        tests.sort(key=lambda t: t[0])
        return " and ".join(t[1] for t in tests) or "True"

    def base(self, ref_id: str, version: int | None, depth: int) -> str:
        """A base segment's predicate, compiled once and bound as a constant; called as ``b(e, t)``."""
        segment = self.resolve_base(ref_id, version)
        key = (segment.id, segment.version)
        if key not in self._cache:
            self._cache[key] = self.const(self.segment_function(segment, depth + 1))
        return f"{self._cache[key]}(e, t)"

    def segment_expression(self, segment: Segment, depth: int) -> str:
        if depth > MAX_DIMENSIONS:
            raise BadRequest(f"Segment {segment.id} refers to itself through its base segments")
        if segment.segment_type == "IMPORT":
            if self.imported is None:
                raise BadRequest(f"Segment {segment.id} is imported; its membership is not available here")
            member = self.const(self.imported)
            return f"{member}({self.const(segment)}, e)"
        parts: list[str] = []
        if segment.dimensions is not None:
            parts.append(f"({self.dimensions(segment.dimensions)})")
        groups = segment.segment_groups
        if groups is not None and groups.groups:
            group_exprs = []
            for group in groups.groups:
                bases = [self.base(r.id or "", r.version, depth) for r in group.source_segments or []]
                dims = [self.dimensions(d) for d in group.dimensions or []]
                group_exprs.append(
                    f"({_combine(group.source_type or 'ALL', bases)} and {_combine(group.type or 'ALL', dims)})"
                )
            parts.append(_combine(groups.include or "ALL", group_exprs))
        return " and ".join(parts) or "True"

    def segment_function(self, segment: Segment, depth: int = 0) -> Predicate:
        source = f"def _p(e, t):\n    return {self.segment_expression(segment, depth)}\n"
        namespace = dict(self.names)
        exec(
            compile(source, f"<segment {len(self.names)}>", "exec"), namespace
        )  # source and constants: see the module doc
        predicate: Predicate = namespace["_p"]
        predicate.__doc__ = source
        return predicate


def _combine(kind: str, exprs: list[str]) -> str:
    if not exprs:  # an empty list restricts nothing (docs/decisions.md)
        return "True"
    joined = " or ".join(f"({x})" for x in exprs)
    if kind == "ALL":
        return " and ".join(f"({x})" for x in exprs)
    if kind == "ANY":
        return f"({joined})"
    return f"(not ({joined}))"


def compile_segment(
    version: Segment,
    resolve_base: ResolveBase,
    *,
    now_ms: int,  # epoch_ms(now)
    imported: ImportedMembership | None = None,
) -> Predicate:
    """The segment version (and its base segments, resolved once) as one predicate.

    ``now_ms`` fixes the Recency windows: compile again for a later evaluation time.
    ``imported`` decides membership of IMPORT segments (the import jobs define it).
    """
    return _Compiler(now_ms, resolve_base, imported).segment_function(version)


@dataclass
class AudienceCounts:
    """A segment's size as the Homing extension reports it: in total, per channel, inactive, opted out."""

    total: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    inactive: int = 0
    opted_out: int = 0


def count_audience(predicate: Predicate, endpoints: Iterable[tuple[Mapping[str, Any], int | None]]) -> AudienceCounts:
    """Evaluate the predicate over (endpoint body, last-active ms) pairs and count who is in."""
    counts = AudienceCounts()
    by_channel = counts.by_channel
    for body, last_active in endpoints:
        if not predicate(body, last_active):
            continue
        counts.total += 1
        channel = body.get("channel_type") or "UNKNOWN"
        by_channel[channel] = by_channel.get(channel, 0) + 1
        if body.get("endpoint_status", "ACTIVE") == "INACTIVE":
            counts.inactive += 1
        if body.get("opt_out", "NONE") == "ALL":
            counts.opted_out += 1
    return counts


def epoch_ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)
