"""Pinpoint's JSON for segments: WriteSegmentRequest in, SegmentResponse and SegmentsResponse out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body, string_map
from homing.codec import build, dump, pascal
from homing.domain.errors import BadRequest
from homing.domain.segments import Segment, SegmentDefinition, SegmentDimensions, SegmentGroupList

# Pinpoint spells one member in capitals; every other member is the field name in PascalCase.
_SPECIAL = {"gps_point": "GPSPoint"}


def wire_name(name: str) -> str:
    return _SPECIAL.get(name) or pascal(name)


def write_segment_request(raw: str | None) -> SegmentDefinition:
    """Name, Dimensions, SegmentGroups and tags as sent (each optional); shapes checked, 400 naming the field."""
    body = parse_body(raw)
    name = body.get("Name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("Name must be a string")
    return SegmentDefinition(
        name=name,
        dimensions=build(SegmentDimensions, body["Dimensions"], "Dimensions", wire_name)
        if body.get("Dimensions") is not None
        else None,
        segment_groups=build(SegmentGroupList, body["SegmentGroups"], "SegmentGroups", wire_name)
        if body.get("SegmentGroups") is not None
        else None,
        tags=string_map(body["tags"], "tags") if body.get("tags") is not None else None,
    )


def segment_response(segment: Segment, arn: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ApplicationId": segment.application_id,
        "Arn": arn,
        "CreationDate": segment.creation_date,
        "Id": segment.id,
        "LastModifiedDate": segment.last_modified_date,
        "SegmentType": segment.segment_type,
        "Version": segment.version,
        "tags": segment.tags,
    }
    if segment.name is not None:
        body["Name"] = segment.name
    if segment.dimensions is not None:
        body["Dimensions"] = dump(segment.dimensions, wire_name)
    if segment.segment_groups is not None:
        body["SegmentGroups"] = dump(segment.segment_groups, wire_name)
    if segment.import_definition is not None:
        body["ImportDefinition"] = dump(segment.import_definition, wire_name)
    return body


def segments_response(items: list[tuple[Segment, str]], next_token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": [segment_response(s, arn) for s, arn in items]}
    if next_token:
        body["NextToken"] = next_token
    return body
