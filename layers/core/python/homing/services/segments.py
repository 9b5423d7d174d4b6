"""CreateSegment, GetSegment(s), UpdateSegment, DeleteSegment, GetSegmentVersion(s); imported segments
for the import jobs; the compiled predicate for whoever evaluates a segment's audience.

Every write makes a new immutable version: it reads the head, plans the next version from it and
commits head and version in one conditional transaction, re-planning on a conflict (the concurrency
model in docs/decisions.md).
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.dynamodb.segments import SegmentInUse, SegmentRepository
from homing.codec import dump, snake
from homing.domain.errors import BadRequest, Conflict, NotFound
from homing.domain.keys import check_item_size
from homing.domain.limits import QUOTAS, Quotas
from homing.domain.segment_predicate import Predicate, compile_segment, epoch_ms
from homing.domain.segments import (
    IMPORT_FORMATS,
    MAX_DIMENSIONS,
    ImportedMembership,
    ResolveBase,
    Segment,
    SegmentDefinition,
    SegmentImportResource,
    check_base_segments,
    check_definition,
    check_name,
)
from homing.domain.tags import check_tags
from homing.domain.timestamps import iso_now
from homing.services.apps import AppService
from homing.services.retry import WRITE_ATTEMPTS, back_off

# A segment version is one item (twice: head and history); leave room for the keys and the version.
MAX_SEGMENT_BYTES = 350 * 1024


class SegmentService:
    def __init__(
        self,
        apps: AppService,
        repo: SegmentRepository,
        *,
        arn_prefix: str,
        clock: Callable[[], datetime],
        quotas: Quotas = QUOTAS,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._apps, self._repo, self._arn_prefix, self._clock = apps, repo, arn_prefix, clock
        self._quotas, self._sleep, self._rng = quotas, sleep, rng or random.Random()

    def arn(self, segment: Segment) -> str:
        return f"{self._arn_prefix}:apps/{segment.application_id}/segments/{segment.id}"

    # -- reads -------------------------------------------------------------------------------------

    def get(self, app_id: str, segment_id: str) -> Segment:
        self._apps.require(app_id)
        return self._require(app_id, segment_id)

    def _require(self, app_id: str, segment_id: str) -> Segment:
        segment = self._repo.get(app_id, segment_id)
        if segment is None:
            raise NotFound(f"Segment {segment_id} not found")
        return segment

    def get_version(self, app_id: str, segment_id: str, version: str) -> Segment:
        self._apps.require(app_id)
        self._require(app_id, segment_id)  # a deleted segment's left-over history is not shown
        try:
            number = int(version)
        except ValueError:
            raise BadRequest("version must be an integer") from None
        found = self._repo.get_version(app_id, segment_id, number) if number >= 1 else None
        if found is None:
            raise NotFound(f"Segment {segment_id} has no version {version}")
        return found

    def page(self, app_id: str, page_size: int, token: str | None) -> tuple[list[Segment], str | None]:
        self._apps.require(app_id)
        return self._repo.page(app_id, page_size, token)

    def versions(
        self, app_id: str, segment_id: str, page_size: int, token: str | None
    ) -> tuple[list[Segment], str | None]:
        self._apps.require(app_id)
        self._require(app_id, segment_id)
        return self._repo.versions(app_id, segment_id, page_size, token)

    # -- writes ------------------------------------------------------------------------------------

    def create(self, app_id: str, definition: SegmentDefinition) -> Segment:
        self._apps.require(app_id)
        now = iso_now(self._clock())
        segment = Segment(
            id=uuid.uuid4().hex,
            application_id=app_id,
            version=1,
            segment_type="DIMENSIONAL",
            creation_date=now,
            last_modified_date=now,
            name=definition.name,
            dimensions=definition.dimensions,
            segment_groups=definition.segment_groups,
            tags=dict(definition.tags or {}),
        )
        self._check(segment)
        self._repo.write(segment, None)
        return segment

    def create_imported(
        self,
        app_id: str,
        name: str | None,
        import_definition: SegmentImportResource,
        tags: dict[str, str] | None = None,
        *,
        segment_id: str | None = None,
        import_job_id: str | None = None,
    ) -> Segment:
        """An IMPORT segment, for the import jobs (CreateImportJob without a SegmentId).

        With ``segment_id`` (derived from the job) a retried call finds the segment its job already
        created and returns it, so a finished import defines its segment once.
        """
        self._apps.require(app_id)
        if import_definition.format not in IMPORT_FORMATS:
            raise BadRequest(f"Format must be one of {', '.join(IMPORT_FORMATS)}")
        now = iso_now(self._clock())
        segment = Segment(
            id=segment_id or uuid.uuid4().hex,
            application_id=app_id,
            version=1,
            segment_type="IMPORT",
            creation_date=now,
            last_modified_date=now,
            name=name,
            import_definition=import_definition,
            tags=dict(tags or {}),
            import_job_id=import_job_id,
        )
        self._check(segment)
        try:
            self._repo.write(segment, None)
        except StaleVersion:
            existing = self._repo.get(app_id, segment.id) if segment_id else None
            if existing is not None and import_job_id is not None and existing.import_job_id == import_job_id:
                return existing
            raise Conflict(f"Segment {segment.id} already exists") from None
        return segment

    def update_imported(
        self,
        app_id: str,
        segment_id: str,
        import_definition: SegmentImportResource,
        import_job_id: str,
        name: str | None,
    ) -> Segment:
        """A new version of an IMPORT segment whose members are import ``import_job_id``'s (CreateImportJob
        with a SegmentId). Once per job: if the current version is already this job's, it is returned."""
        self._apps.require(app_id)
        if import_definition.format not in IMPORT_FORMATS:
            raise BadRequest(f"Format must be one of {', '.join(IMPORT_FORMATS)}")
        for attempt in range(WRITE_ATTEMPTS):
            current = self._require(app_id, segment_id)
            if current.segment_type != "IMPORT":
                raise BadRequest(f"SegmentId: segment {segment_id} is not an imported segment")
            if current.import_job_id == import_job_id:
                return current
            updated = dataclasses.replace(
                current,
                version=current.version + 1,
                last_modified_date=iso_now(self._clock()),
                name=name if name is not None else current.name,
                import_definition=import_definition,
                import_job_id=import_job_id,
            )
            self._check(updated)
            try:
                self._repo.write(updated, current.version)
                return updated
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"Segment {segment_id} is being changed by other requests; retry the request")

    def update(self, app_id: str, segment_id: str, changes: SegmentDefinition) -> Segment:
        """A new version: each member sent replaces the stored one, members not sent are kept."""
        self._apps.require(app_id)
        for attempt in range(WRITE_ATTEMPTS):
            current = self._require(app_id, segment_id)
            if current.segment_type == "IMPORT" and (changes.dimensions or changes.segment_groups):
                raise BadRequest("Dimensions and SegmentGroups cannot be set on an imported segment")
            updated = dataclasses.replace(
                current,
                version=current.version + 1,
                last_modified_date=iso_now(self._clock()),
                name=changes.name if changes.name is not None else current.name,
                dimensions=changes.dimensions if changes.dimensions is not None else current.dimensions,
                segment_groups=changes.segment_groups if changes.segment_groups is not None else current.segment_groups,
                tags=dict(changes.tags) if changes.tags is not None else current.tags,
            )
            self._check(updated)
            try:
                self._repo.write(updated, current.version)
                return updated
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"Segment {segment_id} is being changed by other requests; retry the request")

    def delete(self, app_id: str, segment_id: str) -> Segment:
        self._apps.require(app_id)
        for attempt in range(WRITE_ATTEMPTS):
            current = self._require(app_id, segment_id)
            try:
                self._repo.delete(current)
                return current
            except SegmentInUse as exc:
                raise BadRequest(
                    f"Segment {segment_id} is used by campaign(s) {', '.join(exc.users) or '(being changed)'};"
                    " delete them or move them to another segment first"
                ) from None
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"Segment {segment_id} is being changed by other requests; retry the request")

    def _check(self, segment: Segment) -> None:
        """The whole version valid before anything is written: shape, base segments, tags, size."""
        check_name(segment.name)
        check_tags(segment.tags, "tags", self._quotas)
        refs = check_definition(segment.dimensions, segment.segment_groups)
        resolve = self.resolver(segment.application_id)
        bases = []
        for i, ref in enumerate(refs):
            try:
                bases.append(resolve(ref.id or "", ref.version))
            except NotFound:
                raise BadRequest(f"SegmentGroups.Groups[0].SourceSegments[{i}]: segment {ref.id} not found") from None
        check_base_segments(segment.id, bases, self._closure(bases, resolve))
        check_item_size(dump(segment, snake), "The segment", MAX_SEGMENT_BYTES)

    @staticmethod
    def _closure(bases: list[Segment], resolve: ResolveBase) -> set[str]:
        """Ids of every segment reachable through base segments (bounded: a cycle cannot be stored)."""
        seen: set[str] = set()
        todo = list(bases)
        while todo and len(seen) <= MAX_DIMENSIONS:
            base = todo.pop()
            if base.id in seen:
                continue
            seen.add(base.id)
            for group in (base.segment_groups.groups or []) if base.segment_groups else []:
                for ref in group.source_segments or []:
                    try:
                        todo.append(resolve(ref.id or "", ref.version))
                    except NotFound:  # a base's own base deleted since: it no longer leads anywhere
                        continue
        return seen

    # -- evaluation ---------------------------------------------------------------------------------

    def resolver(self, app_id: str) -> ResolveBase:
        """(segment id, version or None for the current one) -> that version, or NotFound."""

        def resolve(segment_id: str, version: int | None) -> Segment:
            found = (
                self._repo.get(app_id, segment_id)
                if version is None
                else self._repo.get_version(app_id, segment_id, version)
            )
            if found is None:
                raise NotFound(f"Segment {segment_id} (version {version or 'current'}) not found")
            return found

        return resolve

    def predicate(self, segment: Segment, *, now: datetime, imported: ImportedMembership | None = None) -> Predicate:
        """The segment version compiled once, its base segments read once, Recency windows fixed at ``now``."""
        return compile_segment(segment, self.resolver(segment.application_id), now_ms=epoch_ms(now), imported=imported)
