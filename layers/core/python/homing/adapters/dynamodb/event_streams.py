"""The EventStreams table: each app's PutEventStream destination, one item per app."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from homing.domain.event_streams import EventStream


class EventStreamItem(Model):
    """The app's event stream (PutEventStream): where every event is also forwarded."""

    class Meta:
        table_name = "event-streams"

    application_id = UnicodeAttribute(hash_key=True)
    destination_stream_arn = UnicodeAttribute()
    role_arn = UnicodeAttribute()
    last_modified_date = UnicodeAttribute()
    last_updated_by = UnicodeAttribute(null=True)


class EventStreamRepository:
    """Each app's PutEventStream destination."""

    def get(self, app_id: str) -> EventStream | None:
        try:
            item = EventStreamItem.get(app_id)
        except EventStreamItem.DoesNotExist:
            return None
        return EventStream(
            application_id=item.application_id,
            destination_stream_arn=item.destination_stream_arn,
            role_arn=item.role_arn,
            last_modified_date=item.last_modified_date,
            last_updated_by=item.last_updated_by,
        )

    def put(self, stream: EventStream) -> None:
        EventStreamItem(
            stream.application_id,
            destination_stream_arn=stream.destination_stream_arn,
            role_arn=stream.role_arn,
            last_modified_date=stream.last_modified_date,
            last_updated_by=stream.last_updated_by,
        ).save()

    def delete(self, app_id: str) -> None:
        EventStreamItem(app_id).delete()
