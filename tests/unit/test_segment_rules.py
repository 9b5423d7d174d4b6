"""Segment rules, pure: the semantic choices of docs/decisions.md ("Segments"), on both evaluators."""

from __future__ import annotations

from typing import Any

import pytest

from homing.domain.errors import BadRequest
from homing.domain.segment_predicate import Predicate, compile_segment, count_audience, last_active_ms
from homing.domain.segments import (
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
    check_base_segments,
    check_definition,
    reference_matches,
)

NOW = 1_764_000_000_000
DAY = 86_400_000


def seg(dims: SegmentDimensions | None = None, groups: SegmentGroupList | None = None, **kw: Any) -> Segment:
    fields: dict[str, Any] = {
        "id": "s",
        "application_id": "a",
        "version": 1,
        "segment_type": "DIMENSIONAL",
        "creation_date": "",
        "last_modified_date": "",
        "dimensions": dims,
        "segment_groups": groups,
        **kw,
    }
    return Segment(**fields)


def both(segment: Segment, bases: dict[str, Segment] | None = None) -> Predicate:
    """A predicate that evaluates with both evaluators and insists they agree."""
    pool = bases or {}
    compiled = compile_segment(segment, lambda i, v: pool[i], now_ms=NOW)

    def evaluate(body: Any, t: int | None) -> bool:
        expected = reference_matches(segment, body, t, now_ms=NOW, resolve_base=lambda i, v: pool[i])
        assert compiled(body, t) is expected
        return expected

    return evaluate


def attr(kind: str, *values: str) -> Segment:
    return seg(SegmentDimensions(attributes={"d": AttributeDimension(values=list(values), attribute_type=kind)}))


def test_set_dimensions_ignore_case_and_missing_values_match_only_exclusive() -> None:
    inc = both(seg(SegmentDimensions(demographic=SegmentDemographics(platform=SetDimension(values=["iOS"])))))
    exc = both(
        seg(
            SegmentDimensions(
                demographic=SegmentDemographics(platform=SetDimension(values=["iOS"], dimension_type="EXCLUSIVE"))
            )
        )
    )
    assert inc({"demographic": {"platform": "IOS"}}, None)
    assert not inc({}, None)
    assert exc({}, None)
    assert not exc({"demographic": {"platform": "ios"}}, None)
    channel = both(seg(SegmentDimensions(demographic=SegmentDemographics(channel=SetDimension(values=["email"])))))
    assert channel({"channel_type": "EMAIL"}, None)
    device = both(seg(SegmentDimensions(demographic=SegmentDemographics(device_type=SetDimension(values=["PHONE"])))))
    assert not device({"demographic": {"platform": "PHONE"}}, None)  # no endpoint field holds a device type


def test_attribute_values_are_exact_and_multi_valued() -> None:
    inc, exc, contains = both(attr("INCLUSIVE", "Gold")), both(attr("EXCLUSIVE", "Gold")), both(attr("CONTAINS", "ol"))
    assert inc({"attributes": {"d": ["silver", "Gold"]}}, None)
    assert not inc({"attributes": {"d": ["gold"]}}, None)
    assert exc({"attributes": {"d": ["gold"]}}, None)
    assert exc({}, None)
    assert not exc({"attributes": {"d": ["x", "Gold"]}}, None)
    assert contains({"attributes": {"d": ["x", "Gold"]}}, None)
    assert not contains({"attributes": {"d": []}}, None)


def test_date_attributes() -> None:
    between = both(attr("BETWEEN", "2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z"))
    assert between({"attributes": {"d": ["2025-01-01T00:00:00Z"]}}, None)  # both bounds included
    assert between({"attributes": {"d": ["2025-01-31"]}}, None)
    assert not between({"attributes": {"d": ["2025-01-31T00:00:00.001Z", "soon"]}}, None)
    before, after = both(attr("BEFORE", "2025-01-01")), both(attr("AFTER", "2025-01-01"))
    assert not before({"attributes": {"d": ["2025-01-01T00:00:00Z"]}}, None)  # strict
    assert before({"attributes": {"d": ["2024-12-31T23:59:59+00:00"]}}, None)
    assert not after({"attributes": {"d": ["2025-01-01"]}}, None)
    assert after({"attributes": {"d": ["2025-01-01T01:00:00+02:00", "2025-01-01T00:00:01Z"]}}, None)
    on = both(attr("ON", "2025-01-01T18:00:00Z"))
    assert on({"attributes": {"d": ["2025-01-01T00:00:00Z"]}}, None)
    assert not on({"attributes": {"d": ["2025-01-02T00:00:00Z"]}}, None)
    assert on({"attributes": {"d": ["2025-01-02T00:30:00+01:00"]}}, None)  # the same UTC day


