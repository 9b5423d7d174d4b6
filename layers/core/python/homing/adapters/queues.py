"""SQS adapter: the queue that drives the clean-up of deleted apps."""

from __future__ import annotations

from typing import Any

import boto3

MAX_DELAY_SECONDS = 900  # SQS's limit for DelaySeconds


class SqsQueue:
    """Sends messages to one queue; the client is created on first use (most API calls never send)."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self._url, self._client = queue_url, client

    def send(self, body: str, delay_seconds: int = 0) -> None:
        if not self._url:
            raise RuntimeError("no queue configured (CLEANUP_QUEUE_URL)")
        if self._client is None:
            self._client = boto3.client("sqs")
        delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
        self._client.send_message(QueueUrl=self._url, MessageBody=body, DelaySeconds=delay)
