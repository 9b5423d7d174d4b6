"""Message templates: Create/Get/Update/Delete{Email,Sms,Voice,Push,InApp}Template, ListTemplates,
ListTemplateVersions, UpdateTemplateActiveVersion (account-level: /v1/templates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.schemas import page_size
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import templates as wire
else:
    wire = LazyModule("homing.api.wire.templates")

# The path segment of each template type: /v1/templates/<name>/<kind>, one route per type and method.
KINDS = ("email", "sms", "voice", "push", "inapp")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def query() -> dict[str, str]:
        return r.current_event.query_string_parameters or {}

    def request_id() -> str:
        return str(r.current_event.request_context.request_id or "")

    @r.get("/v1/templates")
    def list_templates() -> Response[str]:
        q = query()
        items, token = svc.templates.page(
            q.get("prefix"), q.get("template-type"), page_size(q.get("page-size")), q.get("next-token")
        )
        named = [(s, svc.templates.arn(s.name, s.template_type)) for s in items]
        return ok(wire.templates_response(named, token))

    @r.get("/v1/templates/<template_name>/<template_type>/versions")
    def list_template_versions(template_name: str, template_type: str) -> Response[str]:
        q = query()
        page = svc.templates.versions(template_name, template_type, page_size(q.get("page-size")), q.get("next-token"))
        return ok(wire.versions_response(page[0], page[1], request_id()))

    @r.put("/v1/templates/<template_name>/<template_type>/active-version")
    def update_template_active_version(template_name: str, template_type: str) -> Response[str]:
        version = wire.active_version_request(r.current_event.body)
        svc.templates.update_active_version(template_name, template_type, version)
        return ok(wire.accepted_response(request_id()))

    for kind in KINDS:
        _one_type(r, svc, kind, query, request_id)
    return r


def _one_type(
    r: APIGatewayRouter, svc: Services, kind: str, query: Callable[[], dict[str, str]], request_id: Callable[[], str]
) -> None:
    """Create/Get/Update/Delete<Type>Template on /v1/templates/<name>/<kind>."""
    path = f"/v1/templates/<template_name>/{kind}"

    @r.post(path)
    def create_template(template_name: str) -> Response[str]:
        record, tags = wire.template_request(kind, r.current_event.body)
        arn = svc.templates.create(template_name, record, tags)
        return ok(wire.created_response(arn, request_id()), status=201)

    @r.get(path)
    def get_template(template_name: str) -> Response[str]:
        template_type = wire.template_type_of_path(kind)
        record = svc.templates.get(template_name, template_type, query().get("version"))
        return ok(wire.template_response(record, svc.templates.arn(template_name, template_type)))

    @r.put(path)
    def update_template(template_name: str) -> Response[str]:
        record, _ = wire.template_request(kind, r.current_event.body)
        q = query()
        new = wire.query_flag(q.get("create-new-version"), "create-new-version")
        svc.templates.update(template_name, record, create_new_version=new, version=q.get("version"))
        return ok(wire.accepted_response(request_id()), status=202)

    @r.delete(path)
    def delete_template(template_name: str) -> Response[str]:
        svc.templates.delete(template_name, wire.template_type_of_path(kind), query().get("version"))
        return ok(wire.accepted_response(request_id()), status=202)
