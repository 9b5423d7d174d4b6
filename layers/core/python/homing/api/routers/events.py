"""PutEvents."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from homing.api.responses import ok
from homing.api.wire.events import put_events_request, put_events_response
from homing.bootstrap import Services
from homing.observability import metrics


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps/<application_id>/events")
    def put_events(application_id: str) -> Response[str]:
        batch = put_events_request(r.current_event.body)
        request_id = str(r.current_event.request_context.request_id or "")
        result = svc.events.put_events(application_id, batch, request_id)
        metrics.add_metric(
            name="EventsReceived", unit=MetricUnit.Count, value=sum(len(b.events) for b in batch.values())
        )
        return ok(put_events_response(result), 202)

    return r
