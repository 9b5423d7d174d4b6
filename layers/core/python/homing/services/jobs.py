"""Import and export jobs: created by the API, run by the run_jobs worker from the jobs queue.

An import is planned once (list the S3 URL's objects, cut each file into pieces of whole lines), then
every piece is one queue message: its rows become endpoints through EndpointService's batch upsert
(the same merge rules and caps as UpdateEndpointsBatch), 100 at a time. A bad row fails only itself
(file and line in ``Failures``). Each piece is counted once (JobRepository.count_piece); the worker
that counts the last piece finishes the job. An export is one message per DynamoDB parallel-scan
segment, each writing gzip parts of newline-delimited endpoint JSON (Pinpoint's export format).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

from homing.adapters.dynamodb.endpoints import EndpointRepository
from homing.adapters.dynamodb.jobs import JobRepository, StatusConflict
from homing.adapters.s3 import FileError, JobFiles
from homing.codec import dump
from homing.domain.endpoints import Endpoint, EndpointRequest
from homing.domain.errors import HomingError, NotFound
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
from homing.domain.timestamps import iso_now
from homing.observability import logger
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService

EXPORT_SEGMENTS = 4  # parallel scan segments of an export (one queue message, one worker each)
EXPORT_PART_LINES = 10_000  # endpoints per gzip object of an export
MIN_REMAINING_MS = 60_000  # a piece hands the rest on to a continuation message with a minute left
BATCH = 100  # endpoints per EndpointService batch upsert (UpdateEndpointsBatch's cap)
# Batches of one piece written at once: a batch is mostly waiting on DynamoDB (a read per user and per
# address, then transactions), so a few threads multiply a worker's rate without more Lambdas.
BATCH_WORKERS = 4
JOB_ID = re.compile(r"[0-9a-f]{32}")  # any other id names no job (and never reaches a DynamoDB key)


class Queue(Protocol):
    def send(self, body: str, delay_seconds: int = 0) -> None: ...


class Segments(Protocol):
    """What jobs need from the segments family (S1). Wired in homing/bootstrap.py."""

    def require(self, app_id: str, segment_id: str) -> None:
        """NotFound unless the segment exists."""

    def predicate(self, app_id: str, segment_id: str, version: int | None) -> Callable[[Endpoint], bool]:
        """The compiled audience of a segment version (export of a segment)."""

    def define_imported(self, app_id: str, job: Job, endpoint_ids: set[str], user_ids: set[str]) -> None:
        """Create (SegmentName) or update (SegmentId) the imported segment of a finished import."""


class NoSegments:
    """Until the segments family is merged: no segment exists, so naming one is a 404.

    WIRE (lead, after S1 merges): replace with an adapter over the segments service in bootstrap.py.
    """

    def require(self, app_id: str, segment_id: str) -> None:
        raise NotFound(f"Segment {segment_id} not found in application {app_id}")

    def predicate(self, app_id: str, segment_id: str, version: int | None) -> Callable[[Endpoint], bool]:
        raise NotFound(f"Segment {segment_id} not found in application {app_id}")

    def define_imported(self, app_id: str, job: Job, endpoint_ids: set[str], user_ids: set[str]) -> None:
        logger.warning("imported segment not defined: segments are not wired yet", extra={"job_id": job.id})


class JobService:
    def __init__(
        self,
        apps: AppService,
        endpoints: EndpointService,
        endpoint_repo: EndpointRepository,
        repo: JobRepository,
        files: JobFiles,
        queue: Queue,
        *,
        clock: Callable[[], datetime],
        buckets: tuple[str, ...],
        segments: Segments | None = None,
        rng: random.Random | None = None,
        export_segments: int = EXPORT_SEGMENTS,
        batch_workers: int = BATCH_WORKERS,
    ) -> None:
        self._apps, self._endpoints, self._endpoint_repo = apps, endpoints, endpoint_repo
        self._repo, self._files, self._queue, self._clock = repo, files, queue, clock
        self._buckets, self._segments = buckets, segments or NoSegments()
        self._rng = rng or random.SystemRandom()
        self._export_segments = export_segments
        self._batch_workers = batch_workers

    # --- API ------------------------------------------------------------------------------------

    def create_import(self, app_id: str, definition: ImportDefinition) -> Job:
        self._apps.require(app_id)
        check_import(definition, self._buckets)
        if definition.segment_id:
            self._segments.require(app_id, definition.segment_id)
        return self._create(app_id, IMPORT, definition)

    def create_export(self, app_id: str, definition: ExportDefinition) -> Job:
        self._apps.require(app_id)
        check_export(definition, self._buckets)
        if definition.segment_id:
            self._segments.require(app_id, definition.segment_id)
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
            self._segments.require(app_id, segment_id)
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
            self._repo.record_ids(job.application_id, job.id, piece.index, start, stored, users)
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
        after = self._repo.count_piece(job, piece, processed, failures, failed)
        if after is not None:
            self._finish(after)

    def _repo_count(self, job: Job, piece: int, processed: int, failures: list[str], failure_count: int) -> None:
        after = self._repo.count_piece(job, piece, processed, failures, False, failure_count)
        if after is not None:
            self._finish(after)

    def _finish(self, job: Job) -> None:
        """The worker that counted the last piece: define the imported segment, then COMPLETED or FAILED."""
        status = final_status(job)
        if status is None:
            return
        try:
            definition = job.definition
            if isinstance(definition, ImportDefinition) and definition.define_segment and status == COMPLETED:
                job = self._repo.move(job, (PROCESSING,), COMPLETING)
                endpoint_ids, user_ids = self._repo.imported_ids(job.application_id, job.id)
                self._segments.define_imported(job.application_id, job, endpoint_ids, user_ids)
            self._repo.move(job, (PROCESSING, COMPLETING), status, completion_date=iso_now(self._clock()))
        except StatusConflict:
            return  # another worker finished it
        logger.info("job finished", extra={"job_id": job.id, "status": status, "type": job.type})

    def _plan_export(self, job: Job) -> None:
        definition = job.definition
        assert isinstance(definition, ExportDefinition)
        if job.job_status == CREATED:
            job = self._repo.move(job, (CREATED,), INITIALIZING)
        if definition.segment_id:
            try:
                self._segments.predicate(job.application_id, definition.segment_id, definition.segment_version)
            except HomingError as error:
                self._fail(job, f"SegmentId: {error.message}")
                return
        if job.job_status == INITIALIZING:
            with contextlib.suppress(StatusConflict):
                job = self._repo.move(job, (INITIALIZING,), PROCESSING, total_pieces=self._export_segments)
        for segment in range(self._export_segments):
            self._send(
                {"op": "export-piece", "type": EXPORT, "app": job.application_id, "job": job.id, "segment": segment}
            )

    def _export_piece(self, job: Job, task: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
        """One scan segment, written in parts; with a minute left it hands on to a continuation message."""
        definition = job.definition
        assert isinstance(definition, ExportDefinition)
        segment, part = int(task["segment"]), int(task.get("part", 0))
        start: dict[str, Any] | None = task.get("start")
        processed = int(task.get("processed", 0))
        # WIRE (lead, after S1 merges): the segment's predicate comes from the segments service here.
        keep = (
            self._segments.predicate(job.application_id, definition.segment_id, definition.segment_version)
            if definition.segment_id
            else None
        )
        bucket, prefix = parse_s3_url(definition.s3_url_prefix, "S3UrlPrefix")
        lines: list[bytes] = []
        try:
            while True:
                page, start = self._endpoint_repo.scan_page(job.application_id, segment, self._export_segments, start)
                for endpoint in page:
                    if keep is None or keep(endpoint):
                        lines.append(json.dumps(dump(endpoint), separators=(",", ":")).encode() + b"\n")
                if lines and (len(lines) >= EXPORT_PART_LINES or start is None):
                    self._files.put_gzip(bucket, export_object_key(prefix, job.id, segment, part), lines)
                    processed, part, lines = processed + len(lines), part + 1, []
                if start is None:
                    break
                if remaining_ms() < MIN_REMAINING_MS:
                    if lines:
                        self._files.put_gzip(bucket, export_object_key(prefix, job.id, segment, part), lines)
                        processed, part = processed + len(lines), part + 1
                    self._send({**task, "part": part, "start": start, "processed": processed})
                    return
        except FileError as error:
            self._count(job, segment, processed, [str(error)], failed=True)
            return
        self._count(job, segment, processed, [], failed=False)


def _header(value: Any) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None
