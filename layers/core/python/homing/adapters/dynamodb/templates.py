"""The Templates table: account-level message templates, a head item per template plus its versions.

- ``pk = "T"``, ``sk = "<name>#<TYPE>"``: the head — the template's generation, its ``latest`` and
  ``active`` version numbers, creation date, tags, the active version's description and default
  substitutions (what ListTemplates shows) and a write counter ``version``;
- ``pk = "T"``, ``sk = "#count"``: how many templates exist (Pinpoint allows 20,000 per account);
- ``pk = "V#<TYPE>#<name>#<generation>"``, ``sk = <version, 10 digits>``: each version's content,
  zlib-compressed JSON (an email template may hold 600,000 characters; an item only 400 KB).

Every write is one transaction: the head conditional on the counter it read (or on its absence), the
version item it adds (conditional on its absence) or overwrites, and the template count on create and
delete (docs/decisions.md, "Concurrency model"). A template's versions are keyed by a generation drawn
at creation, so a template deleted and created again never meets the old one's versions.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.dynamodb.paging import decode_token, encode_token
from homing.codec import build, dump, snake
from homing.domain.errors import BadRequest
from homing.domain.templates import RECORDS, TEMPLATES_PER_ACCOUNT, InAppTemplate, Template, TemplateSummary

HEADS = "T"
COUNT = "#count"
# A version item's compressed content must leave room for its keys within DynamoDB's 400 KB.
MAX_STORED_BYTES = 390 * 1024


def head_key(name: str, template_type: str) -> str:
    return f"{name}#{template_type}"


def versions_key(name: str, template_type: str, generation: str) -> str:
    return f"V#{template_type}#{name}#{generation}"


def version_key(version: int) -> str:
    return f"{version:010d}"


class TemplateItem(Model):
    """A template's head, the template count, or one version (see the module doc)."""

    class Meta:
        table_name = "templates"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute(null=True)  # the head's write counter
    template_count = NumberAttribute(null=True)  # the #count item
    generation = UnicodeAttribute(null=True)
    latest = NumberAttribute(null=True)
    active = NumberAttribute(null=True)
    creation_date = UnicodeAttribute(null=True)
    last_modified_date = UnicodeAttribute(null=True)
    template_description = UnicodeAttribute(null=True)
    default_substitutions = UnicodeAttribute(null=True)
    tags = UnicodeAttribute(null=True)  # JSON object
    body = BinaryAttribute(null=True, legacy_encoding=False)


@dataclass(frozen=True)
class Head:
    """What the head item holds; ``version`` is its write counter (None: not stored yet)."""

    name: str
    template_type: str
    generation: str
    latest: int
    active: int
    creation_date: str
    last_modified_date: str
    template_description: str | None = None
    default_substitutions: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    version: int | None = None


def _head(item: TemplateItem) -> Head:
    name, _, template_type = item.sk.rpartition("#")
    return Head(
        name=name,
        template_type=template_type,
        generation=item.generation or "",
        latest=int(item.latest or 0),
        active=int(item.active or 0),
        creation_date=item.creation_date or "",
        last_modified_date=item.last_modified_date or "",
        template_description=item.template_description,
        default_substitutions=item.default_substitutions,
        tags=json.loads(item.tags) if item.tags else {},
        version=int(item.version) if item.version is not None else None,
    )


def summary(head: Head) -> TemplateSummary:
    return TemplateSummary(
        name=head.name,
        template_type=head.template_type,
        version=str(head.active),
        creation_date=head.creation_date,
        last_modified_date=head.last_modified_date,
        template_description=head.template_description,
        default_substitutions_json=head.default_substitutions,
        tags=head.tags,
    )


def encode_body(record: Template) -> bytes:
    """The version's content, compressed; BadRequest when even compressed it cannot be stored."""
    data = zlib.compress(json.dumps(dump(record, snake), separators=(",", ":")).encode(), 6)
    if len(data) > MAX_STORED_BYTES:
        raise BadRequest("The template is too large to store (its content compresses to more than 390 KB)")
    return data


def decode_body(template_type: str, data: bytes) -> Template:
    raw = json.loads(zlib.decompress(data))
    content = raw.pop("content", None)  # in-app content is free-form JSON, which the codec does not type
    record = build(RECORDS[template_type], raw, key_of=snake)
    return dataclasses.replace(record, content=content) if isinstance(record, InAppTemplate) and content else record


