"""Shared fixtures: fake AWS credentials for every test, moto with Homing's tables, API events."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from homing.adapters.dynamodb.tables import TABLES


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


# Every table of the registry, as ``homing-<construct id in kebab case>`` (homing-event-streams, …).
API_ENV = {
    **{t.env: "homing-" + re.sub(r"(?<!^)(?=[A-Z])", "-", t.construct_id).lower() for t in TABLES},
    "EVENT_STREAM_NAME": "homing-events",
    "RESOURCE_ARN_PREFIX": "arn:aws:mobiletargeting:us-east-1:123456789012",
    "POWERTOOLS_SERVICE_NAME": "homing",
    "POWERTOOLS_METRICS_NAMESPACE": "Homing",
    "POWERTOOLS_DEV": "false",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with Homing's tables created from the PynamoDB models, and the api env vars set."""
    from moto import mock_aws

    from homing.adapters.dynamodb.tables import ALL_MODELS, bind_tables, table_names
    from homing.bootstrap import cleanup, processing, services
    from homing.local.moto_fixes import (
        atomic_writes,
        copy_tables_once_per_transaction,
        index_queries,
        serial_kinesis_shards,
    )

    for key, value in API_ENV.items():
        monkeypatch.setenv(key, value)
    copy_tables_once_per_transaction()
    atomic_writes()
    index_queries()
    serial_kinesis_shards()
    with mock_aws():
        bind_tables(table_names(API_ENV), "us-east-1")
        for model in ALL_MODELS:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        import boto3

        boto3.client("kinesis").create_stream(StreamName=API_ENV["EVENT_STREAM_NAME"], ShardCount=2)
        queue = boto3.client("sqs").create_queue(QueueName="homing-cleanup")["QueueUrl"]
        monkeypatch.setenv("CLEANUP_QUEUE_URL", queue)
        monkeypatch.setenv("CLEANUP_GRACE_SECONDS", "0")
        # The data key: channel credentials are sealed with it (homing.adapters.credentials).
        monkeypatch.setenv("DATA_KEY_ARN", boto3.client("kms").create_key()["KeyMetadata"]["Arn"])
        compositions = (services, processing, cleanup)
        for composition in compositions:
            composition.cache_clear()
        yield
        for composition in compositions:
            composition.cache_clear()


@dataclass
class LambdaContext:
    function_name: str = "api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error_type(self) -> str | None:
        return self.headers.get("X-Amzn-ErrorType")


def api_event(method: str, path: str, body: Any = None, query: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A REST API (v1) proxy event as API Gateway builds it (path decoded, query split)."""
    query = query or {}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": "/prod" + path,
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
    }


@pytest.fixture
def call(aws: None) -> Any:
    """Invoke the real api handler with a proxy event; returns status, headers and parsed body."""
    import api.handler as handler_module
    from api.handler import lambda_handler

    handler_module._resolver = None

    def _call(method: str, path: str, body: Any = None, query: dict[str, list[str]] | None = None) -> ApiResponse:
        out = lambda_handler(api_event(method, path, body, query), LambdaContext())
        headers = {**(out.get("headers") or {}), **{k: v[-1] for k, v in (out.get("multiValueHeaders") or {}).items()}}
        raw = out.get("body")
        return ApiResponse(out["statusCode"], headers, json.loads(raw) if raw else None)

    return _call


def app_arn(app_id: str) -> str:
    return f"{API_ENV['RESOURCE_ARN_PREFIX']}:apps/{app_id}"


def tags_path(arn: str) -> str:
    return "/v1/tags/" + quote(arn, safe="")


def drain_stream(stream: str = API_ENV["EVENT_STREAM_NAME"]) -> list[dict[str, Any]]:
    """Every record on the stream, as Lambda's Kinesis event records (one list per shard, in order)."""
    import base64

    import boto3

    kinesis = boto3.client("kinesis")
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        for rec in kinesis.get_records(ShardIterator=it, Limit=10000)["Records"]:
            out.append(
                {
                    "eventID": f"{shard['ShardId']}:{rec['SequenceNumber']}",
                    "eventSource": "aws:kinesis",
                    "kinesis": {
                        "sequenceNumber": rec["SequenceNumber"],
                        "partitionKey": rec["PartitionKey"],
                        "data": base64.b64encode(rec["Data"]).decode(),
                    },
                }
            )
    return out


@pytest.fixture
def clean_up(aws: None) -> Any:
    """Run the real clean_up_app handler on what the clean-up queue holds, until it is empty.

    Returns the number of invocations (one message each, as the event-source mapping's batch size is 1).
    """
    import os

    import boto3
    import clean_up_app.handler as handler_module

    def _clean_up(max_messages: int = 1000) -> int:
        sqs, url = boto3.client("sqs"), os.environ["CLEANUP_QUEUE_URL"]
        handled = 0
        while handled < max_messages:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
            if not messages:
                return handled
            m = messages[0]
            record = {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            out = handler_module.lambda_handler({"Records": [record]}, LambdaContext(function_name="clean_up_app"))
            assert out == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            handled += 1
        raise AssertionError(f"the clean-up did not finish within {max_messages} messages")

    return _clean_up


@pytest.fixture
def process(aws: None) -> Any:
    """Run the real process_events handler on Kinesis records (a Lambda Kinesis event)."""
    import process_events.handler as handler_module

    def _process(records: list[dict[str, Any]]) -> dict[str, Any]:
        return handler_module.lambda_handler({"Records": records}, LambdaContext(function_name="process_events"))

    return _process
