"""PutEvents, the date-range KPI operations, and the Homing extensions
for custom event statistics and funnels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from homing.api.responses import ok
from homing.api.schemas import parse_body
from homing.api.wire.events import put_events_request
from homing.bootstrap import Services
from homing.domain.keys import SORT_KEY_BYTES, check_key_part
from homing.observability import metrics

if TYPE_CHECKING:  # the KPI and funnel modules load on first use (homing.bootstrap says why)
    from homing.services.kpis import Range


def _kpi_response(ids: dict[str, str], kpi: str, rng: Range, rows: list[Any]) -> dict[str, Any]:
    return {
        **ids,
        "KpiName": kpi,
        "StartTime": rng.start.isoformat().replace("+00:00", "Z"),
        "EndTime": rng.end.isoformat().replace("+00:00", "Z"),
        "KpiResult": {"Rows": rows},
    }


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def query(name: str) -> str | None:
        return (r.current_event.query_string_parameters or {}).get(name) or None

    @r.post("/v1/apps/<application_id>/events")
    def put_events(application_id: str) -> Response[str]:
        batch = put_events_request(r.current_event.body)
        request_id = str(r.current_event.request_context.request_id or "")
        result = svc.events.put_events(application_id, batch, request_id)
        metrics.add_metric(
            name="EventsReceived", unit=MetricUnit.Count, value=sum(len(b.events) for b in batch.values())
        )
        return ok(result, 202)

    @r.get("/v1/apps/<application_id>/kpis/daterange/<kpi_name>")
    def application_kpi(application_id: str, kpi_name: str) -> Response[str]:
        rng, rows = svc.kpis.application(application_id, kpi_name, query("start-time"), query("end-time"))
        return ok(_kpi_response({"ApplicationId": application_id}, kpi_name, rng, rows))

    @r.get("/v1/apps/<application_id>/campaigns/<campaign_id>/kpis/daterange/<kpi_name>")
    def campaign_kpi(application_id: str, campaign_id: str, kpi_name: str) -> Response[str]:
        check_key_part(campaign_id, "campaign-id", SORT_KEY_BYTES)  # part of the aggregates' keys
        rng, rows = svc.kpis.campaign(application_id, campaign_id, kpi_name, query("start-time"), query("end-time"))
        ids = {"ApplicationId": application_id, "CampaignId": campaign_id}
        return ok(_kpi_response(ids, kpi_name, rng, rows))

    @r.get("/v1/apps/<application_id>/journeys/<journey_id>/kpis/daterange/<kpi_name>")
    def journey_kpi(application_id: str, journey_id: str, kpi_name: str) -> Response[str]:
        check_key_part(journey_id, "journey-id", SORT_KEY_BYTES)
        rng, rows = svc.kpis.journey(application_id, journey_id, kpi_name, query("start-time"), query("end-time"))
        ids = {"ApplicationId": application_id, "JourneyId": journey_id}
        return ok(_kpi_response(ids, kpi_name, rng, rows))

    @r.get("/v1/apps/<application_id>/events/<event_type>/stats")
    def custom_event_stats(application_id: str, event_type: str) -> Response[str]:
        from homing.services.kpis import event_stats

        check_key_part(event_type, "event-type", SORT_KEY_BYTES)
        svc.apps.require(application_id)
        rng = svc.kpis.range(query("start-time"), query("end-time"), homing_kpi=True)
        return ok(event_stats(svc.analytics, application_id, event_type, rng))

    @r.post("/v1/apps/<application_id>/funnels")
    def funnel(application_id: str) -> Response[str]:
        from homing.services.funnels import parse_funnel

        return ok(svc.funnels.run(application_id, parse_funnel(parse_body(r.current_event.body))))

    return r
