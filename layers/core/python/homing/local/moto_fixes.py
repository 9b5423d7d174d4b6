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
