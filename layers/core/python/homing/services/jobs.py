"""Import and export jobs: created by the API, run by the run_jobs worker from the jobs queue.

An import is planned once (list the S3 URL's objects, cut each file into pieces of whole lines), then
every piece is one queue message: its rows become endpoints through EndpointService's batch upsert
(the same merge rules and caps as UpdateEndpointsBatch), 100 at a time. A bad row fails only itself
(file and line in ``Failures``). Each piece is counted once (JobRepository.count_piece); the worker
that counts the last piece finishes the job, defining the imported segment (DefineSegment) once even
if that step is retried. An export is one message per key-range part of the app's partition, read with
the audience resolution's reader (AudienceSource) and filtered by the segment's compiled predicate;
each part writes gzip objects of newline-delimited endpoint JSON (Pinpoint's export format).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from homing.adapters.dynamodb.audiences import BATCH_GET, AudienceSource
from homing.adapters.dynamodb.jobs import JobRepository, StatusConflict
from homing.adapters.s3 import FileError, JobFiles
from homing.codec import build, dump, snake
from homing.domain.analytics import endpoint_activity_key
from homing.domain.audiences import key_ranges, selective_channel, uses_recency
from homing.domain.endpoints import Endpoint, EndpointRequest
from homing.domain.errors import BadRequest, HomingError, NotFound
from homing.domain.jobs import (
    COMPLETED,
    COMPLETING,
    CREATED,
    EXPORT,
    FAILED,
    FINISHED,
    IMPORT,
    INITIALIZING,
    MAX_FAILURES,
    PROCESSING,
    ExportDefinition,
    ImportDefinition,
    Job,
    Piece,
    Row,
    check_export,
    check_import,
    export_object_key,
    failure_message,
    final_status,
    parse_s3_url,
    read_rows,
    split_lines,
    wanted,
)
from homing.domain.segment_predicate import Predicate, last_active_ms
from homing.domain.segments import Segment, SegmentImportResource
from homing.domain.timestamps import iso_now, parse_timestamp
from homing.observability import logger
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService
from homing.services.segments import SegmentService

EXPORT_PARTS = 4  # key-range parts of an export (one queue message, one worker each)
EXPORT_PART_LINES = 10_000  # endpoints per gzip object of an export
MIN_REMAINING_MS = 60_000  # a piece hands the rest on to a continuation message with a minute left
BATCH = 100  # endpoints per EndpointService batch upsert (UpdateEndpointsBatch's cap)
# Batches of one piece written at once: a batch is mostly waiting on DynamoDB (a read per user and per
# address, then transactions), so a few threads multiply a worker's rate without more Lambdas.
BATCH_WORKERS = 4
JOB_ID = re.compile(r"[0-9a-f]{32}")  # any other id names no job (and never reaches a DynamoDB key)


class Queue(Protocol):
    def send(self, body: str, delay_seconds: int = 0) -> None: ...


class ImportedMembers:
    """The membership of IMPORT segments (``domain.segments.ImportedMembership``), for the compiled predicate.

    An IMPORT segment version's members are the endpoints its import registered (ids, case-insensitive
    like Pinpoint's) and the endpoints of the users it named (User.UserId-only rows). The ids of one
    import are read once (one Query of its piece items) when a predicate first asks about its segment,
    and kept for the ``keep`` most recent imports: they never change once the import has defined its
    segment, and a resolution or export asks about one import (docs/capacity.md bounds the memory).
    """

    def __init__(self, repo: JobRepository, keep: int = 2) -> None:
        self._repo, self._keep = repo, keep
        self._loaded: OrderedDict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = OrderedDict()

    def ids(self, app_id: str, job_id: str) -> tuple[frozenset[str], frozenset[str]]:
        """(lower-cased endpoint ids, user ids) of one import."""
        key = (app_id, job_id)
        if key in self._loaded:
            self._loaded.move_to_end(key)
            return self._loaded[key]
        recorded = self._repo.imported_ids(app_id, job_id)
        loaded = frozenset(i.lower() for i in recorded.endpoint_ids), frozenset(recorded.user_ids)
        self._loaded[key] = loaded
        while len(self._loaded) > self._keep:
            self._loaded.popitem(last=False)
        return loaded

    def __call__(self, segment: Segment, body: Mapping[str, Any]) -> bool:
        if segment.import_job_id is None:  # an IMPORT segment no import defined has no members
            return False
        endpoint_ids, user_ids = self.ids(segment.application_id, segment.import_job_id)
        endpoint_id = body.get("id")
        if isinstance(endpoint_id, str) and endpoint_id.lower() in endpoint_ids:
            return True
        return bool(user_ids) and (body.get("user") or {}).get("user_id") in user_ids


def imported_segment_id(job: Job) -> str:
    """The id of the segment an import creates (DefineSegment with SegmentName): derived from the job, so a
    retried finishing step finds the segment it created instead of creating another."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"homing-import-segment:{job.application_id}:{job.id}").hex


