"""Starting Step Functions executions (the audience resolution workflow)."""

from __future__ import annotations

import json
from typing import Any

import boto3


class StateMachine:
    def __init__(self, arn: str, client: Any = None) -> None:
        self.arn = arn
        self._client = client

    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start an execution named ``name`` (unique per machine: a retried start is refused, not doubled)."""
        if self._client is None:
            self._client = boto3.client("stepfunctions")
        response = self._client.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(payload))
        return str(response["executionArn"])
