"""The sender task of the campaign and journey workflows: ``{"deliveries": [...]}`` -> ``{"results": [...]}``.

Deliveries and results are the JSON of ``homing.domain.dispatch`` (snake_case, a ``content_type``
discriminator), results in the order of the deliveries. Each key is sent at most once however often
the task is retried (the dispatcher's ledger). A malformed batch fails the task (a caller's bug,
not a carrier's answer); a carrier's refusal is a result.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.bootstrap import dispatcher
from homing.domain.dispatch import MAX_BATCH, delivery_from_json, result_to_json
from homing.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = event.get("deliveries") if isinstance(event, dict) else None
    if not isinstance(raw, list):
        raise ValueError("the input must be {'deliveries': [...]}")
    if len(raw) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} deliveries per invocation, not {len(raw)}")
    deliveries = [delivery_from_json(item, f"deliveries[{i}]") for i, item in enumerate(raw)]
    results = dispatcher().send_all(deliveries)
    sent = sum(1 for r in results if r.status == "SUCCESSFUL")
    logger.info("batch sent", extra={"deliveries": len(deliveries), "successful": sent})
    return {"results": [result_to_json(r) for r in results]}
