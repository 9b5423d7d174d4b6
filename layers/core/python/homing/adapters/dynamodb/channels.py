"""The Channels table: one item per app and channel type, rewritten whole under a version.

Credentials are stored sealed (KMS ciphertext) inside the body; this module never sees them in clear.
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.models import Model

from homing.adapters.dynamodb.common import StaleVersion
from homing.codec import build, dump, snake
from homing.domain.channels import Channel


class ChannelItem(Model):
    """An app's channel (Update*Channel): ``body`` is the snake_case Channel, ``version`` its write count."""

    class Meta:
        table_name = "channels"

    application_id = UnicodeAttribute(hash_key=True)
    channel_type = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    body = JSONAttribute()


def _channel(item: ChannelItem) -> Channel:
    return build(Channel, item.body, key_of=snake)


class ChannelRepository:
    """Channels of apps: strongly consistent reads (writes plan from them), versioned writes."""

    def get(self, app_id: str, channel_type: str) -> Channel | None:
        try:
            return _channel(ChannelItem.get(app_id, channel_type, consistent_read=True))
        except ChannelItem.DoesNotExist:
            return None

    def all(self, app_id: str) -> list[Channel]:
        """Every channel of the app: one query (an app has at most ten)."""
        return [_channel(i) for i in ChannelItem.query(app_id, consistent_read=True)]

    def write(self, channel: Channel, read_version: int | None) -> None:
        """Store ``channel``; StaleVersion unless the item is still at ``read_version`` (None: absent)."""
        item = ChannelItem(
            channel.application_id, channel.channel_type, version=channel.version, body=dump(channel, snake)
        )
        condition = (
            ChannelItem.channel_type.does_not_exist() if read_version is None else ChannelItem.version == read_version
        )
        try:
            item.save(condition=condition)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleVersion() from exc
            raise

    def delete(self, channel: Channel) -> None:
        """Delete the channel if it is still at ``channel.version``, else StaleVersion."""
        try:
            ChannelItem(channel.application_id, channel.channel_type).delete(
                condition=ChannelItem.version == channel.version
            )
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleVersion() from exc
            raise
