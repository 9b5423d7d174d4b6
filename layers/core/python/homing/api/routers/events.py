"""PutEvents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule
from homing.observability import metrics

if TYPE_CHECKING:
    from homing.api.wire import events as wire
else:
    wire = LazyModule("homing.api.wire.events")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/events")
    def put_events(application_id: str) -> Response[str]:
        batch = wire.put_events_request(r.current_event.body)
        request_id = str(r.current_event.request_context.request_id or "")
        result = svc.events.put_events(application_id, batch, request_id)
        metrics.add_metric(
            name="EventsReceived", unit=MetricUnit.Count, value=sum(len(b.events) for b in batch.values())
        )
        return ok(wire.put_events_response(result), 202)

    return r
