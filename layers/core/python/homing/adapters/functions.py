"""Asynchronous Lambda invocations: process_events starts an event-triggered campaign's send this way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3

ACCEPTED = 202


class InvocationRefused(RuntimeError):
    """The event was not queued."""


class AsyncInvoker:
    """Invokes one function with InvocationType ``Event``: Lambda queues the event and answers 202, then
    runs the function and retries it twice on an error (its asynchronous invocation settings). The call
    raises if the event could not be queued (throttled, denied, too large), so the caller can retry it."""

    def __init__(self, function_name: str, client: Any = None) -> None:
        self.function_name = function_name
        self._client = client

    def invoke(self, payload: Mapping[str, Any]) -> None:
        if self._client is None:
            self._client = boto3.client("lambda")
        response = self._client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(payload, separators=(",", ":")).encode(),
        )
        status = response.get("StatusCode")
        if status != ACCEPTED:  # Lambda answers 202 once the event is queued; anything else queued nothing
            raise InvocationRefused(f"{self.function_name}: asynchronous invocation answered {status}")
