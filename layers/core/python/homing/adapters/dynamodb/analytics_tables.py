"""The Analytics and Timelines tables (their repository is homing.adapters.dynamodb.analytics).

Kept apart from analytics.py only while that module's repository is being rewritten (issue 7); the
two may be folded together afterwards.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.models import Model


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
