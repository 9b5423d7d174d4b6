"""PutEventStream / GetEventStream / DeleteEventStream: where an app's events are also sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from homing.adapters.dynamodb.event_streams import EventStreamRepository
from homing.domain.errors import NotFound
from homing.domain.event_streams import EventStream, check_destination, in_allowed_accounts
from homing.domain.timestamps import iso_now
from homing.observability import logger
from homing.services.apps import AppService


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

    def put(self, app_id: str, destination: str | None, role: str | None, caller: str | None) -> EventStream:
        self._apps.require(app_id)
        destination, role = check_destination(destination, role, self._allowed)
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
        return stream_target(self._repo, app_id, self._allowed)


def stream_target(repo: EventStreamRepository, app_id: str, allowed: frozenset[str]) -> tuple[str, str] | None:
    """(destination ARN, role ARN) for process_events: one read per app and batch, so a change
    made with PutEventStream or DeleteEventStream applies from the next batch on. A stream
    registered before its account was disallowed is not used."""
    stream = repo.get(app_id)
    if stream is None:
        return None
    if not in_allowed_accounts(stream, allowed):
        logger.warning("event stream in a disallowed account skipped", extra={"application_id": app_id})
        return None
    return stream.destination_stream_arn, stream.role_arn
