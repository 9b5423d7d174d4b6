"""The audience extension's JSON (Homing-only, in Pinpoint's PascalCase style): SegmentAudienceResponse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homing.domain.errors import BadRequest

if TYPE_CHECKING:  # the api function imports this at cold start; the audience modules load on first use
    from homing.domain.audiences import Resolution


def version_query(query: dict[str, str] | None) -> str | None:
    """``?version=`` (optional): which segment version to resolve; the current one when absent."""
    version = (query or {}).get("version")
    if version is not None and not version.strip().isdigit():
        raise BadRequest("version must be a positive integer")
    return version.strip() if version is not None else None


def audience_response(resolution: Resolution) -> dict[str, Any]:
    request = resolution.request
    out: dict[str, Any] = {
        "Id": request.resolution_id,
        "ApplicationId": request.application_id,
        "SegmentId": request.segment_id,
        "SegmentVersion": request.segment_version,
        "State": resolution.state,
        "CreationDate": request.created,
    }
    if resolution.completed is not None:
        out["CompletionDate"] = resolution.completed
    if resolution.counts is not None:
        counts = resolution.counts
        out["SegmentSize"] = counts.total
        out["ChannelCounts"] = dict(sorted(counts.by_channel.items()))
        out["InactiveCount"] = counts.inactive
        out["OptedOutCount"] = counts.opted_out
    if resolution.pages is not None:
        out["PageCount"] = resolution.pages
    if resolution.scanned is not None:
        out["EndpointsScanned"] = resolution.scanned
    if resolution.manifest_key is not None:
        out["Manifest"] = resolution.manifest_key
    if resolution.failure is not None:
        out["FailureReason"] = resolution.failure
    return out
