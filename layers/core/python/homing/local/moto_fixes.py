"""Performance fixes for moto that keep its behaviour (used by local mode and the tests).

Each fix says which moto cost it removes; none changes what a call answers or stores.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_lock = threading.Lock()


def copy_tables_once_per_transaction() -> None:
    """Roll a failed transaction back by restoring the items it names, not by copying tables.

    moto backs up every table a transaction names (a deep copy of the whole table) and puts
    the copy back if the transaction fails; the cost grows with the table, so PutEvents and
    process_events slowed down as the endpoints and analytics tables filled. A transaction can
    only change the items its operations name (at most 100), so those items are saved before
    and put back on failure: the same state afterwards, whatever the table holds. (The name is
    kept from the first version of this fix, which copied each table once per transaction.)
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "_homing_fix", False):
        return

    def saved_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        """(table, hash key, range key, deep copy of the item or None) for each item named."""
        saved = []
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = backend.tables[op["TableName"]]
                key = op.get("Key") or {
                    name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
                }
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                current = table.get_item(hash_key, range_key)
            except Exception:  # moto rejects this operation itself (unknown table, bad key): nothing to save
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(current)))
        return saved

    def restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
        for table, hash_key, range_key, item in reversed(saved):  # the first copy of an item wins
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item
            elif item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item

    def same_table(obj: Any, memo: Any = None) -> Any:
        return obj if isinstance(obj, models.Table) else copy.deepcopy(obj, memo)  # type: ignore[attr-defined]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = saved_items(self, transact_items)
        with _lock:  # the module attribute swap must not interleave with another transaction
            models.copy = types.SimpleNamespace(deepcopy=same_table)  # type: ignore[attr-defined,assignment]
            try:
                original(self, transact_items)  # its own rollback puts the same table objects back
            except Exception:
                restore(saved)
                raise
            finally:
                models.copy = copy  # type: ignore[attr-defined]

    transact_write_items._homing_fix = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_writes = threading.RLock()
