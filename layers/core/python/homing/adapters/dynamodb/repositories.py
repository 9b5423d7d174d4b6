"""Repositories: the only code that knows PynamoDB. They map items <-> domain records."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.pagination import ResultIterator

from homing.adapters.dynamodb.models import AppItem, CatalogItem, EndpointItem, EventStreamItem
from homing.codec import build, dump, snake
from homing.domain.endpoints import endpoint_key
from homing.domain.errors import BadRequest
from homing.domain.model import App, ApplicationSettings, Endpoint, EventStream

Page = tuple[list[Any], str | None]


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("token is not a valid page token") from None
    if not isinstance(value, dict):
        raise BadRequest("token is not a valid page token")
    return value


def _page(results: ResultIterator[Any], page_size: int) -> tuple[list[Any], str | None]:
    items = list(results)
    return items, encode_token(results.last_evaluated_key) if len(items) >= page_size else None


class StaleVersion(Exception):
    """The item changed (or was deleted) since it was read: re-read and re-plan the write."""


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
        results = AppItem.scan(
            AppItem.deleted.does_not_exist(), limit=page_size, last_evaluated_key=decode_token(token)
        )
        items, next_token = _page(results, page_size)
        return [self._to_app(i) for i in items], next_token


class EndpointRepository:
    @staticmethod
    def _to_endpoint(item: EndpointItem) -> Endpoint:
        return build(Endpoint, item.body, key_of=snake)

    @staticmethod
    def _to_item(endpoint: Endpoint) -> EndpointItem:
        app = endpoint.application_id
        return EndpointItem(
            app,
            endpoint_key(endpoint.id),
            endpoint_id=endpoint.id,
            body=dump(endpoint, snake),
            app_user=f"{app}#{endpoint.user_id}" if endpoint.user_id else None,
            app_address=address_key(app, endpoint.channel_type, endpoint.address),
            app_channel=f"{app}#{endpoint.channel_type}" if endpoint.channel_type else None,
        )

    def get_many(self, app_id: str, keys: Iterable[str]) -> dict[str, Endpoint]:
        wanted = [(app_id, k) for k in set(keys)]
        if not wanted:
            return {}
        return {i.endpoint_key: self._to_endpoint(i) for i in EndpointItem.batch_get(wanted)}

    def get(self, app_id: str, endpoint_id: str) -> Endpoint | None:
        return self.get_many(app_id, [endpoint_key(endpoint_id)]).get(endpoint_key(endpoint_id))

    def by_user(self, app_id: str, user_id: str) -> list[Endpoint]:
        return [self._to_endpoint(i) for i in EndpointItem.by_user.query(f"{app_id}#{user_id}")]

    def keys_by_address(self, app_id: str, channel: str, address: str) -> list[str]:
        key = address_key(app_id, channel, address)
        return [i.endpoint_key for i in EndpointItem.by_address.query(key)] if key else []

    def save_all(self, endpoints: Iterable[Endpoint]) -> None:
        with EndpointItem.batch_write() as batch:
            for endpoint in endpoints:
                batch.save(self._to_item(endpoint))

    def delete_all(self, app_id: str, keys: Iterable[str]) -> None:
        with EndpointItem.batch_write() as batch:
            for key in keys:
                batch.delete(EndpointItem(app_id, key))

    def list(self, app_id: str, page_size: int, token: str | None, channel: str | None = None) -> Page:
        start = decode_token(token)
        if channel:
            results = EndpointItem.by_channel.query(f"{app_id}#{channel}", limit=page_size, last_evaluated_key=start)
        else:
            results = EndpointItem.query(app_id, limit=page_size, last_evaluated_key=start)
        items, next_token = _page(results, page_size)
        return [self._to_endpoint(i) for i in items], next_token

    def all_keys(self, app_id: str) -> Iterator[str]:
        for item in EndpointItem.query(app_id, attributes_to_get=["endpoint_key"]):
            yield item.endpoint_key


def address_key(app_id: str, channel: str | None, address: str | None) -> str | None:
    """Addresses are unique per app and channel: an SMS and a VOICE endpoint may share a number."""
    return f"{app_id}#{channel}#{address}" if channel and address else None


class CatalogRepository:
    """Per-app name catalogue; entries are ``<kind>#<name>``."""

    def names(self, app_id: str, kind_prefix: str) -> set[str]:
        condition = CatalogItem.entry.startswith(kind_prefix) if kind_prefix else None
        return {i.entry for i in CatalogItem.query(app_id, condition)}

    def add(self, app_id: str, entries: Iterable[str]) -> None:
        with CatalogItem.batch_write() as batch:
            for entry in entries:
                batch.save(CatalogItem(app_id, entry))

    def remove(self, app_id: str, entries: Iterable[str]) -> None:
        with CatalogItem.batch_write() as batch:
            for entry in entries:
                batch.delete(CatalogItem(app_id, entry))


class EventStreamRepository:
    """Each app's PutEventStream destination."""

    def get(self, app_id: str) -> EventStream | None:
        try:
            item = EventStreamItem.get(app_id)
        except EventStreamItem.DoesNotExist:
            return None
        return EventStream(
            application_id=item.application_id,
            destination_stream_arn=item.destination_stream_arn,
            role_arn=item.role_arn,
            last_modified_date=item.last_modified_date,
            last_updated_by=item.last_updated_by,
        )

    def put(self, stream: EventStream) -> None:
        EventStreamItem(
            stream.application_id,
            destination_stream_arn=stream.destination_stream_arn,
            role_arn=stream.role_arn,
            last_modified_date=stream.last_modified_date,
            last_updated_by=stream.last_updated_by,
        ).save()

    def delete(self, app_id: str) -> None:
        EventStreamItem(app_id).delete()
