"""Audience resolution's pure rules: key ranges, the selective index, the Recency check, members, counts, manifest."""

from __future__ import annotations

import itertools
import random
import string

import pytest

from homing.domain.audiences import (
    Chunk,
    KeyRange,
    ResolutionRequest,
    add_member,
    counts_from_json,
    counts_json,
    key_ranges,
    manifest,
    member,
    merge_counts,
    selective_channel,
    uses_recency,
)
from homing.domain.errors import BadRequest, NotFound
from homing.domain.segment_predicate import AudienceCounts
from homing.domain.segments import (
    RecencyDimension,
    Segment,
    SegmentBehaviors,
    SegmentDemographics,
    SegmentDimensions,
    SegmentGroup,
    SegmentGroupList,
    SegmentReference,
    SetDimension,
)


def segment(sid: str = "s", dims: SegmentDimensions | None = None, groups: SegmentGroupList | None = None) -> Segment:
    return Segment(sid, "app", 1, "DIMENSIONAL", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", None, dims, groups)


def channel(*values: str, kind: str = "INCLUSIVE") -> SegmentDimensions:
    return SegmentDimensions(demographic=SegmentDemographics(channel=SetDimension(list(values), kind)))


RECENT = SegmentDimensions(behavior=SegmentBehaviors(recency=RecencyDimension("DAY_7", "ACTIVE")))


@pytest.mark.parametrize("total", [1, 2, 3, 7, 16, 100, 256])
def test_key_ranges_hold_every_key_exactly_once(total: int) -> None:
    rng = random.Random(total)
    alphabet = string.ascii_lowercase + string.digits + "+-_.@Ω"
    keys = ["", "0", "00", "ff", "fg", "zz", "\U0010ffff"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(2000)
    ]
    ranges = key_ranges(total)

    assert len(ranges) == total
    assert (ranges[0].low, ranges[-1].high) == (None, None)
    for key in keys:
        assert sum(r.holds(key) for r in ranges) == 1, key
    for left, right in itertools.pairwise(ranges):
        assert left.high == right.low  # contiguous, in order


def test_uuid_keys_spread_evenly_over_the_ranges() -> None:
    import uuid

    ranges = key_ranges(16)
    counts = [0] * 16
    for _ in range(16_000):
        key = uuid.uuid4().hex
        counts[next(i for i, r in enumerate(ranges) if r.holds(key))] += 1
    assert min(counts) > 800  # 1,000 expected each


@pytest.mark.parametrize("total", [0, 257])
def test_key_ranges_refuse_a_bad_count(total: int) -> None:
    with pytest.raises(BadRequest):
        key_ranges(total)


def test_key_range_bounds() -> None:
    r = KeyRange("40", "80")
    assert [r.holds(k) for k in ("3f", "40", "7zz", "80", "8")] == [False, True, True, False, True]


@pytest.mark.parametrize(
    ("dims", "expected"),
    [
        (channel("email"), "EMAIL"),
        (channel("EMAIL", "email"), "EMAIL"),
        (channel("EMAIL", "SMS"), None),  # two channels: the index would need two queries
        (channel("EMAIL", kind="EXCLUSIVE"), None),
        (SegmentDimensions(), None),
        (None, None),
    ],
)
def test_the_channel_index_is_used_only_for_one_inclusive_top_level_channel(
    dims: SegmentDimensions | None, expected: str | None
) -> None:
    assert selective_channel(segment(dims=dims)) == expected


def test_a_channel_inside_a_group_does_not_select_the_index() -> None:
    groups = SegmentGroupList([SegmentGroup(dimensions=[channel("EMAIL")])])
    assert selective_channel(segment(groups=groups)) is None


def test_uses_recency_looks_through_groups_and_base_segments() -> None:
    base = segment("base", dims=RECENT)
    plain = segment("plain", dims=channel("EMAIL"))
    known = {"base": base, "plain": plain}

    def resolve(sid: str, version: int | None) -> Segment:
        if sid not in known:
            raise NotFound(sid)
        return known[sid]

    assert uses_recency(segment(dims=RECENT), resolve)
    assert uses_recency(segment(groups=SegmentGroupList([SegmentGroup(dimensions=[RECENT])])), resolve)
    with_base = SegmentGroupList([SegmentGroup(source_segments=[SegmentReference("plain"), SegmentReference("base")])])
    assert uses_recency(segment(groups=with_base), resolve)
    only_plain = SegmentGroupList([SegmentGroup(source_segments=[SegmentReference("plain")])])
    assert not uses_recency(segment(groups=only_plain), resolve)
    assert not uses_recency(segment(dims=channel("SMS")), resolve)


def test_members_carry_what_a_sender_needs_and_are_counted() -> None:
    bodies = [
        {"id": "a", "channel_type": "EMAIL", "address": "a@x", "opt_out": "NONE", "endpoint_status": "ACTIVE"},
        {"id": "b", "channel_type": "EMAIL", "address": "b@x", "opt_out": "ALL"},
        {"id": "c", "channel_type": "SMS", "address": "+1", "endpoint_status": "INACTIVE"},
        {"id": "d"},
    ]
    counts = AudienceCounts()
    entries = [member(b) for b in bodies]
    for entry in entries:
        add_member(counts, entry)

    assert entries[1] == {
        "id": "b",
        "channel_type": "EMAIL",
        "address": "b@x",
        "inactive": False,
        "opted_out": True,
        "endpoint": bodies[1],
    }
    assert (entries[2]["inactive"], entries[2]["opted_out"]) == (True, False)
    assert counts == AudienceCounts(total=4, by_channel={"EMAIL": 2, "SMS": 1, "UNKNOWN": 1}, inactive=1, opted_out=1)
    assert counts_from_json(counts_json(counts)) == counts


def test_manifest_lists_pages_in_part_and_chunk_order_and_sums_the_counts() -> None:
    request = ResolutionRequest("r", "app", "seg", 3, 1_000, "2026-01-01T00:00:00Z", parts=2)
    chunks = [
        Chunk(1, 0, [{"key": "p1-0", "count": 2}], AudienceCounts(2, {"SMS": 2}, 1, 0), scanned=5),
        Chunk(0, 1, [{"key": "p0-1", "count": 1}], AudienceCounts(1, {"EMAIL": 1}, 0, 1), scanned=3),
        Chunk(0, 0, [{"key": "p0-0a", "count": 1}, {"key": "p0-0b", "count": 1}], AudienceCounts(2, {"EMAIL": 2})),
    ]

    out = manifest(request, [Chunk.from_json(c.to_json()) for c in chunks], "2026-01-01T00:01:00Z")

    assert [p["key"] for p in out["pages"]] == ["p0-0a", "p0-0b", "p0-1", "p1-0"]
    assert out["counts"] == {"total": 5, "by_channel": {"EMAIL": 3, "SMS": 2}, "inactive": 1, "opted_out": 1}
    assert (out["segment_version"], out["scanned"], out["evaluated_at_ms"]) == (3, 8, 1_000)
    assert merge_counts([]) == AudienceCounts()