def test_metrics_and_missing_metrics() -> None:
    eq = both(seg(SegmentDimensions(metrics={"m": MetricDimension("EQUAL", 0.0)})))
    gte = both(seg(SegmentDimensions(metrics={"m": MetricDimension("GREATER_THAN_OR_EQUAL", 2.0)})))
    assert eq({"metrics": {"m": 0}}, None)
    assert not eq({}, None)  # missing matches no operator
    assert gte({"metrics": {"m": 2.0}}, None)
    assert not gte({"metrics": {"m": 1.9}}, None)


def test_recency_windows() -> None:
    active = both(seg(SegmentDimensions(behavior=SegmentBehaviors(RecencyDimension("DAY_7", "ACTIVE")))))
    inactive = both(seg(SegmentDimensions(behavior=SegmentBehaviors(RecencyDimension("HR_24", "INACTIVE")))))
    assert active({}, NOW - 7 * DAY)
    assert not active({}, NOW - 7 * DAY - 1)
    assert not active({}, None)
    assert inactive({}, None)  # never active
    assert not inactive({}, NOW - DAY + 1)


def test_last_active_is_the_later_of_the_last_active_day_and_the_effective_date() -> None:
    assert last_active_ms(None, None) is None
    assert last_active_ms([20000, 20005], None) == 20006 * DAY - 1
    assert last_active_ms([19000], "2024-10-01T00:00:00Z") == 1_727_740_800_000  # the update is later
    assert last_active_ms([20000], "2024-10-01T00:00:00Z") == 20001 * DAY - 1  # the last active day is later
    assert last_active_ms([], "2025-01-01T00:00:00.500Z") == 1_735_689_600_500


def test_gps_point() -> None:
    near = both(
        seg(
            SegmentDimensions(location=SegmentLocation(gps_point=GPSPointDimension(GPSCoordinates(47.6, -122.3), 10.0)))
        )
    )
    assert near({"location": {"latitude": 47.6, "longitude": -122.2}}, None)  # about 7.5 km
    assert not near({"location": {"latitude": 47.6, "longitude": -122.1}}, None)  # about 15 km
    assert not near({"location": {"country": "US"}}, None)


def test_groups_base_segments_and_none() -> None:
    ios = seg(SegmentDimensions(demographic=SegmentDemographics(platform=SetDimension(values=["iOS"]))), id="ios")
    gold = attr("INCLUSIVE", "gold")
    gold.id = "gold"
    bases = {"ios": ios, "gold": gold}
    refs = [SegmentReference("ios"), SegmentReference("gold")]

    def group(source_type: str, include: str = "ALL", **kw: Any) -> Predicate:
        g = SegmentGroup(source_segments=refs, source_type=source_type, **kw)
        return both(seg(groups=SegmentGroupList(groups=[g], include=include)), bases)

    ios_gold = {"demographic": {"platform": "iOS"}, "attributes": {"d": ["gold"]}}
    ios_only = {"demographic": {"platform": "iOS"}}
    assert group("ALL")(ios_gold, None)
    assert not group("ALL")(ios_only, None)
    assert group("ANY")(ios_only, None)
    assert not group("NONE")(ios_only, None)
    assert group("NONE")({}, None)
    assert not group("ALL", include="NONE")(ios_gold, None)
    # a group's Dimensions are combined by Type and ANDed with its base segments
    with_dims = group(
        "ANY",
        type="NONE",
        dimensions=[SegmentDimensions(metrics={"m": MetricDimension("GREATER_THAN", 1.0)})],
    )
    assert with_dims(ios_only, None)
    assert not with_dims({**ios_only, "metrics": {"m": 5}}, None)
    # nothing to combine restricts nothing
    assert both(seg(groups=SegmentGroupList(groups=[SegmentGroup(source_type="NONE", type="ANY")])))({}, None)


