"""Pinpoint's JSON for SendMessages and SendUsersMessages: the requests in, MessageResponse and
SendUsersMessageResponse out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.domain.messaging import (
    MessageOutcome,
    MessageRequest,
    RecipientResult,
    UsersOutcome,
    parse_message_request,
)


def send_messages_request(raw: str | None) -> MessageRequest:
    """A MessageRequest: Addresses and/or Endpoints, MessageConfiguration, TemplateConfiguration, Context, TraceId."""
    return parse_message_request(parse_body(raw), users=False)


def send_users_messages_request(raw: str | None) -> MessageRequest:
    """A SendUsersMessageRequest: Users, MessageConfiguration, TemplateConfiguration, Context, TraceId."""
    return parse_message_request(parse_body(raw), users=True)


def _result(outcome: RecipientResult, *, with_address: bool) -> dict[str, Any]:
    r = outcome.result
    out: dict[str, Any] = {"DeliveryStatus": r.status, "StatusCode": r.status_code}
    if with_address and outcome.address is not None:
        out["Address"] = outcome.address
    for key, value in (
        ("MessageId", r.message_id),
        ("StatusMessage", r.status_message),
        ("UpdatedToken", r.updated_token),
    ):
        if value:
            out[key] = value
    return out


def message_response(app_id: str, outcome: MessageOutcome) -> dict[str, Any]:
    """MessageResponse: ``Result`` by address (MessageResult), ``EndpointResult`` by endpoint id
    (EndpointMessageResult)."""
    body: dict[str, Any] = {"ApplicationId": app_id, "RequestId": outcome.request_id}
    if outcome.endpoints:
        body["EndpointResult"] = {k: _result(v, with_address=True) for k, v in outcome.endpoints.items()}
    if outcome.addresses:
        body["Result"] = {k: _result(v, with_address=False) for k, v in outcome.addresses.items()}
    return body


def users_message_response(app_id: str, outcome: UsersOutcome) -> dict[str, Any]:
    """SendUsersMessageResponse: ``Result`` by user id, then by endpoint id."""
    return {
        "ApplicationId": app_id,
        "RequestId": outcome.request_id,
        "Result": {
            user: {e: _result(v, with_address=True) for e, v in endpoints.items()}
            for user, endpoints in outcome.users.items()
        },
    }
