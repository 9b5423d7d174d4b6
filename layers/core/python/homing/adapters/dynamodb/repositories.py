"""Repositories: the only code that knows PynamoDB. They map items <-> domain records."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition, size
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.models import AppItem, CatalogItem, EndpointItem
from homing.adapters.dynamodb.paging import decode_token, encode_token
from homing.codec import build, dump, snake
from homing.domain.endpoints import endpoint_key
from homing.domain.errors import BadRequest
from homing.domain.model import App, ApplicationSettings, Endpoint

Page = tuple[list[Any], str | None]


__all__ = [
    "AppRepository",
    "CatalogRepository",
    "EndpointRepository",
    "decode_token",
    "encode_token",
]


def _page(results: ResultIterator[Any], page_size: int, scope: str) -> tuple[list[Any], str | None]:
    items = list(results)
    return items, encode_token(results.last_evaluated_key, scope) if len(items) >= page_size else None


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


class WriteConflict(Exception):
    """A condition failed: another request changed an item this one read. Re-plan and retry."""


@dataclass(frozen=True)
class Versioned:
    """An endpoint as read, with the version its next write is conditional on (0: stored before versions)."""

    endpoint: Endpoint
    version: int


@dataclass(frozen=True)
class UserSet:
    """The endpoint keys recorded for one user; ``version`` None means no item (nothing recorded yet)."""

    user_id: str
    keys: frozenset[str]
    version: int | None


@dataclass
class UserSetWrite:
    """One user's endpoint keys after a request, with what was read, so the write can be conditional."""

    stored: UserSet
    keys: set[str]
    cap: int


@dataclass
class EndpointChanges:
    """Everything one request writes, committed as one transaction (at most MAX_TRANSACTION_ITEMS items)."""

    app_id: str
    puts: list[tuple[Endpoint, int | None]] = field(default_factory=list)  # (endpoint, version read; None: new)
    deletes: list[Versioned] = field(default_factory=list)
    users: list[UserSetWrite] = field(default_factory=list)
    user_deletes: list[UserSet] = field(default_factory=list)
    new_names: set[str] = field(default_factory=set)  # attribute catalogue entries "<type>#<name>"
    names_limit: int = 0
    labels: dict[str, str] = field(default_factory=dict)  # endpoint key -> how errors name it

    def size(self) -> int:
        """Transaction items this needs (user sets that do not change are not written)."""
        users = sum(1 for w in self.users if w.keys != w.stored.keys)
        return len(self.puts) + len(self.deletes) + users + len(self.user_deletes) + (1 if self.new_names else 0)


MAX_TRANSACTION_ITEMS = 100  # DynamoDB TransactWriteItems
ATTRIBUTES_ENTRY = "$attrs"
USER_ENTRY = "$user#"
SORT_KEY_MAX_BYTES = 1024  # DynamoDB's key size limits (tables and indexes)
HASH_KEY_MAX_BYTES = 2048


def user_entry(user_id: str) -> str:
    return f"{USER_ENTRY}{user_id}"


