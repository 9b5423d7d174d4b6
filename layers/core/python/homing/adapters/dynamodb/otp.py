"""The Otp table: one item per (app, ReferenceId, DestinationIdentity) holding a code's MAC, never the code.

The sort key is a digest of the reference id and the destination (``homing.domain.otp.entry_key``),
so the table holds no address in clear. ``expires`` is the table's TTL attribute: DynamoDB removes
an expired code some time after it expires; the service refuses it from the first second.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from homing.domain.otp import StoredCode


class OtpItem(Model):
    """A one-time password's stored side: MAC, attempts left, expiry, the send that made it."""

    class Meta:
        table_name = "otp"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    mac = UnicodeAttribute()
    attempts_left = NumberAttribute()
    send_id = UnicodeAttribute()
    verified = BooleanAttribute(default=False)
    expires = TTLAttribute()


def _when(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class OtpRepository:
    def get(self, app_id: str, entry: str) -> StoredCode | None:
        try:
            item = OtpItem.get(app_id, entry, consistent_read=True)
        except OtpItem.DoesNotExist:
            return None
        return StoredCode(
            mac=item.mac,
            attempts_left=int(item.attempts_left),
            expires_at=int(item.expires.timestamp()),
            send_id=item.send_id,
            verified=bool(item.verified),
        )

    def replace(self, app_id: str, entry: str, code: StoredCode) -> None:
        """A new send replaces whatever code the scope had, on purpose unconditionally: the last send wins."""
        OtpItem(
            app_id,
            entry,
            mac=code.mac,
            attempts_left=code.attempts_left,
            send_id=code.send_id,
            verified=False,
            expires=_when(code.expires_at),
        ).save()

    def use(self, app_id: str, entry: str, code: StoredCode, *, matched: bool, now: int) -> bool:
        """Spend one attempt of the code read (and mark it verified if it matched); False if it changed since.

        The condition is on what was read (the same send, unverified, attempts left, not expired), so
        of two verifies racing for the last attempt, or with the right code, exactly one wins.
        """
        item = OtpItem(app_id, entry)
        actions: list[Action] = [OtpItem.attempts_left.set(OtpItem.attempts_left - 1)]
        if matched:
            actions.append(OtpItem.verified.set(True))
        condition = (
            (OtpItem.send_id == code.send_id)
            & (OtpItem.verified == False)  # noqa: E712 (a PynamoDB condition, not a comparison)
            & (OtpItem.attempts_left > 0)
            & (OtpItem.expires > _when(now))
        )
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_some(self, app_id: str, limit: int) -> int:
        """DeleteApp: up to ``limit`` of the app's codes."""
        entries = [i.entry for i in OtpItem.query(app_id, attributes_to_get=["entry"], limit=limit)]
        with OtpItem.batch_write() as batch:
            for entry in entries:
                batch.delete(OtpItem(app_id, entry))
        return len(entries)
