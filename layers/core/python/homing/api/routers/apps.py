"""CreateApp, GetApp(s), DeleteApp, Get/UpdateApplicationSettings."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.schemas import application_response, page_size, parse_body, settings_response, string_map
from homing.bootstrap import Services
from homing.codec import build
from homing.domain.errors import BadRequest
from homing.domain.keys import check_item_size
from homing.domain.model import ApplicationSettings

# Pinpoint's project names are short; Homing keeps an app, its tags and settings in one item.
MAX_NAME_CHARS = 1024
MAX_SETTINGS_BYTES = 32 * 1024


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.post("/v1/apps")
    def create_app() -> Response[str]:
        body = parse_body(r.current_event.body)
        name = body.get("Name")
        if name is not None and not isinstance(name, str):
            name = None
        if name is not None and len(name) > MAX_NAME_CHARS:
            raise BadRequest(f"Name must be at most {MAX_NAME_CHARS} characters")
        app = svc.apps.create(name, string_map(body.get("tags"), "tags"))
        return ok(application_response(app), 201)

    @r.get("/v1/apps")
    def get_apps() -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        apps, token = svc.apps.page(page_size(q.get("page-size")), q.get("token"))
        body: dict[str, object] = {"Item": [application_response(a) for a in apps]}
        if token:
            body["NextToken"] = token
        return ok(body)

    @r.get("/v1/apps/<application_id>")
    def get_app(application_id: str) -> Response[str]:
        return ok(application_response(svc.apps.require(application_id)))

    @r.delete("/v1/apps/<application_id>")
    def delete_app(application_id: str) -> Response[str]:
        return ok(application_response(svc.apps.delete(application_id)))

    @r.get("/v1/apps/<application_id>/settings")
    def get_settings(application_id: str) -> Response[str]:
        return ok(settings_response(svc.apps.require(application_id)))

    @r.put("/v1/apps/<application_id>/settings")
    def update_settings(application_id: str) -> Response[str]:
        body = parse_body(r.current_event.body)
        check_item_size(body, "The application settings", MAX_SETTINGS_BYTES)
        changes = build(ApplicationSettings, body)
        return ok(settings_response(svc.apps.update_settings(application_id, changes)))

    return r
