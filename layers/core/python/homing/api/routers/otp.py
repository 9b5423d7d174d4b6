"""SendOTPMessage, VerifyOTPMessage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import otp as wire
else:
    wire = LazyModule("homing.api.wire.otp")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/otp")
    def send_otp_message(application_id: str) -> Response[str]:
        sent = svc.otp.send(application_id, wire.send_otp_request(r.current_event.body))
        return ok(wire.message_response(sent, r.current_event.request_context.request_id))

    @r.post("/v1/apps/<application_id>/verify-otp")
    def verify_otp_message(application_id: str) -> Response[str]:
        valid = svc.otp.verify(application_id, wire.verify_otp_request(r.current_event.body))
        return ok(wire.verification_response(valid))

    return r
