"""PynamoDB models: the one description of each table's keys and indexes.

The CDK DataStack builds its tables from these models (stacks/constructs/tables.py), so the
deployed key schema and the code that reads it cannot drift apart. Table names are bound at
cold start by ``bind_tables`` from Settings. Models that moved to their family's adapter module
(``event_streams.EventStreamItem``) are imported here, so ``ALL_MODELS`` and ``bind_tables`` still see
every table and the CDK DataStack still finds them in one place.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from homing.adapters.dynamodb.event_streams import EventStreamItem
from homing.adapters.dynamodb.jobs import JobItem


class AppItem(Model):
    """One Pinpoint project (app): name, tags and application settings.

    ``version`` grows by one with every write (optimistic concurrency: a write is conditional on the
    version it read). A deleted app is a tombstone: only its id, ``deleted`` (when) and ``expires``
    (DynamoDB TTL) remain, so every operation answers NotFound at once while the clean-up runs and
    late events can still be recognised as belonging to a deleted app.
    """

    class Meta:
        table_name = "apps"

    application_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    creation_date = UnicodeAttribute(null=True)
    tags = JSONAttribute(default=dict)
    settings = JSONAttribute(default=dict)  # ApplicationSettings as a snake_case dict
    settings_modified = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)  # absent on items written before versions existed: 0
    deleted = UnicodeAttribute(null=True)  # ISO time of DeleteApp: the item is a tombstone
    expires = TTLAttribute(null=True)  # tombstones only


class ByUserIndex(GlobalSecondaryIndex["EndpointItem"]):
    """Endpoints of one user in one app (sparse: only endpoints with a UserId)."""

    class Meta:
        index_name = "by-user"
        projection = AllProjection()

    app_user = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)


class ByAddressIndex(GlobalSecondaryIndex["EndpointItem"]):
    """Endpoints sharing one address in one app: the newest writer stays ACTIVE."""

    class Meta:
        index_name = "by-address"
        projection = KeysOnlyProjection()

    app_address = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)


class ByChannelIndex(GlobalSecondaryIndex["EndpointItem"]):
    """Endpoints of one channel type in one app (the list-endpoints extension's filter)."""

    class Meta:
        index_name = "by-channel"
        projection = AllProjection()

    app_channel = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)


class EndpointItem(Model):
    """One endpoint. ``endpoint_key`` is the lower-cased id: Pinpoint endpoint ids are case-insensitive."""

    class Meta:
        table_name = "endpoints"

    application_id = UnicodeAttribute(hash_key=True)
    endpoint_key = UnicodeAttribute(range_key=True)
    endpoint_id = UnicodeAttribute()
    body = JSONAttribute()  # the endpoint's fields as a snake_case dict (domain.endpoints.Endpoint)
    app_user = UnicodeAttribute(null=True)
    app_address = UnicodeAttribute(null=True)
    app_channel = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)  # +1 on every write; each write is conditional on the one read

    by_user = ByUserIndex()
    by_address = ByAddressIndex()
    by_channel = ByChannelIndex()


class CatalogItem(Model):
    """Per-app bookkeeping that concurrent writers meet on (docs/decisions.md, "Concurrency model").

    - ``<kind>#<name>``: one name of a catalogue (event types);
    - ``$attrs``: the app's endpoint attribute names (``<type>#<name>`` in ``names``), one item so the
      250-name cap is one conditional ``ADD`` on ``size(names)``;
    - ``$user#<user id>``: the endpoint keys of one user (``names``) and a ``version``, so the
      15-endpoint cap is a condition every writer for that user meets.
    """

    class Meta:
        table_name = "catalog"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # "<kind>#<name>", "$attrs" or "$user#<user id>"
    names = UnicodeSetAttribute(null=True)
    version = NumberAttribute(null=True)


class AnalyticsItem(Model):
    """Analytics, one table with string keys (homing.domain.analytics names them):

    - day items (``APP#app``, ``CMP#app#campaign``, ``JNY#…``, ``EVT#app#type`` / ISO date) whose
      counters are top-level number attributes named ``c:<counter>``, added with ``ADD``;
    - state items (endpoint/user activity, first-time markers) written with a version condition;
    - per-shard checkpoints (``CKPT`` / shard id) committed in the same transaction as the counters.
    """

    class Meta:
        table_name = "analytics"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute(null=True)
    first_day = NumberAttribute(null=True)
    days = NumberSetAttribute(null=True)
    flags = UnicodeSetAttribute(null=True)
    seq = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)


class TimelineItem(Model):
    """One event for funnels (``FT#app#type#day`` / ``endpoint#ts#event``), expiring after 90 days.

    Its own table: one item per event is most of the write volume, and it can be switched off
    (FUNNEL_TIMELINES=false) without touching the aggregates.
    """

    class Meta:
        table_name = "timelines"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = JSONAttribute(null=True)
    expires = TTLAttribute(null=True)


__all__ = [
    "ALL_MODELS",
    "AnalyticsItem",
    "AppItem",
    "CatalogItem",
    "EndpointItem",
    "EventStreamItem",
    "JobItem",
    "TimelineItem",
    "bind_tables",
]

ALL_MODELS: tuple[type[Model], ...] = (
    AppItem,
    EndpointItem,
    CatalogItem,
    AnalyticsItem,
    EventStreamItem,
    TimelineItem,
    JobItem,
)


def bind_tables(settings: Any, region: str | None = None) -> None:
    """Point every model at its deployed table (names come from the stacks via Settings)."""
    AppItem.Meta.table_name = settings.apps_table
    EndpointItem.Meta.table_name = settings.endpoints_table
    CatalogItem.Meta.table_name = settings.catalog_table
    AnalyticsItem.Meta.table_name = settings.analytics_table or "analytics"
    EventStreamItem.Meta.table_name = settings.event_streams_table or "event-streams"
    TimelineItem.Meta.table_name = settings.timelines_table or "timelines"
    JobItem.Meta.table_name = getattr(settings, "jobs_table", "") or "jobs"
    for model in ALL_MODELS:
        model.Meta.region = region or settings.region
        # PynamoDB caches its connection per model; drop it so a new table name/region applies.
        model._connection = None
