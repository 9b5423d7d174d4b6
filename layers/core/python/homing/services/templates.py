"""Message templates (account-level): Create/Get/Update/Delete per type, ListTemplates,
ListTemplateVersions, UpdateTemplateActiveVersion; and ``resolve``, what direct sends, campaigns and
journeys call to read the version they render.

Versions follow Pinpoint: the first version is "1" and active; Update without ``create-new-version``
overwrites the latest version (``version``, if given, must name it); with it, a new version is added
and the active one stays until UpdateTemplateActiveVersion moves it. Each write re-plans from a fresh
read when another request won the race (docs/decisions.md, "Concurrency model").
"""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.dynamodb.templates import Head, TemplateRepository
from homing.domain.errors import BadRequest, Conflict, NotFound
from homing.domain.tags import check_tags
from homing.domain.templates import (
    MAX_NAME_LENGTH,
    RECORDS,
    TEMPLATE_TYPES,
    VERSIONS_PER_TEMPLATE,
    Template,
    TemplateSummary,
    check_name,
    check_template,
    parse_version,
)
from homing.domain.timestamps import iso_now
from homing.services.retry import WRITE_ATTEMPTS, back_off

NOT_FOUND = "Template not found"


class TemplateService:
    def __init__(
        self,
        repo: TemplateRepository,
        *,
        arn_prefix: str,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._repo, self._arn_prefix, self._clock = repo, arn_prefix, clock
        self._sleep, self._rng = sleep, rng or random.Random()

    def arn(self, name: str, template_type: str) -> str:
        return f"{self._arn_prefix}:templates/{name}/{template_type}"

    # ------------------------------------------------------------------------------------ reads

    def _require(self, name: str, template_type: str) -> Head:
        if template_type not in TEMPLATE_TYPES:
            raise BadRequest(f"template-type must be one of {', '.join(TEMPLATE_TYPES)}")
        check_name(name)  # a name no template can have is refused before it reaches a key
        head = self._repo.head(name, template_type)
        if head is None:
            raise NotFound(NOT_FOUND)
        return head

    def _version(self, head: Head, version: int) -> Template:
        record = self._repo.version(head, version)
        if record is None:
            raise NotFound(NOT_FOUND)
        return dataclasses.replace(record, creation_date=head.creation_date, tags=head.tags)

    def resolve(self, name: str, template_type: str, version: str | None = None) -> Template:
        """The version a send renders: ``version`` or, without one, the active version (NotFound if absent)."""
        head = self._require(name, template_type)
        return self._version(head, parse_version(version) or head.active)

    def get(self, name: str, template_type: str, version: str | None) -> Template:
        return self.resolve(name, template_type, version)

    def page(
        self, prefix: str | None, template_type: str | None, page_size: int, token: str | None
    ) -> tuple[list[TemplateSummary], str | None]:
        if template_type is not None and template_type not in TEMPLATE_TYPES:
            raise BadRequest(f"template-type must be one of {', '.join(TEMPLATE_TYPES)}")
        if prefix and len(prefix) > MAX_NAME_LENGTH:
            return [], None  # longer than any name: nothing matches (and no key condition that long)
        return self._repo.page(prefix or None, template_type, page_size, token)

    def versions(
        self, name: str, template_type: str, page_size: int, token: str | None
    ) -> tuple[list[Template], str | None]:
        head = self._require(name, template_type)
        records, next_token = self._repo.versions(head, page_size, token)
        return [dataclasses.replace(r, creation_date=head.creation_date) for r in records], next_token

    # ----------------------------------------------------------------------------------- writes

    def _retry(self, name: str, step: Callable[[], str]) -> str:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return step()
            except StaleVersion:
                back_off(attempt, self._rng, self._sleep)
        raise Conflict(f"Template {name} is being changed by other requests; retry the request")

    def create(self, name: str, record: Template, tags: dict[str, str] | None) -> str:
        """The new template's ARN; its first version is "1" and active."""
        template_type = _type_of(record)
        check_name(name)
        check_template(record)
        check_tags(tags or {}, "tags")
        now = iso_now(self._clock())

        def step() -> str:
            if self._repo.head(name, template_type) is not None:
                raise BadRequest(f"Template {name} of type {template_type} already exists")
            head = Head(
                name=name,
                template_type=template_type,
                generation=uuid.uuid4().hex,
                latest=1,
                active=1,
                creation_date=now,
                last_modified_date=now,
                template_description=record.template_description,
                default_substitutions=record.default_substitutions_json,
                tags=dict(tags or {}),
            )
            version = dataclasses.replace(record, name=name, version="1", creation_date=now, last_modified_date=now)
            self._repo.write(head, version, 1, created=True)
            return self.arn(name, template_type)

        return self._retry(name, step)

    def update(self, name: str, record: Template, *, create_new_version: bool, version: str | None) -> None:
        """Overwrite the latest version, or add a new one (``create_new_version``); the tags are kept
        (Pinpoint no longer processes ``tags`` on updates)."""
        template_type = _type_of(record)
        check_template(record)
        wanted = parse_version(version)
        if create_new_version and wanted is not None:
            raise BadRequest("version cannot be given with create-new-version=true")
        now = iso_now(self._clock())

        def step() -> str:
            head = self._require(name, template_type)
            if wanted is not None and wanted != head.latest:
                raise BadRequest(f"version must be the latest version of the template ({head.latest})")
            number = head.latest + 1 if create_new_version else head.latest
            if number > VERSIONS_PER_TEMPLATE:
                raise BadRequest(f"Exceeded the maximum of {VERSIONS_PER_TEMPLATE} versions of a template")
            stored = dataclasses.replace(
                record, name=name, version=str(number), creation_date=head.creation_date, last_modified_date=now
            )
            planned = dataclasses.replace(head, latest=number)
            if number == head.active:
                planned = _shows(planned, stored)
            self._repo.write(planned, stored, number)
            return ""

        self._retry(name, step)

    def update_active_version(self, name: str, template_type: str, version: str | None) -> None:
        """UpdateTemplateActiveVersion: ``Version`` is a version id or "latest"."""
        if version is None or version == "":
            raise BadRequest("Version is required")

        def step() -> str:
            head = self._require(name, template_type)
            number = head.latest if version == "latest" else (parse_version(version, "Version") or head.latest)
            record = self._repo.version(head, number)
            if record is None:
                raise NotFound(f"Template {name} has no version {version}")
            self._repo.write(_shows(dataclasses.replace(head, active=number), record), None, None)
            return ""

        self._retry(name, step)

    def delete(self, name: str, template_type: str, version: str | None) -> None:
        """Without ``version`` the template and every version; with it that version only. The active
        version cannot be deleted while others remain (make another one active first)."""
        wanted = parse_version(version)

        def step() -> str:
            head = self._require(name, template_type)
            if wanted is None:
                self._repo.delete(head)
                return ""
            if self._repo.version(head, wanted) is None:
                raise NotFound(f"Template {name} has no version {wanted}")
            numbers = self._repo.version_numbers(head)
            if numbers == [wanted]:
                self._repo.delete(head)
                return ""
            if wanted == head.active:
                raise BadRequest(f"version {wanted} is the active version; make another version active first")
            remaining = [n for n in numbers if n != wanted]
            self._repo.delete_version(dataclasses.replace(head, latest=max(remaining)), wanted)
            return ""

        self._retry(name, step)


def _type_of(record: Template) -> str:
    return next(t for t, cls in RECORDS.items() if type(record) is cls)


def _shows(head: Head, active: Template) -> Head:
    """The head with the active version's metadata, which ListTemplates shows."""
    return dataclasses.replace(
        head,
        last_modified_date=active.last_modified_date,
        template_description=active.template_description,
        default_substitutions=active.default_substitutions_json,
    )
