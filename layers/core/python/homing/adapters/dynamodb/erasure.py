"""Deleting what a deleted app owned, a bounded chunk at a time (used by services/cleanup.py).

Tables keyed by the app id (Endpoints, Catalog, EventStreams, Segments, Jobs, Channels, Otp,
TwoWaySms, Campaigns; Caps by the app id and a shard) are read with queries: deleting the first N
keys of the partition and asking again makes progress without a cursor, so a chunk that runs twice
deletes nothing twice. Analytics and Timelines embed the app id in string keys and are scanned (see
AnalyticsRepository.delete_app_page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homing.adapters.dynamodb.analytics import AnalyticsRepository
from homing.adapters.dynamodb.catalog import CatalogItem
from homing.adapters.dynamodb.channels import ChannelItem
from homing.adapters.dynamodb.endpoints import EndpointItem
from homing.adapters.dynamodb.event_streams import EventStreamItem
from homing.adapters.dynamodb.jobs import JobRepository
from homing.adapters.dynamodb.otp import OtpRepository
from homing.adapters.dynamodb.segments import SegmentItem


class AppDataEraser:
    def __init__(
        self,
        analytics: AnalyticsRepository | None = None,
        audiences: Callable[[str, int], int] | None = None,
        platform_applications: Callable[[str], None] | None = None,
    ) -> None:
        self._analytics = analytics or AnalyticsRepository()
        self._audiences = audiences
        self._delete_platform_application = platform_applications

    def audiences(self, app_id: str, limit: int) -> int:
        """Up to ``limit`` of the app's resolved audience objects (S3; ``audiences`` is the bucket's eraser)."""
        return self._audiences(app_id, limit) if self._audiences is not None else 0

    def endpoints(self, app_id: str, limit: int) -> int:
        """Delete up to ``limit`` of the app's endpoints (users are their by-user index: gone with them)."""
        keys = [i.endpoint_key for i in EndpointItem.query(app_id, attributes_to_get=["endpoint_key"], limit=limit)]
        with EndpointItem.batch_write() as batch:
            for key in keys:
                batch.delete(EndpointItem(app_id, key))
        return len(keys)

    def catalog(self, app_id: str, limit: int) -> int:
        entries = [i.entry for i in CatalogItem.query(app_id, attributes_to_get=["entry"], limit=limit)]
        with CatalogItem.batch_write() as batch:
            for entry in entries:
                batch.delete(CatalogItem(app_id, entry))
        return len(entries)

    def segments(self, app_id: str, limit: int) -> int:
        """Up to ``limit`` of the app's segment heads and versions."""
        entries = [i.entry for i in SegmentItem.query(app_id, attributes_to_get=["entry"], limit=limit)]
        with SegmentItem.batch_write() as batch:
            for entry in entries:
                batch.delete(SegmentItem(app_id, entry))
        return len(entries)

    def event_stream(self, app_id: str, limit: int) -> int:
        try:
            EventStreamItem.get(app_id, consistent_read=True, attributes_to_get=["application_id"])
        except EventStreamItem.DoesNotExist:
            return 0
        EventStreamItem(app_id).delete()
        return 1

    def channels(self, app_id: str, limit: int) -> int:
        """Up to ``limit`` of the app's channels, each push channel's SNS platform application first
        (a chunk interrupted between the two deletes the application again: SNS allows it)."""
        items = list(ChannelItem.query(app_id, limit=limit, consistent_read=True))
        for item in items:
            arn = item.body.get("platform_application_arn") if isinstance(item.body, dict) else None
            if arn and self._delete_platform_application is not None:
                self._delete_platform_application(arn)
            ChannelItem(app_id, item.channel_type).delete()
        return len(items)

    def jobs(self, app_id: str, limit: int) -> int:
        """Import and export jobs, and what import pieces recorded (the files in S3 are the customer's)."""
        return JobRepository().delete_some(app_id, limit)

    def otp(self, app_id: str, limit: int) -> int:
        """One-time passwords' MACs (they would expire within an hour anyway)."""
        return OtpRepository().delete_some(app_id, limit)

    def two_way_sms(self, app_id: str, limit: int) -> int:
        """The app's two-way SMS configuration and its number claims (inbound markers expire by TTL)."""
        from homing.adapters.dynamodb.two_way_sms import TwoWaySmsRepository

        return TwoWaySmsRepository().erase_app(app_id)

    def caps(self, app_id: str, limit: int) -> int:
        """Campaign send counters and markers (most would expire within days anyway)."""
        from homing.adapters.dynamodb.caps import CapCounter

        return CapCounter().delete_some(app_id, limit)

    def campaigns(self, app_id: str, limit: int) -> int:
        """Up to ``limit`` of the app's campaign heads, versions, activities and segment usage markers."""
        from homing.adapters.dynamodb.campaigns import CampaignRepository

        return CampaignRepository().delete_some(app_id, limit)

    def analytics_page(
        self, app_id: str, segment: int, total_segments: int, start: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any] | None]:
        return self._analytics.delete_app_page(app_id, segment, total_segments, start)

    def timelines_page(
        self, app_id: str, segment: int, total_segments: int, start: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any] | None]:
        return self._analytics.delete_timelines_page(app_id, segment, total_segments, start)
