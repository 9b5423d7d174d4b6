"""Paging tokens: DynamoDB's LastEvaluatedKey, signed so a forged or altered token is a 400, never a 500.

A token is ``v1.<payload>.<mac>``: the payload (base64url JSON) holds the scope it was issued for
(operation, app, filter) and the key; the mac is HMAC-SHA256 over both with a per-deployment key.
The key lives in the Catalog table under a partition no app can have (app ids are 32 hex digits),
created on first use with a conditional put: it works the same in AWS and in local mode, needs no
new resource and no new permission (the api function already reads and writes that table).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator

from homing.adapters.dynamodb.catalog import CatalogItem
from homing.domain.errors import BadRequest

VERSION = "v1"
MAX_TOKEN_CHARS = 4096
INVALID = "token is not a valid page token"
# The key's place in the Catalog table: "#" never appears in an app id.
KEY_PARTITION = "#homing"
KEY_ENTRY = "paging-token-key#v1"


class _SecretItem(Model):
    """The signing key's item, in the Catalog table (bound to its name at first use)."""

    class Meta:
        table_name = "catalog"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    secret = UnicodeAttribute()


_lock = threading.Lock()
_keys: dict[tuple[str, str | None], bytes] = {}


def _bind() -> tuple[str, str | None]:
    where = (CatalogItem.Meta.table_name, getattr(CatalogItem.Meta, "region", None))
    if (_SecretItem.Meta.table_name, getattr(_SecretItem.Meta, "region", None)) != where:
        _SecretItem.Meta.table_name = where[0]
        setattr(_SecretItem.Meta, "region", where[1])  # noqa: B010 (Meta declares no region attribute)
        _SecretItem._connection = None
    return where


def signing_key() -> bytes:
    """The deployment's token key: read once per process, created by the first caller that finds none."""
    with _lock:
        where = _bind()
        if where in _keys:
            return _keys[where]
        try:
            item = _SecretItem.get(KEY_PARTITION, KEY_ENTRY, consistent_read=True)
        except _SecretItem.DoesNotExist:
            item = _SecretItem(KEY_PARTITION, KEY_ENTRY, secret=base64.b64encode(secrets.token_bytes(32)).decode())
            try:
                item.save(condition=_SecretItem.application_id.does_not_exist())
            except PutError:  # another instance created it first: use theirs
                item = _SecretItem.get(KEY_PARTITION, KEY_ENTRY, consistent_read=True)
        _keys[where] = base64.b64decode(item.secret)
        return _keys[where]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest())


def encode_token(last_key: dict[str, Any] | None, scope: str = "", key: bytes | None = None) -> str | None:
    """A token for the next page of ``scope`` (e.g. ``endpoints/<app>/EMAIL``), or None on the last page."""
    if not last_key:
        return None
    payload = _b64(json.dumps({"s": scope, "k": last_key}, separators=(",", ":")).encode())
    return f"{VERSION}.{payload}.{_mac(key or signing_key(), payload)}"


Page = tuple[list[Any], str | None]  # (items, token of the next page or None)


def page(results: ResultIterator[Any], page_size: int, scope: str) -> Page:
    """A query's page and the token of the next one (None once a page comes back short)."""
    items = list(results)
    return items, encode_token(results.last_evaluated_key, scope) if len(items) >= page_size else None


def decode_token(token: str | None, scope: str = "", key: bytes | None = None) -> dict[str, Any] | None:
    """The key a token carries, if Homing issued it for this very scope; otherwise 400 BadRequest."""
    if not token:
        return None
    parts = token.split(".")
    if len(token) > MAX_TOKEN_CHARS or len(parts) != 3 or parts[0] != VERSION:
        raise BadRequest(INVALID)
    _, payload, mac = parts
    if not hmac.compare_digest(_mac(key or signing_key(), payload).encode(), mac.encode("utf-8", "replace")):
        raise BadRequest(INVALID)
    try:
        value = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest(INVALID) from None
    if not isinstance(value, dict) or value.get("s") != scope or not isinstance(value.get("k"), dict):
        raise BadRequest(f"{INVALID} for this request")
    return value["k"]  # type: ignore[no-any-return]
