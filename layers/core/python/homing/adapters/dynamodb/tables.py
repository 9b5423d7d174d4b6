"""The registry of Homing's DynamoDB tables: the one list the Data stack builds and the functions bind.

Each entry names a table three ways, once: the Data stack's construct id (part of the deployed
state: never rename it), the PynamoDB model that describes its keys and indexes (the stack builds
the table *from* it, stacks/constructs/tables.py), and the environment variable that carries its
deployed name to the functions given it (stacks/resources.py writes it, ``table_names`` reads it).
A new table is one line here plus its model; the stack that uses it lists it and grants access.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pynamodb.models import Model

from homing.adapters.dynamodb.analytics_tables import AnalyticsItem, TimelineItem
from homing.adapters.dynamodb.apps import AppItem
from homing.adapters.dynamodb.catalog import CatalogItem
from homing.adapters.dynamodb.endpoints import EndpointItem
from homing.adapters.dynamodb.event_streams import EventStreamItem
from homing.adapters.dynamodb.jobs import JobItem
from homing.adapters.dynamodb.segments import SegmentItem


@dataclass(frozen=True)
class Table:
    construct_id: str  # in the Data stack
    model: type[Model]
    env: str  # the variable holding its deployed name


APPS = Table("Apps", AppItem, "APPS_TABLE")
ENDPOINTS = Table("Endpoints", EndpointItem, "ENDPOINTS_TABLE")
CATALOG = Table("Catalog", CatalogItem, "CATALOG_TABLE")
# Counters, activity states and shard checkpoints of process_events.
ANALYTICS = Table("Analytics", AnalyticsItem, "ANALYTICS_TABLE")
# Each app's own event stream (PutEventStream) that process_events forwards events to.
EVENT_STREAMS = Table("EventStreams", EventStreamItem, "EVENT_STREAMS_TABLE")
# One item per event for funnels, expiring after 90 days (TTL); most of the write volume.
TIMELINES = Table("Timelines", TimelineItem, "TIMELINES_TABLE")
# Segments: a head item per segment and one immutable item per version.
SEGMENTS = Table("Segments", SegmentItem, "SEGMENTS_TABLE")
# Import and export jobs: their progress, and the ids each import piece registered.
JOBS = Table("Jobs", JobItem, "JOBS_TABLE")

TABLES: tuple[Table, ...] = (APPS, ENDPOINTS, CATALOG, ANALYTICS, EVENT_STREAMS, TIMELINES, SEGMENTS, JOBS)
ALL_MODELS: tuple[type[Model], ...] = tuple(t.model for t in TABLES)

TableNames = Mapping[Table, str]


def table_names(env: Mapping[str, str]) -> dict[Table, str]:
    """The deployed names of the tables a function was given: those whose variable its environment sets."""
    return {t: env[t.env] for t in TABLES if env.get(t.env)}


def bind_tables(names: TableNames, region: str) -> None:
    """Point the models of the given tables at their deployed tables; the others are left as they are.

    A function is given only the tables it uses, so a model it was not given stays unbound (its
    placeholder name), and other compositions in the same process (tests) keep their binding.
    """
    for table, name in names.items():
        table.model.Meta.table_name = name
        table.model.Meta.region = region
        # PynamoDB caches its connection per model; drop it so a new table name/region applies.
        table.model._connection = None
