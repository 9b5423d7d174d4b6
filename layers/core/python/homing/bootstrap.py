"""Composition roots, one per function, each built once per cold start from that function's settings.

- ``services()``, the api function: apps, tags and endpoints are built eagerly; the event, analytics,
  event-stream, KPI and funnel services are built, and their modules imported, on first use: most API
  calls never need them, and importing them costs ~30 ms of the api function's cold start (target:
  300 ms of imports).
- ``processing()``, process_events: the processing service on the tables it touches (Apps, Analytics,
  EventStreams, Timelines) and nothing else.
- ``cleanup()``, clean_up_app: the clean-up service.
- ``audience_worker()``, resolve_audience: the audience service's workflow steps.

Each binds only the tables its function was given (homing.adapters.dynamodb.tables).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING

from homing.adapters.dynamodb.apps import AppRepository
from homing.adapters.dynamodb.event_streams import EventStreamRepository
from homing.adapters.dynamodb.tables import bind_tables
from homing.settings import ApiSettings, AudienceSettings, CleanupSettings, ProcessingSettings

if TYPE_CHECKING:
    from homing.adapters.dynamodb.analytics import AnalyticsRepository
    from homing.adapters.workflows import StateMachine
    from homing.services.audiences import AudienceService
    from homing.services.cleanup import CleanupService, CleanupStarter
    from homing.services.event_streams import EventStreamService
    from homing.services.events import EventPublisher, EventService
    from homing.services.funnels import FunnelService
    from homing.services.jobs import ImportedMembers, JobService
    from homing.services.kpis import KpiService
    from homing.services.messaging import MessagingService
    from homing.services.processing import ProcessingService
    from homing.services.segments import SegmentService


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """The api function's services."""

    def __init__(self, settings: ApiSettings) -> None:
        # Imported here, not at the top: process_events and clean_up_app import this module too.
        from homing.adapters.dynamodb.catalog import CatalogRepository
        from homing.adapters.dynamodb.endpoints import EndpointRepository
        from homing.services.apps import AppService
        from homing.services.endpoints import EndpointService
        from homing.services.tags import TagService

        bind_tables(settings.tables, settings.region)
        self.settings = settings
        self._catalog = CatalogRepository()
        self._event_stream_repo = EventStreamRepository()
        endpoints_repo = EndpointRepository()
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
    def cleanup_starter(self) -> CleanupStarter:
        from homing.adapters.queues import SqsQueue
        from homing.services.cleanup import CleanupStarter

        return CleanupStarter(SqsQueue(self.settings.cleanup_queue_url))

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
    def segments(self) -> SegmentService:
        from homing.adapters.dynamodb.segments import SegmentRepository
        from homing.services.segments import SegmentService

        return SegmentService(
            self.apps, SegmentRepository(), arn_prefix=self.settings.resource_arn_prefix, clock=_utc_now
        )

    @cached_property
    def audiences(self) -> AudienceService:
        from homing.adapters.workflows import StateMachine

        arn = self.settings.audience_state_machine_arn
        return _audience_service(
            self.segments, self.settings.audience_bucket, StateMachine(arn) if arn else None, self.imported_members
        )

    @cached_property
    def imported_members(self) -> ImportedMembers:
        """Who is in an IMPORT segment: what its import registered (the Jobs table)."""
        return _imported_members()

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
        from homing.adapters.dynamodb.audiences import AudienceSource
        from homing.adapters.dynamodb.jobs import JobRepository
        from homing.adapters.queues import SqsQueue
        from homing.adapters.s3 import JobFiles
        from homing.services.jobs import JobService

        return JobService(
            self.apps,
            self.endpoints,
            JobRepository(),
            JobFiles(),
            SqsQueue(self.settings.jobs_queue_url),
            clock=_utc_now,
            buckets=self.settings.job_buckets,
            segments=self.segments,
            source=AudienceSource(),
            members=self.imported_members,
        )

    @cached_property
    def events_publisher(self) -> EventPublisher:
        """The events stream's publisher, for the send events of direct messages."""
        from homing.adapters.streams import KinesisPublisher

        return KinesisPublisher(self.settings.event_stream_name)

    @cached_property
    def messaging(self) -> MessagingService:
        """SendMessages and SendUsersMessages, sending in-process. Its collaborators come from the other
        parts of issue 9: ``self.templates`` (templates), ``self.channels`` (channels), the rendering
        module ``homing.domain.rendering`` (templates) and the senders' idempotent dispatcher (senders:
        ``dispatcher()``, i.e. ``build_dispatcher(SendSettings.from_env())``, in place of
        ``self.dispatcher``). The ``type: ignore``s go when those are merged."""
        from homing.domain import rendering  # type: ignore[attr-defined]
        from homing.services.messaging import MessagingService

        return MessagingService(
            self.apps,
            self.endpoints,
            templates=self.templates,  # type: ignore[attr-defined]
            channels=self.channels,  # type: ignore[attr-defined]
            rendering=rendering,
            dispatcher=self.dispatcher,  # type: ignore[attr-defined]
            publisher=lambda: self.events_publisher,
            clock=_utc_now,
            account_id=self.settings.resource_arn_prefix.rsplit(":", 1)[-1],
        )


