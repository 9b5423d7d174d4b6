"""Composition root: builds the services once per cold start from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from homing.adapters.dynamodb.models import bind_tables
from homing.adapters.dynamodb.repositories import AppRepository, CatalogRepository, EndpointRepository
from homing.services.apps import AppService
from homing.services.endpoints import EndpointService
from homing.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    apps: AppService
    endpoints: EndpointService


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_services(settings: Settings) -> Services:
    bind_tables(settings)
    endpoints_repo, catalog = EndpointRepository(), CatalogRepository()
    apps = AppService(
        AppRepository(), endpoints_repo, catalog, arn_prefix=settings.resource_arn_prefix, clock=_utc_now
    )
    return Services(
        settings=settings,
        apps=apps,
        endpoints=EndpointService(apps, endpoints_repo, catalog, clock=_utc_now),
    )


@cache
def services() -> Services:
    """The process-wide services, built from the environment on first use (cold start)."""
    return build_services(Settings.from_env())
