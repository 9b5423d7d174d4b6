"""Segments through the real api handler on moto: versions, paging, validation, base segments, imports, predicates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.test_apps_api import create

DIMENSIONS = {
    "Demographic": {"Platform": {"DimensionType": "INCLUSIVE", "Values": ["iOS"]}},
    "Attributes": {"tier": {"AttributeType": "INCLUSIVE", "Values": ["gold"]}},
    "Metrics": {"score": {"ComparisonOperator": "GREATER_THAN", "Value": 1.0}},
    "Location": {"GPSPoint": {"Coordinates": {"Latitude": 47.6, "Longitude": -122.3}, "RangeInKilometers": 10}},
}


@pytest.fixture
def api_services(call: Any) -> Any:
    """The composition root over the same moto tables the handler uses (what import jobs will call)."""
    from homing.bootstrap import build_services
    from homing.settings import ApiSettings

    return build_services(ApiSettings.from_env())


def new_segment(call: Any, app: str, **body: Any) -> dict[str, Any]:
    r = call("POST", f"/v1/apps/{app}/segments", {"Name": "s", **body})
    assert r.status == 201, r.body
    return r.body


def test_create_get_update_versions_delete(call: Any) -> None:
    app = create(call)["Id"]
    seg = new_segment(call, app, Dimensions=DIMENSIONS, tags={"team": "growth"})
    assert seg["SegmentType"] == "DIMENSIONAL"
    assert seg["Version"] == 1
    assert seg["Dimensions"] == DIMENSIONS  # GPSPoint spelled as Pinpoint spells it
    assert seg["Arn"].endswith(f":apps/{app}/segments/{seg['Id']}")
    assert seg["tags"] == {"team": "growth"}
    path = f"/v1/apps/{app}/segments/{seg['Id']}"
    assert call("GET", path).body == seg

    updated = call("PUT", path, {"Name": "renamed"})
    assert updated.status == 200
    assert (updated.body["Version"], updated.body["Name"]) == (2, "renamed")
    assert updated.body["Dimensions"] == DIMENSIONS  # not sent: kept
    assert updated.body["tags"] == {"team": "growth"}
    assert call("PUT", path, {"tags": None}).body["tags"] == {"team": "growth"}  # null is "not sent"
    updated = call("PUT", path, {"tags": {}})
    assert (updated.body["Version"], updated.body["tags"]) == (4, {})
    assert updated.body["CreationDate"] == seg["CreationDate"]
    assert call("GET", f"{path}/versions/1").body == seg  # old versions stay readable
    assert call("GET", f"{path}/versions/4").body == updated.body
    versions = call("GET", f"{path}/versions").body
    assert [v["Version"] for v in versions["Item"]] == [1, 2, 3, 4]
    assert call("GET", f"{path}/versions/5").status == 404
    assert call("GET", f"{path}/versions/x").status == 400

    deleted = call("DELETE", path)
    assert deleted.body == updated.body
    for p in (path, f"{path}/versions", f"{path}/versions/1"):
        assert call("GET", p).status == 404
    assert call("DELETE", path).error_type == "NotFoundException"


def test_get_segments_pages_with_signed_tokens(call: Any) -> None:
    app = create(call)["Id"]
    ids = {new_segment(call, app)["Id"] for _ in range(5)}
    seen: list[str] = []
    token = None
    while True:
        query = {"page-size": ["2"], **({"token": [token]} if token else {})}
        page = call("GET", f"/v1/apps/{app}/segments", query=query).body
        seen += [s["Id"] for s in page["Item"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    bad = call("GET", f"/v1/apps/{app}/segments", query={"token": ["v1.e30.forged"]})
    assert (bad.status, bad.error_type) == (400, "BadRequestException")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Dimensions": {"Demographic": {"Platform": {"DimensionType": "MAYBE", "Values": ["x"]}}}}, "DimensionType"),
        ({"Dimensions": {"Demographic": {"Platform": {"Values": []}}}}, "Demographic.Platform.Values"),
        ({"Dimensions": {"Attributes": {"a": {"AttributeType": "BETWEEN", "Values": ["2025-01-01"]}}}}, "Attributes.a"),
        ({"Dimensions": {"Attributes": {"a": {"AttributeType": "AFTER", "Values": ["soon"]}}}}, "Attributes.a"),
        ({"Dimensions": {"Metrics": {"m": {"ComparisonOperator": "ABOUT", "Value": 1}}}}, "ComparisonOperator"),
        ({"Dimensions": {"Metrics": {"m": {"ComparisonOperator": "EQUAL"}}}}, "Metrics.m.Value"),
        ({"Dimensions": {"Behavior": {"Recency": {"Duration": "DAY_2", "RecencyType": "ACTIVE"}}}}, "Duration"),
        ({"Dimensions": {"Location": {"GPSPoint": {"Coordinates": {"Latitude": 91, "Longitude": 0}}}}}, "Latitude"),
        ({"Dimensions": {"Location": {"Country": "US"}}}, "Location.Country"),
        ({"SegmentGroups": {"Include": "SOME"}}, "SegmentGroups.Include"),
        ({"SegmentGroups": {"Groups": [{}, {}]}}, "SegmentGroups.Groups"),
        ({"SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": "missing"}]}]}}, "SourceSegments[0]"),
        ({"Dimensions": {"Attributes": {f"a{i}": {"Values": ["x"]} for i in range(101)}}}, "at most 100 dimensions"),
        ({"tags": {"aws:x": "1"}}, "tags"),
    ],
)
def test_every_bad_definition_is_a_400_naming_the_field_and_writes_nothing(
    call: Any, body: dict[str, Any], field: str
) -> None:
    app = create(call)["Id"]
    r = call("POST", f"/v1/apps/{app}/segments", {"Name": "bad", **body})
    assert (r.status, r.error_type) == (400, "BadRequestException"), r.body
    assert field in r.body["Message"]
    assert call("GET", f"/v1/apps/{app}/segments").body == {"Item": []}


def test_base_segments_rules(call: Any) -> None:
    app = create(call)["Id"]
    a, b = new_segment(call, app)["Id"], new_segment(call, app)["Id"]
    both = {"SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": a}, {"Id": b, "Version": 1}]}]}}
    c = new_segment(call, app, **both)
    # a base segment that (through its bases) refers back to the segment itself
    r = call(
        "PUT", f"/v1/apps/{app}/segments/{a}", {"SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": c["Id"]}]}]}}
    )
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert "itself" in r.body["Message"]
    assert call("GET", f"/v1/apps/{app}/segments/{a}").body["Version"] == 1  # rejected: nothing written
    r = call(
        "POST",
        f"/v1/apps/{app}/segments",
        {"SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": a, "Version": 9}]}]}},
    )
    assert r.status == 400


def test_imported_segments_show_their_definition_and_cannot_be_mixed(call: Any, api_services: Any) -> None:
    from homing.domain.segments import SegmentImportResource

    app = create(call)["Id"]
    imported = api_services.segments.create_imported(
        app,
        "from s3",
        SegmentImportResource("ext", "CSV", "arn:aws:iam::123456789012:role/r", "s3://b/k", 3, {"EMAIL": 3}),
    )
    body = call("GET", f"/v1/apps/{app}/segments/{imported.id}").body
    assert body["SegmentType"] == "IMPORT"
    assert body["ImportDefinition"] == {
        "ExternalId": "ext",
        "Format": "CSV",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "S3Url": "s3://b/k",
        "Size": 3,
        "ChannelCounts": {"EMAIL": 3},
    }
    dimensional = new_segment(call, app)["Id"]
    mixed = {"SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": imported.id}, {"Id": dimensional}]}]}}
    assert call("POST", f"/v1/apps/{app}/segments", mixed).status == 400
    only = {"SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": imported.id}]}]}}
    assert call("POST", f"/v1/apps/{app}/segments", only).status == 201


def test_the_service_predicate_counts_the_stored_endpoints(call: Any, api_services: Any) -> None:
    from homing.adapters.dynamodb.endpoints import EndpointItem
    from homing.domain.segment_predicate import count_audience

    app = create(call)["Id"]
    for i, (platform, tier) in enumerate([("iOS", "gold"), ("ios", "gold"), ("android", "gold"), ("iOS", "blue")]):
        body = {
            "ChannelType": "EMAIL" if i % 2 else "SMS",
            "Address": f"a{i}@example.com" if i % 2 else f"+1555000000{i}",
            "Demographic": {"Platform": platform},
            "Attributes": {"tier": [tier]},
            "OptOut": "ALL" if i == 1 else "NONE",
        }
        assert call("PUT", f"/v1/apps/{app}/endpoints/e{i}", body).status == 202
    dims = {k: DIMENSIONS[k] for k in ("Demographic", "Attributes")}
    segment = api_services.segments.get(app, new_segment(call, app, Dimensions=dims)["Id"])
    predicate = api_services.segments.predicate(segment, now=datetime.now(UTC))
    counts = count_audience(predicate, ((i.body, None) for i in EndpointItem.query(app)))
    assert (counts.total, counts.by_channel, counts.opted_out, counts.inactive) == (2, {"SMS": 1, "EMAIL": 1}, 1, 0)


def test_unknown_app_and_segment(call: Any) -> None:
    assert call("GET", "/v1/apps/" + "0" * 32 + "/segments").error_type == "NotFoundException"
    app = create(call)["Id"]
    assert call("GET", f"/v1/apps/{app}/segments/nope").error_type == "NotFoundException"
    assert call("PUT", f"/v1/apps/{app}/segments/nope", {"Name": "x"}).error_type == "NotFoundException"
    assert call("POST", f"/v1/apps/{app}/segments", None).status == 400


def test_concurrent_updates_each_make_a_version_and_none_is_lost(call: Any, api_services: Any) -> None:
    """Real threads race UpdateSegment: the conditional transaction makes the losers re-plan."""
    from concurrent.futures import ThreadPoolExecutor

    from homing.domain.segments import SegmentDefinition

    app = create(call)["Id"]
    seg_id = new_segment(call, app)["Id"]
    names = [f"n{i}" for i in range(6)]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        written = list(
            pool.map(lambda n: api_services.segments.update(app, seg_id, SegmentDefinition(name=n)).version, names)
        )
    assert sorted(written) == list(range(2, 2 + len(names)))  # every writer got its own version
    versions = call("GET", f"/v1/apps/{app}/segments/{seg_id}/versions").body["Item"]
    assert [v["Version"] for v in versions] == list(range(1, 2 + len(names)))
    assert sorted(v["Name"] for v in versions[1:]) == names
    head = call("GET", f"/v1/apps/{app}/segments/{seg_id}").body
    assert head == versions[-1]


def test_a_stale_head_is_replanned_not_overwritten(call: Any, api_services: Any, monkeypatch: Any) -> None:
    """A writer that read version 1 while another wrote version 2 re-reads and writes version 3."""
    from homing.domain.segments import SegmentDefinition

    app = create(call)["Id"]
    seg_id = new_segment(call, app, Dimensions=DIMENSIONS)["Id"]
    repo = api_services.segments._repo
    original = repo.write
    raced: list[int | None] = []

    def racing_write(segment: Any, read_version: int | None) -> None:
        if not raced:
            raced.append(read_version)
            assert call("PUT", f"/v1/apps/{app}/segments/{seg_id}", {"tags": {"by": "other"}}).status == 200
        original(segment, read_version)

    monkeypatch.setattr(repo, "write", racing_write)
    mine = api_services.segments.update(app, seg_id, SegmentDefinition(name="mine"))
    assert raced == [1]
    assert (mine.version, mine.name, mine.tags) == (3, "mine", {"by": "other"})  # the other write is kept


KEYS = [
    "Name", "Dimensions", "SegmentGroups", "tags", "Demographic", "Location", "Behavior", "Recency", "Attributes",
    "UserAttributes", "Metrics", "Platform", "Channel", "Country", "GPSPoint", "Coordinates", "Latitude",
    "Longitude", "RangeInKilometers", "Values", "DimensionType", "AttributeType", "ComparisonOperator", "Value",
    "Duration", "RecencyType", "Groups", "Include", "SourceSegments", "SourceType", "Type", "Id", "Version", "a",
]  # fmt: skip


def test_no_request_body_gets_a_5xx(call: Any) -> None:
    """Random JSON in Pinpoint's vocabulary: every answer is a 201 or a 4xx, and a 4xx writes nothing."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    app = create(call)["Id"]
    scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, width=32)
    scalars |= st.sampled_from(["INCLUSIVE", "BETWEEN", "ALL", "NONE", "DAY_7", "ACTIVE", "EQUAL", "", "2025-01-01"])
    json_values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
        max_leaves=25,
    )
    bodies = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4)

    @settings(derandomize=True, max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies)
    def check(body: dict[str, Any]) -> None:
        before = len(call("GET", f"/v1/apps/{app}/segments", query={"page-size": ["1000"]}).body["Item"])
        r = call("POST", f"/v1/apps/{app}/segments", body)
        assert r.status in (201, 400), (r.status, r.body, body)
        after = len(call("GET", f"/v1/apps/{app}/segments", query={"page-size": ["1000"]}).body["Item"])
        assert after == before + (1 if r.status == 201 else 0)

    check()
