"""Pinpoint's JSON for import and export jobs: ImportJobRequest / ExportJobRequest in, the Job responses out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.codec import build, dump
from homing.domain.errors import BadRequest
from homing.domain.jobs import ExportDefinition, ImportDefinition, Job


def import_job_request(raw: str | None) -> ImportDefinition:
    """ImportJobRequest, types checked (each 400 names the field); the service checks the values."""
    body = parse_body(raw)
    for name in ("Format", "S3Url", "RoleArn"):
        if body.get(name) in (None, ""):
            raise BadRequest(f"{name} is required")
    return build(ImportDefinition, body)


def export_job_request(raw: str | None) -> ExportDefinition:
    body = parse_body(raw)
    for name in ("S3UrlPrefix", "RoleArn"):
        if body.get(name) in (None, ""):
            raise BadRequest(f"{name} is required")
    return build(ExportDefinition, body)


def job_response(job: Job) -> dict[str, Any]:
    """ImportJobResponse / ExportJobResponse."""
    body: dict[str, Any] = {
        "ApplicationId": job.application_id,
        "Id": job.id,
        "JobStatus": job.job_status,
        "CreationDate": job.creation_date,
        "Type": job.type,
        "Definition": dump(job.definition),
        "TotalPieces": job.total_pieces,
        "CompletedPieces": job.completed_pieces,
        "FailedPieces": job.failed_pieces,
        "TotalProcessed": job.total_processed,
        "TotalFailures": job.total_failures,
    }
    if job.failures:
        body["Failures"] = job.failures
    if job.completion_date:
        body["CompletionDate"] = job.completion_date
    return body


def jobs_response(jobs: list[Job], next_token: str | None) -> dict[str, Any]:
    """ImportJobsResponse / ExportJobsResponse."""
    body: dict[str, Any] = {"Item": [job_response(j) for j in jobs]}
    if next_token:
        body["NextToken"] = next_token
    return body
