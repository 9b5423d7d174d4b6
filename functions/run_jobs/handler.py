"""Jobs queue consumer: plans import and export jobs and runs their pieces, one message at a time."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import services
from homing.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record is a task (services/jobs.py); a failed one is reported and retried alone."""
    jobs = services().jobs
    failures = []
    for record in event.get("Records", []):
        try:
            jobs.run(record["body"], context.get_remaining_time_in_millis)
        except Exception:
            logger.exception("job task failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
