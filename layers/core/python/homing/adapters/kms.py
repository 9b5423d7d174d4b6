"""KMS HMAC: the one-time passwords' MACs, made under a key that never leaves KMS (GenerateMac)."""

from __future__ import annotations

from functools import cached_property
from typing import Any


class KmsMac:
    """HMAC-SHA-256 with a KMS HMAC_256 key: reading the Otp table alone never reveals a code."""

    def __init__(self, key_id: str, client: Any = None) -> None:
        self._key_id = key_id
        self._given = client

    @cached_property
    def _client(self) -> Any:
        if self._given is not None:
            return self._given
        import boto3

        return boto3.client("kms")

    def mac(self, message: bytes) -> bytes:
        response = self._client.generate_mac(KeyId=self._key_id, Message=message, MacAlgorithm="HMAC_SHA_256")
        mac: bytes = response["Mac"]
        return mac
