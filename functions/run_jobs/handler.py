"""Jobs queue consumer: plans import and export jobs and runs their pieces, one message at a time."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import services
from homing.observability import logger, metrics

# Powertools' partial batch response: a failed record is reported (and logged with its traceback) and
# retried alone; a batch whose every record failed is reported the same way, not raised.
# Powertools' Logger has the logging.Logger methods the processor calls, but is not typed as one.
processor = BatchProcessor(
    event_type=EventType.SQS,
    raise_on_entire_batch_failure=False,
    logger=logger,  # type: ignore[arg-type]
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each record is a task (services/jobs.py); a failed one is reported and retried alone."""
    service = services().jobs

    def run(record: SQSRecord) -> None:
        service.run(record.body, context.get_remaining_time_in_millis)

    return dict(process_partial_response(event=event, record_handler=run, processor=processor, context=context))
