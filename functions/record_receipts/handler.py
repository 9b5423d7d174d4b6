"""SNS subscriber: SES and End User Messaging delivery receipts -> Pinpoint engagement events."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import receipts
from homing.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """SNS invokes asynchronously with one record: an error (a malformed receipt, the stream refusing
    the record) fails the invocation, which Lambda retries twice and then dead-letters."""
    service, recorded = receipts(), 0
    for record in event.get("Records", []):
        if service.record(json.loads(record["Sns"]["Message"])) is not None:
            recorded += 1
    metrics.add_metric(name="ReceiptsRecorded", unit="Count", value=recorded)
    return {"recorded": recorded}
