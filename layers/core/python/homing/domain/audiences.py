"""Audience resolution, the pure parts: key ranges, members, pages, part summaries, the manifest.

A resolution evaluates one segment version (compiled once, Recency windows fixed at the resolution's
``now``) over an app's endpoints, split into ``total`` parts that run in parallel. Part ``i`` reads
the endpoints whose key falls in ``key_ranges(total)[i]`` (a range of the sort key inside the app's
partition, or of the by-channel index's partition; docs/decisions.md says why not DynamoDB's Scan
``Segment``), writes the members it finds as pages of at most ``PAGE_SIZE`` and, each time its
Lambda budget runs out, a chunk summary (its pages and counts) and a cursor to resume from. The
finalize step merges every chunk summary into the manifest. Storage layout (one S3 prefix per
resolution, so DeleteApp removes an app's audiences with one prefix):

    audiences/<app>/<segment>/<resolution id>/request.json     what was asked (written when started)
    audiences/<app>/<segment>/<resolution id>/pages/<part>-<chunk>-<n>.json   members
    audiences/<app>/<segment>/<resolution id>/parts/<part>-<chunk>.json       chunk summaries
    audiences/<app>/<segment>/<resolution id>/manifest.json    pages and counts (written last)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homing.domain.errors import BadRequest
from homing.domain.segment_predicate import AudienceCounts
from homing.domain.segments import MAX_DIMENSIONS, ResolveBase, Segment, SegmentDimensions

PAGE_SIZE = 1000  # members per page: one send_batch invocation's worth; ~1 MB of JSON at most endpoints
DEFAULT_PARTS = 16  # parallel parts per resolution (the Map's width)
MAX_PARTS = 256
PREFIX = "audiences"
MANIFEST = "manifest.json"
REQUEST = "request.json"

# States of a resolution as the extension reports them (Pinpoint's JobStatus spelling).
RUNNING, COMPLETED, FAILED = "PROCESSING", "COMPLETED", "FAILED"

# Range boundaries over the first two characters of an endpoint key (lower-cased ids). Mobile SDKs
# and Amplify make endpoint ids UUIDs, whose hex digits spread evenly over "00".."ff"; any other id
# still lands in exactly one range (keys above "ff" fall into the last one), only less evenly.
_KEY_SPACE = 256


@dataclass(frozen=True)
class KeyRange:
    """Sort keys ``low <= key < high`` (None: unbounded on that side)."""

    low: str | None
    high: str | None

    def holds(self, key: str) -> bool:
        return (self.low is None or key >= self.low) and (self.high is None or key < self.high)


def key_ranges(total: int) -> list[KeyRange]:
    """``total`` contiguous ranges that together hold every string exactly once."""
    if not 1 <= total <= MAX_PARTS:
        raise BadRequest(f"Parts must be between 1 and {MAX_PARTS}")
    cuts = [f"{(j * _KEY_SPACE) // total:02x}" for j in range(1, total)]
    bounds: list[str | None] = [None, *cuts, None]
    return [KeyRange(bounds[i], bounds[i + 1]) for i in range(total)]


def selective_channel(segment: Segment) -> str | None:
    """The one channel every member must have, when the top-level Dimensions say so (Channel INCLUSIVE
    with one value): then the by-channel index holds every member and only the app's endpoints of that
    channel need reading. Groups are ANDed with the top level, so they can only narrow it further."""
    dims = segment.dimensions
    channel = dims.demographic.channel if dims and dims.demographic else None
    if channel is None or (channel.dimension_type or "INCLUSIVE") != "INCLUSIVE":
        return None
    values = {v.upper() for v in channel.values or ()}
    return values.pop() if len(values) == 1 else None


def _dims_use_recency(dims: SegmentDimensions | None) -> bool:
    return dims is not None and dims.behavior is not None and dims.behavior.recency is not None


def uses_recency(segment: Segment, resolve_base: ResolveBase, depth: int = 0) -> bool:
    """Whether evaluating the segment needs endpoints' last-active times (a Recency anywhere, base segments too)."""
    if depth > MAX_DIMENSIONS:  # a cycle cannot be stored (checked on write); bounded all the same
        return False
    if _dims_use_recency(segment.dimensions):
        return True
    for group in (segment.segment_groups.groups or []) if segment.segment_groups else []:
        if any(_dims_use_recency(d) for d in group.dimensions or []):
            return True
        for ref in group.source_segments or []:
            if uses_recency(resolve_base(ref.id or "", ref.version), resolve_base, depth + 1):
                return True
    return False


