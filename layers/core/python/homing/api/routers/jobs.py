"""CreateImportJob, GetImportJob(s), GetSegmentImportJobs, CreateExportJob, GetExportJob(s), GetSegmentExportJobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.api.schemas import page_size
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import jobs as wire
    from homing.domain import jobs as domain
else:
    wire = LazyModule("homing.api.wire.jobs")
    domain = LazyModule("homing.domain.jobs")


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    def listing(application_id: str, job_type: str, segment_id: str | None = None) -> Response[str]:
        q = r.current_event.query_string_parameters or {}
        size = page_size(q.get("page-size"))
        return ok(wire.jobs_response(*svc.jobs.page(application_id, job_type, size, q.get("token"), segment_id)))

    @r.post("/v1/apps/<application_id>/jobs/import")
    def create_import_job(application_id: str) -> Response[str]:
        definition = wire.import_job_request(r.current_event.body)
        return ok(wire.job_response(svc.jobs.create_import(application_id, definition)), 201)

    @r.get("/v1/apps/<application_id>/jobs/import")
    def get_import_jobs(application_id: str) -> Response[str]:
        return listing(application_id, domain.IMPORT)

    @r.get("/v1/apps/<application_id>/jobs/import/<job_id>")
    def get_import_job(application_id: str, job_id: str) -> Response[str]:
        return ok(wire.job_response(svc.jobs.get(application_id, domain.IMPORT, job_id)))

    @r.get("/v1/apps/<application_id>/segments/<segment_id>/jobs/import")
    def get_segment_import_jobs(application_id: str, segment_id: str) -> Response[str]:
        return listing(application_id, domain.IMPORT, segment_id)

    @r.post("/v1/apps/<application_id>/jobs/export")
    def create_export_job(application_id: str) -> Response[str]:
        definition = wire.export_job_request(r.current_event.body)
        return ok(wire.job_response(svc.jobs.create_export(application_id, definition)), 202)

    @r.get("/v1/apps/<application_id>/jobs/export")
    def get_export_jobs(application_id: str) -> Response[str]:
        return listing(application_id, domain.EXPORT)

    @r.get("/v1/apps/<application_id>/jobs/export/<job_id>")
    def get_export_job(application_id: str, job_id: str) -> Response[str]:
        return ok(wire.job_response(svc.jobs.get(application_id, domain.EXPORT, job_id)))

    @r.get("/v1/apps/<application_id>/segments/<segment_id>/jobs/export")
    def get_segment_export_jobs(application_id: str, segment_id: str) -> Response[str]:
        return listing(application_id, domain.EXPORT, segment_id)

    return r
