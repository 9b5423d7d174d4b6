"""The audience resolution workflow's steps: one part of a segment's audience, the manifest, a failure."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import audience_worker
from homing.domain.audiences import ResolutionRequest
from homing.observability import logger, metrics
from homing.services.audiences import deadline

# Leave this much of the invocation for writing the last page and the chunk summary.
RESERVE_MS = 30_000


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``{"action": "part"|"finalize"|"fail", "request": {...}, ...}`` from the state machine."""
    service = audience_worker()
    request = ResolutionRequest(**event["request"])
    action = event["action"]
    logger.append_keys(resolution_id=request.resolution_id, action=action)
    if action == "part":
        item = event["item"]
        time_left = deadline(context.get_remaining_time_in_millis, RESERVE_MS)
        return service.resolve_part(request, item["part"], item["chunk"], item["cursor"], time_left)
    if action == "finalize":
        return service.finalize(request)
    if action == "fail":
        error = event.get("error") or {}
        service.fail(request, f"{error.get('Error', 'Error')}: {error.get('Cause', '')}")
        return {"failed": True}
    raise ValueError(f"unknown action {action!r}")
