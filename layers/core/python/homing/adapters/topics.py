"""SNS adapter: forwards inbound SMS to the topic an app named in its two-way configuration."""

from __future__ import annotations

from typing import Any

import boto3


class SnsTopics:
    """Publishes to any topic; the client is created on first use."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def publish(self, topic_arn: str, message: str, attributes: dict[str, str]) -> None:
        if self._client is None:
            self._client = boto3.client("sns", region_name=topic_arn.split(":")[3])
        self._client.publish(
            TopicArn=topic_arn,
            Message=message,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
