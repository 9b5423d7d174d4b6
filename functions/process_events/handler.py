"""Kinesis events stream consumer: analytics aggregates (exactly once) and the apps' event streams."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import processing
from homing.observability import logger, metrics
from homing.services.processing import StreamRecord


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reports malformed records as batch item failures (ReportBatchItemFailures); the rest are counted."""
    records = [
        StreamRecord(
            shard=r["eventID"].split(":", 1)[0],
            sequence=r["kinesis"]["sequenceNumber"],
            data=base64.b64decode(r["kinesis"]["data"]),
        )
        for r in event.get("Records", [])
    ]
    failed = processing().process(records)
    metrics.add_metric(name="EventsProcessed", unit="Count", value=len(records) - len(failed))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
