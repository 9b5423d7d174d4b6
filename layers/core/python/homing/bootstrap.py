"""Composition root: builds the services once per cold start from Settings.

Apps and endpoints are built eagerly. The event and analytics services are built, and their modules
imported, on first use: most API calls never need them, and importing them costs ~30 ms of the
api function's cold start (target: 300 ms of imports).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING

from homing.adapters.dynamodb.event_streams import EventStreamRepository
from homing.adapters.dynamodb.models import bind_tables
from homing.adapters.dynamodb.repositories import (
    AppRepository,
    CatalogRepository,
    EndpointRepository,
)
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService
from homing.services.tags import TagService
from homing.settings import Settings

if TYPE_CHECKING:
    from homing.adapters.dynamodb.analytics import AnalyticsRepository
    from homing.services.cleanup import CleanupService
    from homing.services.event_streams import EventStreamService
    from homing.services.events import EventPublisher, EventService
    from homing.services.funnels import FunnelService
    from homing.services.jobs import JobService
    from homing.services.kpis import KpiService
    from homing.services.processing import ProcessingService


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    def __init__(self, settings: Settings) -> None:
        bind_tables(settings)
        self.settings = settings
        self._catalog = CatalogRepository()
        self._event_stream_repo = EventStreamRepository()
        endpoints_repo = self._endpoints_repo = EndpointRepository()
        self._app_repo = AppRepository()
        self.apps = AppService(
            self._app_repo,
            arn_prefix=settings.resource_arn_prefix,
            clock=_utc_now,
            cleanup=_LazyCleanup(self),
        )
        self.tags = TagService(self.apps, arn_prefix=settings.resource_arn_prefix)
        self.endpoints = EndpointService(
            self.apps, endpoints_repo, self._catalog, clock=_utc_now, forget_activity=self._forget_activity
        )

    def _forget_activity(self, app_id: str, endpoint_ids: list[str], user_id: str) -> None:
        """DeleteUserEndpoints: the user's analytics activity goes with the endpoints."""
        self.analytics.delete_activity(app_id, endpoint_ids, user_id)

    @cached_property
    def cleanup(self) -> CleanupService:
        from homing.adapters.dynamodb.erasure import AppDataEraser
        from homing.adapters.queues import SqsQueue
        from homing.services.cleanup import CleanupService

        return CleanupService(
            self._app_repo,
            AppDataEraser(self.analytics),
            SqsQueue(self.settings.cleanup_queue_url),
            clock=_utc_now,
            grace=timedelta(seconds=self.settings.cleanup_grace_seconds),
        )

    @cached_property
    def analytics(self) -> AnalyticsRepository:
        from homing.adapters.dynamodb.analytics import AnalyticsRepository

        return AnalyticsRepository()

    @cached_property
    def events(self) -> EventService:
        from homing.services.events import EventService

        publisher: list[EventPublisher] = []

        def events_stream() -> EventPublisher:
            """Created on first PutEvents, so the other API calls do not pay for a Kinesis client."""
            if not publisher:
                from homing.adapters.streams import KinesisPublisher

                publisher.append(KinesisPublisher(self.settings.event_stream_name))
            return publisher[0]

        return EventService(self.apps, self.endpoints, self._catalog, events_stream, clock=_utc_now)

    @cached_property
    def event_streams(self) -> EventStreamService:
        from homing.services.event_streams import EventStreamService

        return EventStreamService(
            self.apps,
            self._event_stream_repo,
            clock=_utc_now,
            allowed_accounts=self.settings.allowed_event_stream_accounts,
        )

    @cached_property
    def kpis(self) -> KpiService:
        from homing.services.kpis import KpiService

        return KpiService(self.apps, self.analytics, clock=_utc_now)

    @cached_property
    def funnels(self) -> FunnelService:
        from homing.services.funnels import FunnelService

        return FunnelService(self.apps, self.analytics, clock=_utc_now)

    @cached_property
    def jobs(self) -> JobService:
        from homing.adapters.dynamodb.jobs import JobRepository
        from homing.adapters.queues import SqsQueue
        from homing.adapters.s3 import JobFiles
        from homing.services.jobs import JobService

        return JobService(
            self.apps,
            self.endpoints,
            self._endpoints_repo,
            JobRepository(),
            JobFiles(),
            SqsQueue(self.settings.jobs_queue_url),
            clock=_utc_now,
            buckets=self.settings.job_buckets,
            # WIRE (lead, after S1 merges): segments=<adapter over the segments service> (services/jobs.Segments).
        )

    def processing(self) -> ProcessingService:
        from homing.adapters.streams import StreamForwarder  # boto3 clients: only process_events needs them
        from homing.services.processing import ProcessingService

        return ProcessingService(
            self.analytics,
            StreamForwarder(self.event_streams.target),
            clock=_utc_now,
            funnel_timelines=self.settings.funnel_timelines,
            live_apps=self._app_repo.live,
        )


class _LazyCleanup:
    """DeleteApp's CleanupScheduler: the clean-up module is imported only when an app is deleted."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def schedule(self, app_id: str) -> None:
        self._services.cleanup.schedule(app_id)


def build_services(settings: Settings) -> Services:
    return Services(settings)


@cache
def services() -> Services:
    """The process-wide services, built from the environment on first use (cold start)."""
    return build_services(Settings.from_env())
