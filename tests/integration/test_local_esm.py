"""Kinesis event-source mappings polled by local mode (esm.py), against a moto server of their own.

Each test deploys a small stack of its own through the AWS APIs: a stream, an on-failure queue
and a tiny Python function, run by the local runner in a warm worker, that records every batch
it receives in S3 and fails on marked records (``raise:`` fails the invocation, ``fail:`` is
reported as a batch item failure).
"""

from __future__ import annotations

import io
import json
import os
import textwrap
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from homing.local.esm import EsmPoller, FailureDestinations

HANDLER = """
import base64, json, os, time, uuid
import boto3

s3 = boto3.client("s3")

def handler(event, context):
    records = event["Records"]
    items = [(r["kinesis"]["sequenceNumber"], base64.b64decode(r["kinesis"]["data"]).decode()) for r in records]
    key = f"{os.environ['PREFIX']}/{time.time_ns():020d}-{uuid.uuid4().hex[:6]}"
    s3.put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps([d for _, d in items]))
    if any(d.startswith("raise") for _, d in items):
        raise ValueError("poison record")
    return {"batchItemFailures": [{"itemIdentifier": s} for s, d in items if d.startswith("fail")]}
"""
BUCKET = "esm-test-seen"


@dataclass
class Local:
    moto: Any
    poller: EsmPoller
    zip_bytes: bytes
    role: str


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from homing.local import runner as runner_module
    from homing.local.__main__ import _moto_invoker
    from homing.local.esm import take_over_kinesis_mappings
    from homing.local.moto_stack import MotoStack

    saved_env = {k: os.environ.get(k) for k in ("MOTO_PORT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    saved = (LambdaFunction._invoke_lambda, LambdaBackend.create_event_source_mapping)
    moto = MotoStack()
    moto.start()
    runner = runner_module.Runner(moto.url, runner_module.CodeLocator(), max_workers=2)
    poller: EsmPoller | None = None
    try:
        runner_module.install(runner)
        take_over_kinesis_mappings()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", textwrap.dedent(HANDLER))
        role = moto.client("iam").create_role(
            RoleName="esm-test", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        moto.client("s3").create_bucket(Bucket=BUCKET)
        invoke = _moto_invoker(moto, DEFAULT_ACCOUNT_ID)
        destinations = FailureDestinations(moto.client("sqs"), moto.client("sns"))
        poller = EsmPoller(moto.client("lambda"), moto.client("kinesis"), invoke, destinations, retry_delay=0)
        poller.start()
        yield Local(moto, poller, buffer.getvalue(), role)
    finally:
        if poller is not None:
            poller.stop()
        runner.close()
        moto.stop()
        LambdaFunction._invoke_lambda, LambdaBackend.create_event_source_mapping = saved  # type: ignore[method-assign]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Pipeline:
    local: Local
    stream_arn: str
    dlq_url: str
    prefix: str
    uuid: str = ""

    def put(self, records: list[str]) -> list[str]:
        """Put records on the (single-shard) stream in order; their sequence numbers."""
        kinesis = self.local.moto.client("kinesis")
        entries = [{"Data": r.encode(), "PartitionKey": "p"} for r in records]
        response = kinesis.put_records(StreamARN=self.stream_arn, Records=entries)
        return [r["SequenceNumber"] for r in response["Records"]]

    def map(self, **settings: Any) -> None:
        """Create the mapping (after the records are on the stream, so the first read takes them all)."""
        lam = self.local.moto.client("lambda")
        self.uuid = lam.create_event_source_mapping(
            FunctionName=self.prefix,
            EventSourceArn=self.stream_arn,
            StartingPosition="TRIM_HORIZON",
            DestinationConfig={"OnFailure": {"Destination": self.dlq_arn}},
            **settings,
        )["UUID"]
        self.local.poller.discover()

    @property
    def dlq_arn(self) -> str:
        sqs = self.local.moto.client("sqs")
        return str(
            sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )

    def wait_done(self, total: int) -> dict[str, Any]:
        """Wait (bounded) until every record was processed or discarded; the consumer's state."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = [r for r in self.local.poller.states() if r["UUID"] == self.uuid]
            if rows and rows[0]["RecordsProcessed"] + rows[0]["RecordsDiscarded"] >= total:
                return rows[0]
            time.sleep(0.05)
        raise AssertionError(f"not all records handled: {self.local.poller.states()}")

    def batches(self) -> list[list[str]]:
        s3 = self.local.moto.client("s3")
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=self.prefix + "/").get("Contents", []))
        return [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys]

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs = self.local.moto.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def pipeline(local: Local) -> Pipeline:
    name = f"esm-{uuid.uuid4().hex[:8]}"
    kinesis = local.moto.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    dlq_url = local.moto.client("sqs").create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    local.moto.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=local.role,
        Handler="index.handler",
        Code={"ZipFile": local.zip_bytes},
        Timeout=30,
        Environment={"Variables": {"BUCKET": BUCKET, "PREFIX": name}},
    )
    return Pipeline(local, stream_arn, dlq_url, name)


def test_records_arrive_in_batches_of_batch_size_in_order(pipeline: Pipeline) -> None:
    records = [f"r{i}" for i in range(25)]
    pipeline.put(records)
    pipeline.map(BatchSize=10)

    state = pipeline.wait_done(25)

    assert pipeline.batches() == [records[:10], records[10:20], records[20:]]
    assert (state["RecordsProcessed"], state["RecordsDiscarded"], state["LastProcessingResult"]) == (25, 0, "OK")
    assert pipeline.dead_letters() == []


def test_put_records_does_not_invoke_the_function(pipeline: Pipeline) -> None:
    pipeline.map(BatchSize=10, Enabled=False)  # moto would invoke per record inside PutRecords
    pipeline.put(["a", "b"])

    assert pipeline.batches() == []


def test_partial_batch_response_retries_from_the_lowest_failed_record(pipeline: Pipeline) -> None:
    records = ["r0", "r1", "fail-r2", "r3", "fail-r4", "r5"]
    sequences = pipeline.put(records)
    pipeline.map(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1)

    state = pipeline.wait_done(6)

    # r0, r1 are checkpointed; the retry starts at the lowest failed record and fails again.
    assert pipeline.batches() == [records, records[2:]]
    (dead,) = pipeline.dead_letters()
    assert dead["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert dead["requestContext"]["approximateInvokeCount"] == 2
    assert "functionError" not in dead["responseContext"]
    info = dead["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequences[2],
        sequences[5],
        4,
    )
    assert info["shardId"] == "shardId-000000000000"
    assert info["streamArn"] == pipeline.stream_arn
    assert (state["RecordsProcessed"], state["RecordsDiscarded"]) == (2, 4)


def test_bisect_isolates_a_poison_record_which_reaches_the_dlq_while_the_rest_is_processed(
    pipeline: Pipeline,
) -> None:
    records = [f"r{i}" for i in range(8)]
    records[5] = "raise-r5"
    sequences = pipeline.put(records)
    pipeline.map(BatchSize=8, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2)

    state = pipeline.wait_done(8)

    r = records
    assert (
        pipeline.batches()
        == [
            r,  # fails: split (splits do not use up retries)
            r[:4],  # ok
            r[4:],  # fails: split
            r[4:6],  # fails: split
            r[4:5],  # ok
            r[5:6],  # fails, then two retries
            r[5:6],
            r[5:6],
            r[6:],  # ok: processing goes on after the poison record
        ]
    )
    (dead,) = pipeline.dead_letters()
    assert dead["requestContext"]["approximateInvokeCount"] == 3
    assert dead["responseContext"]["functionError"] == "Unhandled"
    info = dead["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequences[5],
        sequences[5],
        1,
    )
    assert (state["RecordsProcessed"], state["RecordsDiscarded"]) == (7, 1)
    assert state["Position"] == sequences[7]


def test_without_bisect_the_whole_batch_is_retried_then_discarded(pipeline: Pipeline) -> None:
    pipeline.put(["a", "raise-b", "c"])
    pipeline.map(BatchSize=3, MaximumRetryAttempts=2)
    pipeline.wait_done(3)
    pipeline.put(["d"])  # the shard is not blocked after the discard

    pipeline.wait_done(4)

    assert pipeline.batches() == [["a", "raise-b", "c"]] * 3 + [["d"]]
    (dead,) = pipeline.dead_letters()
    assert dead["KinesisBatchInfo"]["batchSize"] == 3
    assert dead["requestContext"]["approximateInvokeCount"] == 3


def test_deleted_mapping_stops_its_consumer(pipeline: Pipeline) -> None:
    pipeline.put(["a"])
    pipeline.map(BatchSize=10)
    pipeline.wait_done(1)

    pipeline.local.moto.client("lambda").delete_event_source_mapping(UUID=pipeline.uuid)
    pipeline.local.poller.discover()
    pipeline.put(["b"])

    assert [r for r in pipeline.local.poller.states() if r["UUID"] == pipeline.uuid] == []
    assert pipeline.batches() == [["a"]]


def test_a_re_enabled_mapping_goes_on_from_its_checkpoint(pipeline: Pipeline) -> None:
    lam = pipeline.local.moto.client("lambda")
    pipeline.put(["a", "b"])
    pipeline.map(BatchSize=10)
    pipeline.wait_done(2)
    lam.update_event_source_mapping(UUID=pipeline.uuid, Enabled=False)
    pipeline.local.poller.discover()
    pipeline.put(["c"])
    assert [r["State"] for r in pipeline.local.poller.states() if r["UUID"] == pipeline.uuid] == ["Disabled"]

    lam.update_event_source_mapping(UUID=pipeline.uuid, Enabled=True)
    pipeline.local.poller.discover()
    state = pipeline.wait_done(1)

    assert pipeline.batches() == [["a", "b"], ["c"]]  # nothing read twice
    assert state["RecordsProcessed"] == 1
