"""UpdateEndpoint(sBatch), Get/DeleteEndpoint, Get/DeleteUserEndpoints, RemoveAttributes, and the
Homing extension ListEndpoints (GET /v1/apps/{application-id}/endpoints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from homing.api.responses import ok
from homing.api.schemas import page_size
from homing.bootstrap import Services
from homing.domain.keys import check_endpoint_key, check_user_id
from homing.lazy_package import LazyModule
from homing.observability import metrics

if TYPE_CHECKING:
    from homing.api.wire import endpoints as wire
else:
    wire = LazyModule("homing.api.wire.endpoints")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def request_id() -> str:
        return str(r.current_event.request_context.request_id or "")

    @r.put("/v1/apps/<application_id>/endpoints/<endpoint_id>")
    def update_endpoint(application_id: str, endpoint_id: str) -> Response[str]:
        check_endpoint_key(endpoint_id, "endpoint-id")
        req = wire.endpoint_request(r.current_event.body)
        svc.endpoints.update_endpoint(application_id, endpoint_id, req, request_id())
        metrics.add_metric(name="EndpointsUpserted", unit=MetricUnit.Count, value=1)
        return ok(wire.accepted_response(request_id()), 202)

    @r.put("/v1/apps/<application_id>/endpoints")
    def update_endpoints_batch(application_id: str) -> Response[str]:
        reqs = wire.endpoint_batch_request(r.current_event.body)
        svc.endpoints.update_endpoints_batch(application_id, reqs, request_id())
        metrics.add_metric(name="EndpointsUpserted", unit=MetricUnit.Count, value=len(reqs))
        return ok(wire.accepted_response(request_id()), 202)

    @r.get("/v1/apps/<application_id>/endpoints/<endpoint_id>")
    def get_endpoint(application_id: str, endpoint_id: str) -> Response[str]:
        check_endpoint_key(endpoint_id, "endpoint-id")
        return ok(wire.endpoint_response(svc.endpoints.get_endpoint(application_id, endpoint_id)))

    @r.delete("/v1/apps/<application_id>/endpoints/<endpoint_id>")
    def delete_endpoint(application_id: str, endpoint_id: str) -> Response[str]:
        check_endpoint_key(endpoint_id, "endpoint-id")
        return ok(wire.endpoint_response(svc.endpoints.delete_endpoint(application_id, endpoint_id)), 202)

    @r.get("/v1/apps/<application_id>/endpoints")
    def list_endpoints(application_id: str) -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        channel, user_id = wire.list_filters(q)
        found, token = svc.endpoints.list_endpoints(
            application_id, page_size(q.get("page-size")), q.get("token"), channel, user_id
        )
        return ok(wire.endpoints_response(found, token))

    @r.get("/v1/apps/<application_id>/users/<user_id>")
    def get_user_endpoints(application_id: str, user_id: str) -> Response[str]:
        check_user_id(user_id, "user-id")
        return ok(wire.endpoints_response(svc.endpoints.get_user_endpoints(application_id, user_id)))

    @r.delete("/v1/apps/<application_id>/users/<user_id>")
    def delete_user_endpoints(application_id: str, user_id: str) -> Response[str]:
        check_user_id(user_id, "user-id")
        return ok(wire.endpoints_response(svc.endpoints.delete_user_endpoints(application_id, user_id)), 202)

    @r.put("/v1/apps/<application_id>/attributes/<attribute_type>")
    def remove_attributes(application_id: str, attribute_type: str) -> Response[str]:
        blacklist = wire.remove_attributes_request(r.current_event.body)
        removed = svc.endpoints.remove_attributes(application_id, attribute_type, blacklist)
        return ok(wire.attributes_response(application_id, attribute_type, removed))

    return r
