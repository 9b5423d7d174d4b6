"""SendMessages and SendUsersMessages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import messaging as wire
else:
    wire = LazyModule("homing.api.wire.messaging")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/messages")
    def send_messages(application_id: str) -> Response[str]:
        request = wire.send_messages_request(r.current_event.body)
        request_id = str(r.current_event.request_context.request_id or "")
        outcome = svc.messaging.send_messages(application_id, request, request_id)
        return ok(wire.message_response(application_id, outcome))

    @r.post("/v1/apps/<application_id>/users-messages")
    def send_users_messages(application_id: str) -> Response[str]:
        request = wire.send_users_messages_request(r.current_event.body)
        request_id = str(r.current_event.request_context.request_id or "")
        outcome = svc.messaging.send_users_messages(application_id, request, request_id)
        return ok(wire.users_message_response(application_id, outcome))

    return r