class _LazyCleanup:
    """DeleteApp's CleanupScheduler: the clean-up module is imported only when an app is deleted."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def schedule(self, app_id: str) -> None:
        self._services.cleanup_starter.schedule(app_id)


def _imported_members() -> ImportedMembers:
    from homing.adapters.dynamodb.jobs import JobRepository
    from homing.services.jobs import ImportedMembers

    return ImportedMembers(JobRepository())


def _audience_service(
    segments: SegmentService, bucket: str, workflow: StateMachine | None, imported: ImportedMembers
) -> AudienceService:
    from homing.adapters.audience_store import AudienceStore
    from homing.adapters.dynamodb.audiences import AudienceSource
    from homing.services.audiences import AudienceService

    return AudienceService(
        segments, AudienceSource(), AudienceStore(bucket), workflow, clock=_utc_now, imported=imported
    )


class _NoCleanup:
    """resolve_audience never deletes an app."""

    def schedule(self, app_id: str) -> None:
        raise NotImplementedError("resolve_audience does not delete apps")


def build_audience_worker(settings: AudienceSettings) -> AudienceService:
    """resolve_audience: reads Apps, Segments, Endpoints, Analytics and Jobs (imported segments' members);
    writes the audience bucket."""
    from homing.adapters.dynamodb.segments import SegmentRepository
    from homing.services.apps import AppService
    from homing.services.segments import SegmentService

    bind_tables(settings.tables, settings.region)
    apps = AppService(AppRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now, cleanup=_NoCleanup())
    segments = SegmentService(apps, SegmentRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now)
    return _audience_service(segments, settings.audience_bucket, None, _imported_members())


def build_services(settings: ApiSettings) -> Services:
    return Services(settings)


def build_processing(settings: ProcessingSettings) -> ProcessingService:
    """process_events: count into Analytics and Timelines, forward to EventStreams' targets, skip deleted apps."""
    from homing.adapters.dynamodb.analytics import AnalyticsRepository
    from homing.adapters.streams import StreamForwarder
    from homing.services.event_streams import stream_target
    from homing.services.processing import ProcessingService

    bind_tables(settings.tables, settings.region)
    streams, allowed = EventStreamRepository(), settings.allowed_event_stream_accounts
    return ProcessingService(
        AnalyticsRepository(),
        StreamForwarder(lambda app_id: stream_target(streams, app_id, allowed)),
        clock=_utc_now,
        funnel_timelines=settings.funnel_timelines,
        live_apps=AppRepository().live,
    )


def build_cleanup(settings: CleanupSettings) -> CleanupService:
    from homing.adapters.dynamodb.erasure import AppDataEraser
    from homing.adapters.queues import SqsQueue
    from homing.services.cleanup import CleanupService

    bind_tables(settings.tables, settings.region)
    audiences = None
    if settings.audience_bucket:
        from homing.adapters.audience_store import AudienceStore
        from homing.domain.audiences import app_prefix

        store = AudienceStore(settings.audience_bucket)

        def audiences(app_id: str, limit: int) -> int:
            return store.delete_prefix(app_prefix(app_id), limit)

    return CleanupService(
        AppRepository(),
        AppDataEraser(audiences=audiences),
        SqsQueue(settings.cleanup_queue_url),
        clock=_utc_now,
        grace=timedelta(seconds=settings.cleanup_grace_seconds),
    )


@cache
def services() -> Services:
    """The api function's services, built from the environment on first use (cold start)."""
    return build_services(ApiSettings.from_env())


@cache
def processing() -> ProcessingService:
    """process_events' service, built from the environment on first use (cold start)."""
    return build_processing(ProcessingSettings.from_env())


@cache
def cleanup() -> CleanupService:
    """clean_up_app's service, built from the environment on first use (cold start)."""
    return build_cleanup(CleanupSettings.from_env())


@cache
def audience_worker() -> AudienceService:
    """resolve_audience's service, built from the environment on first use (cold start)."""
    return build_audience_worker(AudienceSettings.from_env())
