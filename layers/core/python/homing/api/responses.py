"""JSON responses in Pinpoint's shape: the body is the output's payload structure itself."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Response


def ok(body: Any, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def no_content() -> Response[str]:
    return Response(status_code=204, content_type="application/json", body="")
