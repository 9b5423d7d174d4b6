"""The Jobs table: import and export jobs, their progress, and what each import piece registered.

One partition per app. Sort keys: ``job#<type>#<job id>`` for a job (job ids start with the creation
time in hex, so a query lists newest first), ``piece#<job id>#<piece>`` for the endpoint ids and user
ids one import piece read (what DefineSegment turns into an imported segment).

Progress is counted conditionally: a piece's counters are ``ADD``-ed in the same update that adds its
number to ``pieces_done``, on the condition that the set does not hold it yet, so a retried piece never
counts twice; the failure messages ride along under a ``size(failures)`` condition (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, NamedTuple, cast

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from homing.domain.jobs import EXPORT, ExportDefinition, ImportDefinition, Job, merge_failures


class JobItem(Model):
    """A job (``job#…``) or one import piece's registered ids (``piece#…``)."""

    class Meta:
        table_name = "jobs"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    job_type = UnicodeAttribute(null=True)
    job_status = UnicodeAttribute(null=True)
    creation_date = UnicodeAttribute(null=True)
    completion_date = UnicodeAttribute(null=True)
    definition = JSONAttribute(null=True)  # snake_case ImportDefinition / ExportDefinition
    segment_id = UnicodeAttribute(null=True)
    total_pieces = NumberAttribute(null=True)
    completed_pieces = NumberAttribute(null=True)
    failed_pieces = NumberAttribute(null=True)
    total_processed = NumberAttribute(null=True)
    total_failures = NumberAttribute(null=True)
    failures: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    pieces_done = UnicodeSetAttribute(null=True)
    endpoint_ids = UnicodeSetAttribute(null=True)  # piece items
    user_ids = UnicodeSetAttribute(null=True)  # piece items
    channel_counts = JSONAttribute(null=True)  # piece items: stored rows per ChannelType they name


class Imported(NamedTuple):
    """What an import recorded for its segment (JobRepository.imported_ids)."""

    endpoint_ids: set[str]
    user_ids: set[str]
    channel_counts: dict[str, int]


class StatusConflict(Exception):
    """The job was not in the status a transition expected (another worker moved it)."""


def job_entry(job_type: str, job_id: str) -> str:
    return f"job#{job_type.lower()}#{job_id}"


def piece_entry(job_id: str, piece: int) -> str:
    return f"piece#{job_id}#{piece:06d}"


def _to_job(item: JobItem) -> Job:
    job_type = item.job_type or ""
    raw = dict(item.definition or {})
    definition: ImportDefinition | ExportDefinition = (
        ExportDefinition(**raw) if job_type == EXPORT else ImportDefinition(**raw)
    )
    return Job(
        application_id=item.application_id,
        id=item.entry.rsplit("#", 1)[-1],
        type=job_type,
        job_status=item.job_status or "",
        creation_date=item.creation_date or "",
        definition=definition,
        total_pieces=int(item.total_pieces or 0),
        completed_pieces=int(item.completed_pieces or 0),
        failed_pieces=int(item.failed_pieces or 0),
        total_processed=int(item.total_processed or 0),
        total_failures=int(item.total_failures or 0),
        failures=list(item.failures or []),
        completion_date=item.completion_date,
    )


class JobRepository:
    def create(self, job: Job) -> None:
        JobItem(
            job.application_id,
            job_entry(job.type, job.id),
            job_type=job.type,
            job_status=job.job_status,
            creation_date=job.creation_date,
            definition=asdict(job.definition),
            segment_id=job.segment_id,
            total_pieces=0,
            completed_pieces=0,
            failed_pieces=0,
            total_processed=0,
            total_failures=0,
        ).save(condition=JobItem.entry.does_not_exist())

    def delete(self, job: Job) -> None:
        JobItem(job.application_id, job_entry(job.type, job.id)).delete()

    def get(self, app_id: str, job_type: str, job_id: str) -> Job | None:
        try:
            return _to_job(JobItem.get(app_id, job_entry(job_type, job_id), consistent_read=True))
        except JobItem.DoesNotExist:
            return None

    def page(
        self, app_id: str, job_type: str, page_size: int, token: str | None, segment_id: str | None = None
    ) -> tuple[list[Job], str | None]:
        """Newest first; with ``segment_id`` only that segment's jobs (read on until the page is full)."""
        from homing.adapters.dynamodb.paging import decode_token, encode_token  # paging imports models.py

        scope = f"jobs/{app_id}/{job_type}/{segment_id or ''}"
        start = decode_token(token, scope)
        results = JobItem.query(
            app_id,
            JobItem.entry.startswith(f"job#{job_type.lower()}#"),
            filter_condition=(JobItem.segment_id == segment_id) if segment_id else None,
            scan_index_forward=False,
            last_evaluated_key=start,
            page_size=page_size,
        )
        items: list[JobItem] = []
        for item in results:
            items.append(item)
            if len(items) == page_size:
                break
        last = (
            {"application_id": {"S": app_id}, "entry": {"S": items[-1].entry}}
            if len(items) == page_size and results.last_evaluated_key
            else None
        )
        return [_to_job(i) for i in items], encode_token(last, scope)

    def move(self, job: Job, expected: tuple[str, ...], status: str, **counts: Any) -> Job:
        """Set the status (and e.g. ``total_pieces``) if the job is in one of ``expected``; the job after."""
        item = JobItem(job.application_id, job_entry(job.type, job.id))
        condition: Condition | None = None
        for s in expected:
            c = JobItem.job_status == s
            condition = c if condition is None else condition | c
        actions: list[Action] = [JobItem.job_status.set(status)]
        actions += [getattr(JobItem, name).set(value) for name, value in counts.items()]
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if _condition_failed(error):
                raise StatusConflict(job.id) from None
            raise
        return _to_job(item)

    def count_piece(
        self,
        job: Job,
        piece: int,
        processed: int,
        failures: list[str],
        failed: bool,
        failure_count: int | None = None,
    ) -> Job | None:
        """Count a piece once: None if it was counted before (a retried message). Returns the job after.

        ``failures`` are messages (the first ones); ``failure_count`` the rows that failed (default: one each).
        """
        for _ in range(50):  # only failure messages contend (on size(failures)); counters merge with ADD
            current = self.get(job.application_id, job.type, job.id)
            if current is None:
                return None
            marker = str(piece)
            item = JobItem(job.application_id, job_entry(job.type, job.id))
            condition = ~JobItem.pieces_done.contains(marker)
            actions: list[Action] = [
                JobItem.pieces_done.add({marker}),
                (JobItem.failed_pieces if failed else JobItem.completed_pieces).add(1),
                JobItem.total_processed.add(processed),
                JobItem.total_failures.add(len(failures) if failure_count is None else failure_count),
            ]
            kept = merge_failures(current.failures, failures)
            if len(kept) > len(current.failures):
                actions.append(JobItem.failures.set(cast(Any, kept)))
                condition &= (
                    JobItem.failures.does_not_exist()
                    if not current.failures
                    else size(JobItem.failures) == len(current.failures)
                )
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as error:
                if not _condition_failed(error):
                    raise
                again = JobItem.get(job.application_id, job_entry(job.type, job.id), consistent_read=True)
                if marker in (again.pieces_done or set()):
                    return None
                continue
            return _to_job(item)
        raise StatusConflict(job.id)

    def record_ids(
        self,
        app_id: str,
        job_id: str,
        piece: int,
        part: int,
        endpoint_ids: set[str],
        user_ids: set[str],
        channel_counts: dict[str, int] | None = None,
    ) -> None:
        """The ids one part of a piece stored, for DefineSegment (rewritten whole: a retry writes the same)."""
        entry = f"{piece_entry(job_id, piece)}#{part:06d}"
        JobItem(
            app_id,
            entry,
            endpoint_ids=endpoint_ids or None,
            user_ids=user_ids or None,
            channel_counts=channel_counts or None,
        ).save()

    def imported_ids(self, app_id: str, job_id: str) -> Imported:
        """Endpoint ids, user ids and channel counts every piece of an import recorded: an imported segment."""
        out = Imported(set(), set(), {})
        for item in JobItem.query(app_id, JobItem.entry.startswith(f"piece#{job_id}#")):
            out.endpoint_ids.update(item.endpoint_ids or ())
            out.user_ids.update(item.user_ids or ())
            for channel, count in (item.channel_counts or {}).items():
                out.channel_counts[channel] = out.channel_counts.get(channel, 0) + int(count)
        return out

    def delete_some(self, app_id: str, limit: int) -> int:
        """DeleteApp: delete up to ``limit`` of the app's job and piece items."""
        entries = [i.entry for i in JobItem.query(app_id, attributes_to_get=["entry"], limit=limit)]
        with JobItem.batch_write() as batch:
            for entry in entries:
                batch.delete(JobItem(app_id, entry))
        return len(entries)


def _condition_failed(error: UpdateError | PutError | DeleteError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
