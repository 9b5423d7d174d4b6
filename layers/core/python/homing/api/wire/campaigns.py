"""Pinpoint's JSON for campaigns: WriteCampaignRequest in; CampaignResponse, CampaignsResponse and
ActivitiesResponse out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.codec import build, dump
from homing.domain.campaigns import (
    DEFAULT_TREATMENT_ID,
    Activity,
    Campaign,
    CampaignDefinition,
    status,
    wire_name,
)
from homing.domain.errors import BadRequest


def write_campaign_request(raw: str | None) -> CampaignDefinition:
    """The members as sent (each optional), types checked; 400 naming the field."""
    body = parse_body(raw)
    messages = body.get("MessageConfiguration")
    if isinstance(messages, dict) and messages.get("InAppMessage") is not None:
        raise BadRequest("MessageConfiguration.InAppMessage: in-app campaigns are not supported yet")
    treatments = body.get("AdditionalTreatments")
    for i, treatment in enumerate(treatments if isinstance(treatments, list) else []):
        inner = treatment.get("MessageConfiguration") if isinstance(treatment, dict) else None
        if isinstance(inner, dict) and inner.get("InAppMessage") is not None:
            raise BadRequest(
                f"AdditionalTreatments[{i}].MessageConfiguration.InAppMessage: in-app campaigns are not supported yet"
            )
    return build(CampaignDefinition, body, "", wire_name)


def _state(value: str) -> dict[str, str]:
    return {"CampaignStatus": value}


def campaign_response(campaign: Campaign, arn: str, *, deleted: bool = False) -> dict[str, Any]:
    """CampaignResponse; ``deleted`` for DeleteCampaign's answer (State DELETED)."""
    state = "DELETED" if deleted else status(campaign)
    body: dict[str, Any] = dump(campaign, wire_name)
    for internal in ("RunStatus", "AdditionalTreatments"):
        body.pop(internal, None)
    body.update(
        {
            "Arn": arn,
            "State": _state(state),
            "DefaultState": _state(state),
            "IsPaused": campaign.is_paused,
            "HoldoutPercent": campaign.holdout_percent or 0,
            "tags": campaign.tags,
        }
    )
    treatments = []
    for t in campaign.additional_treatments:
        shaped = dump(t, wire_name)
        shaped["Id"] = t.id or DEFAULT_TREATMENT_ID
        shaped["State"] = _state(state)
        treatments.append(shaped)
    body["AdditionalTreatments"] = treatments
    return body


def campaigns_response(items: list[tuple[Campaign, str]], next_token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": [campaign_response(c, arn) for c, arn in items]}
    if next_token:
        body["NextToken"] = next_token
    return body


def activity_response(activity: Activity) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ApplicationId": activity.application_id,
        "CampaignId": activity.campaign_id,
        "Id": activity.id,
        "TreatmentId": activity.treatment_id,
        "State": activity.state,
        "ScheduledStart": activity.scheduled_start,
        "ExecutionMetrics": activity.execution_metrics,
    }
    for member, value in (
        ("Start", activity.start),
        ("End", activity.end),
        ("Result", activity.result),
        ("SuccessfulEndpointCount", activity.successful_endpoint_count),
        ("TotalEndpointCount", activity.total_endpoint_count),
        ("TimezonesCompletedCount", activity.timezones_completed_count),
        ("TimezonesTotalCount", activity.timezones_total_count),
    ):
        if value is not None:
            body[member] = value
    return body


def activities_response(items: list[Activity], next_token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": [activity_response(a) for a in items]}
    if next_token:
        body["NextToken"] = next_token
    return body
