"""Local SQS event-source mappings (homing.local.sqs_esm) against moto's SQS: what is deleted, kept, redriven."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

QUEUE = "work"
DLQ = "work-dlq"


@pytest.fixture
def sqs() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        import boto3

        client = boto3.client("sqs", region_name="us-east-1")
        dlq = client.create_queue(QueueName=DLQ)["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": "0",  # a message that is kept is visible again at once
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
            },
        )
        yield client


def esm(batch_size: int = 10, partial: bool = True) -> Any:
    return SimpleNamespace(
        uuid="u1",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        event_source_arn=f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}",
        batch_size=batch_size,
        function_response_types=["ReportBatchItemFailures"] if partial else None,
    )


def bodies(client: Any, name: str) -> list[str]:
    url = client.get_queue_url(QueueName=name)["QueueUrl"]
    out = []
    while messages := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [m["Body"] for m in messages]
        for m in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return sorted(out)


def poller(client: Any, outcome: Any) -> tuple[Any, list[dict[str, Any]]]:
    from homing.local.sqs_esm import SqsPoller

    seen: list[dict[str, Any]] = []

    def invoke(function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        seen.append(event)
        return outcome(event)

    return SqsPoller(SimpleNamespace(_event_source_mappings={}), client, invoke), seen


def send(client: Any, *messages: str, delay: int = 0) -> str:
    url: str = client.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for body in messages:
        client.send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
    return url


def test_success_deletes_the_batch_and_batch_size_is_honoured(sqs: Any) -> None:
    url = send(sqs, "a", "b", "c")
    p, seen = poller(sqs, lambda event: (b'{"batchItemFailures": []}', False))
    assert p.poll_once(esm(batch_size=2), url) == 2
    assert [r["body"] for r in seen[0]["Records"]] == ["a", "b"]
    assert seen[0]["Records"][0]["eventSource"] == "aws:sqs"
    assert p.poll_once(esm(batch_size=2), url) == 1
    assert p.poll_once(esm(batch_size=2), url) == 0
    assert bodies(sqs, QUEUE) == []


def test_reported_failures_stay_and_reach_the_dead_letter_queue_after_max_receive_count(sqs: Any) -> None:
    url = send(sqs, "ok", "poison")

    def outcome(event: dict[str, Any]) -> tuple[bytes, bool]:
        failed = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]
        return json.dumps({"batchItemFailures": failed}).encode(), False

    p, seen = poller(sqs, outcome)
    for _ in range(3):
        p.poll_once(esm(), url)
    assert [r["body"] for r in seen[0]["Records"]] == ["ok", "poison"]
    assert [[r["body"] for r in e["Records"]] for e in seen[1:]] == [["poison"]]  # received twice, then redriven
    assert bodies(sqs, QUEUE) == []
    assert bodies(sqs, DLQ) == ["poison"]


def test_a_function_error_keeps_the_whole_batch(sqs: Any) -> None:
    url = send(sqs, "a", "b")
    p, _ = poller(sqs, lambda event: (b'{"errorMessage": "boom"}', True))
    assert p.poll_once(esm(), url) == 2
    assert bodies(sqs, QUEUE) == ["a", "b"]


def test_without_report_batch_item_failures_a_success_deletes_everything(sqs: Any) -> None:
    url = send(sqs, "a", "b")
    p, _ = poller(sqs, lambda event: (json.dumps({"batchItemFailures": [{"itemIdentifier": "x"}]}).encode(), False))
    p.poll_once(esm(partial=False), url)
    assert bodies(sqs, QUEUE) == []


def test_delayed_messages_wait_for_their_delay(sqs: Any) -> None:
    url = send(sqs, "later", delay=900)
    p, seen = poller(sqs, lambda event: (b"null", False))
    assert p.poll_once(esm(), url) == 0
    assert seen == []


def test_moto_no_longer_invokes_a_mapped_function_inside_send_message(sqs: Any) -> None:
    from moto.sqs.models import Queue

    from homing.local.sqs_esm import take_over_sqs_mappings

    take_over_sqs_mappings()
    try:
        queue: Any = Queue.__new__(Queue)
        queue.lambda_event_source_mappings = {"arn": object()}
        assert queue.lambda_event_source_mappings == {}
    finally:
        delattr(Queue, "lambda_event_source_mappings")  # the rest of the session keeps moto's own behaviour
