"""What every table's adapter shares: the re-plan signals and DynamoDB's limits on transactions and keys."""

from __future__ import annotations

# DynamoDB's limits that plans are sized against.
MAX_TRANSACTION_ITEMS = 100  # TransactWriteItems
SORT_KEY_MAX_BYTES = 1024  # key size limits (tables and indexes)
HASH_KEY_MAX_BYTES = 2048


class WriteConflict(Exception):
    """A condition failed: another request changed an item this one read. Re-plan and retry."""


class StaleVersion(Exception):
    """The item changed (or was deleted) since it was read: re-read and re-plan the write."""
