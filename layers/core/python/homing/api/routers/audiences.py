"""The audience extension (Homing-only): resolve a segment's audience, read the latest resolution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import audiences as wire
else:
    wire = LazyModule("homing.api.wire.audiences")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/segments/<segment_id>/audience")
    def resolve_segment_audience(application_id: str, segment_id: str) -> Response[str]:
        version = wire.version_query(r.current_event.query_string_parameters)
        return ok(wire.audience_response(svc.audiences.start(application_id, segment_id, version)), status=202)

    @r.get("/v1/apps/<application_id>/segments/<segment_id>/audience")
    def get_segment_audience(application_id: str, segment_id: str) -> Response[str]:
        return ok(wire.audience_response(svc.audiences.latest(application_id, segment_id)))

    return r
