"""Segment rules, pure: the records of a segment version, their validation, and the reference evaluator.

A segment is a list of immutable versions; each version holds Pinpoint's ``SegmentDimensions`` and
``SegmentGroupList`` as snake_case dataclasses (the codec maps them to and from Pinpoint's JSON).
The semantics chosen where Pinpoint's model is silent are in docs/decisions.md ("Segments").

``reference_matches`` is the straightforward interpreter of a version's JSON-shaped dimensions: the
baseline the compiled predicate (homing.domain.segment_predicate) is property-tested against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from homing.codec import dump, snake
from homing.domain.errors import BadRequest

SEGMENT_TYPES = ("DIMENSIONAL", "IMPORT")
COMBINATIONS = ("ALL", "ANY", "NONE")
DIMENSION_TYPES = ("INCLUSIVE", "EXCLUSIVE")
ATTRIBUTE_TYPES = ("INCLUSIVE", "EXCLUSIVE", "CONTAINS", "BEFORE", "AFTER", "ON", "BETWEEN")
DATE_ATTRIBUTE_TYPES = frozenset({"BEFORE", "AFTER", "ON", "BETWEEN"})
COMPARISONS = ("GREATER_THAN", "LESS_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN_OR_EQUAL", "EQUAL")
RECENCY_TYPES = ("ACTIVE", "INACTIVE")
DURATION_MS = {"HR_24": 86_400_000, "DAY_7": 7 * 86_400_000, "DAY_14": 14 * 86_400_000, "DAY_30": 30 * 86_400_000}
IMPORT_FORMATS = ("CSV", "JSON")
MAX_DIMENSIONS = 100  # Pinpoint: at most 100 dimensions per segment
MAX_GROUPS = 1  # "Your request can include only one segment group."
MAX_NAME_CHARS = 1024
DEFAULT_RANGE_KM = 100.0
EARTH_RADIUS_KM = 6371.0088
# Where each demographic dimension reads the stored endpoint (snake_case body): (group, field).
DEMOGRAPHIC_FIELDS = {
    "app_version": ("demographic", "app_version"),
    "channel": (None, "channel_type"),
    "device_type": ("demographic", "device_type"),  # no endpoint field holds it: always missing
    "make": ("demographic", "make"),
    "model": ("demographic", "model"),
    "platform": ("demographic", "platform"),
}


@dataclass
class SetDimension:
    values: list[str] | None = None
    dimension_type: str | None = None


@dataclass
class AttributeDimension:
    values: list[str] | None = None
    attribute_type: str | None = None


@dataclass
class MetricDimension:
    comparison_operator: str | None = None
    value: float | None = None


@dataclass
class RecencyDimension:
    duration: str | None = None
    recency_type: str | None = None


@dataclass
class SegmentBehaviors:
    recency: RecencyDimension | None = None


@dataclass
class SegmentDemographics:
    app_version: SetDimension | None = None
    channel: SetDimension | None = None
    device_type: SetDimension | None = None
    make: SetDimension | None = None
    model: SetDimension | None = None
    platform: SetDimension | None = None


@dataclass
class GPSCoordinates:
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class GPSPointDimension:
    coordinates: GPSCoordinates | None = None
    range_in_kilometers: float | None = None


@dataclass
class SegmentLocation:
    country: SetDimension | None = None
    gps_point: GPSPointDimension | None = None


@dataclass
class SegmentDimensions:
    attributes: dict[str, AttributeDimension] | None = None
    behavior: SegmentBehaviors | None = None
    demographic: SegmentDemographics | None = None
    location: SegmentLocation | None = None
    metrics: dict[str, MetricDimension] | None = None
    user_attributes: dict[str, AttributeDimension] | None = None


@dataclass
class SegmentReference:
    id: str | None = None
    version: int | None = None


@dataclass
class SegmentGroup:
    dimensions: list[SegmentDimensions] | None = None
    source_segments: list[SegmentReference] | None = None
    source_type: str | None = None
    type: str | None = None


@dataclass
class SegmentGroupList:
    groups: list[SegmentGroup] | None = None
    include: str | None = None


@dataclass
class SegmentImportResource:
    external_id: str
    format: str
    role_arn: str
    s3_url: str
    size: int
    channel_counts: dict[str, int] | None = None


@dataclass
class SegmentDefinition:
    """What a WriteSegmentRequest sets: every field optional (UpdateSegment keeps what is not sent)."""

    name: str | None = None
    dimensions: SegmentDimensions | None = None
    segment_groups: SegmentGroupList | None = None
    tags: dict[str, str] | None = None


@dataclass
class Segment:
    """One version of a segment, as GetSegment / GetSegmentVersion return it."""

    id: str
    application_id: str
    version: int
    segment_type: str
    creation_date: str
    last_modified_date: str
    name: str | None = None
    dimensions: SegmentDimensions | None = None
    segment_groups: SegmentGroupList | None = None
    import_definition: SegmentImportResource | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # IMPORT versions: the import job whose registered ids are this version's members (stored, never on
    # the wire); also what makes a retried DefineSegment find its own version instead of writing another.
    import_job_id: str | None = None


# --- validation ------------------------------------------------------------------------------------


def parse_instant(value: str) -> float | None:
    """An ISO 8601 date or date-time as epoch seconds (no zone = UTC), or None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError):
        return None