WRITE_OPERATIONS = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def atomic_writes() -> None:
    """Make moto's DynamoDB writes atomic, as DynamoDB's are.

    moto evaluates a ConditionExpression and then writes, with nothing in between to stop another
    thread (local mode's server and threaded tests): two conditional writes on one version could
    both pass, and an optimistic-concurrency test would see lost updates DynamoDB never allows.
    """
    from moto.dynamodb import models

    for name in WRITE_OPERATIONS:
        original = getattr(models.DynamoDBBackend, name, None)
        if original is None or getattr(original, "_homing_atomic", False):
            continue

        @functools.wraps(original)  # keeps the markers of the other fixes (each installs once)
        def atomic(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _writes:
                return __original(self, *args, **kwargs)

        atomic._homing_atomic = True  # type: ignore[attr-defined]
        setattr(models.DynamoDBBackend, name, atomic)


_shard_records = threading.RLock()


def serial_kinesis_shards() -> None:
    """Make moto's Kinesis shards safe for concurrent PutRecords and GetRecords, as Kinesis is.

    moto's ``Shard.put_record`` reads the last sequence number and then adds the record (its own
    comment: "not safe for concurrency"), so two concurrent puts can take the same number and one
    record replaces the other; ``get_records`` iterates the records while a put adds one and fails
    ("OrderedDict mutated during iteration"). Campaign batches put their send events from many
    functions at once while the local event-source mappings read: both happened in local mode.
    """
    from moto.kinesis import models

    for name in ("put_record", "get_records"):
        original = getattr(models.Shard, name)
        if getattr(original, "_homing_serial", False):
            continue

        @functools.wraps(original)
        def serial(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _shard_records:
                return __original(self, *args, **kwargs)

        serial._homing_serial = True  # type: ignore[attr-defined]
        setattr(models.Shard, name, serial)


def cache_service_folders() -> None:
    """Read moto's list of service folders once, not on every request its server answers.

    moto's server picks the backend of each request under one global lock, and on the way lists
    its own package folder (about 180 ``isdir`` calls) every time; the folders cannot change
    while it runs. Every call a local function makes (GetItem, PutRecords) paid it, serialised.
    """
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_homing_fix", False):
        return
    folders = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return folders

    list_of_moto_modules._homing_fix = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


# Backend methods that write items, and how to find the keys each one names (DynamoDB JSON).
_KEYED_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_UNKEYED_WRITES = ("execute_statement", "batch_execute_statement", "execute_transaction")


def index_queries() -> None:
    """Answer a Query from the items it can match, not from a sorted copy of the whole table.

    moto answers every Query (and every Scan) by sorting all the table's items and filtering
    them, so a query's cost grew with the table: importing 100,000 endpoints, whose every row
    asks the by-address index who else holds its address, slowed from ~100 rows/s to under 30
    as the table filled. Here a Query on the table (or a local index) starts from its partition
    (``table.items[hash]``) and a Query on a global index from a map of the index's hash value
    to the primary keys holding it, built on the index's first query and kept up to date by
    re-reading, after every write, the items the write names. moto's own filtering, sorting
    and paging then run unchanged on those candidates, so the answer is the same; a stale map
    entry is filtered out by moto's own hash-key check, and every write path re-indexes what it
    names (PartiQL writes, which name no keys, drop the maps).
    """
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import GlobalSecondaryIndex, Table

    if getattr(Table.query, "_homing_fix", False):
        return
    original_query, original_all_items = Table.query, Table.all_items
    candidates: dict[tuple[int, int], list[Any] | None] = {}  # (thread, table) -> a query's candidates

    def hash_attr(index: Any) -> str:
        return str(next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"))

    def primary_key(table: Any, item: Any) -> tuple[Any, Any]:
        return item.hash_key, item.range_key if table.range_key_attr else None

    def current(table: Any, key: tuple[Any, Any]) -> Any:
        found = table.items.get(key[0])
        return found.get(key[1]) if found is not None and table.range_key_attr else found

    def gsi_map(table: Any, index: Any) -> dict[Any, set[tuple[Any, Any]]]:
        maps = table.__dict__.setdefault("_homing_gsi", {})
        if index.name not in maps:
            attr = hash_attr(index)
            by_value: dict[Any, set[tuple[Any, Any]]] = {}
            value_of: dict[tuple[Any, Any], Any] = {}
            for item in original_all_items(table):
                value = item.attrs.get(attr)
                if value is not None:
                    key = primary_key(table, item)
                    by_value.setdefault(value, set()).add(key)
                    value_of[key] = value
            maps[index.name] = (attr, by_value, value_of)
        return maps[index.name][1]  # type: ignore[no-any-return]

    def reindex(table: Any, key: tuple[Any, Any]) -> None:
        item = current(table, key)
        for attr, by_value, value_of in table.__dict__.get("_homing_gsi", {}).values():
            old = value_of.pop(key, None)
            if old is not None:
                by_value.get(old, set()).discard(key)
            value = item.attrs.get(attr) if item is not None else None
            if value is not None:
                by_value.setdefault(value, set()).add(key)
                value_of[key] = value

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
        found: list[Any] | None = None
        with _writes:
            index = next((i for i in self.all_indexes() if i.name == index_name), None) if index_name else None
            if isinstance(index, GlobalSecondaryIndex):
                attr = hash_attr(index)
                conditions = dict(kwargs.get("hash_key_conditions") or [])
                value = conditions.get(attr, hash_key)
                if value is not None:
                    keys = gsi_map(self, index).get(value, set())
                    found = [item for key in keys if (item := current(self, key)) is not None]
            elif hash_key is not None and (index_name is None or index is not None):
                partition = self.items.get(hash_key)
                found = [] if partition is None else list(partition.values()) if self.range_key_attr else [partition]
        slot = (threading.get_ident(), id(self))
        candidates[slot] = found
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            candidates.pop(slot, None)

    def all_items(self: Any) -> Any:
        found = candidates.get((threading.get_ident(), id(self)))
        if found is None:
            return original_all_items(self)
        return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def named_keys(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[Any, Any]]:
        """(table, DynamoDB-JSON key or item) for each item a write names."""
        if name == "transact_write_items":
            ops = [next(iter(entry.values())) for entry in (args[0] if args else kwargs["transact_items"])]
            return [(op.get("TableName"), op.get("Key") or op.get("Item")) for op in ops]
        table_name = args[0] if args else kwargs.get("table_name")
        key = args[1] if len(args) > 1 else kwargs.get("item_attrs") or kwargs.get("key")
        return [(table_name, key)]

    def reindex_named(backend: Any, named: list[tuple[Any, Any]]) -> None:
        for table_name, attrs in named:
            table = backend.tables.get(table_name) if isinstance(table_name, str) else None
            if table is None or not table.__dict__.get("_homing_gsi") or not isinstance(attrs, dict):
                continue
            try:
                hash_key = DynamoType(attrs[table.hash_key_attr])
                range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
            except (KeyError, TypeError):
                continue  # moto refused the write for its key: it changed nothing
            reindex(table, (hash_key, range_key))

    for name in _KEYED_WRITES:
        original = getattr(models.DynamoDBBackend, name)

        @functools.wraps(original)
        def keyed(self: Any, *args: Any, __name: str = name, __original: Any = original, **kwargs: Any) -> Any:
            with _writes:
                try:
                    return __original(self, *args, **kwargs)
                finally:
                    reindex_named(self, named_keys(__name, args, kwargs))

        setattr(models.DynamoDBBackend, name, keyed)

    for name in _UNKEYED_WRITES:
        original = getattr(models.DynamoDBBackend, name, None)
        if original is None:
            continue

        @functools.wraps(original)
        def unkeyed(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _writes:
                try:
                    return __original(self, *args, **kwargs)
                finally:
                    for table in self.tables.values():
                        table.__dict__.pop("_homing_gsi", None)

        setattr(models.DynamoDBBackend, name, unkeyed)

    query._homing_fix = True  # type: ignore[attr-defined]
    query._homing_original = original_query  # type: ignore[attr-defined]  # the tests' reference answers
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
