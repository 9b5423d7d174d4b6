"""Composition root: builds the services once per cold start from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from homing.adapters.dynamodb.analytics import AnalyticsRepository
from homing.adapters.dynamodb.models import bind_tables
from homing.adapters.dynamodb.repositories import (
    AppRepository,
    CatalogRepository,
    EndpointRepository,
    EventStreamRepository,
)
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService
from homing.services.event_streams import EventStreamService
from homing.services.events import EventPublisher, EventService
from homing.services.funnels import FunnelService
from homing.services.kpis import KpiService
from homing.services.processing import ProcessingService
from homing.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    apps: AppService
    endpoints: EndpointService
    events: EventService
    event_streams: EventStreamService
    kpis: KpiService
    funnels: FunnelService
    analytics: AnalyticsRepository

    def processing(self) -> ProcessingService:
        from homing.adapters.streams import StreamForwarder  # boto3 clients: only process_events needs them

        return ProcessingService(
            self.analytics,
            StreamForwarder(self.event_streams.target),
            clock=_utc_now,
            funnel_timelines=self.settings.funnel_timelines,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_services(settings: Settings) -> Services:
    bind_tables(settings)
    endpoints_repo, catalog, analytics = EndpointRepository(), CatalogRepository(), AnalyticsRepository()
    event_streams = EventStreamRepository()
    apps = AppService(
        AppRepository(),
        endpoints_repo,
        catalog,
        arn_prefix=settings.resource_arn_prefix,
        clock=_utc_now,
        event_streams=event_streams,
    )
    endpoints = EndpointService(apps, endpoints_repo, catalog, clock=_utc_now)
    publisher: list[EventPublisher] = []

    def events_stream() -> EventPublisher:
        """Created on first PutEvents, so the other API calls do not pay for a Kinesis client."""
        if not publisher:
            from homing.adapters.streams import KinesisPublisher

            publisher.append(KinesisPublisher(settings.event_stream_name))
        return publisher[0]

    return Services(
        settings=settings,
        apps=apps,
        endpoints=endpoints,
        events=EventService(apps, endpoints, catalog, events_stream, clock=_utc_now),
        event_streams=EventStreamService(apps, event_streams, clock=_utc_now),
        kpis=KpiService(apps, analytics, clock=_utc_now),
        funnels=FunnelService(apps, analytics, clock=_utc_now),
        analytics=analytics,
    )


@cache
def services() -> Services:
    """The process-wide services, built from the environment on first use (cold start)."""
    return build_services(Settings.from_env())
