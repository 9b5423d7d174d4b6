"""The date-range KPI operations (application, campaign, journey), and the Homing extensions for
custom event statistics and funnels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import analytics as wire
else:
    wire = LazyModule("homing.api.wire.analytics")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def query() -> tuple[str | None, str | None]:
        return wire.range_query(r.current_event.query_string_parameters)

    @r.get("/v1/apps/<application_id>/kpis/daterange/<kpi_name>")
    def application_kpi(application_id: str, kpi_name: str) -> Response[str]:
        result = svc.kpis.application(application_id, kpi_name, *query())
        return ok(wire.kpi_response({"ApplicationId": application_id}, result))

    @r.get("/v1/apps/<application_id>/campaigns/<campaign_id>/kpis/daterange/<kpi_name>")
    def campaign_kpi(application_id: str, campaign_id: str, kpi_name: str) -> Response[str]:
        campaign_id = wire.check_path_id(campaign_id, "campaign-id")
        result = svc.kpis.campaign(application_id, campaign_id, kpi_name, *query())
        return ok(wire.kpi_response({"ApplicationId": application_id, "CampaignId": campaign_id}, result))

    @r.get("/v1/apps/<application_id>/journeys/<journey_id>/kpis/daterange/<kpi_name>")
    def journey_kpi(application_id: str, journey_id: str, kpi_name: str) -> Response[str]:
        journey_id = wire.check_path_id(journey_id, "journey-id")
        result = svc.kpis.journey(application_id, journey_id, kpi_name, *query())
        return ok(wire.kpi_response({"ApplicationId": application_id, "JourneyId": journey_id}, result))

    @r.get("/v1/apps/<application_id>/events/<event_type>/stats")
    def custom_event_stats(application_id: str, event_type: str) -> Response[str]:
        event_type = wire.check_path_id(event_type, "event-type")
        return ok(wire.event_stats_response(svc.kpis.event_stats(application_id, event_type, *query())))

    @r.post("/v1/apps/<application_id>/funnels")
    def funnel(application_id: str) -> Response[str]:
        return ok(wire.funnel_response(svc.funnels.run(application_id, wire.funnel_request(r.current_event.body))))

    return r