class TemplateRepository:
    """Templates and their versions (strongly consistent reads: writes plan from them)."""

    def head(self, name: str, template_type: str) -> Head | None:
        try:
            return _head(TemplateItem.get(HEADS, head_key(name, template_type), consistent_read=True))
        except TemplateItem.DoesNotExist:
            return None

    def version(self, head: Head, version: int) -> Template | None:
        try:
            item = TemplateItem.get(
                versions_key(head.name, head.template_type, head.generation), version_key(version), consistent_read=True
            )
        except TemplateItem.DoesNotExist:
            return None
        return decode_body(head.template_type, item.body) if item.body is not None else None

    def page(
        self, prefix: str | None, template_type: str | None, page_size: int, token: str | None
    ) -> tuple[list[TemplateSummary], str | None]:
        """Heads in name order; the type filter is applied after the page is read, so a page may be short
        while a token still says more follow."""
        scope = f"templates/{prefix or ''}/{template_type or ''}"
        condition = TemplateItem.sk.startswith(prefix) if prefix else TemplateItem.sk >= "0"
        results = TemplateItem.query(
            HEADS,
            condition,
            limit=page_size,
            last_evaluated_key=decode_token(token, scope),
            consistent_read=True,
        )
        heads = [_head(i) for i in results if i.sk != COUNT]
        last: dict[str, Any] | None = results.last_evaluated_key
        kept = [summary(h) for h in heads if template_type is None or h.template_type == template_type]
        return kept, encode_token(last, scope) if last else None

    def versions(self, head: Head, page_size: int, token: str | None) -> tuple[list[Template], str | None]:
        """The template's versions, oldest first."""
        scope = f"template-versions/{head.name}/{head.template_type}/{head.generation}"
        results = TemplateItem.query(
            versions_key(head.name, head.template_type, head.generation),
            limit=page_size,
            last_evaluated_key=decode_token(token, scope),
            consistent_read=True,
        )
        records = [decode_body(head.template_type, i.body) for i in results if i.body is not None]
        last: dict[str, Any] | None = results.last_evaluated_key
        return records, encode_token(last, scope) if last else None

    def version_numbers(self, head: Head) -> list[int]:
        """Every version number the template has, in order (keys only)."""
        partition = versions_key(head.name, head.template_type, head.generation)
        return [int(i.sk) for i in TemplateItem.query(partition, attributes_to_get=["pk", "sk"], consistent_read=True)]

    def write(self, head: Head, record: Template | None, version: int | None, *, created: bool = False) -> None:
        """Store ``head`` (conditional on the counter it was read at, or on its absence) and, when given,
        ``record`` as version ``version``; a new template also counts against the account's limit."""
        item = self._head_item(head)
        try:
            with TransactWrite(connection=TemplateItem._get_connection().connection) as tx:
                tx.save(item, condition=self._unchanged(head))
                if record is not None and version is not None:
                    tx.save(
                        TemplateItem(
                            versions_key(head.name, head.template_type, head.generation),
                            version_key(version),
                            body=encode_body(record),
                        )
                    )
                if created:
                    tx.update(
                        TemplateItem(HEADS, COUNT),
                        actions=[TemplateItem.template_count.add(1)],
                        condition=TemplateItem.template_count.does_not_exist()
                        | (TemplateItem.template_count < TEMPLATES_PER_ACCOUNT),
                    )
        except TransactWriteError as exc:
            self._raise(exc, head, created)

    def delete_version(self, head: Head, version: int) -> None:
        """Remove one version and store ``head`` (its new latest/active), conditional on the counter read."""
        try:
            with TransactWrite(connection=TemplateItem._get_connection().connection) as tx:
                tx.save(self._head_item(head), condition=self._unchanged(head))
                tx.delete(
                    TemplateItem(versions_key(head.name, head.template_type, head.generation), version_key(version))
                )
        except TransactWriteError as exc:
            self._raise(exc, head, False)

    def delete(self, head: Head) -> None:
        """Delete the head (conditional on the counter read) and uncount it, then its versions.

        The versions go after the head: once it is gone the template answers NotFound, and versions
        left by an interrupted delete sit under a generation no head names any more."""
        try:
            with TransactWrite(connection=TemplateItem._get_connection().connection) as tx:
                tx.delete(TemplateItem(HEADS, head_key(head.name, head.template_type)), condition=self._unchanged(head))
                tx.update(
                    TemplateItem(HEADS, COUNT),
                    actions=[TemplateItem.template_count.add(-1)],
                    condition=TemplateItem.template_count > 0,
                )
        except TransactWriteError as exc:
            self._raise(exc, head, False)
        partition = versions_key(head.name, head.template_type, head.generation)
        keys = [i.sk for i in TemplateItem.query(partition, attributes_to_get=["pk", "sk"])]
        with TemplateItem.batch_write() as batch:
            for sk in keys:
                batch.delete(TemplateItem(partition, sk))

    @staticmethod
    def _head_item(head: Head) -> TemplateItem:
        return TemplateItem(
            HEADS,
            head_key(head.name, head.template_type),
            version=(head.version or 0) + 1,
            generation=head.generation,
            latest=head.latest,
            active=head.active,
            creation_date=head.creation_date,
            last_modified_date=head.last_modified_date,
            template_description=head.template_description,
            default_substitutions=head.default_substitutions,
            tags=json.dumps(head.tags) if head.tags else None,
        )

    @staticmethod
    def _unchanged(head: Head) -> Any:
        return TemplateItem.sk.does_not_exist() if head.version is None else TemplateItem.version == head.version

    @staticmethod
    def _raise(exc: TransactWriteError, head: Head, created: bool) -> None:
        reasons = list(exc.cancellation_reasons or [])
        codes = [r.code if r is not None else None for r in reasons]
        if (
            created
            and len(codes) >= 3
            and codes[2] == "ConditionalCheckFailed"
            and codes[0] != "ConditionalCheckFailed"
        ):
            raise BadRequest(f"Exceeded the maximum of {TEMPLATES_PER_ACCOUNT} message templates") from None
        if {"ConditionalCheckFailed", "TransactionConflict"} & set(codes):
            raise StaleVersion() from exc
        if exc.cause_response_code == "ValidationException" or "ValidationError" in codes:
            raise BadRequest(f"Template {head.name}: rejected by storage: {exc.cause_response_message}") from None
        raise exc
