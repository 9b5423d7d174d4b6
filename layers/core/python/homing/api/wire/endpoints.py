"""Pinpoint's JSON for endpoints and users: EndpointRequest(s) in, EndpointResponse(s) out, the
ListEndpoints filters, RemoveAttributes' Blacklist and the 202 MessageBody."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.codec import build, dump
from homing.domain.endpoints import CHANNEL_TYPES, Endpoint, EndpointRequest
from homing.domain.errors import BadRequest
from homing.domain.keys import check_user_id


def endpoint_request(raw: str | None) -> EndpointRequest:
    return build(EndpointRequest, parse_body(raw))


def endpoint_batch_request(raw: str | None) -> list[EndpointRequest]:
    """EndpointBatchRequest: every item is read (errors name ``Item[i]``) before anything is written."""
    items = parse_body(raw).get("Item")
    if not isinstance(items, list):
        raise BadRequest("Item is required and must be a list of endpoints")
    return [build(EndpointRequest, item, f"Item[{i}]") for i, item in enumerate(items)]


def list_filters(query: dict[str, str]) -> tuple[str | None, str | None]:
    """ListEndpoints' (channel-type, user-id) filters, each None when absent or empty."""
    channel = query.get("channel-type") or None
    if channel is not None and channel not in CHANNEL_TYPES:
        raise BadRequest(f"channel-type must be one of {', '.join(sorted(CHANNEL_TYPES))}")
    user_id = query.get("user-id") or None
    if user_id is not None:
        check_user_id(user_id, "user-id")
    return channel, user_id


def remove_attributes_request(raw: str | None) -> list[str]:
    blacklist = parse_body(raw).get("Blacklist")
    if not isinstance(blacklist, list) or not all(isinstance(b, str) for b in blacklist):
        raise BadRequest("Blacklist must be a list of attribute names")
    return blacklist


def attributes_response(application_id: str, attribute_type: str, removed: list[str]) -> dict[str, Any]:
    return {"ApplicationId": application_id, "AttributeType": attribute_type, "Attributes": removed}


def accepted_response(request_id: str) -> dict[str, Any]:
    return {"Message": "Accepted", "RequestID": request_id}


def endpoint_response(endpoint: Endpoint) -> dict[str, Any]:
    return dump(endpoint)  # type: ignore[no-any-return]


def endpoints_response(endpoints: list[Endpoint], next_token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": [endpoint_response(e) for e in endpoints]}
    if next_token:
        body["NextToken"] = next_token
    return body