def _version_condition(version: int | None) -> Condition:
    if version is None:
        return EndpointItem.endpoint_key.does_not_exist()
    if version == 0:
        return EndpointItem.version.does_not_exist()
    return EndpointItem.version == version


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
        return {k: v.endpoint for k, v in self.get_versioned(app_id, keys).items()}

    def get_versioned(self, app_id: str, keys: Iterable[str]) -> dict[str, Versioned]:
        """Strongly consistent: a plan's conditions are only as good as what it read."""
        wanted = [(app_id, k) for k in set(keys)]
        if not wanted:
            return {}
        return {
            i.endpoint_key: Versioned(self._to_endpoint(i), int(i.version or 0))
            for i in EndpointItem.batch_get(wanted, consistent_read=True)
        }

    def get(self, app_id: str, endpoint_id: str) -> Endpoint | None:
        return self.get_many(app_id, [endpoint_key(endpoint_id)]).get(endpoint_key(endpoint_id))

    def by_user(self, app_id: str, user_id: str) -> list[Endpoint]:
        return [self._to_endpoint(i) for i in EndpointItem.by_user.query(f"{app_id}#{user_id}")]

    def keys_by_address(self, app_id: str, channel: str, address: str) -> list[str]:
        key = address_key(app_id, channel, address)
        return [i.endpoint_key for i in EndpointItem.by_address.query(key)] if key else []

    def user_set(self, app_id: str, user_id: str) -> UserSet:
        try:
            item = CatalogItem.get(app_id, user_entry(user_id), consistent_read=True)
        except CatalogItem.DoesNotExist:
            return UserSet(user_id, frozenset(), None)
        return UserSet(user_id, frozenset(item.names or ()), int(item.version or 0))

    def commit(self, changes: EndpointChanges) -> None:
        """One transaction: every item is conditional on what the plan read, so a race is a WriteConflict.

        A DynamoDB validation failure (an item or key too large) is a BadRequest naming the item.
        """
        app = changes.app_id
        # how errors name each transaction item, by kind: PynamoDB sends deletes, then puts, then updates
        labels: dict[str, list[str]] = {"delete": [], "put": [], "update": []}
        try:
            with TransactWrite(connection=EndpointItem._get_connection().connection) as tx:
                for old in changes.deletes:
                    key = endpoint_key(old.endpoint.id)
                    tx.delete(EndpointItem(app, key), condition=_version_condition(old.version))
                    labels["delete"].append(changes.labels.get(key, f"Endpoint {old.endpoint.id}"))
                for gone in changes.user_deletes:
                    condition = (
                        CatalogItem.entry.does_not_exist()
                        if gone.version is None
                        else CatalogItem.version == gone.version
                    )
                    tx.delete(CatalogItem(app, user_entry(gone.user_id)), condition=condition)
                    labels["delete"].append(f"User {gone.user_id}")
                for endpoint, version in changes.puts:
                    item = self._to_item(endpoint)
                    item.version = (version or 0) + 1
                    tx.save(item, condition=_version_condition(version))
                    labels["put"].append(changes.labels.get(item.endpoint_key, f"Endpoint {endpoint.id}"))
                for write in changes.users:
                    kind = self._write_user(tx, app, write)
                    if kind:
                        labels[kind].append(f"User {write.stored.user_id}")
                if changes.new_names:
                    limit = changes.names_limit - len(changes.new_names)
                    tx.update(
                        CatalogItem(app, ATTRIBUTES_ENTRY),
                        actions=[CatalogItem.names.add(changes.new_names)],
                        condition=CatalogItem.names.does_not_exist() | (size(CatalogItem.names) <= limit),
                    )
                    labels["update"].append("Attributes")
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons
            codes = {r.code for r in reasons if r is not None}
            if exc.cause_response_code == "TransactionCanceledException" and codes & {
                "ConditionalCheckFailed",
                "TransactionConflict",
            }:
                raise WriteConflict() from exc
            every = labels["delete"] + labels["put"] + labels["update"]
            invalid = [every[i] for i, r in enumerate(reasons) if r is not None and r.code == "ValidationError"]
            if exc.cause_response_code == "ValidationException" or invalid:
                invalid = invalid or self._oversized(changes) or every
                named = ", ".join(invalid[:5]) + (" …" if len(invalid) > 5 else "")
                raise BadRequest(f"{named}: rejected by storage: {exc.cause_response_message}") from None
            raise

    def _oversized(self, changes: EndpointChanges) -> list[str]:
        """Which endpoints broke DynamoDB's key sizes (DynamoDB's message names none), for the 400."""
        found = []
        for endpoint, _ in changes.puts:
            item = self._to_item(endpoint)
            label = changes.labels.get(item.endpoint_key, f"Endpoint {endpoint.id}")
            p = f"{label}." if label.startswith("Item[") else ""
            for field_name, value, limit in (
                ("Address", item.app_address, HASH_KEY_MAX_BYTES),
                ("User.UserId", item.app_user, HASH_KEY_MAX_BYTES),
                ("ChannelType", item.app_channel, HASH_KEY_MAX_BYTES),
                ("Id", item.endpoint_key, SORT_KEY_MAX_BYTES),
            ):
                if value is not None and len(value.encode()) > limit:
                    found.append(f"{p}{field_name}" if p else f"{label}: {field_name}")
        return found

    @staticmethod
    def _write_user(tx: TransactWrite, app: str, write: UserSetWrite) -> str | None:
        """Joins only: ``ADD`` under the cap (racing joiners merge); anything else: replace on the version."""
        stored, keys = write.stored, write.keys
        item = CatalogItem(app, user_entry(stored.user_id))
        adds, removes = keys - stored.keys, stored.keys - keys
        if not adds and not removes:
            return None
        if stored.version is None:
            tx.save(
                CatalogItem(app, item.entry, names=set(keys) or None, version=1),
                condition=CatalogItem.entry.does_not_exist(),
            )
            return "put"
        if adds and not removes:
            tx.update(
                item,
                actions=[CatalogItem.names.add(adds), CatalogItem.version.add(1)],
                condition=CatalogItem.names.does_not_exist() | (size(CatalogItem.names) <= write.cap - len(adds)),
            )
        elif removes and not adds:
            tx.update(item, actions=[CatalogItem.names.delete(removes), CatalogItem.version.add(1)])
        else:
            names = CatalogItem.names.set(keys) if keys else CatalogItem.names.remove()
            tx.update(
                item,
                actions=[names, CatalogItem.version.set(stored.version + 1)],
                condition=CatalogItem.version == stored.version,
            )
        return "update"

    def list(self, app_id: str, page_size: int, token: str | None, channel: str | None = None) -> Page:
        scope = f"endpoints/{app_id}/{channel or ''}"
        start = decode_token(token, scope)
        if channel:
            results = EndpointItem.by_channel.query(f"{app_id}#{channel}", limit=page_size, last_evaluated_key=start)
        else:
            results = EndpointItem.query(app_id, limit=page_size, last_evaluated_key=start)
        items, next_token = _page(results, page_size, scope)
        return [self._to_endpoint(i) for i in items], next_token

    def all_keys(self, app_id: str) -> Iterator[str]:
        for item in EndpointItem.query(app_id, attributes_to_get=["endpoint_key"]):
            yield item.endpoint_key

    def delete_all(self, app_id: str, keys: Iterable[str]) -> None:
        """Unconditional bulk delete (DeleteApp); per-endpoint deletes go through ``commit``."""
        with EndpointItem.batch_write() as batch:
            for key in keys:
                batch.delete(EndpointItem(app_id, key))

    def user_sets(self, app_id: str, user_ids: Iterable[str]) -> dict[str, UserSet]:
        """``user_set`` for many users in one strongly consistent BatchGetItem (PutEvents' plans)."""
        wanted = sorted(set(user_ids))
        found = {
            item.entry[len(USER_ENTRY) :]: item
            for item in CatalogItem.batch_get([(app_id, user_entry(u)) for u in wanted], consistent_read=True)
        }
        return {
            u: UserSet(u, frozenset(i.names or ()), int(i.version or 0))
            if (i := found.get(u))
            else UserSet(u, frozenset(), None)
            for u in wanted
        }

    def by_users_and_addresses(
        self, app_id: str, users: Iterable[str], addresses: Iterable[tuple[str, str]]
    ) -> tuple[dict[str, builtins.list[Endpoint]], dict[tuple[str, str], builtins.list[str]]]:
        """``by_user`` and ``keys_by_address`` for many: there is no batch query, so they run side by side."""
        user_ids, pairs = sorted(set(users)), sorted(set(addresses))
        calls: builtins.list[Callable[[], Any]] = [partial(self.by_user, app_id, u) for u in user_ids]
        calls += [partial(self.keys_by_address, app_id, *p) for p in pairs]
        if len(calls) <= 1:
            found = [c() for c in calls]
        else:
            with ThreadPoolExecutor(max_workers=min(len(calls), 8)) as pool:
                found = builtins.list(pool.map(lambda c: c(), calls))
        return dict(zip(user_ids, found, strict=False)), dict(zip(pairs, found[len(user_ids) :], strict=True))

    def get_with_app(self, app_id: str, endpoint_id: str) -> tuple[bool, Endpoint | None]:
        """GetEndpoint's two reads in one strongly consistent BatchGetItem: (the app is live, the endpoint)."""
        apps, endpoints = AppItem.Meta.table_name, EndpointItem.Meta.table_name
        pending: dict[str, Any] = {
            apps: {
                "Keys": [{AppItem.application_id.attr_name: {"S": app_id}}],
                "ConsistentRead": True,
                "ProjectionExpression": "#id, #deleted",
                "ExpressionAttributeNames": {
                    "#id": AppItem.application_id.attr_name,
                    "#deleted": AppItem.deleted.attr_name,
                },
            },
            endpoints: {
                "Keys": [
                    {
                        EndpointItem.application_id.attr_name: {"S": app_id},
                        EndpointItem.endpoint_key.attr_name: {"S": endpoint_key(endpoint_id)},
                    }
                ],
                "ConsistentRead": True,
            },
        }
        client: Any = EndpointItem._get_connection().connection.client
        found: dict[str, builtins.list[dict[str, Any]]] = {apps: [], endpoints: []}
        while pending:  # DynamoDB may leave keys unprocessed under load: ask again for those
            response = client.batch_get_item(RequestItems=pending)
            for table, items in response.get("Responses", {}).items():
                found[table] += items
            pending = response.get("UnprocessedKeys") or {}
        live = any(AppItem.from_raw_data(raw).deleted is None for raw in found[apps])
        endpoint = next((self._to_endpoint(EndpointItem.from_raw_data(raw)) for raw in found[endpoints]), None)
        return live, endpoint


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

    def attribute_names(self, app_id: str) -> set[str]:
        """The app's endpoint attribute names, ``<type>#<name>`` (strongly consistent: writers check the cap on it)."""
        try:
            return set(CatalogItem.get(app_id, ATTRIBUTES_ENTRY, consistent_read=True).names or ())
        except CatalogItem.DoesNotExist:
            return set()

    def remove_attribute_names(self, app_id: str, entries: set[str]) -> None:
        """A field-level ``DELETE``: it merges with concurrent additions and never needs a retry."""
        if entries:
            CatalogItem(app_id, ATTRIBUTES_ENTRY).update(actions=[CatalogItem.names.delete(entries)])
