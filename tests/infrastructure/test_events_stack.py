"""EventsStack: process_events on the events stream (ESM settings, DLQ, alarms, least privilege) and the archive."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("infrastructure")

PROCESS_EVENTS_ENV = {  # only the tables it uses: no Endpoints, no Catalog
    "APPS_TABLE": "Apps",
    "ANALYTICS_TABLE": "Analytics",
    "EVENT_STREAMS_TABLE": "EventStreams",
    "TIMELINES_TABLE": "Timelines",
    "CAMPAIGNS_TABLE": "Campaigns",  # event-triggered campaigns
}
TABLE_READ = {
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:Query",
    "dynamodb:Scan",
}
TABLE_READ_WRITE = TABLE_READ | {
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
}
TABLE_WRITE = {
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
}
STREAM_READ = {
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamConsumer",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:ListStreams",
    "kinesis:SubscribeToShard",
}
QUEUE_SEND = {"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}
OWN_ACCOUNT_ROLES = {
    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/*"]]
}
ARCHIVE_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
ERROR_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _arn(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(construct), "Arn"]}


def _table_arn(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    return _arn(synth, synth.data.node.find_child(construct_id))


def _actions_by_resource(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """``_key(resource)`` -> every action any Allow statement grants on it."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for resource in _as_list(statement["Resource"]):
            granted.setdefault(_key(resource), set()).update(_as_list(statement["Action"]))
    return granted


def _esm(synth: Synthesized) -> dict[str, Any]:
    (esm,) = synth.resources(synth.events, "AWS::Lambda::EventSourceMapping").values()
    assert esm is synth.resource(synth.events.processing.event_source_mapping)
    props: dict[str, Any] = esm["Properties"]
    return props


def _process_events(synth: Synthesized) -> dict[str, Any]:
    return synth.resource(synth.events.processing.process_events.function)["Properties"]


def _delivery_stream(synth: Synthesized) -> dict[str, Any]:
    (stream,) = synth.resources(synth.events, "AWS::KinesisFirehose::DeliveryStream").values()
    props: dict[str, Any] = stream["Properties"]
    return props


# -- process_events and its event-source mapping --------------------------------------------------


def test_process_events_is_triggered_by_the_events_stream(synth: Synthesized) -> None:
    esm = _esm(synth)

    assert synth.resolve_import(esm["EventSourceArn"]) == _arn(synth, synth.data.event_stream)
    assert esm["FunctionName"] == {"Ref": synth.logical_id(synth.events.processing.process_events.function)}
    assert esm["StartingPosition"] == "TRIM_HORIZON"
    assert esm["BatchSize"] == 500
    assert esm["MaximumBatchingWindowInSeconds"] == 5


def test_esm_reports_partial_failures_bisects_and_retries_a_bounded_number_of_times(synth: Synthesized) -> None:
    esm = _esm(synth)

    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["BisectBatchOnFunctionError"] is True
    assert esm["MaximumRetryAttempts"] == 5
    assert esm["MaximumRecordAgeInSeconds"] == 24 * 3600


def test_esm_processes_each_shard_in_order(synth: Synthesized) -> None:
    """Exactly-once counting keeps one checkpoint per shard: more than one batch per shard would skip records."""
    assert _esm(synth)["ParallelizationFactor"] == 1


def test_esm_sends_failed_batches_to_the_dead_letter_queue(synth: Synthesized) -> None:
    assert _esm(synth)["DestinationConfig"] == {
        "OnFailure": {"Destination": _arn(synth, synth.events.processing.dead_letters)}
    }


def test_process_events_function_settings(synth: Synthesized) -> None:
    props = _process_events(synth)
    layers = synth.resources(synth.events, "AWS::Lambda::LayerVersion")

    assert props["Handler"] == "process_events.handler.lambda_handler"
    assert props["MemorySize"] == 1024
    assert props["Timeout"] == 300
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogGroup"] == {
        "Ref": synth.logical_id(synth.events.processing.process_events.log_group)
    }
    assert len(layers) == 2
    assert sorted(props["Layers"], key=str) == sorted(({"Ref": lid} for lid in layers), key=str)
    # Same code asset as the api function: the whole functions/ folder.
    api_code = synth.resource(synth.api.api_function.function)["Properties"]["Code"]
    assert props["Code"]["S3Key"] == api_code["S3Key"]


