"""Pinpoint's JSON for event streams: WriteEventStream in, EventStream out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import optional_string, parse_body
from homing.domain.event_streams import EventStream


def write_event_stream_request(raw: str | None) -> tuple[str | None, str | None]:
    """(DestinationStreamArn, RoleArn) as sent; the service says which is missing or wrong."""
    body = parse_body(raw)
    return optional_string(body, "DestinationStreamArn"), optional_string(body, "RoleArn")


def event_stream_response(s: EventStream) -> dict[str, Any]:
    body = {
        "ApplicationId": s.application_id,
        "DestinationStreamArn": s.destination_stream_arn,
        "RoleArn": s.role_arn,
        "LastModifiedDate": s.last_modified_date,
    }
    if s.last_updated_by:
        body["LastUpdatedBy"] = s.last_updated_by
    return body
