"""AppCleanup: the clean-up queue (KMS, TLS only, DLQ), clean_up_app (ESM, least privilege, grace period), the alarm."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_events_stack import (
    QUEUE_SEND,
    _actions_by_resource,
    _arn,
    _key,
    _table_arn,
)

pytestmark = pytest.mark.xdist_group("infrastructure")

QUEUE_CONSUME = {
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
}


def _function(synth: Synthesized) -> dict[str, Any]:
    return synth.resource(synth.api.cleanup.clean_up_app.function)["Properties"]


def test_queue_and_dead_letter_queue_are_encrypted_with_the_data_key_and_tls_only(synth: Synthesized) -> None:
    cleanup = synth.api.cleanup
    for queue in (cleanup.queue, cleanup.dead_letters):
        props = synth.resource(queue)["Properties"]
        assert synth.resolve_import(props["KmsMasterKeyId"]) == _arn(synth, synth.data.key)
        assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
        queue_ref = {"Ref": synth.logical_id(queue)}
        (policy,) = (
            p["Properties"]
            for p in synth.resources(synth.api, "AWS::SQS::QueuePolicy").values()
            if queue_ref in p["Properties"]["Queues"]
        )
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["PolicyDocument"]["Statement"]
        )
    props = synth.resource(cleanup.queue)["Properties"]
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": _arn(synth, cleanup.dead_letters), "maxReceiveCount": 5}
    assert props["VisibilityTimeout"] >= 6 * _function(synth)["Timeout"]


def test_event_source_mapping_hands_one_task_at_a_time_and_reports_failures(synth: Synthesized) -> None:
    cleanup = synth.api.cleanup
    esm = synth.resource(cleanup.event_source_mapping)  # the jobs queue has a mapping of its own
    props = esm["Properties"]
    assert props["EventSourceArn"] == _arn(synth, cleanup.queue)
    assert props["FunctionName"] == {"Ref": synth.logical_id(cleanup.clean_up_app.function)}
    assert props["BatchSize"] == 1
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_function_environment_names_the_queue_the_grace_period_and_its_tables(synth: Synthesized) -> None:
    function = _function(synth)
    env = synth.resolve_import(function["Environment"]["Variables"])
    tables = {
        "APPS_TABLE": "Apps",
        "ENDPOINTS_TABLE": "Endpoints",
        "CATALOG_TABLE": "Catalog",
        "EVENT_STREAMS_TABLE": "EventStreams",
        "ANALYTICS_TABLE": "Analytics",
        "TIMELINES_TABLE": "Timelines",
        "SEGMENTS_TABLE": "Segments",
        "JOBS_TABLE": "Jobs",
        "CHANNELS_TABLE": "Channels",
        "OTP_TABLE": "Otp",
        "TWO_WAY_SMS_TABLE": "TwoWaySms",
        "CAPS_TABLE": "Caps",
        "CAMPAIGNS_TABLE": "Campaigns",
    }
    assert set(env) == {
        *tables,
        "CLEANUP_QUEUE_URL",
        "CLEANUP_GRACE_SECONDS",
        "AUDIENCE_BUCKET",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    assert env["CLEANUP_QUEUE_URL"] == {"Ref": synth.logical_id(synth.api.cleanup.queue)}
    assert env["AUDIENCE_BUCKET"] == {"Ref": synth.logical_id(synth.data.audience_bucket)}
    assert env["CLEANUP_GRACE_SECONDS"] == "360"  # default: > the API's 29 s and process_events' 5 minutes
    for name, table in tables.items():
        assert env[name] == {"Ref": synth.logical_id(synth.data.node.find_child(table))}
    assert function["Handler"] == "clean_up_app.handler.lambda_handler"
    assert function["Timeout"] == 300


def test_clean_up_role_is_least_privilege(synth: Synthesized) -> None:
    cleanup = synth.api.cleanup
    statements = synth.role_statements(cleanup.clean_up_app.role)
    # The one Deny: the data key opens the tables, never a sealed channel credential.
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert (deny["Action"], deny["Resource"]) == ("kms:Decrypt", _arn(synth, synth.data.key))
    assert deny["Condition"] == {"StringEquals": {"kms:EncryptionContext:homing:purpose": "channel-credential"}}
    granted = _actions_by_resource([s for s in statements if s is not deny])
    platform_applications = {
        "Fn::Join": [
            ":",
            [
                "arn",
                {"Ref": "AWS::Partition"},
                "sns",
                {"Ref": "AWS::Region"},
                {"Ref": "AWS::AccountId"},
                "app/*/homing-*",
            ],
        ]
    }
    endpoints_indexes = {"Fn::Join": ["", [_table_arn(synth, "Endpoints"), "/index/*"]]}
    audience_objects = {"Fn::Join": ["", [_arn(synth, synth.data.audience_bucket), "/audiences/*"]]}
    assert granted == {
        _key(_table_arn(synth, "Apps")): {"dynamodb:GetItem"},  # is the app a tombstone?
        _key(_table_arn(synth, "Endpoints")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(endpoints_indexes): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "Catalog")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "Segments")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "EventStreams")): {"dynamodb:GetItem", "dynamodb:DeleteItem"},
        _key(_table_arn(synth, "TwoWaySms")): {"dynamodb:GetItem", "dynamodb:DeleteItem"},
        _key(_table_arn(synth, "Analytics")): {"dynamodb:Scan", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "Timelines")): {"dynamodb:Scan", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "Jobs")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "Channels")): {"dynamodb:Query", "dynamodb:DeleteItem"},
        _key(platform_applications): {"sns:DeletePlatformApplication"},  # push channels' applications
        _key(_table_arn(synth, "Otp")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(_table_arn(synth, "Caps")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},  # campaign send counters
        _key(_table_arn(synth, "Campaigns")): {"dynamodb:Query", "dynamodb:BatchWriteItem"},
        _key(_arn(synth, cleanup.queue)): QUEUE_SEND | QUEUE_CONSUME,
        _key(_arn(synth, synth.data.key)): {
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        },
        _key(_arn(synth, cleanup.clean_up_app.log_group)): {"logs:CreateLogStream", "logs:PutLogEvents"},
        _key("*"): {"xray:PutTelemetryRecords", "xray:PutTraceSegments"},
        _key(_arn(synth, synth.data.audience_bucket)): {"s3:ListBucket"},  # the app's audiences, by prefix
        _key(audience_objects): {"s3:DeleteObject"},
    }


def test_dead_letters_alarm(synth: Synthesized) -> None:
    props = synth.resource(synth.api.cleanup.dead_letters_alarm)["Properties"]
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synth.logical_id(synth.api.cleanup.dead_letters), "QueueName"]}}
    ]
    assert props["Threshold"] == 0
    assert props["ComparisonOperator"] == "GreaterThanThreshold"


def test_grace_period_must_be_positive() -> None:
    from aws_cdk import App, RemovalPolicy, Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_kinesis as kinesis
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_s3 as s3

    from homing.adapters.dynamodb.tables import TABLES
    from stacks.constructs.app_cleanup import AppCleanup
    from stacks.resources import DataResources

    stack = Stack(App(), "S")
    table = dynamodb.Table(stack, "T", partition_key=dynamodb.Attribute(name="k", type=dynamodb.AttributeType.STRING))
    data = DataResources(
        tables=dict.fromkeys(TABLES, table),
        event_stream=kinesis.Stream(stack, "E"),
        archive_bucket=s3.Bucket(stack, "B"),
        key=kms.Key(stack, "K"),
        audience_bucket=s3.Bucket(stack, "A"),
    )
    with pytest.raises(ValueError, match="at least 1 second"):
        AppCleanup(
            stack,
            "C",
            data=data,
            grace_seconds=0,
            log_retention=logs.RetentionDays.ONE_DAY,
            removal_policy=RemovalPolicy.DESTROY,
        )