def member(body: Mapping[str, Any]) -> dict[str, Any]:
    """One page entry: what a sender needs without reading the endpoint again (the stored snake_case body
    in full, for templates), with its channel, address and sendability on top."""
    return {
        "id": body.get("id"),
        "channel_type": body.get("channel_type"),
        "address": body.get("address"),
        "inactive": body.get("endpoint_status", "ACTIVE") == "INACTIVE",
        "opted_out": body.get("opt_out", "NONE") == "ALL",
        "endpoint": dict(body),
    }


def add_member(counts: AudienceCounts, entry: Mapping[str, Any]) -> None:
    counts.total += 1
    channel = entry.get("channel_type") or "UNKNOWN"
    counts.by_channel[channel] = counts.by_channel.get(channel, 0) + 1
    counts.inactive += 1 if entry["inactive"] else 0
    counts.opted_out += 1 if entry["opted_out"] else 0


def counts_json(counts: AudienceCounts) -> dict[str, Any]:
    return {
        "total": counts.total,
        "by_channel": dict(sorted(counts.by_channel.items())),
        "inactive": counts.inactive,
        "opted_out": counts.opted_out,
    }


def counts_from_json(raw: Mapping[str, Any]) -> AudienceCounts:
    return AudienceCounts(
        total=int(raw["total"]),
        by_channel={str(k): int(v) for k, v in raw["by_channel"].items()},
        inactive=int(raw["inactive"]),
        opted_out=int(raw["opted_out"]),
    )


def merge_counts(parts: Iterable[AudienceCounts]) -> AudienceCounts:
    out = AudienceCounts()
    for c in parts:
        out.total += c.total
        out.inactive += c.inactive
        out.opted_out += c.opted_out
        for channel, n in c.by_channel.items():
            out.by_channel[channel] = out.by_channel.get(channel, 0) + n
    return out


@dataclass(frozen=True)
class ResolutionRequest:
    """What one resolution evaluates: a segment version at ``now_ms`` (fixes the Recency windows), in ``parts``."""

    resolution_id: str
    application_id: str
    segment_id: str
    segment_version: int
    now_ms: int
    created: str  # ISO 8601
    parts: int = DEFAULT_PARTS
    channel: str | None = None  # read through the by-channel index (selective_channel)


def resolution_prefix(app_id: str, segment_id: str, resolution_id: str = "") -> str:
    base = f"{PREFIX}/{app_id}/{segment_id}/"
    return f"{base}{resolution_id}/" if resolution_id else base


def app_prefix(app_id: str) -> str:
    return f"{PREFIX}/{app_id}/"


def request_prefix(request: ResolutionRequest) -> str:
    return resolution_prefix(request.application_id, request.segment_id, request.resolution_id)


def page_key(request: ResolutionRequest, part: int, chunk: int, n: int) -> str:
    return f"{request_prefix(request)}pages/{part:03d}-{chunk:05d}-{n:05d}.json"


def chunk_key(request: ResolutionRequest, part: int, chunk: int) -> str:
    return f"{request_prefix(request)}parts/{part:03d}-{chunk:05d}.json"


@dataclass
class Chunk:
    """What one invocation of a part wrote: its pages (keys, in order) and the counts of their members."""

    part: int
    chunk: int
    pages: list[dict[str, Any]] = field(default_factory=list)  # {"key", "count"}
    counts: AudienceCounts = field(default_factory=AudienceCounts)
    scanned: int = 0  # endpoints read (members or not)

    def to_json(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "chunk": self.chunk,
            "pages": self.pages,
            "counts": counts_json(self.counts),
            "scanned": self.scanned,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Chunk:
        return cls(
            part=int(raw["part"]),
            chunk=int(raw["chunk"]),
            pages=list(raw["pages"]),
            counts=counts_from_json(raw["counts"]),
            scanned=int(raw.get("scanned", 0)),
        )


@dataclass(frozen=True)
class Resolution:
    """A resolution as the extension reports it: its request, its state and, once complete, its manifest."""

    request: ResolutionRequest
    state: str
    counts: AudienceCounts | None = None
    manifest_key: str | None = None
    completed: str | None = None
    pages: int | None = None
    scanned: int | None = None
    failure: str | None = None


def manifest(request: ResolutionRequest, chunks: list[Chunk], completed: str) -> dict[str, Any]:
    """The manifest the delivery workflow fans out over: every page in (part, chunk) order, the counts."""
    ordered = sorted(chunks, key=lambda c: (c.part, c.chunk))
    return {
        "resolution_id": request.resolution_id,
        "application_id": request.application_id,
        "segment_id": request.segment_id,
        "segment_version": request.segment_version,
        "evaluated_at_ms": request.now_ms,
        "created": request.created,
        "completed": completed,
        "parts": request.parts,
        "channel_index": request.channel,
        "counts": counts_json(merge_counts(c.counts for c in ordered)),
        "scanned": sum(c.scanned for c in ordered),
        "pages": [p for c in ordered for p in c.pages],
    }
