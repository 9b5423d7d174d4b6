"""API Gateway (REST, proxy) entry point: every Pinpoint operation Homing serves."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from homing.api.app import build_resolver
from homing.bootstrap import services
from homing.observability import logger, metrics

_resolver = None


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _resolver
    if _resolver is None:
        _resolver = build_resolver(services())
    return _resolver.resolve(event, context)
