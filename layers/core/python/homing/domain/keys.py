"""DynamoDB's size limits on keys and items, checked before a write so they are a 400, never a 500.

DynamoDB refuses a partition key over 2048 bytes, a sort key over 1024 bytes (table and GSI keys
alike) and an item over 400 KB with a ValidationException, and a batch refused half-way has
already written its first items. Homing's keys embed user data (endpoint ids, user ids, addresses),
so each value is checked against the key it ends up in (adapters/dynamodb/endpoints.py and catalog.py).
"""

from __future__ import annotations

import json
from typing import Any

from homing.domain.errors import BadRequest

PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
ITEM_BYTES = 400 * 1024
APP_ID_BYTES = 32  # uuid4().hex
# GSI partition key ``<app>#<user id>`` (by-user). A user id is also the sort key of the user's
# endpoint record (``$user#<user id>``, Catalog table), the tighter of the two. The by-address key's
# limit (ADDRESS_BYTES) is in homing.domain.endpoints, which knows the channel types.
USER_RECORD_PREFIX_BYTES = len("$user#")
USER_ID_BYTES = min(PARTITION_KEY_BYTES - APP_ID_BYTES - 1, SORT_KEY_BYTES - USER_RECORD_PREFIX_BYTES)
# Sort key of the table and every GSI: the lower-cased endpoint id; lower() can grow a string.
ENDPOINT_KEY_BYTES = SORT_KEY_BYTES


def utf8_len(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def check_key_part(value: str, field: str, limit: int) -> None:
    """400 naming ``field`` when ``value`` cannot fit the DynamoDB key it is stored in."""
    if utf8_len(value) > limit:
        raise BadRequest(f"{field} must be at most {limit} bytes")


def check_user_id(user_id: str, field: str = "UserId") -> None:
    check_key_part(user_id, field, USER_ID_BYTES)


def check_endpoint_key(endpoint_id: str, field: str = "EndpointId") -> None:
    check_key_part(endpoint_id.lower(), field, ENDPOINT_KEY_BYTES)


def check_item_size(document: Any, field: str, limit: int = ITEM_BYTES) -> None:
    """400 when a JSON-able document (an item's attributes) would exceed DynamoDB's item size."""
    if len(json.dumps(document, separators=(",", ":")).encode()) > limit:
        raise BadRequest(f"{field} is too large (at most {limit // 1024} KB)")
