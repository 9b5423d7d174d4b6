"""PutEventStream / GetEventStream / DeleteEventStream: where an app's events are also sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homing.adapters.dynamodb.models import EventStreamItem
from homing.adapters.dynamodb.repositories import EventStreamRepository
from homing.domain.endpoints import iso_now
from homing.domain.errors import BadRequest, NotFound
from homing.services.apps import AppService

STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:(kinesis:[a-z0-9-]+:\d{12}:stream|firehose:[a-z0-9-]+:\d{12}:deliverystream)/[\w.-]+$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


@dataclass(frozen=True)
class EventStream:
    application_id: str
    destination_stream_arn: str
    role_arn: str
    last_modified_date: str
    last_updated_by: str | None


class EventStreamService:
    def __init__(self, apps: AppService, repo: EventStreamRepository, *, clock: Callable[[], datetime]) -> None:
        self._apps, self._repo, self._clock = apps, repo, clock

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
        self._repo.put(item)
        return _to_stream(item)

    def get(self, app_id: str) -> EventStream:
        self._apps.require(app_id)
        item = self._repo.get(app_id)
        if item is None:
            raise NotFound(f"Application {app_id} has no event stream")
        return _to_stream(item)

    def delete(self, app_id: str) -> EventStream:
        stream = self.get(app_id)
        self._repo.delete(app_id)
        return stream

    def target(self, app_id: str) -> tuple[str, str] | None:
        """(destination ARN, role ARN) for process_events: one read per app and batch, so a change
        made with PutEventStream or DeleteEventStream applies from the next batch on."""
        item = self._repo.get(app_id)
        return None if item is None else (item.destination_stream_arn, item.role_arn)


def _to_stream(item: EventStreamItem) -> EventStream:
    return EventStream(
        application_id=item.application_id,
        destination_stream_arn=item.destination_stream_arn,
        role_arn=item.role_arn,
        last_modified_date=item.last_modified_date,
        last_updated_by=item.last_updated_by,
    )
