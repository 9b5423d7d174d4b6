"""Pinpoint's JSON for tags: TagResource's body, UntagResource's query, ListTagsForResource's answer."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body, string_map
from homing.domain.errors import BadRequest


def tag_resource_request(raw: str | None) -> dict[str, str]:
    """TagsModel: ``{"tags": {key: value}}``; ``tags`` is required."""
    body = parse_body(raw)
    if "tags" not in body:
        raise BadRequest("tags is required")
    return string_map(body["tags"], "tags")


def untag_keys(query: dict[str, list[str]] | None) -> list[str]:
    """UntagResource's ``tagKeys``, repeated in the query string (empty when absent)."""
    return (query or {}).get("tagKeys") or []


def tags_response(tags: dict[str, str]) -> dict[str, Any]:
    return {"tags": tags}
