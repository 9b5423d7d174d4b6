"""Pinpoint's JSON for apps and their settings: CreateApplicationRequest, ApplicationResponse,
ApplicationsResponse, WriteApplicationSettingsRequest and ApplicationSettingsResource."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body, string_map
from homing.codec import build, dump
from homing.domain.apps import App, ApplicationSettings
from homing.domain.errors import BadRequest
from homing.domain.keys import check_item_size

# Pinpoint's project names are short; Homing keeps an app, its tags and settings in one item.
MAX_NAME_CHARS = 1024
MAX_SETTINGS_BYTES = 32 * 1024


def create_app_request(raw: str | None) -> tuple[str | None, dict[str, str]]:
    """(Name, tags); a Name that is not a string counts as absent (the service says it is required)."""
    body = parse_body(raw)
    name = body.get("Name")
    if name is not None and not isinstance(name, str):
        name = None
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise BadRequest(f"Name must be at most {MAX_NAME_CHARS} characters")
    return name, string_map(body.get("tags"), "tags")


def settings_request(raw: str | None) -> ApplicationSettings:
    body = parse_body(raw)
    check_item_size(body, "The application settings", MAX_SETTINGS_BYTES)
    return build(ApplicationSettings, body)


def application_response(app: App) -> dict[str, Any]:
    return {"Arn": app.arn, "Id": app.id, "Name": app.name, "tags": app.tags, "CreationDate": app.creation_date}


def applications_response(apps: list[App], next_token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": [application_response(a) for a in apps]}
    if next_token:
        body["NextToken"] = next_token
    return body


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
