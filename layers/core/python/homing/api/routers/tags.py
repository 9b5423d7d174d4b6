"""TagResource, UntagResource, ListTagsForResource (the resource ARN is one percent-encoded segment)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import no_content, ok
from homing.api.schemas import parse_body, string_map
from homing.bootstrap import Services
from homing.domain.errors import BadRequest


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.get("/v1/tags/<resource_arn>")
    def list_tags(resource_arn: str) -> Response[str]:
        return ok({"tags": svc.apps.list_tags(resource_arn)})

    @r.post("/v1/tags/<resource_arn>")
    def tag_resource(resource_arn: str) -> Response[str]:
        body = parse_body(r.current_event.body)
        if "tags" not in body:
            raise BadRequest("tags is required")
        svc.apps.tag(resource_arn, string_map(body["tags"], "tags"))
        return no_content()

    @r.delete("/v1/tags/<resource_arn>")
    def untag_resource(resource_arn: str) -> Response[str]:
        keys = (r.current_event.multi_value_query_string_parameters or {}).get("tagKeys") or []
        svc.apps.untag(resource_arn, keys)
        return no_content()

    return r
