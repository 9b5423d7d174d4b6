"""The campaign delivery workflow's own steps: begin a run, plan its batches, finish (or fail) it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import campaign_runner
from homing.domain.campaign_runs import CampaignRun
from homing.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``{"action": "begin"|"plan"|"finish"|"fail", ...}`` from the state machine."""
    runner = campaign_runner()
    action = event["action"]
    if action == "begin":
        document = event["input"]
        logger.append_keys(action=action, campaign_id=document.get("CampaignId"), run_at=document.get("RunAt"))
        return runner.begin(document)
    run = CampaignRun.from_json(event["run"])
    logger.append_keys(action=action, campaign_id=run.campaign_id, run_id=run.run_id)
    if action == "plan":
        return runner.plan(run, runner.manifest(event["request"]))
    if action == "finish":
        return runner.finish(run)
    if action == "fail":
        error = event.get("error") or {}
        logger.warning("campaign run failed", extra={"error": str(error.get("Error", "Error"))[:200]})
        return runner.fail(run, error)
    raise ValueError(f"unknown action {action!r}")
