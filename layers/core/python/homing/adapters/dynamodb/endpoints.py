"""The Endpoints table (with its by-user, by-address and by-channel indexes) and the endpoint repository.

A request's writes are one transaction (``EndpointChanges``): endpoint items, the users' endpoint
sets and the attribute-name catalogue (both in the Catalog table), each conditional on what was read.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition, size
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.apps import AppItem
from homing.adapters.dynamodb.catalog import ATTRIBUTES_ENTRY, RECORDS_ENTRY, CatalogItem, user_entry
from homing.adapters.dynamodb.common import HASH_KEY_MAX_BYTES, SORT_KEY_MAX_BYTES, WriteConflict
from homing.adapters.dynamodb.paging import Page, decode_token, page
from homing.codec import build, dump, snake
from homing.domain.endpoints import Endpoint, endpoint_key
from homing.domain.errors import BadRequest


class ByUserIndex(GlobalSecondaryIndex["EndpointItem"]):
    """Endpoints of one user in one app (sparse: only endpoints with a UserId)."""

    class Meta:
        index_name = "by-user"
        projection = AllProjection()

    app_user = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)


class ByAddressIndex(GlobalSecondaryIndex["EndpointItem"]):
    """Endpoints sharing one address in one app: the newest writer stays ACTIVE."""

    class Meta:
        index_name = "by-address"
        projection = KeysOnlyProjection()

    app_address = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)


class ByChannelIndex(GlobalSecondaryIndex["EndpointItem"]):
    """Endpoints of one channel type in one app (the list-endpoints extension's filter)."""

    class Meta:
        index_name = "by-channel"
        projection = AllProjection()

    app_channel = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)


class EndpointItem(Model):
    """One endpoint. ``endpoint_key`` is the lower-cased id: Pinpoint endpoint ids are case-insensitive."""

    class Meta:
        table_name = "endpoints"

    application_id = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)
    endpoint_id = UnicodeAttribute()
    body = JSONAttribute()  # the endpoint's fields as a snake_case dict (domain.endpoints.Endpoint)
    app_user = UnicodeAttribute(null=True)
    app_address = UnicodeAttribute(null=True)
    app_channel = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)  # +1 on every write; each write is conditional on the one read

    by_user = ByUserIndex()
    by_address = ByAddressIndex()
    by_channel = ByChannelIndex()


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
        items, next_token = page(results, page_size, scope)
        return [self._to_endpoint(i) for i in items], next_token

    def all_keys(self, app_id: str) -> Iterator[str]:
        for item in EndpointItem.query(app_id, attributes_to_get=["endpoint_key"]):
            yield item.endpoint_key

    def delete_all(self, app_id: str, keys: Iterable[str]) -> None:
        """Unconditional bulk delete (DeleteApp); per-endpoint deletes go through ``commit``."""
        with EndpointItem.batch_write() as batch:
            for key in keys:
                batch.delete(EndpointItem(app_id, key))

    def user_sets(self, app_id: str, user_ids: Iterable[str]) -> tuple[dict[str, UserSet], bool]:
        """``user_set`` for many users in one strongly consistent BatchGetItem (a request's plans), and
        whether the app's users all have records (``$records``, read in the same call)."""
        wanted = sorted(set(user_ids))
        keys = [(app_id, user_entry(u)) for u in wanted] + [(app_id, RECORDS_ENTRY)]
        found = {item.entry: item for item in CatalogItem.batch_get(keys, consistent_read=True)}
        sets = {
            u: UserSet(u, frozenset(i.names or ()), int(i.version or 0))
            if (i := found.get(user_entry(u)))
            else UserSet(u, frozenset(), None)
            for u in wanted
        }
        return sets, RECORDS_ENTRY in found

    def records_complete(self, app_id: str) -> bool:
        """Whether a user without a record has no endpoints: the app is marked so, or holds no endpoint at
        all (then it is marked: every writer since keeps user records, so it stays true)."""
        if list(EndpointItem.query(app_id, limit=1, consistent_read=True, attributes_to_get=["endpoint_key"])):
            return False
        CatalogItem(app_id, RECORDS_ENTRY).save()
        return True

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
