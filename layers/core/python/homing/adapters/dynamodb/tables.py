"""The registry of Homing's DynamoDB tables: the one list the Data stack builds and the functions bind.

Each entry names a table three ways, once: the Data stack's construct id (part of the deployed
state: never rename it), the PynamoDB model that describes its keys and indexes (the stack builds
the table *from* it, stacks/constructs/tables.py), and the environment variable that carries its
deployed name to the functions given it (stacks/resources.py writes it, ``table_names`` reads it).
A new table is one line here plus its model; the stack that uses it lists it and grants access.

An entry names its model by import path and imports it when first asked (``Table.model``): the
registry is imported by every function's settings at cold start, and importing every model would
import every family's domain module with it (segments, jobs, …) into functions that never use them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynamodb.models import Model


@dataclass(frozen=True)
class Table:
    construct_id: str  # in the Data stack
    model_path: str  # "<module>:<class>" of its PynamoDB model, in homing.adapters.dynamodb
    env: str  # the variable holding its deployed name

    @property
    def model(self) -> type[Model]:
        """The model class, its module imported on first use."""
        module, _, name = self.model_path.partition(":")
        model: type[Model] = getattr(importlib.import_module(f"homing.adapters.dynamodb.{module}"), name)
        return model


APPS = Table("Apps", "apps:AppItem", "APPS_TABLE")
ENDPOINTS = Table("Endpoints", "endpoints:EndpointItem", "ENDPOINTS_TABLE")
CATALOG = Table("Catalog", "catalog:CatalogItem", "CATALOG_TABLE")
# Counters, activity states and shard checkpoints of process_events.
ANALYTICS = Table("Analytics", "analytics_tables:AnalyticsItem", "ANALYTICS_TABLE")
# Each app's own event stream (PutEventStream) that process_events forwards events to.
EVENT_STREAMS = Table("EventStreams", "event_streams:EventStreamItem", "EVENT_STREAMS_TABLE")
# One item per event for funnels, expiring after 90 days (TTL); most of the write volume.
TIMELINES = Table("Timelines", "analytics_tables:TimelineItem", "TIMELINES_TABLE")
# Segments: a head item per segment and one immutable item per version.
SEGMENTS = Table("Segments", "segments:SegmentItem", "SEGMENTS_TABLE")
# Import and export jobs: their progress, and the ids each import piece registered.
JOBS = Table("Jobs", "jobs:JobItem", "JOBS_TABLE")
# One item per delivery key (claimed, then its result), so no key is sent twice; expires (TTL).
DELIVERY_LEDGER = Table("DeliveryLedger", "deliveries:DeliveryLedgerItem", "DELIVERY_LEDGER_TABLE")
# Channels: one item per app and channel type, credentials sealed with the data key.
CHANNELS = Table("Channels", "channels:ChannelItem", "CHANNELS_TABLE")
# One-time passwords: a MAC per (app, reference id, destination), expiring with the code (TTL).
OTP = Table("Otp", "otp:OtpItem", "OTP_TABLE")
# Message templates (account-level): a head item per template and one item per version.
TEMPLATES = Table("Templates", "templates:TemplateItem", "TEMPLATES_TABLE")
# Two-way SMS: each app's configuration, the claim on each of its numbers, inbound-message markers.
TWO_WAY_SMS = Table("TwoWaySms", "two_way_sms:TwoWaySmsItem", "TWO_WAY_SMS_TABLE")
# Campaign caps: per-endpoint send counters (Daily, Total, Session) and a marker per counted send (TTL).
CAPS = Table("Caps", "caps:CapItem", "CAPS_TABLE")
# Campaigns: heads, immutable versions, activities (runs), and which campaigns use each segment.
CAMPAIGNS = Table("Campaigns", "campaigns:CampaignItem", "CAMPAIGNS_TABLE")

TABLES: tuple[Table, ...] = (
    APPS,
    ENDPOINTS,
    CATALOG,
    ANALYTICS,
    EVENT_STREAMS,
    TIMELINES,
    SEGMENTS,
    JOBS,
    DELIVERY_LEDGER,
    CHANNELS,
    OTP,
    TEMPLATES,
    TWO_WAY_SMS,
    CAPS,
    CAMPAIGNS,
)


def all_models() -> tuple[type[Model], ...]:
    """Every table's model (imports them all: tests and benches that create every table)."""
    return tuple(t.model for t in TABLES)


if TYPE_CHECKING:
    ALL_MODELS: tuple[type[Model], ...]
else:

    def __getattr__(name: str) -> object:
        """``ALL_MODELS`` (as before the models were named by path) is built when asked for (PEP 562)."""
        if name == "ALL_MODELS":
            return all_models()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
