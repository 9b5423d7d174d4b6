"""PutEventStream, GetEventStream, DeleteEventStream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import event_streams as wire
else:
    wire = LazyModule("homing.api.wire.event_streams")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/eventstream")
    def put_event_stream(application_id: str) -> Response[str]:
        destination, role = wire.write_event_stream_request(r.current_event.body)
        caller = r.current_event.request_context.identity.user_arn
        return ok(wire.event_stream_response(svc.event_streams.put(application_id, destination, role, caller)))

    @r.get("/v1/apps/<application_id>/eventstream")
    def get_event_stream(application_id: str) -> Response[str]:
        return ok(wire.event_stream_response(svc.event_streams.get(application_id)))

    @r.delete("/v1/apps/<application_id>/eventstream")
    def delete_event_stream(application_id: str) -> Response[str]:
        return ok(wire.event_stream_response(svc.event_streams.delete(application_id)))

    return r
