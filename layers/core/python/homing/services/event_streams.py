"""PutEventStream / GetEventStream / DeleteEventStream: where an app's events are also sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.repositories import EventStreamRepository
from homing.domain.errors import BadRequest, NotFound
from homing.domain.model import EventStream
from homing.domain.timestamps import iso_now
from homing.observability import logger
from homing.services.apps import AppService

STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:(kinesis:[a-z0-9-]+:\d{12}:stream|firehose:[a-z0-9-]+:\d{12}:deliverystream)/[\w.-]+$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def arn_account(arn: str) -> str:
    return arn.split(":")[4]


class EventStreamService:
    def __init__(
        self,
        apps: AppService,
        repo: EventStreamRepository,
        *,
        clock: Callable[[], datetime],
        allowed_accounts: frozenset[str] = frozenset(),
    ) -> None:
        self._apps, self._repo, self._clock = apps, repo, clock
        self._allowed = allowed_accounts

    def allowed(self, arn: str) -> bool:
        return arn_account(arn) in self._allowed

    def put(self, app_id: str, destination: str | None, role: str | None, caller: str | None) -> EventStream:
        self._apps.require(app_id)
        if not destination or not STREAM_ARN.match(destination):
            raise BadRequest(
                "DestinationStreamArn must be the ARN of a Kinesis data stream or a Firehose delivery stream"
            )
        if not role or not ROLE_ARN.match(role):
            raise BadRequest("RoleArn must be the ARN of an IAM role")
        accounts = ", ".join(sorted(self._allowed))
        if not self.allowed(destination):
            raise BadRequest(f"DestinationStreamArn must be in an allowed account ({accounts})")
        if not self.allowed(role):
            raise BadRequest(f"RoleArn must be in an allowed account ({accounts})")
        stream = EventStream(app_id, destination, role, iso_now(self._clock()), caller)
        self._repo.put(stream)
        return stream

    def get(self, app_id: str) -> EventStream:
        self._apps.require(app_id)
        stream = self._repo.get(app_id)
        if stream is None:
            raise NotFound(f"Application {app_id} has no event stream")
        return stream

    def delete(self, app_id: str) -> EventStream:
        stream = self.get(app_id)
        self._repo.delete(app_id)
        return stream

    def target(self, app_id: str) -> tuple[str, str] | None:
        """(destination ARN, role ARN) for process_events: one read per app and batch, so a change
        made with PutEventStream or DeleteEventStream applies from the next batch on. A stream
        registered before its account was disallowed is not used."""
        stream = self._repo.get(app_id)
        if stream is None:
            return None
        if not (self.allowed(stream.destination_stream_arn) and self.allowed(stream.role_arn)):
            logger.warning("event stream in a disallowed account skipped", extra={"application_id": app_id})
            return None
        return stream.destination_stream_arn, stream.role_arn
