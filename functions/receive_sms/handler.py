"""SNS subscriber: inbound SMS (End User Messaging two-way) -> opt-outs, keyword replies, events, forwarding."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import inbound_sms
from homing.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[str]]:
    """One record per invocation (SNS); an error fails it, Lambda retries twice, then dead-letters.
    A replayed message (same inboundMessageId) is recognised and does nothing."""
    service = inbound_sms()
    actions = [service.receive(json.loads(record["Sns"]["Message"])) for record in event.get("Records", [])]
    metrics.add_metric(name="InboundSmsHandled", unit="Count", value=len(actions))
    return {"actions": actions}