def test_counts() -> None:
    predicate = compile_segment(attr("INCLUSIVE", "x"), lambda i, v: seg(), now_ms=NOW)
    rows: list[tuple[dict[str, Any], int | None]] = [
        ({"channel_type": "SMS", "attributes": {"d": ["x"]}, "opt_out": "ALL"}, None),
        ({"channel_type": "SMS", "attributes": {"d": ["x"]}, "endpoint_status": "INACTIVE"}, None),
        ({"attributes": {"d": ["x"]}}, None),
        ({"channel_type": "EMAIL", "attributes": {"d": ["y"]}}, None),
    ]
    counts = count_audience(predicate, rows)
    assert (counts.total, counts.by_channel, counts.inactive, counts.opted_out) == (3, {"SMS": 2, "UNKNOWN": 1}, 1, 1)


def test_cycles_and_imported_segments_need_their_hooks() -> None:
    loop = seg(groups=SegmentGroupList(groups=[SegmentGroup(source_segments=[SegmentReference("s")])]))
    with pytest.raises(BadRequest, match="itself"):
        compile_segment(loop, lambda i, v: loop, now_ms=NOW)
    imported = seg(segment_type="IMPORT", id="imp")
    with pytest.raises(BadRequest, match="imported"):
        compile_segment(imported, lambda i, v: imported, now_ms=NOW)
    member = compile_segment(imported, lambda i, v: imported, now_ms=NOW, imported=lambda s, e: e.get("id") == "in")
    assert member({"id": "in"}, None)
    assert not member({"id": "out"}, None)


@pytest.mark.parametrize(
    ("dims", "groups", "message"),
    [
        (SegmentDimensions(attributes={"": AttributeDimension(["x"])}), None, "Dimensions.Attributes"),
        (SegmentDimensions(attributes={"a": AttributeDimension(["x"], "LIKE")}), None, "Attributes.a.AttributeType"),
        (SegmentDimensions(attributes={"a": AttributeDimension(["b", "a"], "BETWEEN")}), None, "ISO 8601"),
        (
            SegmentDimensions(attributes={"a": AttributeDimension(["2025-02-01", "2025-01-01"], "BETWEEN")}),
            None,
            "first date",
        ),
        (SegmentDimensions(demographic=SegmentDemographics(make=SetDimension([""]))), None, "Make.Values"),
        (SegmentDimensions(metrics={"m": MetricDimension("EQUAL", float("nan"))}), None, "Metrics.m.Value"),
        (
            SegmentDimensions(location=SegmentLocation(gps_point=GPSPointDimension(GPSCoordinates(0, 0), -1))),
            None,
            "RangeInKilometers",
        ),
        (SegmentDimensions(location=SegmentLocation(gps_point=GPSPointDimension())), None, "Coordinates is required"),
        (None, SegmentGroupList(groups=[SegmentGroup(type="SOME")]), "Groups[0].Type"),
        (None, SegmentGroupList(groups=[SegmentGroup(source_segments=[SegmentReference()])]), "SourceSegments[0].Id"),
        (
            None,
            SegmentGroupList(groups=[SegmentGroup(source_segments=[SegmentReference("x", 0)])]),
            "SourceSegments[0].Version",
        ),
        (
            None,
            SegmentGroupList(
                groups=[
                    SegmentGroup(
                        dimensions=[
                            SegmentDimensions(metrics={f"m{i}": MetricDimension("EQUAL", 1.0) for i in range(60)})
                        ]
                        * 2
                    )
                ]
            ),
            "at most 100",
        ),
    ],
)
def test_bad_definitions_name_the_field(
    dims: SegmentDimensions | None, groups: SegmentGroupList | None, message: str
) -> None:
    with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_definition(dims, groups)


def test_base_segment_rules() -> None:
    imported, dimensional = seg(segment_type="IMPORT", id="i"), seg(id="d")
    check_base_segments("new", [imported], {"i"})
    check_base_segments("new", [dimensional, seg(id="e")], {"d", "e"})
    with pytest.raises(BadRequest, match="exactly one imported"):
        check_base_segments("new", [imported, dimensional], {"i", "d"})
    with pytest.raises(BadRequest, match="itself"):
        check_base_segments("d", [seg(id="e")], {"e", "d"})
