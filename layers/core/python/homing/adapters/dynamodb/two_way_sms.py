"""The TwoWaySms table: each app's two-way configuration, the claim on each of its numbers (a
number belongs to one app), and a marker per inbound message handled (replays do nothing twice).

One hash key, three kinds of item: ``app#<app id>`` (the configuration, versioned),
``number#<E.164>`` (which app owns the number) and ``inbound#<inbound message id>`` (expires).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from homing.adapters.dynamodb.common import WriteConflict
from homing.domain.two_way_sms import TwoWayConfig


class TwoWaySmsItem(Model):
    """A configuration, a number claim or an inbound marker (see the module docstring)."""

    class Meta:
        table_name = "two-way-sms"

    pk = UnicodeAttribute(hash_key=True)
    application_id = UnicodeAttribute()
    config = JSONAttribute(null=True)
    version = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)  # inbound markers only


def _app_key(app_id: str) -> str:
    return f"app#{app_id}"


def _number_key(number: str) -> str:
    return f"number#{number}"


def _inbound_key(inbound_id: str) -> str:
    return f"inbound#{inbound_id}"


class TwoWaySmsRepository:
    def get(self, app_id: str) -> TwoWayConfig | None:
        try:
            item = TwoWaySmsItem.get(_app_key(app_id), consistent_read=True)
        except TwoWaySmsItem.DoesNotExist:
            return None
        raw = item.config or {}
        return TwoWayConfig(
            application_id=app_id,
            numbers=tuple(raw.get("numbers", ())),
            keywords=dict(raw.get("keywords", {})),
            help_reply=raw.get("help_reply"),
            stop_reply=raw.get("stop_reply"),
            forward_topic_arn=raw.get("forward_topic_arn"),
            last_modified_date=str(raw.get("last_modified_date", "")),
            version=int(item.version or 0),
        )

    def owner(self, number: str) -> str | None:
        """The app that claimed ``number``, if any."""
        try:
            return str(TwoWaySmsItem.get(_number_key(number), consistent_read=True).application_id)
        except TwoWaySmsItem.DoesNotExist:
            return None

    def put(self, config: TwoWayConfig, before: TwoWayConfig | None) -> None:
        """Store ``config`` conditional on the version read (``before``), claiming its new numbers
        (each only if unclaimed) and releasing the ones it dropped, in one transaction; WriteConflict
        when anything changed meanwhile or a number is another app's."""
        app = config.application_id
        old = set(before.numbers) if before else set()
        try:
            with TransactWrite(connection=TwoWaySmsItem._get_connection().connection) as tx:
                item = TwoWaySmsItem(
                    _app_key(app),
                    application_id=app,
                    config={
                        "numbers": list(config.numbers),
                        "keywords": config.keywords,
                        "help_reply": config.help_reply,
                        "stop_reply": config.stop_reply,
                        "forward_topic_arn": config.forward_topic_arn,
                        "last_modified_date": config.last_modified_date,
                    },
                    version=(before.version if before else 0) + 1,
                )
                tx.save(item, condition=self._at(before))
                for number in sorted(set(config.numbers) - old):
                    tx.save(
                        TwoWaySmsItem(_number_key(number), application_id=app),
                        condition=TwoWaySmsItem.pk.does_not_exist(),
                    )
                for number in sorted(old - set(config.numbers)):
                    tx.delete(TwoWaySmsItem(_number_key(number)), condition=TwoWaySmsItem.application_id == app)
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise WriteConflict() from exc
            raise

    def delete(self, before: TwoWayConfig) -> None:
        """Remove the configuration (at the version read) and release its numbers."""
        app = before.application_id
        try:
            with TransactWrite(connection=TwoWaySmsItem._get_connection().connection) as tx:
                tx.delete(TwoWaySmsItem(_app_key(app)), condition=self._at(before))
                for number in before.numbers:
                    tx.delete(TwoWaySmsItem(_number_key(number)), condition=TwoWaySmsItem.application_id == app)
        except TransactWriteError as exc:
            if exc.cause_response_code == "TransactionCanceledException":
                raise WriteConflict() from exc
            raise

    @staticmethod
    def _at(before: TwoWayConfig | None) -> Condition:
        if before is None:
            return TwoWaySmsItem.pk.does_not_exist()
        return TwoWaySmsItem.version == before.version

    def claim_inbound(self, inbound_id: str, app_id: str, expires: datetime) -> bool:
        """Mark an inbound message as being handled; False when it already was (a replay)."""
        try:
            TwoWaySmsItem(_inbound_key(inbound_id), application_id=app_id, expires=expires).save(
                condition=TwoWaySmsItem.pk.does_not_exist()
            )
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_inbound(self, inbound_id: str) -> None:
        """Undo ``claim_inbound`` after a failure, so the retried delivery handles the message."""
        TwoWaySmsItem(_inbound_key(inbound_id)).delete()

    def erase_app(self, app_id: str) -> int:
        """DeleteApp's clean-up: the app's configuration and its number claims (markers expire)."""
        config = self.get(app_id)
        if config is None:
            return 0
        for number in config.numbers:
            # already released, or claimed again by another app: not ours to remove
            with contextlib.suppress(DeleteError):
                TwoWaySmsItem(_number_key(number)).delete(condition=TwoWaySmsItem.application_id == app_id)
        TwoWaySmsItem(_app_key(app_id)).delete()
        return 1 + len(config.numbers)
