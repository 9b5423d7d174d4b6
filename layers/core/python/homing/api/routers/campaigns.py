"""CreateCampaign, GetCampaign, GetCampaigns, UpdateCampaign, DeleteCampaign, GetCampaignVersion,
GetCampaignVersions, GetCampaignActivities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.schemas import page_size
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import campaigns as wire
    from homing.domain.campaigns import Campaign
else:
    wire = LazyModule("homing.api.wire.campaigns")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def one(campaign: Campaign) -> dict[str, object]:
        return wire.campaign_response(campaign, svc.campaigns.arn(campaign))

    def many(page: tuple[list[Campaign], str | None]) -> dict[str, object]:
        return wire.campaigns_response([(c, svc.campaigns.arn(c)) for c in page[0]], page[1])

    def paging() -> tuple[int, str | None]:
        q = r.current_event.query_string_parameters or {}
        return page_size(q.get("page-size")), q.get("token")

    @r.post("/v1/apps/<application_id>/campaigns")
    def create_campaign(application_id: str) -> Response[str]:
        definition = wire.write_campaign_request(r.current_event.body)
        return ok(one(svc.campaigns.create(application_id, definition)), status=201)

    @r.get("/v1/apps/<application_id>/campaigns")
    def get_campaigns(application_id: str) -> Response[str]:
        return ok(many(svc.campaigns.page(application_id, *paging())))

    @r.get("/v1/apps/<application_id>/campaigns/<campaign_id>")
    def get_campaign(application_id: str, campaign_id: str) -> Response[str]:
        return ok(one(svc.campaigns.get(application_id, campaign_id)))

    @r.put("/v1/apps/<application_id>/campaigns/<campaign_id>")
    def update_campaign(application_id: str, campaign_id: str) -> Response[str]:
        changes = wire.write_campaign_request(r.current_event.body)
        return ok(one(svc.campaigns.update(application_id, campaign_id, changes)))

    @r.delete("/v1/apps/<application_id>/campaigns/<campaign_id>")
    def delete_campaign(application_id: str, campaign_id: str) -> Response[str]:
        deleted = svc.campaigns.delete(application_id, campaign_id)
        return ok(wire.campaign_response(deleted, svc.campaigns.arn(deleted), deleted=True))

    @r.get("/v1/apps/<application_id>/campaigns/<campaign_id>/versions")
    def get_campaign_versions(application_id: str, campaign_id: str) -> Response[str]:
        return ok(many(svc.campaigns.versions(application_id, campaign_id, *paging())))

    @r.get("/v1/apps/<application_id>/campaigns/<campaign_id>/versions/<version>")
    def get_campaign_version(application_id: str, campaign_id: str, version: str) -> Response[str]:
        return ok(one(svc.campaigns.get_version(application_id, campaign_id, version)))

    @r.get("/v1/apps/<application_id>/campaigns/<campaign_id>/activities")
    def get_campaign_activities(application_id: str, campaign_id: str) -> Response[str]:
        page = svc.campaigns.activities(application_id, campaign_id, *paging())
        return ok(wire.activities_response(*page))

    return r