def test_process_events_environment(synth: Synthesized) -> None:
    env = synth.resolve_import(_process_events(synth)["Environment"]["Variables"])

    assert set(env) == {
        *PROCESS_EVENTS_ENV,
        "RESOURCE_ARN_PREFIX",
        "EVENT_STREAM_ACCOUNTS",
        "CAMPAIGN_SENDER_FUNCTION",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    # event-triggered campaigns' sends: the Api stack's send_batch
    assert env["CAMPAIGN_SENDER_FUNCTION"] == {"Ref": synth.logical_id(synth.api.campaign_sending.function)}
    for name, construct_id in PROCESS_EVENTS_ENV.items():
        assert env[name] == {"Ref": synth.logical_id(synth.data.node.find_child(construct_id))}
    api_env = synth.resource(synth.api.api_function.function)["Properties"]["Environment"]["Variables"]
    assert env["RESOURCE_ARN_PREFIX"] == api_env["RESOURCE_ARN_PREFIX"]
    # default: only the deployment's own account may hold event-stream roles and streams
    assert env["EVENT_STREAM_ACCOUNTS"] == api_env["EVENT_STREAM_ACCOUNTS"] == {"Ref": "AWS::AccountId"}


def test_process_events_role_is_least_privilege(synth: Synthesized) -> None:
    processing = synth.events.processing
    role_id = synth.logical_id(processing.process_events.role)
    role = synth.template(synth.events)["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role

    granted = _actions_by_resource(synth.role_statements(processing.process_events.role))

    assert granted == {
        _key(_table_arn(synth, "Analytics")): TABLE_READ_WRITE,  # counters, states, checkpoints
        _key(_table_arn(synth, "EventStreams")): TABLE_READ,  # each app's export target
        _key(_table_arn(synth, "Timelines")): TABLE_WRITE,  # funnel timelines
        _key(_table_arn(synth, "Apps")): {"dynamodb:BatchGetItem"},  # drop the records of deleted apps
        _key(_table_arn(synth, "Campaigns")): {"dynamodb:Query"},  # an app's EVENT campaigns
        _key(_arn(synth, synth.api.campaign_sending.function)): {"lambda:InvokeFunction"},  # send_batch only
        _key(_arn(synth, synth.data.event_stream)): STREAM_READ,
        _key(_arn(synth, processing.dead_letters)): QUEUE_SEND,
        _key(_arn(synth, synth.data.key)): {
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        },
        _key(OWN_ACCOUNT_ROLES): {"sts:AssumeRole"},  # PutEventStream roles, allowed accounts only
        _key(_arn(synth, processing.process_events.log_group)): {"logs:CreateLogStream", "logs:PutLogEvents"},
        _key("*"): {"xray:PutTelemetryRecords", "xray:PutTraceSegments"},
    }


def test_process_events_never_touches_endpoints_or_catalog(synth: Synthesized) -> None:
    resources = {
        _key(r)
        for s in synth.role_statements(synth.events.processing.process_events.role)
        for r in _as_list(s["Resource"])
    }

    for construct_id in ("Endpoints", "Catalog"):
        assert not any(synth.logical_id(synth.data.node.find_child(construct_id)) in r for r in resources)


# -- dead-letter queue and alarms -----------------------------------------------------------------


def test_dead_letter_queue_is_encrypted_with_data_key_and_keeps_messages_14_days(synth: Synthesized) -> None:
    props = synth.resource(synth.events.processing.dead_letters)["Properties"]

    assert synth.resolve_import(props["KmsMasterKeyId"]) == _arn(synth, synth.data.key)
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_dead_letter_queue_is_tls_only(synth: Synthesized) -> None:
    queue_ref = {"Ref": synth.logical_id(synth.events.processing.dead_letters)}
    (policy,) = (
        p["Properties"]
        for p in synth.resources(synth.events, "AWS::SQS::QueuePolicy").values()
        if queue_ref in p["Properties"]["Queues"]
    )

    denials = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s["Action"] == "sqs:*"
        and s["Principal"] == {"AWS": "*"}
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1


def _alarms_on(synth: Synthesized, metric_name: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in synth.resources(synth.events, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric_name
    ]


def test_alarm_when_process_events_falls_behind_the_stream(synth: Synthesized) -> None:
    (alarm,) = _alarms_on(synth, "IteratorAge")

    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": synth.logical_id(synth.events.processing.process_events.function)}}
    ]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 5 * 60 * 1000  # milliseconds
    assert alarm["TreatMissingData"] == "notBreaching"


def test_alarm_when_the_dead_letter_queue_has_messages(synth: Synthesized) -> None:
    queue = synth.logical_id(synth.events.processing.dead_letters)
    (alarm,) = [
        a
        for a in _alarms_on(synth, "ApproximateNumberOfMessagesVisible")
        if a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}
    ]

    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [synth.logical_id(synth.events.processing.dead_letters), "QueueName"]},
        }
    ]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0


# -- archive (Firehose) ---------------------------------------------------------------------------


def test_firehose_reads_the_events_stream(synth: Synthesized) -> None:
    props = _delivery_stream(synth)
    source = props["KinesisStreamSourceConfiguration"]
    source_role = synth.events.archive.delivery_stream.grant_principal

    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert synth.resolve_import(source["KinesisStreamARN"]) == _arn(synth, synth.data.event_stream)
    assert source["RoleARN"] == _arn(synth, source_role)
    assert _actions_by_resource(synth.role_statements(source_role)) == {
        _key(_arn(synth, synth.data.event_stream)): STREAM_READ,
        _key(_arn(synth, synth.data.key)): {"kms:Decrypt"},
    }


