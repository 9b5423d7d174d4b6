"""Reading an app's endpoints for audience resolution: one key range of its partition at a time.

Why key ranges of a Query rather than DynamoDB's parallel Scan (``Segment``/``TotalSegments``):
the Endpoints table is keyed by the app id, and a Scan segment is a range of the *partition key's*
hash, so every endpoint of one app falls in the same segment (moto does the same) and a Scan also
reads every other app's endpoints. Ranges of the sort key inside the app's partition split one app's
endpoints over parallel readers and read nothing else (docs/decisions.md, audiences).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from homing.adapters.dynamodb.analytics_tables import AnalyticsItem
from homing.adapters.dynamodb.endpoints import EndpointItem
from homing.domain.analytics import endpoint_activity_key
from homing.domain.audiences import KeyRange

QUERY_PAGE = 500  # items per Query call: bounds what a range reads past its upper bound
BATCH_GET = 100  # DynamoDB's BatchGetItem limit


class AudienceSource:
    """An app's endpoints in one key range (eventually consistent: a resolution is a snapshot anyway),
    and the activity days of chosen endpoints."""

    def endpoints(
        self, app_id: str, key_range: KeyRange, after: str | None = None, channel: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(endpoint key, stored snake_case body) in key order, from after ``after`` (exclusive) or the
        range's start, up to the range's end; through the by-channel index when ``channel`` is given."""
        key = EndpointItem.endpoint_key
        if after is not None:
            condition = key > after
        elif key_range.low is not None:
            condition = key >= key_range.low
        else:
            condition = None
        if channel is not None:
            results: Iterable[EndpointItem] = EndpointItem.by_channel.query(
                f"{app_id}#{channel}", condition, page_size=QUERY_PAGE
            )
        else:
            results = EndpointItem.query(app_id, condition, page_size=QUERY_PAGE)
        for item in results:
            if key_range.high is not None and item.endpoint_key >= key_range.high:
                return
            yield item.endpoint_key, item.body

    def activity_days(self, app_id: str, endpoint_ids: Iterable[str]) -> dict[str, list[int]]:
        """Active UTC days per endpoint id (lower-cased, as the activity keys are); absent: never active."""
        keys = {endpoint_activity_key(app_id, e) for e in endpoint_ids}
        out: dict[str, list[int]] = {}
        if not keys:
            return out
        for item in AnalyticsItem.batch_get(keys, attributes_to_get=["pk", "sk", "days"]):
            out[item.sk] = [int(d) for d in item.days or ()]
        return out
