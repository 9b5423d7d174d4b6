"""PutEventStream, GetEventStream, DeleteEventStream."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.wire.event_streams import event_stream_response, write_event_stream_request
from homing.bootstrap import Services


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/eventstream")
    def put_event_stream(application_id: str) -> Response[str]:
        destination, role = write_event_stream_request(r.current_event.body)
        caller = r.current_event.request_context.identity.user_arn
        return ok(event_stream_response(svc.event_streams.put(application_id, destination, role, caller)))

    @r.get("/v1/apps/<application_id>/eventstream")
    def get_event_stream(application_id: str) -> Response[str]:
        return ok(event_stream_response(svc.event_streams.get(application_id)))

    @r.delete("/v1/apps/<application_id>/eventstream")
    def delete_event_stream(application_id: str) -> Response[str]:
        return ok(event_stream_response(svc.event_streams.delete(application_id)))

    return r
