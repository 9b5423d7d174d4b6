"""UpdateEndpoint(sBatch), Get/DeleteEndpoint, Get/DeleteUserEndpoints, RemoveAttributes, and the
Homing extension ListEndpoints (GET /v1/apps/{application-id}/endpoints)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit

from homing.api.responses import ok
from homing.api.schemas import endpoint_response, endpoints_response, page_size, parse_body
from homing.bootstrap import Services
from homing.codec import build
from homing.domain.errors import BadRequest
from homing.domain.keys import check_endpoint_key, check_user_id
from homing.domain.model import CHANNEL_TYPES, EndpointRequest
from homing.observability import metrics


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def request_id() -> str:
        return str(r.current_event.request_context.request_id or "")

    def accepted() -> Response[str]:
        return ok({"Message": "Accepted", "RequestID": request_id()}, 202)

    @r.put("/v1/apps/<application_id>/endpoints/<endpoint_id>")
    def update_endpoint(application_id: str, endpoint_id: str) -> Response[str]:
        check_endpoint_key(endpoint_id, "endpoint-id")
        req = build(EndpointRequest, parse_body(r.current_event.body))
        svc.endpoints.update_endpoint(application_id, endpoint_id, req, request_id())
        metrics.add_metric(name="EndpointsUpserted", unit=MetricUnit.Count, value=1)
        return accepted()

    @r.put("/v1/apps/<application_id>/endpoints")
    def update_endpoints_batch(application_id: str) -> Response[str]:
        body = parse_body(r.current_event.body)
        items = body.get("Item")
        if not isinstance(items, list):
            raise BadRequest("Item is required and must be a list of endpoints")
        reqs = [build(EndpointRequest, item, f"Item[{i}]") for i, item in enumerate(items)]
        svc.endpoints.update_endpoints_batch(application_id, reqs, request_id())
        metrics.add_metric(name="EndpointsUpserted", unit=MetricUnit.Count, value=len(reqs))
        return accepted()

    @r.get("/v1/apps/<application_id>/endpoints/<endpoint_id>")
    def get_endpoint(application_id: str, endpoint_id: str) -> Response[str]:
        check_endpoint_key(endpoint_id, "endpoint-id")
        return ok(endpoint_response(svc.endpoints.get_endpoint(application_id, endpoint_id)))

    @r.delete("/v1/apps/<application_id>/endpoints/<endpoint_id>")
    def delete_endpoint(application_id: str, endpoint_id: str) -> Response[str]:
        check_endpoint_key(endpoint_id, "endpoint-id")
        return ok(endpoint_response(svc.endpoints.delete_endpoint(application_id, endpoint_id)), 202)

    @r.get("/v1/apps/<application_id>/endpoints")
    def list_endpoints(application_id: str) -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        channel = q.get("channel-type") or None
        if channel is not None and channel not in CHANNEL_TYPES:
            raise BadRequest(f"channel-type must be one of {', '.join(sorted(CHANNEL_TYPES))}")
        user_id = q.get("user-id") or None
        if user_id is not None:
            check_user_id(user_id, "user-id")
        found, token = svc.endpoints.list_endpoints(
            application_id, page_size(q.get("page-size")), q.get("token"), channel, user_id
        )
        return ok(endpoints_response(found, token))

    @r.get("/v1/apps/<application_id>/users/<user_id>")
    def get_user_endpoints(application_id: str, user_id: str) -> Response[str]:
        check_user_id(user_id, "user-id")
        return ok(endpoints_response(svc.endpoints.get_user_endpoints(application_id, user_id)))

    @r.delete("/v1/apps/<application_id>/users/<user_id>")
    def delete_user_endpoints(application_id: str, user_id: str) -> Response[str]:
        check_user_id(user_id, "user-id")
        return ok(endpoints_response(svc.endpoints.delete_user_endpoints(application_id, user_id)), 202)

    @r.put("/v1/apps/<application_id>/attributes/<attribute_type>")
    def remove_attributes(application_id: str, attribute_type: str) -> Response[str]:
        blacklist = parse_body(r.current_event.body).get("Blacklist")
        if not isinstance(blacklist, list) or not all(isinstance(b, str) for b in blacklist):
            raise BadRequest("Blacklist must be a list of attribute names")
        removed = svc.endpoints.remove_attributes(application_id, attribute_type, blacklist)
        return ok({"ApplicationId": application_id, "AttributeType": attribute_type, "Attributes": removed})

    return r
