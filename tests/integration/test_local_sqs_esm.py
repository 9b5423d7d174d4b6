"""Local SQS event-source mappings (homing.local.sqs_esm) against moto's SQS: what is deleted, kept, redriven."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from homing.local.esm import Mapping
from homing.local.sqs_esm import QueueConsumer

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


def esm(batch_size: int = 10, partial: bool = True) -> Mapping:
    return Mapping(
        uuid="u1",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        source_arn=f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}",
        batch_size=batch_size,
        report_item_failures=partial,
    )


def bodies(client: Any, name: str) -> list[str]:
    url = client.get_queue_url(QueueName=name)["QueueUrl"]
    out = []
    while messages := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [m["Body"] for m in messages]
        for m in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return sorted(out)


def consumer(client: Any, outcome: Any, mapping: Mapping) -> tuple[QueueConsumer, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def invoke(function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        seen.append(event)
        return outcome(event)

    return QueueConsumer(mapping, client.get_queue_url(QueueName=QUEUE)["QueueUrl"], client, invoke), seen


def send(client: Any, *messages: str, delay: int = 0) -> str:
    url: str = client.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    for body in messages:
        client.send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
    return url


def test_success_deletes_the_batch_and_batch_size_is_honoured(sqs: Any) -> None:
    send(sqs, "a", "b", "c")
    p, seen = consumer(sqs, lambda event: (b'{"batchItemFailures": []}', False), esm(batch_size=2))
    assert p.poll_once() == 2
    assert [r["body"] for r in seen[0]["Records"]] == ["a", "b"]
    assert seen[0]["Records"][0]["eventSource"] == "aws:sqs"
    assert p.poll_once() == 1
    assert p.state.caught_up_at == 0.0  # every receive so far found messages
    assert p.poll_once() == 0
    assert p.state.caught_up_at > 0
    assert bodies(sqs, QUEUE) == []
    assert (p.state.batches, p.state.processed, p.state.returned, p.state.last_result) == (2, 3, 0, "OK")


def test_reported_failures_stay_and_reach_the_dead_letter_queue_after_max_receive_count(sqs: Any) -> None:
    send(sqs, "ok", "poison")

    def outcome(event: dict[str, Any]) -> tuple[bytes, bool]:
        failed = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "poison"]
        return json.dumps({"batchItemFailures": failed}).encode(), False

    p, seen = consumer(sqs, outcome, esm())
    for _ in range(3):
        p.poll_once()
    assert [r["body"] for r in seen[0]["Records"]] == ["ok", "poison"]
    assert [[r["body"] for r in e["Records"]] for e in seen[1:]] == [["poison"]]  # received twice, then redriven
    assert bodies(sqs, QUEUE) == []
    assert bodies(sqs, DLQ) == ["poison"]
    assert (p.state.processed, p.state.returned, p.state.failed_invocations) == (1, 2, 2)


def test_a_function_error_keeps_the_whole_batch(sqs: Any) -> None:
    send(sqs, "a", "b")
    p, _ = consumer(sqs, lambda event: (b'{"errorMessage": "boom"}', True), esm())
    assert p.poll_once() == 2
    assert bodies(sqs, QUEUE) == ["a", "b"]


def test_without_report_batch_item_failures_a_success_deletes_everything(sqs: Any) -> None:
    send(sqs, "a", "b")
    failures = json.dumps({"batchItemFailures": [{"itemIdentifier": "x"}]}).encode()
    p, _ = consumer(sqs, lambda event: (failures, False), esm(partial=False))
    p.poll_once()
    assert bodies(sqs, QUEUE) == []


def test_delayed_messages_wait_for_their_delay(sqs: Any) -> None:
    send(sqs, "later", delay=900)
    p, seen = consumer(sqs, lambda event: (b"null", False), esm())
    assert p.poll_once() == 0
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


def test_the_poller_finds_its_mappings_through_the_lambda_api_and_shows_each_on_the_page(sqs: Any) -> None:
    """Discovery and stop are esm.py's MappingPoller, as for Kinesis: a row per mapping, gone once deleted."""
    import io
    import threading
    import time
    import zipfile

    import boto3
    from moto.sqs.models import Queue

    from homing.local.sqs_esm import SqsPoller, take_over_sqs_mappings

    take_over_sqs_mappings()
    lam = boto3.client("lambda", region_name="us-east-1")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    lam.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )
    queue_arn = esm().source_arn
    seen: list[str] = []

    def invoke(function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        seen.extend(r["body"] for r in event["Records"])
        return b"null", False

    poller = SqsPoller(lam, sqs, invoke)
    try:
        uuid = lam.create_event_source_mapping(FunctionName="f", EventSourceArn=queue_arn, BatchSize=5)["UUID"]
        dlq_arn = queue_arn.replace(f":{QUEUE}", f":{DLQ}")
        disabled_uuid = lam.create_event_source_mapping(FunctionName="f", EventSourceArn=dlq_arn, Enabled=False)["UUID"]
        poller.start()
        send(sqs, "a", "b")
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(seen) == ["a", "b"]
        deadline = time.monotonic() + 30
        while poller.states()[0]["RecordsProcessed"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

        enabled, disabled = poller.states()
        assert (enabled["UUID"], enabled["State"], enabled["BatchSize"]) == (uuid, "Enabled", 5)
        assert enabled["QueueUrl"].endswith(f"/{QUEUE}")
        assert (enabled["RecordsProcessed"], enabled["RecordsReturned"], enabled["LastProcessingResult"]) == (
            2,
            0,
            "OK",
        )
        assert (disabled["UUID"], disabled["State"]) == (disabled_uuid, "Disabled")

        lam.delete_event_source_mapping(UUID=uuid)
        poller.discover()
        assert [row["UUID"] for row in poller.states()] == [disabled_uuid]
        assert f"sqs-esm-{uuid}" not in {t.name for t in threading.enumerate()}  # its consumer was stopped
    finally:
        poller.stop()
        delattr(Queue, "lambda_event_source_mappings")  # the rest of the session keeps moto's own behaviour
