"""The wire edge: Pinpoint's JSON shapes <-> domain records, and request helpers."""

from __future__ import annotations

import json
from typing import Any

from homing.codec import dump
from homing.domain.errors import BadRequest
from homing.domain.limits import QUOTAS
from homing.domain.model import App, Endpoint


def parse_body(raw: str | None) -> dict[str, Any]:
    if not raw:
        raise BadRequest("The request body is required")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return QUOTAS.default_page_size
    try:
        size = int(raw)
    except ValueError:
        raise BadRequest("page-size must be an integer") from None
    if not 1 <= size <= QUOTAS.max_page_size:
        raise BadRequest(f"page-size must be between 1 and {QUOTAS.max_page_size}")
    return size


def string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"{field} must be a map of strings")
    return value


def application_response(app: App) -> dict[str, Any]:
    return {"Arn": app.arn, "Id": app.id, "Name": app.name, "tags": app.tags, "CreationDate": app.creation_date}


def settings_response(app: App) -> dict[str, Any]:
    body = dump(app.settings)
    # CloudWatchMetricsEnabled/EventTaggingEnabled are write-only in Pinpoint's model.
    body.pop("CloudWatchMetricsEnabled", None)
    body.pop("EventTaggingEnabled", None)
    return {
        "ApplicationId": app.id,
        "LastModifiedDate": app.settings_modified or app.creation_date,
        "CampaignHook": {},
        "Limits": {},
        "QuietTime": {},
        **body,
    }


def endpoint_response(endpoint: Endpoint) -> dict[str, Any]:
    return dump(endpoint)  # type: ignore[no-any-return]


def endpoints_response(endpoints: list[Endpoint], next_token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": [endpoint_response(e) for e in endpoints]}
    if next_token:
        body["NextToken"] = next_token
    return body
