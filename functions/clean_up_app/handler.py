"""Clean-up queue consumer: removes what a deleted app owned, one bounded chunk per message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import cleanup
from homing.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record is a task (services/cleanup.py); a failed one is reported and retried alone."""
    service = cleanup()
    failures = []
    for record in event.get("Records", []):
        try:
            service.run(record["body"], context.get_remaining_time_in_millis)
        except Exception:
            logger.exception("clean-up task failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
