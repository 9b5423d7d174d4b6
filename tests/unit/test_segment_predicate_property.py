"""The compiled segment predicate agrees with the reference evaluator on random endpoints and segments.

Derandomized (a fixed sequence of examples, so CI is repeatable) and with enough examples that every
dimension kind, operator and combination is met many times. Vocabularies are small on purpose, so
that endpoints often match a criterion and often do not.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homing.domain.errors import NotFound
from homing.domain.segment_predicate import compile_segment
from homing.domain.segments import (
    ATTRIBUTE_TYPES,
    COMBINATIONS,
    COMPARISONS,
    DURATION_MS,
    AttributeDimension,
    GPSCoordinates,
    GPSPointDimension,
    MetricDimension,
    RecencyDimension,
    Segment,
    SegmentBehaviors,
    SegmentDemographics,
    SegmentDimensions,
    SegmentGroup,
    SegmentGroupList,
    SegmentLocation,
    SegmentReference,
    SetDimension,
    check_definition,
    reference_matches,
)

NOW_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z
DAY_MS = 86_400_000
WORDS = ["a", "b", "ab", "Ba", "iOS", "ios", "android"]
DATES = ["2025-01-01", "2025-01-01T12:00:00Z", "2025-01-02T00:00:00Z", "2024-12-31T23:59:59.999Z", "not a date"]
CHANNELS = ["EMAIL", "SMS", "GCM", "APNS", "email"]
COUNTRIES = ["US", "us", "FR", "DE"]
NAMES = ["x", "y"]
settings_for_ci = settings(
    derandomize=True, max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def rarely(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent three times in four: a SegmentDimensions then holds one or two criteria, so that the
    others being ANDed with it do not hide how it is evaluated."""
    return st.one_of(st.none(), st.none(), st.none(), strategy)


attr_values = st.lists(st.sampled_from(WORDS + DATES), max_size=3)
endpoints = st.fixed_dictionaries(
    {},
    optional={
        "channel_type": st.sampled_from(CHANNELS),
        "attributes": st.dictionaries(st.sampled_from(NAMES), attr_values, max_size=2),
        "metrics": st.dictionaries(st.sampled_from(NAMES), st.sampled_from([-1.0, 0.0, 1.5, 2.0, 10.0]), max_size=2),
        "demographic": st.fixed_dictionaries(
            {},
            optional={k: st.sampled_from(WORDS) for k in ("app_version", "make", "model", "platform")},
        ),
        "location": st.fixed_dictionaries(
            {},
            optional={
                "country": st.sampled_from(COUNTRIES),
                "latitude": st.sampled_from([47.6, 48.0, -33.9, 0.0]),
                "longitude": st.sampled_from([-122.3, -122.0, 151.2, 0.0]),
            },
        ),
        "id": st.sampled_from(["e1", "e2", "e3"]),
        "user": st.fixed_dictionaries(
            {}, optional={"user_attributes": st.dictionaries(st.sampled_from(NAMES), attr_values, max_size=2)}
        ),
    },
)
last_active = st.none() | st.sampled_from([NOW_MS - d * DAY_MS + s for d in (0, 1, 7, 14, 30, 31) for s in (-1, 0, 1)])


def set_dimension(values: list[str]) -> st.SearchStrategy[SetDimension]:
    return st.builds(
        SetDimension,
        values=st.lists(st.sampled_from(values), min_size=1, max_size=3),
        dimension_type=st.sampled_from([None, "INCLUSIVE", "EXCLUSIVE"]),
    )


@st.composite
def attribute_dimension(draw: st.DrawFn) -> AttributeDimension:
    kind = draw(st.sampled_from((None, *ATTRIBUTE_TYPES)))
    if kind in ("BEFORE", "AFTER", "ON"):
        values = [draw(st.sampled_from(DATES[:-1]))]
    elif kind == "BETWEEN":
        values = sorted(draw(st.lists(st.sampled_from(DATES[:-1]), min_size=2, max_size=2)), key=_instant)
    else:
        values = draw(st.lists(st.sampled_from(WORDS + DATES), min_size=1, max_size=3))
    return AttributeDimension(values=values, attribute_type=kind)


def _instant(text: str) -> float:
    from homing.domain.segments import parse_instant

    value = parse_instant(text)
    assert value is not None
    return value


