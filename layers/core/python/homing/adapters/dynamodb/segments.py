"""The Segments table: per app, one head item per segment plus one immutable item per version.

- ``S#<segment id>``: the head, the current version in full and its ``version`` number;
- ``V#<segment id>#<version, 10 digits>``: each version as it was written, never changed.

A write puts the new head (conditional on the version it read, or on there being none) and the new
version item (conditional on its absence) in one transaction, so the head and the history never
disagree and concurrent writers re-plan (docs/decisions.md, "Concurrency model").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.dynamodb.paging import decode_token, encode_token
from homing.codec import build, dump, snake
from homing.domain.errors import BadRequest
from homing.domain.segments import Segment

HEAD = "S#"
VERSION = "V#"


def head_entry(segment_id: str) -> str:
    return f"{HEAD}{segment_id}"


def version_entry(segment_id: str, version: int) -> str:
    return f"{VERSION}{segment_id}#{version:010d}"


class SegmentItem(Model):
    """A segment's head or one of its versions (see the module doc); ``body`` is the snake_case Segment."""

    class Meta:
        table_name = "segments"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    body = JSONAttribute()


class SegmentInUse(Exception):
    """DeleteSegment refused: campaigns (their ids in ``users``) use the segment."""

    def __init__(self, users: list[str]) -> None:
        super().__init__("segment in use")
        self.users = users


class SegmentUsage(Protocol):
    """Who uses a segment (the campaigns' adapter): a condition for the delete's transaction, and the users."""

    def segment_unused(self, app_id: str, segment_id: str) -> Callable[[TransactWrite], None]: ...

    def segment_users(self, app_id: str, segment_id: str) -> list[str]: ...


class SegmentRepository:
    """Segments and their versions."""

    def __init__(self, usage: SegmentUsage | None = None) -> None:
        self._usage = usage

    @staticmethod
    def _segment(item: SegmentItem) -> Segment:
        return build(Segment, item.body, key_of=snake)

    def get(self, app_id: str, segment_id: str) -> Segment | None:
        """The current version (strongly consistent: a write plans from it)."""
        try:
            return self._segment(SegmentItem.get(app_id, head_entry(segment_id), consistent_read=True))
        except SegmentItem.DoesNotExist:
            return None

    def get_version(self, app_id: str, segment_id: str, version: int) -> Segment | None:
        try:
            return self._segment(SegmentItem.get(app_id, version_entry(segment_id, version), consistent_read=True))
        except SegmentItem.DoesNotExist:
            return None

    def _page(
        self, app_id: str, prefix: str, scope: str, page_size: int, token: str | None
    ) -> tuple[list[Segment], str | None]:
        results = SegmentItem.query(
            app_id,
            SegmentItem.entry.startswith(prefix),
            limit=page_size,
            last_evaluated_key=decode_token(token, scope),
            consistent_read=True,
        )
        items = [self._segment(i) for i in results]
        last: dict[str, Any] | None = results.last_evaluated_key
        return items, encode_token(last, scope) if len(items) >= page_size else None

    def page(self, app_id: str, page_size: int, token: str | None) -> tuple[list[Segment], str | None]:
        """The app's segments (current versions), in segment id order."""
        return self._page(app_id, HEAD, f"segments/{app_id}", page_size, token)

    def versions(
        self, app_id: str, segment_id: str, page_size: int, token: str | None
    ) -> tuple[list[Segment], str | None]:
        """Every version of one segment, oldest first."""
        scope = f"segment-versions/{app_id}/{segment_id}"
        return self._page(app_id, f"{VERSION}{segment_id}#", scope, page_size, token)

    def write(self, segment: Segment, read_version: int | None) -> None:
        """Store ``segment`` as the head and as version ``segment.version``; StaleVersion if the head
        is no longer at ``read_version`` (None: there must be no head)."""
        app, body = segment.application_id, dump(segment, snake)
        head = SegmentItem(app, head_entry(segment.id), version=segment.version, body=body)
        condition = SegmentItem.entry.does_not_exist() if read_version is None else SegmentItem.version == read_version
        try:
            with TransactWrite(connection=SegmentItem._get_connection().connection) as tx:
                tx.save(head, condition=condition)
                tx.save(
                    SegmentItem(app, version_entry(segment.id, segment.version), version=segment.version, body=body),
                    condition=SegmentItem.entry.does_not_exist(),
                )
        except TransactWriteError as exc:
            codes = {r.code for r in exc.cancellation_reasons if r is not None}
            if codes & {"ConditionalCheckFailed", "TransactionConflict"}:
                raise StaleVersion() from exc
            if exc.cause_response_code == "ValidationException" or "ValidationError" in codes:
                raise BadRequest(f"Segment {segment.id}: rejected by storage: {exc.cause_response_message}") from None
            raise

    def delete(self, segment: Segment) -> None:
        """Delete the head if it is still at ``segment.version`` (else StaleVersion), then the history.

        The history goes after the head: once the head is gone the segment answers NotFound, and a
        history left by an interrupted delete is removed by the next delete's or DeleteApp's clean-up.
        """
        app = segment.application_id
        if self._usage is not None:
            self._delete_unused(segment, self._usage)
        else:
            try:
                SegmentItem(app, head_entry(segment.id)).delete(condition=SegmentItem.version == segment.version)
            except DeleteError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise StaleVersion() from exc
                raise
        self.delete_history(app, segment.id)

    def _delete_unused(self, segment: Segment, usage: SegmentUsage) -> None:
        """The head's delete and the check that nothing uses the segment, as one transaction (a campaign
        claiming the segment checks the head in its own), so neither can slip past the other."""
        app = segment.application_id
        try:
            with TransactWrite(connection=SegmentItem._get_connection().connection) as tx:
                tx.delete(SegmentItem(app, head_entry(segment.id)), condition=SegmentItem.version == segment.version)
                usage.segment_unused(app, segment.id)(tx)
        except TransactWriteError as exc:
            # PynamoDB orders a transaction's items by kind, so the reasons are not matched by position:
            # a segment that has users now is refused, anything else is re-planned.
            if {r.code for r in exc.cancellation_reasons if r is not None} & {
                "ConditionalCheckFailed",
                "TransactionConflict",
            }:
                users = usage.segment_users(app, segment.id)
                if users:
                    raise SegmentInUse(users) from exc
                raise StaleVersion() from exc
            raise

    def delete_history(self, app_id: str, segment_id: str) -> None:
        prefix = f"{VERSION}{segment_id}#"
        entries = [
            i.entry
            for i in SegmentItem.query(app_id, SegmentItem.entry.startswith(prefix), attributes_to_get=["entry"])
        ]
        with SegmentItem.batch_write() as batch:
            for entry in entries:
                batch.delete(SegmentItem(app_id, entry))
