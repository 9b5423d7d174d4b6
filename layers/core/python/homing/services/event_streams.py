"""PutEventStream / GetEventStream / DeleteEventStream: where an app's events are also sent."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homing.adapters.dynamodb.models import EventStreamItem
from homing.domain.endpoints import iso_now
from homing.domain.errors import BadRequest, NotFound
from homing.services.apps import AppService

STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:(kinesis:[a-z0-9-]+:\d{12}:stream|firehose:[a-z0-9-]+:\d{12}:deliverystream)/[\w.-]+$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
CACHE_SECONDS = 60


@dataclass(frozen=True)
class EventStream:
    application_id: str
    destination_stream_arn: str
    role_arn: str
    last_modified_date: str
    last_updated_by: str | None


class EventStreamService:
    def __init__(self, apps: AppService, *, clock: Callable[[], datetime]) -> None:
        self._apps, self._clock = apps, clock
        self._cache: dict[str, tuple[float, tuple[str, str] | None]] = {}

    def put(self, app_id: str, destination: str | None, role: str | None, caller: str | None) -> EventStream:
        self._apps.require(app_id)
        if not destination or not STREAM_ARN.match(destination):
            raise BadRequest(
                "DestinationStreamArn must be the ARN of a Kinesis data stream or a Firehose delivery stream"
            )
        if not role or not ROLE_ARN.match(role):
            raise BadRequest("RoleArn must be the ARN of an IAM role")
        item = EventStreamItem(
            app_id, destination_stream_arn=destination, role_arn=role, last_modified_date=iso_now(self._clock()),
            last_updated_by=caller,
        )  # fmt: skip
        item.save()
        self._cache.pop(app_id, None)
        return _to_stream(item)

    def get(self, app_id: str) -> EventStream:
        self._apps.require(app_id)
        try:
            return _to_stream(EventStreamItem.get(app_id))
        except EventStreamItem.DoesNotExist:
            raise NotFound(f"Application {app_id} has no event stream") from None

    def delete(self, app_id: str) -> EventStream:
        stream = self.get(app_id)
        EventStreamItem(app_id).delete()
        self._cache.pop(app_id, None)
        return stream

    def target(self, app_id: str) -> tuple[str, str] | None:
        """(destination ARN, role ARN) for process_events, cached for a minute per warm container."""
        cached = self._cache.get(app_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            item = EventStreamItem.get(app_id)
            value: tuple[str, str] | None = (item.destination_stream_arn, item.role_arn)
        except EventStreamItem.DoesNotExist:
            value = None
        self._cache[app_id] = (time.monotonic() + CACHE_SECONDS, value)
        return value


def _to_stream(item: EventStreamItem) -> EventStream:
    return EventStream(
        application_id=item.application_id,
        destination_stream_arn=item.destination_stream_arn,
        role_arn=item.role_arn,
        last_modified_date=item.last_modified_date,
        last_updated_by=item.last_updated_by,
    )