dimensions = st.builds(
    SegmentDimensions,
    attributes=rarely(st.dictionaries(st.sampled_from(NAMES), attribute_dimension(), max_size=2)),
    user_attributes=rarely(st.dictionaries(st.sampled_from(NAMES), attribute_dimension(), max_size=2)),
    metrics=rarely(
        st.dictionaries(
            st.sampled_from(NAMES),
            st.builds(
                MetricDimension,
                comparison_operator=st.sampled_from(COMPARISONS),
                value=st.sampled_from([0.0, 1.5, 2.0]),
            ),
            max_size=2,
        )
    ),
    behavior=rarely(
        st.builds(
            SegmentBehaviors,
            recency=st.builds(
                RecencyDimension,
                duration=st.sampled_from(list(DURATION_MS)),
                recency_type=st.sampled_from(["ACTIVE", "INACTIVE"]),
            ),
        )
    ),
    demographic=rarely(
        st.builds(
            SegmentDemographics,
            app_version=optional(set_dimension(WORDS)),
            channel=optional(set_dimension(CHANNELS)),
            device_type=optional(set_dimension(WORDS)),
            make=optional(set_dimension(WORDS)),
            model=optional(set_dimension(WORDS)),
            platform=optional(set_dimension(WORDS)),
        )
    ),
    location=rarely(
        st.builds(
            SegmentLocation,
            country=optional(set_dimension(COUNTRIES)),
            gps_point=rarely(
                st.builds(
                    GPSPointDimension,
                    coordinates=st.builds(
                        GPSCoordinates, latitude=st.just(47.6), longitude=st.sampled_from([-122.3, -121.0])
                    ),
                    range_in_kilometers=st.sampled_from([None, 0.0, 30.0, 1000.0]),
                )
            ),
        )
    ),
)
combination = st.sampled_from((None, *COMBINATIONS))


def segment(seg_id: str, dims: Any, groups: Any) -> Segment:
    return Segment(
        id=seg_id,
        application_id="app",
        version=1,
        segment_type="DIMENSIONAL",
        creation_date="2025-01-01T00:00:00.000Z",
        last_modified_date="2025-01-01T00:00:00.000Z",
        dimensions=dims,
        segment_groups=groups,
    )


@st.composite
def segments(draw: st.DrawFn) -> tuple[Segment, dict[str, Segment]]:
    """A segment whose group may name base segments, themselves with groups (two levels)."""
    bases: dict[str, Segment] = {}
    for i in range(draw(st.integers(0, 3))):
        inner, nested = None, draw(st.booleans())
        if bases and nested:
            inner = SegmentGroupList(
                include=draw(combination),
                groups=[SegmentGroup(source_segments=[SegmentReference(id=next(iter(bases)))], type=draw(combination))],
            )
        bases[f"b{i}"] = segment(f"b{i}", draw(optional(dimensions)), inner)
    groups = None
    if draw(st.booleans()):
        refs = (
            [SegmentReference(id=b) for b in draw(st.lists(st.sampled_from(sorted(bases)), max_size=3))]
            if bases
            else []
        )
        if draw(st.integers(0, 4)) == 0:  # exactly one imported base segment instead
            bases["imp"] = dataclasses.replace(segment("imp", None, None), segment_type="IMPORT")
            refs = [SegmentReference(id="imp")]
        groups = SegmentGroupList(
            include=draw(combination),
            groups=[
                SegmentGroup(
                    dimensions=draw(st.lists(dimensions, max_size=3)),
                    source_segments=refs,
                    source_type=draw(combination),
                    type=draw(combination),
                )
            ],
        )
    top = segment("top", draw(optional(dimensions)), groups)
    check_definition(top.dimensions, top.segment_groups)  # only valid definitions are compiled
    return top, bases


@settings_for_ci
@given(segments(), st.lists(st.tuples(endpoints, last_active), min_size=1, max_size=20))
def test_compiled_predicate_agrees_with_the_reference_evaluator(
    case: tuple[Segment, dict[str, Segment]], population: list[tuple[dict[str, Any], int | None]]
) -> None:
    top, bases = case

    def resolve(seg_id: str, version: int | None) -> Segment:
        if seg_id not in bases:
            raise NotFound(seg_id)
        return bases[seg_id]

    def imported(segment: Segment, body: Any) -> bool:
        """The import jobs define membership; here: endpoints e1 and e2 were imported."""
        return body.get("id") in ("e1", "e2")

    predicate = compile_segment(top, resolve, now_ms=NOW_MS, imported=imported)
    for body, active in population:
        expected = reference_matches(top, body, active, now_ms=NOW_MS, resolve_base=resolve, imported=imported)
        assert predicate(body, active) is expected, (predicate.__doc__, body, active)
