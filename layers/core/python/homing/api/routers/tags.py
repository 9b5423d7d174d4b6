"""TagResource, UntagResource, ListTagsForResource (the resource ARN is one percent-encoded segment)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import no_content, ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import tags as wire
else:
    wire = LazyModule("homing.api.wire.tags")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.get("/v1/tags/<resource_arn>")
    def list_tags(resource_arn: str) -> Response[str]:
        return ok(wire.tags_response(svc.tags.list_tags(resource_arn)))

    @r.post("/v1/tags/<resource_arn>")
    def tag_resource(resource_arn: str) -> Response[str]:
        svc.tags.tag(resource_arn, wire.tag_resource_request(r.current_event.body))
        return no_content()

    @r.delete("/v1/tags/<resource_arn>")
    def untag_resource(resource_arn: str) -> Response[str]:
        svc.tags.untag(resource_arn, wire.untag_keys(r.current_event.multi_value_query_string_parameters))
        return no_content()

    return r
