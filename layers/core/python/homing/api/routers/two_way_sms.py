"""Homing extension: GetTwoWaySms, UpdateTwoWaySms, DeleteTwoWaySms (an app's inbound SMS handling)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import two_way_sms as wire
else:
    wire = LazyModule("homing.api.wire.two_way_sms")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.put("/v1/apps/<application_id>/two-way-sms")
    def update_two_way_sms(application_id: str) -> Response[str]:
        wanted = wire.write_two_way_sms_request(r.current_event.body, application_id)
        return ok(wire.two_way_sms_response(svc.two_way_sms.put(application_id, wanted)))

    @r.get("/v1/apps/<application_id>/two-way-sms")
    def get_two_way_sms(application_id: str) -> Response[str]:
        return ok(wire.two_way_sms_response(svc.two_way_sms.get(application_id)))

    @r.delete("/v1/apps/<application_id>/two-way-sms")
    def delete_two_way_sms(application_id: str) -> Response[str]:
        return ok(wire.two_way_sms_response(svc.two_way_sms.delete(application_id)))

    return r
