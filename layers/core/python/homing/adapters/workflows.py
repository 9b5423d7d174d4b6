"""Starting Step Functions executions (the audience resolution and campaign delivery workflows)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError


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

    def start_once(self, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution named ``name`` unless one by that name exists (a retried start of the same
        run); True when this call started it. Step Functions keeps execution names for 90 days."""
        try:
            self.start(name, payload)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True
