"""The Apps table: one item per Pinpoint project (name, tags, settings) or its tombstone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from homing.adapters.dynamodb.common import StaleVersion
from homing.adapters.dynamodb.paging import Page, decode_token, encode_token
from homing.codec import build, dump, snake
from homing.domain.apps import App, ApplicationSettings


class AppItem(Model):
    """One Pinpoint project (app): name, tags and application settings.

    ``version`` grows by one with every write (optimistic concurrency: a write is conditional on the
    version it read). A deleted app is a tombstone: only its id, ``deleted`` (when) and ``expires``
    (DynamoDB TTL) remain, so every operation answers NotFound at once while the clean-up runs and
    late events can still be recognised as belonging to a deleted app.
    """

    class Meta:
        table_name = "apps"

    application_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    creation_date = UnicodeAttribute(null=True)
    tags = JSONAttribute(default=dict)
    settings = JSONAttribute(default=dict)  # ApplicationSettings as a snake_case dict
    settings_modified = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)  # absent on items written before versions existed: 0
    deleted = UnicodeAttribute(null=True)  # ISO time of DeleteApp: the item is a tombstone
    expires = TTLAttribute(null=True)  # tombstones only


class AppRepository:
    """Apps and their tombstones. Every read is strongly consistent: a deleted app is gone at once."""

    @staticmethod
    def _to_app(item: AppItem) -> App:
        return App(
            id=item.application_id,
            arn="",  # filled in by the service, which knows the deployment's ARN prefix
            name=item.name or "",
            creation_date=item.creation_date or "",
            tags=dict(item.tags or {}),
            settings=build(ApplicationSettings, item.settings or {}, key_of=snake),
            settings_modified=item.settings_modified,
            version=int(item.version or 0),
        )

    def get(self, app_id: str) -> App | None:
        """The live app, or None if there is none or it is deleted (a tombstone)."""
        try:
            item = AppItem.get(app_id, consistent_read=True)
        except AppItem.DoesNotExist:
            return None
        return None if item.deleted else self._to_app(item)

    def deleted_at(self, app_id: str) -> str | None:
        """When the app was deleted, if its tombstone is still there."""
        try:
            item = AppItem.get(app_id, consistent_read=True, attributes_to_get=["application_id", "deleted"])
        except AppItem.DoesNotExist:
            return None
        return item.deleted

    def live(self, app_ids: Iterable[str]) -> set[str]:
        """Which of ``app_ids`` exist and are not deleted (one BatchGetItem per 100 ids)."""
        wanted = list(set(app_ids))
        if not wanted:
            return set()
        found = AppItem.batch_get(wanted, attributes_to_get=["application_id", "deleted"])
        return {i.application_id for i in found if not i.deleted}

    @staticmethod
    def _at_version(version: int) -> Condition:
        """The stored app is live and still at ``version`` (0: written before apps had versions)."""
        live = AppItem.deleted.does_not_exist()
        if version == 0:
            condition: Condition = AppItem.application_id.exists() & AppItem.version.does_not_exist() & live
        else:
            condition = (AppItem.version == version) & live
        return condition

    @staticmethod
    def _save(item: AppItem, condition: Condition) -> None:
        try:
            item.save(condition=condition)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleVersion(item.application_id) from exc
            raise

    @staticmethod
    def _item(app: App, version: int) -> AppItem:
        return AppItem(
            app.id,
            name=app.name,
            creation_date=app.creation_date,
            tags=app.tags,
            settings=dump(app.settings, snake),
            settings_modified=app.settings_modified,
            version=version,
        )

    def create(self, app: App) -> None:
        self._save(self._item(app, 1), AppItem.application_id.does_not_exist())

    def put(self, app: App) -> None:
        """Store ``app`` if the item is still at the version it was read at; else StaleVersion."""
        self._save(self._item(app, app.version + 1), self._at_version(app.version))

    def tombstone(self, app: App, deleted: str, expires: datetime) -> None:
        """Replace the app by its tombstone (id, when, TTL) if it is still at ``app.version``."""
        tombstone = AppItem(app.id, deleted=deleted, expires=expires, version=app.version + 1)
        self._save(tombstone, self._at_version(app.version))

    def untombstone(self, app: App) -> None:
        """Undo ``tombstone`` (the clean-up could not be scheduled): put the app back as it was."""
        self._save(self._item(app, app.version + 2), AppItem.version == app.version + 1)

    def count(self) -> int:
        # Model.count() without a key reads DescribeTable's ItemCount, which lags by hours. Tombstones
        # do not count against the quota.
        scan = AppItem.scan(AppItem.deleted.does_not_exist(), attributes_to_get=["application_id", "deleted"])
        return sum(1 for _ in scan)

    def list(self, page_size: int, token: str | None) -> Page:
        # Tombstones are filtered out after DynamoDB's limit applies, so read on until the page is full;
        # the next page starts after the last app returned.
        results = AppItem.scan(
            AppItem.deleted.does_not_exist(), last_evaluated_key=decode_token(token, "apps"), page_size=page_size
        )
        items: list[AppItem] = []
        for item in results:
            items.append(item)
            if len(items) == page_size:
                break
        last = {"application_id": {"S": items[-1].application_id}} if len(items) == page_size else None
        next_token = encode_token(last, "apps")
        return [self._to_app(i) for i in items], next_token