def utc_day(seconds: float) -> int:
    return math.floor(seconds / 86_400)


def _choice(value: str | None, allowed: tuple[str, ...], field_path: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if value not in allowed:
        raise BadRequest(f"{field_path} must be one of {', '.join(allowed)}")
    return value


def _values(values: list[str] | None, field_path: str) -> list[str]:
    if not values:
        raise BadRequest(f"{field_path}.Values is required and must not be empty")
    return values


def _check_set(dim: SetDimension, field_path: str) -> int:
    if any(not v for v in _values(dim.values, field_path)):
        raise BadRequest(f"{field_path}.Values must not hold empty strings")
    _choice(dim.dimension_type, DIMENSION_TYPES, f"{field_path}.DimensionType", "INCLUSIVE")
    return 1


def _check_attribute(dim: AttributeDimension, field_path: str) -> int:
    values = _values(dim.values, field_path)
    kind = _choice(dim.attribute_type, ATTRIBUTE_TYPES, f"{field_path}.AttributeType", "INCLUSIVE")
    if kind in DATE_ATTRIBUTE_TYPES:
        wanted = 2 if kind == "BETWEEN" else 1
        if len(values) != wanted:
            raise BadRequest(f"{field_path}.Values must hold exactly {wanted} ISO 8601 date(s) for {kind}")
        instants = [parse_instant(v) for v in values]
        if any(i is None for i in instants):
            raise BadRequest(f"{field_path}.Values must be ISO 8601 dates for {kind}")
        if kind == "BETWEEN" and instants[0] > instants[1]:  # type: ignore[operator]
            raise BadRequest(f"{field_path}.Values: the first date of BETWEEN must not be after the second")
    return 1


def _finite(value: float | None, field_path: str) -> float:
    if value is None or not math.isfinite(value):
        raise BadRequest(f"{field_path} is required and must be a number")
    return value


def check_dimensions(dims: SegmentDimensions, path: str) -> int:
    """Every criterion of one SegmentDimensions well formed; returns how many criteria it holds."""
    count = 0
    for kind, attrs in (("Attributes", dims.attributes), ("UserAttributes", dims.user_attributes)):
        for name, attr in (attrs or {}).items():
            if not name:
                raise BadRequest(f"{path}.{kind}: attribute names must not be empty")
            count += _check_attribute(attr, f"{path}.{kind}.{name}")
    for name, metric in (dims.metrics or {}).items():
        if not name:
            raise BadRequest(f"{path}.Metrics: metric names must not be empty")
        _choice(metric.comparison_operator, COMPARISONS, f"{path}.Metrics.{name}.ComparisonOperator")
        _finite(metric.value, f"{path}.Metrics.{name}.Value")
        count += 1
    if dims.behavior is not None and dims.behavior.recency is not None:
        recency = dims.behavior.recency
        _choice(recency.duration, tuple(DURATION_MS), f"{path}.Behavior.Recency.Duration")
        _choice(recency.recency_type, RECENCY_TYPES, f"{path}.Behavior.Recency.RecencyType")
        count += 1
    demo = dims.demographic or SegmentDemographics()
    for name, wire in (
        ("app_version", "AppVersion"),
        ("channel", "Channel"),
        ("device_type", "DeviceType"),
        ("make", "Make"),
        ("model", "Model"),
        ("platform", "Platform"),
    ):
        dim = getattr(demo, name)
        if dim is not None:
            count += _check_set(dim, f"{path}.Demographic.{wire}")
    location = dims.location or SegmentLocation()
    if location.country is not None:
        count += _check_set(location.country, f"{path}.Location.Country")
    if location.gps_point is not None:
        gps = location.gps_point
        where = f"{path}.Location.GPSPoint"
        if gps.coordinates is None:
            raise BadRequest(f"{where}.Coordinates is required")
        lat = _finite(gps.coordinates.latitude, f"{where}.Coordinates.Latitude")
        lon = _finite(gps.coordinates.longitude, f"{where}.Coordinates.Longitude")
        if not -90 <= lat <= 90:
            raise BadRequest(f"{where}.Coordinates.Latitude must be between -90 and 90")
        if not -180 <= lon <= 180:
            raise BadRequest(f"{where}.Coordinates.Longitude must be between -180 and 180")
        if gps.range_in_kilometers is not None and _finite(gps.range_in_kilometers, f"{where}.RangeInKilometers") < 0:
            raise BadRequest(f"{where}.RangeInKilometers must not be negative")
        count += 1
    return count


def check_definition(dims: SegmentDimensions | None, groups: SegmentGroupList | None) -> list[SegmentReference]:
    """The whole definition well formed (≤ 100 dimensions, one group); returns the base segments it names."""
    count = check_dimensions(dims, "Dimensions") if dims is not None else 0
    refs: list[SegmentReference] = []
    if groups is not None:
        _choice(groups.include, COMBINATIONS, "SegmentGroups.Include", "ALL")
        if len(groups.groups or []) > MAX_GROUPS:
            raise BadRequest("SegmentGroups.Groups: a segment can include only one segment group")
        for g, group in enumerate(groups.groups or []):
            where = f"SegmentGroups.Groups[{g}]"
            _choice(group.type, COMBINATIONS, f"{where}.Type", "ALL")
            _choice(group.source_type, COMBINATIONS, f"{where}.SourceType", "ALL")
            for d, sub in enumerate(group.dimensions or []):
                count += check_dimensions(sub, f"{where}.Dimensions[{d}]")
            for s, ref in enumerate(group.source_segments or []):
                if not ref.id:
                    raise BadRequest(f"{where}.SourceSegments[{s}].Id is required")
                if ref.version is not None and ref.version < 1:
                    raise BadRequest(f"{where}.SourceSegments[{s}].Version must be at least 1")
                refs.append(ref)
    if count > MAX_DIMENSIONS:
        raise BadRequest(f"Dimensions: a segment can have at most {MAX_DIMENSIONS} dimensions, this one has {count}")
    return refs


def check_base_segments(self_id: str | None, bases: list[Segment], closure_ids: set[str]) -> None:
    """Base segments: several DIMENSIONAL ones or exactly one IMPORT one, never the segment itself.

    ``closure_ids`` holds every segment reachable through the bases' own base segments.
    """
    if self_id is not None and self_id in closure_ids:
        raise BadRequest("SegmentGroups.Groups[0].SourceSegments must not refer to the segment itself")
    imports = [b for b in bases if b.segment_type == "IMPORT"]
    if imports and len(bases) > 1:
        raise BadRequest(
            "SegmentGroups.Groups[0].SourceSegments: specify dimensional segments or exactly one imported segment"
        )


def check_name(name: str | None) -> None:
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise BadRequest(f"Name must be at most {MAX_NAME_CHARS} characters")


# --- the reference evaluator ----------------------------------------------------------------------

ResolveBase = Callable[[str, int | None], Segment]
"""(segment id, version or None for the latest) -> that segment version; raises NotFound."""
ImportedMembership = Callable[[Segment, Mapping[str, Any]], bool]
"""Whether an endpoint (stored snake_case body) belongs to an IMPORT segment."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _combine(kind: str, results: list[bool]) -> bool:
    if not results:  # an empty list restricts nothing, whatever its combination
        return True
    if kind == "ALL":
        return all(results)
    if kind == "ANY":
        return any(results)
    return not any(results)


def _ref_set(spec: dict[str, Any], value: Any) -> bool:
    wanted = [v.lower() for v in spec["values"]]
    present = isinstance(value, str) and value.lower() in wanted
    return present if spec.get("dimension_type", "INCLUSIVE") == "INCLUSIVE" else not present


def _ref_attribute(spec: dict[str, Any], values: Any) -> bool:
    kind = spec.get("attribute_type", "INCLUSIVE")
    have = [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
    wanted = spec["values"]
    if kind == "INCLUSIVE":
        return any(v in wanted for v in have)
    if kind == "EXCLUSIVE":
        return not any(v in wanted for v in have)
    if kind == "CONTAINS":
        return any(w in v for v in have for w in wanted)
    bounds = [parse_instant(w) for w in wanted]
    for v in have:
        t = parse_instant(v)
        if t is None:
            continue
        if kind == "BEFORE" and t < bounds[0]:  # type: ignore[operator]
            return True
        if kind == "AFTER" and t > bounds[0]:  # type: ignore[operator]
            return True
        if kind == "ON" and utc_day(t) == utc_day(bounds[0]):  # type: ignore[arg-type]
            return True
        if kind == "BETWEEN" and bounds[0] <= t <= bounds[1]:  # type: ignore[operator]
            return True
    return False


def _ref_metric(spec: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    op, target = spec["comparison_operator"], spec["value"]
    outcomes: dict[str, bool] = {
        "GREATER_THAN": value > target,
        "LESS_THAN": value < target,
        "GREATER_THAN_OR_EQUAL": value >= target,
        "LESS_THAN_OR_EQUAL": value <= target,
        "EQUAL": value == target,
    }
    return outcomes[op]


def _ref_dimensions(dims: dict[str, Any], endpoint: Mapping[str, Any], last_active_ms: int | None, now_ms: int) -> bool:
    """Every criterion of one JSON-shaped SegmentDimensions, ANDed, read straight from the endpoint."""
    results: list[bool] = []
    attrs = endpoint.get("attributes") or {}
    for name, spec in (dims.get("attributes") or {}).items():
        results.append(_ref_attribute(spec, attrs.get(name)))
    user_attrs = (endpoint.get("user") or {}).get("user_attributes") or {}
    for name, spec in (dims.get("user_attributes") or {}).items():
        results.append(_ref_attribute(spec, user_attrs.get(name)))
    metrics = endpoint.get("metrics") or {}
    for name, spec in (dims.get("metrics") or {}).items():
        results.append(_ref_metric(spec, metrics.get(name)))
    recency = (dims.get("behavior") or {}).get("recency")
    if recency:
        active = last_active_ms is not None and last_active_ms >= now_ms - DURATION_MS[recency["duration"]]
        results.append(active if recency["recency_type"] == "ACTIVE" else not active)
    for name, spec in (dims.get("demographic") or {}).items():
        group, member = DEMOGRAPHIC_FIELDS[name]
        source = endpoint if group is None else (endpoint.get(group) or {})
        results.append(_ref_set(spec, source.get(member)))
    location = dims.get("location") or {}
    if "country" in location:
        results.append(_ref_set(location["country"], (endpoint.get("location") or {}).get("country")))
    if "gps_point" in location:
        gps, where = location["gps_point"], endpoint.get("location") or {}
        lat, lon = where.get("latitude"), where.get("longitude")
        results.append(
            isinstance(lat, int | float)
            and isinstance(lon, int | float)
            and haversine_km(gps["coordinates"]["latitude"], gps["coordinates"]["longitude"], lat, lon)
            <= gps.get("range_in_kilometers", DEFAULT_RANGE_KM)
        )
    return all(results)


def reference_matches(
    segment: Segment,
    endpoint: Mapping[str, Any],
    last_active_ms: int | None,
    *,
    now_ms: int,
    resolve_base: ResolveBase,
    imported: ImportedMembership | None = None,
    _depth: int = 0,
) -> bool:
    """Whether the endpoint (stored snake_case body, plus its last-active time) is in the segment version."""
    if _depth > MAX_DIMENSIONS:
        raise BadRequest(f"Segment {segment.id} refers to itself through its base segments")
    if segment.segment_type == "IMPORT":
        if imported is None:
            raise BadRequest(f"Segment {segment.id} is imported; its membership is not available here")
        return imported(segment, endpoint)
    if segment.dimensions is not None and not _ref_dimensions(
        dump(segment.dimensions, snake), endpoint, last_active_ms, now_ms
    ):
        return False
    groups = dump(segment.segment_groups, snake) if segment.segment_groups is not None else {}
    results = []
    for group in groups.get("groups") or []:
        bases = [
            reference_matches(
                resolve_base(ref["id"], ref.get("version")),
                endpoint,
                last_active_ms,
                now_ms=now_ms,
                resolve_base=resolve_base,
                imported=imported,
                _depth=_depth + 1,
            )
            for ref in group.get("source_segments") or []
        ]
        dims = [_ref_dimensions(d, endpoint, last_active_ms, now_ms) for d in group.get("dimensions") or []]
        results.append(_combine(group.get("source_type", "ALL"), bases) and _combine(group.get("type", "ALL"), dims))
    return _combine(groups.get("include", "ALL"), results)


# --- one criterion, for other families (campaign event filters evaluate events with the same rules) ---


def set_value_matches(dim: SetDimension, value: Any) -> bool:
    """A SetDimension against one value (case-insensitive, INCLUSIVE or EXCLUSIVE), as in a segment."""
    return _ref_set({"values": dim.values or [], "dimension_type": dim.dimension_type or "INCLUSIVE"}, value)


def attribute_values_match(dim: AttributeDimension, values: Any) -> bool:
    """An AttributeDimension against a list of values (any of them may match), as in a segment."""
    return _ref_attribute({"values": dim.values or [], "attribute_type": dim.attribute_type or "INCLUSIVE"}, values)


def metric_value_matches(dim: MetricDimension, value: Any) -> bool:
    """A MetricDimension against one number (a missing or non-numeric value never matches)."""
    return _ref_metric({"comparison_operator": dim.comparison_operator, "value": dim.value}, value)


def check_dimension_set(dim: SetDimension, field_path: str) -> None:
    _check_set(dim, field_path)


def check_dimension_attribute(dim: AttributeDimension, field_path: str) -> None:
    _check_attribute(dim, field_path)


def check_dimension_metric(dim: MetricDimension, field_path: str) -> None:
    _choice(dim.comparison_operator, COMPARISONS, f"{field_path}.ComparisonOperator")
    _finite(dim.value, f"{field_path}.Value")
