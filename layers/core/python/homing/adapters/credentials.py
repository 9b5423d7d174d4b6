"""KMS adapter: credentials sealed with the data key before they are stored, opened only by senders.

Each credential is one KMS Encrypt call (at most 4096 bytes, homing.domain.channels) under an
encryption context naming its app, channel and field, so a ciphertext copied elsewhere does not
decrypt and CloudTrail says which credential a Decrypt was for.
"""

from __future__ import annotations

import base64
from typing import Any

import boto3


class KmsSealer:
    """Seals (the api function: kms:Encrypt) and opens (senders: kms:Decrypt) credentials."""

    def __init__(self, key_id: str, client: Any = None) -> None:
        self._key, self._client = key_id, client

    def _kms(self) -> Any:
        if self._client is None:
            self._client = boto3.client("kms")
        return self._client

    def seal(self, plaintext: str, context: dict[str, str]) -> str:
        if not self._key:
            raise RuntimeError("no key configured (DATA_KEY_ARN)")
        blob = self._kms().encrypt(KeyId=self._key, Plaintext=plaintext.encode(), EncryptionContext=context)
        return base64.b64encode(blob["CiphertextBlob"]).decode()

    def open(self, sealed: str, context: dict[str, str]) -> str:
        plain = self._kms().decrypt(CiphertextBlob=base64.b64decode(sealed), EncryptionContext=context)
        return bytes(plain["Plaintext"]).decode()
