"""CreateSegment, GetSegment, GetSegments, UpdateSegment, DeleteSegment, GetSegmentVersion, GetSegmentVersions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.schemas import page_size
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import segments as wire
    from homing.domain.segments import Segment
else:
    wire = LazyModule("homing.api.wire.segments")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def one(segment: Segment) -> dict[str, object]:
        return wire.segment_response(segment, svc.segments.arn(segment))

    def many(page: tuple[list[Segment], str | None]) -> dict[str, object]:
        return wire.segments_response([(s, svc.segments.arn(s)) for s in page[0]], page[1])

    @r.post("/v1/apps/<application_id>/segments")
    def create_segment(application_id: str) -> Response[str]:
        definition = wire.write_segment_request(r.current_event.body)
        return ok(one(svc.segments.create(application_id, definition)), status=201)

    @r.get("/v1/apps/<application_id>/segments")
    def get_segments(application_id: str) -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        return ok(many(svc.segments.page(application_id, page_size(q.get("page-size")), q.get("token"))))

    @r.get("/v1/apps/<application_id>/segments/<segment_id>")
    def get_segment(application_id: str, segment_id: str) -> Response[str]:
        return ok(one(svc.segments.get(application_id, segment_id)))

    @r.put("/v1/apps/<application_id>/segments/<segment_id>")
    def update_segment(application_id: str, segment_id: str) -> Response[str]:
        changes = wire.write_segment_request(r.current_event.body)
        return ok(one(svc.segments.update(application_id, segment_id, changes)))

    @r.delete("/v1/apps/<application_id>/segments/<segment_id>")
    def delete_segment(application_id: str, segment_id: str) -> Response[str]:
        return ok(one(svc.segments.delete(application_id, segment_id)))

    @r.get("/v1/apps/<application_id>/segments/<segment_id>/versions")
    def get_segment_versions(application_id: str, segment_id: str) -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        page = svc.segments.versions(application_id, segment_id, page_size(q.get("page-size")), q.get("token"))
        return ok(many(page))

    @r.get("/v1/apps/<application_id>/segments/<segment_id>/versions/<version>")
    def get_segment_version(application_id: str, segment_id: str, version: str) -> Response[str]:
        return ok(one(svc.segments.get_version(application_id, segment_id, version)))

    return r
