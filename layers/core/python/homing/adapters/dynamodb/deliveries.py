"""The DeliveryLedger table: one item per delivery key, so that no key is ever sent twice.

A send first claims its key (a put conditional on no item), then completes the item with the
result. Keys are stored hashed (SHA-256): a caller's key may contain an address, and a hash has a
fixed size whatever the key's. Items expire (TTL) after ``LEDGER_TTL``: long past any retry of a
task or replay of a batch.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from homing.domain.dispatch import Claim
from homing.domain.messages import DeliveryResult

LEDGER_TTL = timedelta(days=7)


class DeliveryLedgerItem(Model):
    """A delivery key's claim and, once sent, what the send came to."""

    class Meta:
        table_name = "delivery-ledger"

    key_hash = UnicodeAttribute(hash_key=True)
    claimed_at = UnicodeAttribute()
    status = UnicodeAttribute(null=True)  # set when completed
    status_code = NumberAttribute(null=True)
    status_message = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    updated_token = UnicodeAttribute(null=True)
    expires = TTLAttribute()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _conditional_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


class DeliveryLedger:
    """Claims and results of delivery keys (homing.services.delivery.Ledger)."""

    def claim(self, key: str, now: datetime) -> Claim:
        item = DeliveryLedgerItem(_hash(key), claimed_at=now.isoformat(), expires=now + LEDGER_TTL)
        try:
            item.save(condition=DeliveryLedgerItem.key_hash.does_not_exist())
            return Claim(won=True)
        except PutError as error:
            if not _conditional_failed(error):
                raise
        existing = DeliveryLedgerItem.get(_hash(key), consistent_read=True)
        if existing.status is None:
            return Claim(won=False)  # claimed, never completed (yet)
        return Claim(
            won=False,
            result=DeliveryResult(
                status=existing.status,
                status_code=int(existing.status_code or 0),
                status_message=existing.status_message or "",
                message_id=existing.message_id,
                updated_token=existing.updated_token,
            ),
        )

    def recorded(self, key: str) -> bool:
        """Whether the key was ever claimed (a send was made, or started, under it): one consistent read."""
        try:
            DeliveryLedgerItem.get(_hash(key), consistent_read=True, attributes_to_get=["key_hash"])
        except DeliveryLedgerItem.DoesNotExist:
            return False
        return True

    def complete(self, key: str, result: DeliveryResult) -> None:
        """Record the result on the claimed item (conditional: claimed and not yet completed)."""
        item = DeliveryLedgerItem(_hash(key))
        actions: list[Action] = [
            DeliveryLedgerItem.status.set(result.status),
            DeliveryLedgerItem.status_code.set(result.status_code),
            DeliveryLedgerItem.status_message.set(result.status_message),
        ]
        if result.message_id is not None:
            actions.append(DeliveryLedgerItem.message_id.set(result.message_id))
        if result.updated_token is not None:
            actions.append(DeliveryLedgerItem.updated_token.set(result.updated_token))
        try:
            item.update(
                actions=actions,
                condition=DeliveryLedgerItem.key_hash.exists() & DeliveryLedgerItem.status.does_not_exist(),
            )
        except UpdateError as error:
            if not _conditional_failed(error):
                raise
            # Already completed (or expired): the first record stands.