def test_firehose_writes_date_partitioned_gzip_ndjson_to_the_archive_with_the_data_key(synth: Synthesized) -> None:
    destination = synth.resolve_import(_delivery_stream(synth)["ExtendedS3DestinationConfiguration"])

    assert destination["BucketARN"] == _arn(synth, synth.data.archive_bucket)
    assert destination["Prefix"] == ARCHIVE_PREFIX
    assert destination["ErrorOutputPrefix"] == ERROR_PREFIX
    assert destination["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 5}
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["EncryptionConfiguration"] == {
        "KMSEncryptionConfig": {"AWSKMSKeyARN": _arn(synth, synth.data.key)}
    }
    assert "ProcessingConfiguration" not in destination  # records are already newline-terminated JSON
    logging = destination["CloudWatchLoggingOptions"]
    assert logging["Enabled"] is True
    assert logging["LogGroupName"] == {"Ref": synth.logical_id(synth.events.archive.log_group)}


def test_firehose_destination_role_may_write_but_not_delete_archive_objects(synth: Synthesized) -> None:
    archive = synth.events.archive
    destination = _delivery_stream(synth)["ExtendedS3DestinationConfiguration"]
    bucket_arn = _arn(synth, synth.data.archive_bucket)
    s3_actions = {
        "s3:AbortMultipartUpload",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
    }

    assert destination["RoleARN"] == _arn(synth, archive.destination_role)
    assert _actions_by_resource(synth.role_statements(archive.destination_role)) == {
        _key(bucket_arn): s3_actions,
        _key({"Fn::Join": ["", [bucket_arn, "/*"]]}): s3_actions,
        _key(_arn(synth, synth.data.key)): {"kms:Decrypt", "kms:GenerateDataKey"},
        _key(_arn(synth, archive.log_group)): {"logs:CreateLogStream", "logs:PutLogEvents"},
    }


def test_firehose_is_created_after_its_destination_policy(synth: Synthesized) -> None:
    (stream,) = synth.resources(synth.events, "AWS::KinesisFirehose::DeliveryStream").values()
    policy = synth.events.archive.destination_role.node.find_child("DefaultPolicy")

    assert synth.logical_id(policy) in stream["DependsOn"]


def test_events_template_has_no_unused_mappings(synth: Synthesized) -> None:
    assert "Mappings" not in synth.template(synth.events)


# -- stack shape ----------------------------------------------------------------------------------


def test_events_stack_is_stateless_and_depends_on_data(synth: Synthesized) -> None:
    stateful = {"AWS::DynamoDB::Table", "AWS::Kinesis::Stream", "AWS::S3::Bucket", "AWS::KMS::Key"}
    manifest = json.loads((synth.outdir / "manifest.json").read_text())

    assert not {r["Type"] for r in synth.template(synth.events)["Resources"].values()} & stateful
    assert synth.data.artifact_id in manifest["artifacts"][synth.events.artifact_id]["dependencies"]


def test_local_mode_keeps_the_consumer_when_unsupported_types_are_stripped(synth: Synthesized) -> None:
    """moto's CloudFormation lacks Firehose and alarms; the deployer strips them, never the ESM or its DLQ."""
    from homing.local.cfn_shims import supported_types
    from homing.local.templates import prepare_template

    processing = synth.events.processing
    prepared, report = prepare_template(synth.template(synth.events), synth.events.stack_name, supported_types())

    kept = prepared["Resources"]
    for construct in (processing.event_source_mapping, processing.process_events.function, processing.dead_letters):
        assert synth.logical_id(construct) in kept
    assert kept[synth.logical_id(processing.event_source_mapping)] == synth.resource(processing.event_source_mapping)
    assert set(report.stripped.values()) <= {
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::CloudWatch::Alarm",
        "AWS::SQS::QueuePolicy",
        # delivery feedback: local mode subscribes the functions itself (homing/local/sns_delivery.py)
        "AWS::SES::ConfigurationSet",
        "AWS::SES::ConfigurationSetEventDestination",
        "AWS::SNS::Subscription",
        "AWS::SNS::TopicPolicy",
        "AWS::Lambda::EventInvokeConfig",
    }


def test_event_stream_accounts_come_from_context() -> None:
    from aws_cdk import App, Stack

    from stacks.arns import event_stream_accounts

    app = App(context={"event_stream_accounts": ["111111111111", "222222222222"]})
    assert event_stream_accounts(Stack(app, "S")) == ["111111111111", "222222222222"]
    with pytest.raises(ValueError, match="12-digit"):
        event_stream_accounts(Stack(App(context={"event_stream_accounts": ["12"]}), "S"))


def test_the_event_stream_principal_is_an_output(synth: Synthesized) -> None:
    output = synth.template(synth.events)["Outputs"]["EventStreamPrincipal"]
    role_id = synth.logical_id(synth.events.processing.process_events.role)
    assert output["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}
