"""PhoneNumberValidate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import phone_numbers as wire
else:
    wire = LazyModule("homing.api.wire.phone_numbers")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/phone/number/validate")
    def phone_number_validate() -> Response[str]:
        number, country = wire.number_validate_request(r.current_event.body)
        return ok(wire.number_validate_response(svc.phone_numbers.validate(number, country)))

    return r
