"""CreateApp, GetApp(s), DeleteApp, Get/UpdateApplicationSettings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.schemas import page_size
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import apps as wire
else:
    wire = LazyModule("homing.api.wire.apps")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps")
    def create_app() -> Response[str]:
        name, tags = wire.create_app_request(r.current_event.body)
        return ok(wire.application_response(svc.apps.create(name, tags)), 201)

    @r.get("/v1/apps")
    def get_apps() -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        return ok(wire.applications_response(*svc.apps.page(page_size(q.get("page-size")), q.get("token"))))

    @r.get("/v1/apps/<application_id>")
    def get_app(application_id: str) -> Response[str]:
        return ok(wire.application_response(svc.apps.require(application_id)))

    @r.delete("/v1/apps/<application_id>")
    def delete_app(application_id: str) -> Response[str]:
        return ok(wire.application_response(svc.apps.delete(application_id)))

    @r.get("/v1/apps/<application_id>/settings")
    def get_settings(application_id: str) -> Response[str]:
        return ok(wire.settings_response(svc.apps.require(application_id)))

    @r.put("/v1/apps/<application_id>/settings")
    def update_settings(application_id: str) -> Response[str]:
        changes = wire.settings_request(r.current_event.body)
        return ok(wire.settings_response(svc.apps.update_settings(application_id, changes)))

    return r
