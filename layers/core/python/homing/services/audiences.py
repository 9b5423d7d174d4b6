"""Audience resolution: a segment version evaluated over an app's endpoints, written as pages + a manifest.

Three entry points, so the same resolution runs wherever it is needed:
- ``start`` (the extension, and campaigns' delivery workflow through the state machine): records the
  request and starts the resolution workflow (a Map over ``parts`` invocations of ``resolve_part``,
  each continuing with a cursor when its time runs out, then ``finalize``);
- ``resolve_part`` / ``finalize`` / ``fail``: the workflow's steps (functions/resolve_audience);
- ``resolve`` (export jobs, tests): the whole resolution in this process, returning the manifest.

The segment version is compiled once per invocation with the resolution's ``now`` (so every part
applies the same Recency windows); endpoints' last-active times are read (BatchGetItem of their
activity items) only when the segment has a Recency somewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from homing.adapters.audience_store import AudienceStore
from homing.adapters.dynamodb.audiences import BATCH_GET, AudienceSource
from homing.adapters.workflows import StateMachine
from homing.domain.analytics import endpoint_activity_key
from homing.domain.audiences import (
    COMPLETED,
    DEFAULT_PARTS,
    FAILED,
    MANIFEST,
    PAGE_SIZE,
    REQUEST,
    RUNNING,
    Chunk,
    Resolution,
    ResolutionRequest,
    add_member,
    chunk_key,
    counts_from_json,
    key_ranges,
    manifest,
    member,
    page_key,
    request_prefix,
    resolution_prefix,
    selective_channel,
    uses_recency,
)
from homing.domain.errors import BadRequest, NotFound
from homing.domain.segment_predicate import Predicate, compile_segment, last_active_ms
from homing.domain.segments import ImportedMembership, Segment
from homing.domain.timestamps import iso_now
from homing.services.segments import SegmentService

FAILURE = "failed.json"
TimeLeft = Callable[[], bool]  # True while the invocation may start another page


def _always() -> bool:
    return True


class AudienceService:
    def __init__(
        self,
        segments: SegmentService,
        source: AudienceSource,
        store: AudienceStore,
        workflow: StateMachine | None,
        *,
        clock: Callable[[], datetime],
        parts: int = DEFAULT_PARTS,
        page_size: int = PAGE_SIZE,
        imported: ImportedMembership | None = None,
    ) -> None:
        self._segments, self._source, self._store, self._imported = segments, source, store, imported
        self._workflow, self._clock, self._parts, self._page_size = workflow, clock, parts, page_size
        self._compiled: dict[tuple[str, str], tuple[Predicate, bool]] = {}

    # -- the extension -------------------------------------------------------------------------------

    def prepare(self, app_id: str, segment_id: str, version: str | None = None) -> ResolutionRequest:
        """Check the app and the segment version (it must compile), and record the request."""
        if version is not None:
            segment = self._segments.get_version(app_id, segment_id, version)
        else:
            segment = self._segments.get(app_id, segment_id)
        now = self._clock()
        now_ms = int(now.timestamp() * 1000)
        request = ResolutionRequest(
            resolution_id=f"{now_ms:013d}-{uuid.uuid4().hex[:12]}",  # newest sorts last
            application_id=app_id,
            segment_id=segment.id,
            segment_version=segment.version,
            now_ms=now_ms,
            created=iso_now(now),
            parts=self._parts,
            channel=selective_channel(segment),
        )
        self._predicate(request, segment)  # a segment that cannot be evaluated is a 400 now, not a failed run
        self._store.put_json(self._key(request, REQUEST), asdict(request))
        return request

    def start(self, app_id: str, segment_id: str, version: str | None = None) -> Resolution:
        """Record a resolution of the segment's current (or given) version and start its workflow."""
        if self._workflow is None:
            raise BadRequest("Audience resolution is not configured in this deployment")
        request = self.prepare(app_id, segment_id, version)
        try:
            self._workflow.start(
                request.resolution_id, {"request": asdict(request), "parts": self.part_inputs(request)}
            )
        except Exception as exc:  # recorded, so GET does not report a resolution that never ran as PROCESSING
            self.fail(request, f"The resolution could not be started ({type(exc).__name__})")
            raise
        return Resolution(request, RUNNING)

    @staticmethod
    def part_inputs(request: ResolutionRequest) -> list[dict[str, Any]]:
        """The Map's items (stacks/constructs/audience_resolution.py): one per part, from its range's start."""
        raw = asdict(request)
        return [
            {"request": raw, "item": {"part": i, "chunk": 0, "cursor": None, "done": False}}
            for i in range(request.parts)
        ]

    def latest(self, app_id: str, segment_id: str) -> Resolution:
        """The newest resolution of the segment: its state and, once complete, its counts and manifest."""
        self._segments.get(app_id, segment_id)
        ids = self._store.folders(resolution_prefix(app_id, segment_id))
        if not ids:
            raise NotFound(f"Segment {segment_id} has no audience resolution")
        raw = self._store.get_json(resolution_prefix(app_id, segment_id, max(ids)) + REQUEST)
        if raw is None:
            raise NotFound(f"Segment {segment_id} has no audience resolution")
        return self.status(ResolutionRequest(**raw))

    def status(self, request: ResolutionRequest) -> Resolution:
        done = self._store.get_json(self._key(request, MANIFEST))
        if done is not None:
            return Resolution(
                request,
                COMPLETED,
                counts=counts_from_json(done["counts"]),
                manifest_key=self._store.url(self._key(request, MANIFEST)),
                completed=done["completed"],
                pages=len(done["pages"]),
                scanned=done["scanned"],
            )
        failed = self._store.get_json(self._key(request, FAILURE))
        if failed is not None:
            return Resolution(request, FAILED, completed=failed["completed"], failure=failed["error"])
        return Resolution(request, RUNNING)

    # -- the workflow's steps ------------------------------------------------------------------------

    def resolve_part(
        self, request: ResolutionRequest, part: int, chunk: int, cursor: str | None, time_left: TimeLeft = _always
    ) -> dict[str, Any]:
        """Evaluate part ``part`` from ``cursor`` until its range ends or ``time_left`` says stop (checked
        every ``BATCH_GET`` endpoints); write the pages and this chunk's summary, and return the Map
        item's next state (the cursor is the last endpoint key read).

        A retried invocation rewrites its own chunk's objects; the manifest lists only the pages the
        chunk summaries name, so a page left by a failed attempt is never read (the lifecycle expires it).
        """
        predicate, needs_activity = self._predicate(request)
        key_range = key_ranges(request.parts)[part]
        summary = Chunk(part, chunk)
        members: list[dict[str, Any]] = []
        batch: list[tuple[str, dict[str, Any]]] = []
        last: str | None = cursor
        done = True

        def flush_batch() -> None:
            days = (
                self._source.activity_days(request.application_id, (b.get("id") or k for k, b in batch))
                if needs_activity
                else {}
            )
            for key, body in batch:
                summary.scanned += 1
                t = None
                if needs_activity:
                    activity = days.get(endpoint_activity_key(request.application_id, body.get("id") or key)[1])
                    t = last_active_ms(activity, body.get("effective_date"))
                if predicate(body, t):
                    entry = member(body)
                    add_member(summary.counts, entry)
                    members.append(entry)
            batch.clear()

        def flush_page() -> None:
            """Write the first ``page_size`` members (or all that are left) as the next page."""
            page = members[: self._page_size]
            key = page_key(request, part, chunk, len(summary.pages))
            self._store.put_json(key, {"members": page})
            summary.pages.append({"key": key, "count": len(page)})
            del members[: len(page)]

        for key, body in self._source.endpoints(request.application_id, key_range, cursor, request.channel):
            batch.append((key, body))
            last = key
            if len(batch) >= BATCH_GET:
                flush_batch()
                while len(members) >= self._page_size:
                    flush_page()
                if not time_left():
                    done = False
                    break
        flush_batch()
        while members:
            flush_page()
        self._store.put_json(chunk_key(request, part, chunk), summary.to_json())
        return {"part": part, "chunk": chunk + 1, "cursor": last, "done": done}

    def finalize(self, request: ResolutionRequest) -> dict[str, Any]:
        """Merge every chunk summary into the manifest (written last: its presence means COMPLETED)."""
        prefix = request_prefix(request) + "parts/"
        chunks = [Chunk.from_json(self._store.get_json(k) or {}) for k in self._store.keys(prefix)]
        out = manifest(request, chunks, iso_now(self._clock()))
        self._store.put_json(self._key(request, MANIFEST), out)
        url = self._store.url(self._key(request, MANIFEST))
        return {"counts": out["counts"], "pages": len(out["pages"]), "manifest": url}

    def fail(self, request: ResolutionRequest, error: str) -> None:
        self._store.put_json(self._key(request, FAILURE), {"completed": iso_now(self._clock()), "error": error[:500]})

    # -- in process ----------------------------------------------------------------------------------

    def resolve(self, request: ResolutionRequest, time_left: TimeLeft = _always) -> dict[str, Any]:
        """The whole resolution here (export jobs, tests): every part to its end, then the manifest."""
        for part in range(request.parts):
            state: dict[str, Any] = {"chunk": 0, "cursor": None, "done": False}
            while not state["done"]:
                state = self.resolve_part(request, part, state["chunk"], state["cursor"], time_left)
        self.finalize(request)
        manifest_json: dict[str, Any] = self._store.get_json(self._key(request, MANIFEST)) or {}
        return manifest_json

    # -- helpers -------------------------------------------------------------------------------------

    def _key(self, request: ResolutionRequest, name: str) -> str:
        return request_prefix(request) + name

    def _predicate(self, request: ResolutionRequest, segment: Segment | None = None) -> tuple[Predicate, bool]:
        """The segment version compiled once per resolution (per warm invocation environment)."""
        cache_key = (request.application_id, request.resolution_id)
        if cache_key not in self._compiled:
            if segment is None:
                segment = self._segments.resolver(request.application_id)(request.segment_id, request.segment_version)
            resolve = self._segments.resolver(request.application_id)
            predicate = compile_segment(segment, resolve, now_ms=request.now_ms, imported=self._imported)
            self._compiled.clear()  # one resolution at a time per environment
            self._compiled[cache_key] = (predicate, uses_recency(segment, resolve))
        return self._compiled[cache_key]


def deadline(remaining_ms: Callable[[], int], reserve_ms: int) -> TimeLeft:
    """A TimeLeft for a Lambda invocation: stop once less than ``reserve_ms`` remain."""
    return lambda: remaining_ms() > reserve_ms
