"""Jobs: the jobs queue (KMS, TLS only, DLQ + alarm), run_jobs (ESM, least privilege, the job buckets only)."""

from __future__ import annotations

import pytest

from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_app_cleanup import QUEUE_CONSUME
from tests.infrastructure.test_events_stack import (
    QUEUE_SEND,
    TABLE_READ,
    TABLE_READ_WRITE,
    _actions_by_resource,
    _arn,
    _key,
    _table_arn,
)

pytestmark = pytest.mark.xdist_group("infrastructure")

JOBS_WORKER = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}


def test_the_jobs_queue_is_encrypted_dead_lettered_and_alarmed(synth: Synthesized) -> None:
    jobs = synth.api.jobs
    function = synth.resource(jobs.run_jobs.function)["Properties"]
    props = synth.resource(jobs.queue)["Properties"]
    assert synth.resolve_import(props["KmsMasterKeyId"]) == _arn(synth, synth.data.key)
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": _arn(synth, jobs.dead_letters), "maxReceiveCount": 5}
    assert props["VisibilityTimeout"] >= 6 * function["Timeout"]
    alarm = synth.resource(jobs.dead_letters_alarm)["Properties"]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    esm = synth.resource(jobs.event_source_mapping)["Properties"]
    assert esm["EventSourceArn"] == _arn(synth, jobs.queue)
    assert (esm["BatchSize"], esm["FunctionResponseTypes"]) == (1, ["ReportBatchItemFailures"])
    assert esm["ScalingConfig"] == {"MaximumConcurrency": 10}
    assert function["Handler"] == "run_jobs.handler.lambda_handler"
    env = synth.resolve_import(function["Environment"]["Variables"])
    assert env["JOBS_QUEUE_URL"] == {"Ref": synth.logical_id(jobs.queue)}
    assert env["JOBS_TABLE"] == {"Ref": synth.logical_id(synth.data.node.find_child("Jobs"))}
    assert env["JOB_BUCKETS"] == "homing-jobs-*"


def test_run_jobs_role_is_least_privilege(synth: Synthesized) -> None:
    jobs = synth.api.jobs
    statements = synth.role_statements(jobs.run_jobs.role)
    granted = _actions_by_resource(statements)
    endpoints_indexes = {"Fn::Join": ["", [_table_arn(synth, "Endpoints"), "/index/*"]]}
    s3 = {k: v for k, v in granted.items() if any(a.startswith("s3:") for a in v)}
    assert s3 == {
        _key({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::homing-jobs-*"]]}): {"s3:ListBucket"},
        _key({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::homing-jobs-*/*"]]}): {
            "s3:GetObject",
            "s3:PutObject",
        },
    }
    dynamodb = {k: v for k, v in granted.items() if any(a.startswith("dynamodb:") for a in v)}
    expected = {
        _key(_table_arn(synth, "Apps")): TABLE_READ,
        _key(_table_arn(synth, "Endpoints")): TABLE_READ_WRITE,
        _key(endpoints_indexes): TABLE_READ_WRITE,
        _key(_table_arn(synth, "Catalog")): TABLE_READ_WRITE,
        _key(_table_arn(synth, "Segments")): TABLE_READ_WRITE,  # DefineSegment; a segment's export
        _key(_table_arn(synth, "Jobs")): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
        },
        _key(_table_arn(synth, "Analytics")): {"dynamodb:BatchGetItem"},  # a segment export's Recency
    }
    assert dynamodb == expected
    assert granted[_key(_arn(synth, jobs.queue))] == QUEUE_SEND | QUEUE_CONSUME


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("homing-jobs-*",)),
        ("customer-exports, homing-jobs-*", ("customer-exports", "homing-jobs-*")),
        ('["customer-exports"]', ("customer-exports",)),
        (["a", "b"], ("a", "b")),
    ],
)
def test_job_buckets_come_from_the_context(value: object, expected: tuple[str, ...]) -> None:
    from aws_cdk import App, Stack

    from stacks.constructs.jobs import job_buckets

    context = {} if value is None else {"job_buckets": value}
    assert job_buckets(Stack(App(context=context), "S")) == expected
