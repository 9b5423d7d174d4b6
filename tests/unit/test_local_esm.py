"""esm.py's rules on their own: reading a partial batch response, the batching window, record age."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.local.esm import FailureDestinations, Mapping, ShardConsumer, batch_failures

IDS = ["1", "2", "3"]


def response(*identifiers: Any) -> bytes:
    return json.dumps({"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}).encode()


@pytest.mark.parametrize(
    ("payload", "errored", "report", "failed"),
    [
        (b"", True, True, IDS),  # a function error fails the whole batch
        (response("2"), False, False, []),  # without ReportBatchItemFailures the answer is not read
        (response("3", "2"), False, True, ["2", "3"]),  # in batch order
        (response(), False, True, []),
        (b"null", False, True, []),
        (b"", False, True, []),
        (b'{"other": 1}', False, True, []),
        (b"not json", False, True, IDS),
        (response("9"), False, True, IDS),  # an unknown identifier fails the whole batch
        (response(""), False, True, IDS),
        (b'{"batchItemFailures": [{"x": "1"}]}', False, True, IDS),
        (b'{"batchItemFailures": "2"}', False, True, IDS),
    ],
)
def test_batch_failures(payload: bytes, errored: bool, report: bool, failed: list[str]) -> None:
    assert batch_failures(payload, errored, IDS, report) == failed


def test_mapping_from_the_api_defaults_as_aws() -> None:
    mapping = Mapping.from_api({"UUID": "u", "FunctionArn": "f", "EventSourceArn": "s"})

    assert (mapping.batch_size, mapping.batching_window, mapping.max_retries, mapping.max_record_age) == (
        100,
        0.0,
        -1,
        -1,
    )
    assert (mapping.report_item_failures, mapping.bisect, mapping.on_failure) == (False, False, "")


class FakeKinesis:
    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.count = 0

    def put(self, data: str, arrival: datetime) -> None:
        seq = str(100 + self.count)
        self.count += 1
        self.pending.append({"SequenceNumber": seq, "PartitionKey": "p", "Data": data.encode(), "Arrival": arrival})

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        return {"ShardIterator": "it"}

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        records, self.pending = self.pending, []
        return {
            "Records": [{**r, "ApproximateArrivalTimestamp": r.pop("Arrival")} for r in records],
            "NextShardIterator": "it",
        }


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:  # noqa: N803 - boto3's names
        self.messages.append(json.loads(MessageBody))

    def get_queue_url(self, QueueName: str, QueueOwnerAWSAccountId: str) -> dict[str, str]:  # noqa: N803
        return {"QueueUrl": f"http://q/{QueueOwnerAWSAccountId}/{QueueName}"}


def consumer(kinesis: FakeKinesis, invoked: list[list[str]], sqs: Sent, **settings: Any) -> ShardConsumer:
    mapping = Mapping(
        uuid="u",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        source_arn="arn:aws:kinesis:us-east-1:123456789012:stream/s",
        on_failure="arn:aws:sqs:us-east-1:123456789012:dlq",
        **settings,
    )

    def invoke(arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        invoked.append([r["kinesis"]["sequenceNumber"] for r in event["Records"]])
        return b"{}", False

    return ShardConsumer(mapping, "shardId-000000000000", kinesis, invoke, FailureDestinations(sqs, None), "role", 0)


def test_a_batching_window_holds_a_partial_batch_until_it_passes() -> None:
    kinesis, invoked, sqs = FakeKinesis(), list[list[str]](), Sent()
    shard = consumer(kinesis, invoked, sqs, batch_size=3, batching_window=3600)
    now = datetime.now(UTC)
    kinesis.put("a", now)
    kinesis.put("b", now)

    assert shard.step() is False  # 2 of 3 records, the window is still open
    kinesis.put("c", now)
    kinesis.put("d", now)
    assert shard.step() is True  # a full batch goes at once

    assert invoked == [["100", "101", "102"]]
    assert shard.state.backlog == 1


def test_records_older_than_the_maximum_age_go_to_the_destination_unprocessed() -> None:
    kinesis, invoked, sqs = FakeKinesis(), list[list[str]](), Sent()
    shard = consumer(kinesis, invoked, sqs, batch_size=10, max_record_age=60)
    now = datetime.now(UTC)
    kinesis.put("old-1", now - timedelta(minutes=5))
    kinesis.put("old-2", now - timedelta(minutes=2))
    kinesis.put("new", now)

    assert shard.step() is True

    assert invoked == [["102"]]
    (dead,) = sqs.messages
    assert dead["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "responseContext" not in dead
    info = dead["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("100", "101", 2)
    assert (shard.state.records, shard.state.discarded, shard.state.position) == (1, 2, "102")


def test_an_idle_shard_says_when_it_was_last_caught_up() -> None:
    kinesis, invoked, sqs = FakeKinesis(), list[list[str]](), Sent()
    shard = consumer(kinesis, invoked, sqs)
    kinesis.put("a", datetime.now(UTC))

    shard.step()
    assert shard.state.caught_up_at == 0.0  # it had records to process
    shard.step()

    assert shard.state.caught_up_at > 0
