"""Performance fixes for moto that keep its behaviour (used by local mode and the tests).

moto's ``TransactWriteItems`` deep-copies a table once for *every item* of the transaction, to
roll back on failure: a 90-item transaction on a table of n items copies 90·n items.
process_events commits every chunk of records in one transaction, so local mode and the test
suite slowed down quadratically (and a 600-user fixture used 20 GB). Copying each table once
per transaction gives the same rollback at 1/90th of the cost.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_lock = threading.Lock()


def copy_tables_once_per_transaction() -> None:
    from moto.dynamodb import models

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "_homing_fix", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        copies: dict[int, Any] = {}

        def deepcopy(obj: Any, memo: Any = None) -> Any:
            if isinstance(obj, models.Table):  # type: ignore[attr-defined]
                if id(obj) not in copies:
                    copies[id(obj)] = copy.deepcopy(obj, memo)
                return copies[id(obj)]
            return copy.deepcopy(obj, memo)

        with _lock:  # the module attribute swap must not interleave with another transaction
            models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined,assignment]
            try:
                original(self, transact_items)
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