class JobService:
    def __init__(
        self,
        apps: AppService,
        endpoints: EndpointService,
        repo: JobRepository,
        files: JobFiles,
        queue: Queue,
        *,
        clock: Callable[[], datetime],
        buckets: tuple[str, ...],
        segments: SegmentService,
        source: AudienceSource,
        members: ImportedMembers,
        rng: random.Random | None = None,
        export_parts: int = EXPORT_PARTS,
        batch_workers: int = BATCH_WORKERS,
    ) -> None:
        self._apps, self._endpoints, self._source, self._members = apps, endpoints, source, members
        self._repo, self._files, self._queue, self._clock = repo, files, queue, clock
        self._buckets, self._segments = buckets, segments
        self._rng = rng or random.SystemRandom()
        self._export_parts = export_parts
        self._batch_workers = batch_workers

    # --- API ------------------------------------------------------------------------------------

    def create_import(self, app_id: str, definition: ImportDefinition) -> Job:
        self._apps.require(app_id)
        check_import(definition, self._buckets)
        if definition.segment_id:
            segment = self._segments.get(app_id, definition.segment_id)
            if definition.define_segment and segment.segment_type != "IMPORT":
                raise BadRequest(f"SegmentId: segment {segment.id} is not an imported segment")
        return self._create(app_id, IMPORT, definition)

    def create_export(self, app_id: str, definition: ExportDefinition) -> Job:
        self._apps.require(app_id)
        check_export(definition, self._buckets)
        if definition.segment_id:
            self._export_segment(app_id, definition)
        return self._create(app_id, EXPORT, definition)

    def _create(self, app_id: str, job_type: str, definition: ImportDefinition | ExportDefinition) -> Job:
        now = self._clock()
        # 32 hex digits like Pinpoint's ids; the first 12 are the creation time, so listings are newest first.
        job_id = f"{int(now.timestamp() * 1000):012x}{self._rng.getrandbits(80):020x}"
        job = Job(app_id, job_id, job_type, CREATED, iso_now(now), definition)
        self._repo.create(job)
        try:
            self._send({"op": "plan", "app": app_id, "job": job_id, "type": job_type})
        except Exception:  # nothing will run it: a request that fails leaves nothing behind
            self._repo.delete(job)
            raise
        return job

    def get(self, app_id: str, job_type: str, job_id: str) -> Job:
        self._apps.require(app_id)
        job = self._repo.get(app_id, job_type, job_id) if JOB_ID.fullmatch(job_id) else None
        if job is None:
            raise NotFound(f"{job_type.title()} job {job_id} not found in application {app_id}")
        return job

    def page(
        self, app_id: str, job_type: str, page_size: int, token: str | None, segment_id: str | None = None
    ) -> tuple[list[Job], str | None]:
        self._apps.require(app_id)
        if segment_id is not None:
            self._segments.get(app_id, segment_id)
        return self._repo.page(app_id, job_type, page_size, token, segment_id)

    # --- worker ---------------------------------------------------------------------------------

    def run(self, body: str, remaining_ms: Callable[[], int] = lambda: 900_000) -> None:
        """Handle one queue message (run_jobs). Every step may run twice: each is idempotent."""
        task = json.loads(body)
        job = self._repo.get(task["app"], task.get("type", IMPORT), task["job"])
        if job is None or job.job_status in FINISHED:
            return
        op = task["op"]
        if op == "plan":
            self._plan_import(job) if job.type == IMPORT else self._plan_export(job)
        elif op == "import-piece":
            piece = Piece(**{**task["piece"], "header": _header(task["piece"].get("header"))})
            self._import_piece(job, piece, task, remaining_ms)
        elif op == "export-piece":
            self._export_piece(job, task, remaining_ms)
        else:
            raise ValueError(f"unknown job task {op!r}")

    def _send(self, task: dict[str, Any]) -> None:
        self._queue.send(json.dumps(task, separators=(",", ":")))

    def _fail(self, job: Job, message: str) -> None:
        self._repo.move(
            job,
            (CREATED, INITIALIZING, PROCESSING, COMPLETING),
            FAILED,
            failures=[message],
            completion_date=iso_now(self._clock()),
        )

    def _plan_import(self, job: Job) -> None:
        definition = job.definition
        assert isinstance(definition, ImportDefinition)
        if job.job_status == CREATED:
            job = self._repo.move(job, (CREATED,), INITIALIZING)
        bucket, prefix = parse_s3_url(definition.s3_url, "S3Url")
        try:
            objects = self._files.list_objects(bucket, prefix)
            single = any(key == prefix for key, _ in objects)
            keys = [k for k, _ in objects if (k == prefix if single else wanted(k, definition.format, False))]
            if not keys:
                self._fail(job, f"S3Url: no {definition.format} files at {definition.s3_url}")
                return
            pieces: list[Piece] = []
            for key in keys:
                gz = key.lower().endswith(".gz")
                lines = self._files.lines(bucket, key, gzip_body=gz)
                pieces += split_lines(key, lines, definition.format, first_index=len(pieces), gzip=gz)
        except FileError as error:
            self._fail(job, str(error))
            return
        if job.job_status == INITIALIZING:
            # a retried plan: the pieces below are sent again, and counted once
            with contextlib.suppress(StatusConflict):
                job = self._repo.move(job, (INITIALIZING,), PROCESSING, total_pieces=len(pieces))
        logger.info("import planned", extra={"job_id": job.id, "pieces": len(pieces), "files": len(keys)})
        if not pieces:
            self._finish(job)
        for piece in pieces:
            self._send({"op": "import-piece", "app": job.application_id, "job": job.id, "piece": asdict(piece)})

    def _import_piece(self, job: Job, piece: Piece, task: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
        """Register a piece's rows; with a minute left, hand the rest on to a continuation message that
        carries how far it got and the failures so far (the piece is counted once, by its last part)."""
        definition = job.definition
        assert isinstance(definition, ImportDefinition)
        bucket, _ = parse_s3_url(definition.s3_url, "S3Url")
        try:
            lines = (
                self._files.line_slice(bucket, piece.key, piece.first_line, piece.lines)
                if piece.gzip
                else self._files.lines(bucket, piece.key, start=piece.start, end=piece.end)
            )
            rows = list(read_rows(piece, definition.format, lines))
        except FileError as error:
            self._count(job, piece.index, 0, [str(error)], failed=True)
            return
        start = int(task.get("done", 0))
        if start == 0:
            failures = [failure_message(piece.key, r.line, r.error) for r in rows if r.error]
            failure_count = len(failures)
        else:  # a continuation: the row errors were counted by the first part
            failures, failure_count = list(task.get("failures", [])), int(task.get("failure_count", 0))
        items = [(r.line, self._with_id(job, piece, r)) for r in rows if r.endpoint is not None]
        if definition.registers:
            before = len(failures)
            stored, done = self._register(job, piece, items, start, failures, remaining_ms)
            failure_count += len(failures) - before
        else:
            stored, done = {i.id or "" for _, i in items}, len(items)
        if definition.define_segment:
            users = {u for r in rows for u in r.user_ids} if start == 0 else set()
            channels = _channel_counts(i for _, i in items[start:done] if i.id in stored)
            self._repo.record_ids(job.application_id, job.id, piece.index, start, stored, users, channels)
        if done < len(items):
            carry = {"done": done, "failures": failures[:MAX_FAILURES], "failure_count": failure_count}
            self._send({**task, **carry})
            return
        self._repo_count(job, piece.index, len(rows), failures[:MAX_FAILURES], failure_count)

    @staticmethod
    def _with_id(job: Job, piece: Piece, row: Row) -> EndpointRequest:
        """A row without Id is a new endpoint; its id is derived from the job, file and line, so a
        retried piece updates the endpoint it created instead of making another."""
        assert row.endpoint is not None
        if row.endpoint.id:
            return row.endpoint
        name = f"homing-import:{job.application_id}:{job.id}:{piece.key}:{row.line}"
        row.endpoint.id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        return row.endpoint

    def _register(
        self,
        job: Job,
        piece: Piece,
        items: list[tuple[int, EndpointRequest]],
        start: int,
        failures: list[str],
        remaining_ms: Callable[[], int],
    ) -> tuple[set[str], int]:
        """Batch upserts from ``start``, BATCH_WORKERS batches at a time (each batch is its own conditional
        plan and commit, so concurrent batches merge like concurrent UpdateEndpointsBatch calls).
        Returns the ids stored and how far it got (it stops with a minute of the invocation left)."""
        stored: set[str] = set()
        step = BATCH * self._batch_workers
        with ThreadPoolExecutor(max_workers=self._batch_workers) as pool:
            for first in range(start, len(items), step):
                if remaining_ms() < MIN_REMAINING_MS:
                    return stored, first
                chunks = [items[i : i + BATCH] for i in range(first, min(first + step, len(items)), BATCH)]
                for ids, refused in pool.map(lambda chunk: self._register_batch(job, piece, chunk), chunks):
                    stored |= ids
                    failures += refused
        return stored, len(items)

    def _register_batch(
        self, job: Job, piece: Piece, chunk: list[tuple[int, EndpointRequest]]
    ) -> tuple[set[str], list[str]]:
        """One batch upsert; a refused batch is retried row by row so only the bad rows fail."""
        try:
            self._endpoints.update_endpoints_batch(job.application_id, [i for _, i in chunk], job.id)
            return {i.id or "" for _, i in chunk}, []
        except NotFound:
            raise  # the app is gone: the piece is retried, then dead-lettered (the clean-up removes the job)
        except HomingError:
            pass
        stored, failures = set(), []
        for line, item in chunk:
            try:
                self._endpoints.update_endpoints_batch(job.application_id, [item], job.id)
                stored.add(item.id or "")
            except NotFound:
                raise
            except HomingError as error:
                failures.append(failure_message(piece.key, line, error.message.removeprefix("Item[0].")))
        return stored, failures

    def _count(self, job: Job, piece: int, processed: int, failures: list[str], *, failed: bool) -> None:
        self._finish(self._repo.count_piece(job, piece, processed, failures, failed) or self._again(job))

    def _repo_count(self, job: Job, piece: int, processed: int, failures: list[str], failure_count: int) -> None:
        self._finish(self._repo.count_piece(job, piece, processed, failures, False, failure_count) or self._again(job))

    def _again(self, job: Job) -> Job | None:
        """A piece counted before (a redelivered message): the job as it is now, so a finishing step that
        was interrupted (the worker died in COMPLETING, or before moving the job) runs again."""
        return self._repo.get(job.application_id, job.type, job.id)

    def _finish(self, job: Job | None) -> None:
        """Once every piece is counted: define the imported segment (once), then COMPLETED or FAILED.

        Safe to run twice: the segment write finds its own earlier version (``imported_segment_id``,
        ``Segment.import_job_id``) and the status moves are conditional.
        """
        if job is None or job.job_status in FINISHED:
            return
        status = COMPLETED if job.job_status == COMPLETING else final_status(job)
        if status is None:
            return
        definition = job.definition
        extra: dict[str, Any] = {}
        try:
            if isinstance(definition, ImportDefinition) and definition.define_segment and status == COMPLETED:
                if job.job_status == PROCESSING:
                    job = self._repo.move(job, (PROCESSING,), COMPLETING)
                try:
                    segment = self._define_segment(job, definition)
                except (BadRequest, NotFound) as error:  # the segment was deleted or changed type meanwhile
                    self._fail(job, f"DefineSegment: {error.message}")
                    return
                defined = dataclasses.replace(definition, segment_id=segment.id)
                extra = {"definition": asdict(defined), "segment_id": segment.id}
            self._repo.move(job, (PROCESSING, COMPLETING), status, completion_date=iso_now(self._clock()), **extra)
        except StatusConflict:
            return  # another worker finished it
        logger.info("job finished", extra={"job_id": job.id, "status": status, "type": job.type})

    def _define_segment(self, job: Job, definition: ImportDefinition) -> Segment:
        """Create (SegmentName) or update (SegmentId) the IMPORT segment whose members are this import's."""
        recorded = self._repo.imported_ids(job.application_id, job.id)
        resource = SegmentImportResource(
            external_id=definition.external_id or "",
            format=definition.format,
            role_arn=definition.role_arn,
            s3_url=definition.s3_url,
            size=len(recorded.endpoint_ids),
            channel_counts=dict(sorted(recorded.channel_counts.items())),
        )
        if definition.segment_id:
            return self._segments.update_imported(
                job.application_id, definition.segment_id, resource, job.id, definition.segment_name
            )
        return self._segments.create_imported(
            job.application_id,
            definition.segment_name,
            resource,
            segment_id=imported_segment_id(job),
            import_job_id=job.id,
        )

    # --- exports --------------------------------------------------------------------------------

    def _export_segment(self, app_id: str, definition: ExportDefinition) -> Segment:
        """The segment version an export names (NotFound if it or the version does not exist)."""
        assert definition.segment_id is not None
        if definition.segment_version is not None:
            return self._segments.get_version(app_id, definition.segment_id, str(definition.segment_version))
        return self._segments.get(app_id, definition.segment_id)

    def _export_filter(self, job: Job) -> tuple[Predicate | None, bool, str | None]:
        """(the segment's compiled predicate or None for the whole app, whether it needs last-active
        times, the one channel whose index holds every member). Recency windows are fixed at the job's
        creation, so every part and continuation applies the same ones."""
        definition = job.definition
        assert isinstance(definition, ExportDefinition)
        if not definition.segment_id:
            return None, False, None
        segment = self._export_segment(job.application_id, definition)
        now = parse_timestamp(job.creation_date, "CreationDate")
        predicate = self._segments.predicate(segment, now=now, imported=self._members)
        return predicate, uses_recency(segment, self._segments.resolver(job.application_id)), selective_channel(segment)

    def _plan_export(self, job: Job) -> None:
        if job.job_status == CREATED:
            job = self._repo.move(job, (CREATED,), INITIALIZING)
        try:
            self._export_filter(job)  # a segment that cannot be evaluated fails the job now, not in every part
        except HomingError as error:
            self._fail(job, f"SegmentId: {error.message}")
            return
        if job.job_status == INITIALIZING:
            with contextlib.suppress(StatusConflict):
                job = self._repo.move(job, (INITIALIZING,), PROCESSING, total_pieces=self._export_parts)
        for part in range(self._export_parts):
            self._send({"op": "export-piece", "type": EXPORT, "app": job.application_id, "job": job.id, "part": part})

    def _export_piece(self, job: Job, task: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
        """One key range of the app's endpoints (the audience reader's Query, never a Scan), written in
        gzip objects; with a minute left it hands on to a continuation message (cursor = last key read)."""
        definition = job.definition
        assert isinstance(definition, ExportDefinition)
        app_id = job.application_id
        part, chunk = int(task["part"]), int(task.get("chunk", 0))
        cursor: str | None = task.get("cursor")
        processed = int(task.get("processed", 0))
        keep, needs_activity, channel = self._export_filter(job)
        bucket, prefix = parse_s3_url(definition.s3_url_prefix, "S3UrlPrefix")
        lines: list[bytes] = []
        batch: list[tuple[str, dict[str, Any]]] = []

        def evaluate() -> None:
            days = self._source.activity_days(app_id, (b.get("id") or k for k, b in batch)) if needs_activity else {}
            for key, body in batch:
                if keep is not None:
                    t = None
                    if needs_activity:
                        activity = days.get(endpoint_activity_key(app_id, body.get("id") or key)[1])
                        t = last_active_ms(activity, body.get("effective_date"))
                    if not keep(body, t):
                        continue
                endpoint = build(Endpoint, body, key_of=snake)
                lines.append(json.dumps(dump(endpoint), separators=(",", ":")).encode() + b"\n")
            batch.clear()

        def write() -> None:
            nonlocal processed, chunk
            self._files.put_gzip(bucket, export_object_key(prefix, job.id, part, chunk), lines)
            processed, chunk = processed + len(lines), chunk + 1
            lines.clear()

        try:
            for key, body in self._source.endpoints(app_id, key_ranges(self._export_parts)[part], cursor, channel):
                batch.append((key, body))
                if len(batch) < BATCH_GET:
                    continue
                evaluate()
                cursor = key
                if len(lines) >= EXPORT_PART_LINES:
                    write()
                if remaining_ms() < MIN_REMAINING_MS:
                    if lines:
                        write()
                    self._send({**task, "chunk": chunk, "cursor": cursor, "processed": processed})
                    return
            evaluate()
            if lines:
                write()
        except FileError as error:
            self._count(job, part, processed, [str(error)], failed=True)
            return
        self._count(job, part, processed, [], failed=False)


def _channel_counts(items: Iterable[EndpointRequest]) -> dict[str, int]:
    """Rows stored, per the ChannelType they name (a row updating an endpoint by Id alone names none)."""
    counts: dict[str, int] = {}
    for item in items:
        if item.channel_type:
            counts[item.channel_type] = counts.get(item.channel_type, 0) + 1
    return counts


def _header(value: Any) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None
