"""ApiStack: IAM on every method, stage throttling and logs, the api function and its least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("infrastructure")

API_ENV_NAMES = {
    "APPS_TABLE",
    "ENDPOINTS_TABLE",
    "CATALOG_TABLE",
    "ANALYTICS_TABLE",
    "EVENT_STREAMS_TABLE",
    "TIMELINES_TABLE",
    "SEGMENTS_TABLE",
    "TEMPLATES_TABLE",
    "EVENT_STREAM_NAME",
    "RESOURCE_ARN_PREFIX",
    "CORS_ALLOW_ORIGINS",
    "EVENT_STREAM_ACCOUNTS",
    "AUDIENCE_BUCKET",
    "AUDIENCE_STATE_MACHINE_ARN",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
    "CLEANUP_QUEUE_URL",
    "JOBS_TABLE",
    "JOBS_QUEUE_URL",
    "TWO_WAY_SMS_TABLE",
    "CAMPAIGNS_TABLE",
    "CAMPAIGN_SCHEDULE_GROUP",
    "CAMPAIGN_SCHEDULER_ROLE_ARN",
    "DELIVERY_STATE_MACHINE_ARN",
    "JOB_BUCKETS",
    "CHANNELS_TABLE",
    "DATA_KEY_ARN",
    "OTP_TABLE",
    "OTP_KEY_ID",
    "DELIVERY_LEDGER_TABLE",  # SendMessages and OTP send in-process (test_senders_stack.py)
    "SMS_CARRIER",
}

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

# What CDK's Table.grant_read_data / grant_read_write_data give (no wildcard actions).
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
STREAM_WRITE = {"kinesis:ListShards", "kinesis:PutRecord", "kinesis:PutRecords"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _stage(synth: Synthesized) -> dict[str, Any]:
    (stage,) = synth.resources(synth.api, "AWS::ApiGateway::Stage").values()
    return stage["Properties"]


def _api_function(synth: Synthesized) -> dict[str, Any]:
    return synth.resource(synth.api.api_function.function)["Properties"]


def test_every_method_requires_iam_authorization(synth: Synthesized) -> None:
    """Except the CORS preflights (MOCK OPTIONS, test_browser_access.py): they reach no function."""
    methods = _proxy_methods(synth)

    assert len(methods) == 2  # ANY / and ANY /{proxy+}
    assert {m["Properties"]["AuthorizationType"] for m in methods} == {"AWS_IAM"}
    assert not synth.resources(synth.api, "AWS::ApiGateway::Authorizer")


def _proxy_methods(synth: Synthesized) -> list[dict[str, Any]]:
    methods = synth.resources(synth.api, "AWS::ApiGateway::Method").values()
    return [m for m in methods if m["Properties"]["HttpMethod"] != "OPTIONS"]


def test_api_proxies_every_path_and_method_to_the_api_function(synth: Synthesized) -> None:
    methods = _proxy_methods(synth)
    resources = synth.resources(synth.api, "AWS::ApiGateway::Resource").values()
    function_arn = {"Fn::GetAtt": [synth.logical_id(synth.api.api_function.function), "Arn"]}

    assert [r["Properties"]["PathPart"] for r in resources] == ["{proxy+}"]
    for method in methods:
        props = method["Properties"]
        assert props["HttpMethod"] == "ANY"
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert function_arn in props["Integration"]["Uri"]["Fn::Join"][1]


def test_stage_is_prod_and_throttled_from_env_config(synth: Synthesized, dev_environment: dict[str, Any]) -> None:
    stage = _stage(synth)
    (settings,) = stage["MethodSettings"]

    assert stage["StageName"] == "prod"
    assert settings["HttpMethod"] == "*"
    assert settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == dev_environment["api_throttling_rate_limit"]
    assert settings["ThrottlingBurstLimit"] == dev_environment["api_throttling_burst_limit"]


def test_stage_logs_errors_and_metrics_but_no_bodies(synth: Synthesized) -> None:
    (settings,) = _stage(synth)["MethodSettings"]

    assert settings["LoggingLevel"] in {"ERROR", "INFO"}
    assert settings["MetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False


def test_stage_writes_json_access_logs_to_its_log_group(synth: Synthesized) -> None:
    access = _stage(synth)["AccessLogSetting"]
    log_group = {"Ref": synth.logical_id(synth.api.api.access_logs)}

    assert log_group in access["DestinationArn"]["Fn::Join"][1]
    fields = json.loads(access["Format"])
    assert {"requestId", "ip", "caller", "user", "httpMethod", "resourcePath", "status"} <= set(fields)


def test_api_url_is_an_output(synth: Synthesized) -> None:
    output = synth.template(synth.api)["Outputs"]["ApiUrl"]

    parts = output["Value"]["Fn::Join"][1]
    assert parts[0] == "https://"
    assert parts[-1] == "/prod/"


def test_api_function_is_arm64_latest_python_with_json_logs_and_tracing(synth: Synthesized) -> None:
    from aws_cdk import aws_lambda

    props = _api_function(synth)
    latest_python = max(
        (r.name for r in aws_lambda.Runtime.ALL if r.name.startswith("python3.")),
        key=lambda name: int(name.split(".")[1]),
    )

    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == latest_python
    assert props["Handler"] == "api.handler.lambda_handler"
    assert props["MemorySize"] == 512
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": synth.logical_id(synth.api.api_function.log_group)}


def test_api_function_log_group_has_retention(synth: Synthesized) -> None:
    log_group = synth.resource(synth.api.api_function.log_group)

    assert log_group["Properties"]["RetentionInDays"] > 0


def test_api_function_has_both_layers(synth: Synthesized) -> None:
    layers = synth.resources(synth.api, "AWS::Lambda::LayerVersion")

    assert len(layers) == 2
    assert sorted(_api_function(synth)["Layers"], key=str) == sorted(({"Ref": lid} for lid in layers), key=str)
    for layer in layers.values():
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
        assert layer["Properties"]["CompatibleRuntimes"] == [_api_function(synth)["Runtime"]]


def test_api_function_environment(synth: Synthesized) -> None:
    env = synth.resolve_import(_api_function(synth)["Environment"]["Variables"])

    assert set(env) == API_ENV_NAMES
    for name, construct_id in (
        ("APPS_TABLE", "Apps"),
        ("ENDPOINTS_TABLE", "Endpoints"),
        ("CATALOG_TABLE", "Catalog"),
        ("ANALYTICS_TABLE", "Analytics"),
        ("EVENT_STREAMS_TABLE", "EventStreams"),
        ("TIMELINES_TABLE", "Timelines"),
        ("SEGMENTS_TABLE", "Segments"),
        ("JOBS_TABLE", "Jobs"),
        ("CHANNELS_TABLE", "Channels"),
        ("OTP_TABLE", "Otp"),
        ("TEMPLATES_TABLE", "Templates"),
        ("TWO_WAY_SMS_TABLE", "TwoWaySms"),
        ("DELIVERY_LEDGER_TABLE", "DeliveryLedger"),
        ("CAMPAIGNS_TABLE", "Campaigns"),
    ):
        assert env[name] == {"Ref": synth.logical_id(synth.data.node.find_child(construct_id))}
    assert env["EVENT_STREAM_NAME"] == {"Ref": synth.logical_id(synth.data.event_stream)}
    assert env["RESOURCE_ARN_PREFIX"] == {
        "Fn::Join": [
            ":",
            ["arn", {"Ref": "AWS::Partition"}, "mobiletargeting", {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}],
        ]
    }
    assert env["POWERTOOLS_SERVICE_NAME"] == "homing"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Homing"
    assert env["LOG_LEVEL"] == "INFO"
    assert env["CORS_ALLOW_ORIGINS"] == "*"
    assert env["CLEANUP_QUEUE_URL"] == {"Ref": synth.logical_id(synth.api.cleanup.queue)}
    assert env["JOBS_QUEUE_URL"] == {"Ref": synth.logical_id(synth.api.jobs.queue)}
    assert env["JOB_BUCKETS"] == "homing-jobs-*"
    assert env["AUDIENCE_BUCKET"] == {"Ref": synth.logical_id(synth.data.audience_bucket)}
    assert env["AUDIENCE_STATE_MACHINE_ARN"] == {"Ref": synth.logical_id(synth.api.audiences.state_machine)}
    assert env["DATA_KEY_ARN"] == {"Fn::GetAtt": [synth.logical_id(synth.data.key), "Arn"]}
    assert env["OTP_KEY_ID"] == {"Fn::GetAtt": [synth.logical_id(synth.api.otp_key), "Arn"]}


def _role_statements(synth: Synthesized) -> list[dict[str, Any]]:
    """Every statement any policy grants the api function's role (inline, attached or managed)."""
    role_id = synth.logical_id(synth.api.api_function.role)
    role = synth.template(synth.api)["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role  # no AWSLambdaBasicExecutionRole: logs are granted per group
    statements: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in synth.resources(synth.api, kind).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return [synth.resolve_import(s) for s in statements]


def _actions_by_resource(statements: list[dict[str, Any]], service: str) -> dict[str, set[str]]:
    """``json.dumps(resource)`` -> every ``service`` action any statement allows on it."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        actions = {a for a in _as_list(statement["Action"]) if a.startswith(f"{service}:")}
        for resource in _as_list(statement["Resource"]) if actions else []:
            granted.setdefault(json.dumps(resource, sort_keys=True), set()).update(actions)
    return granted


def _arn(logical_id: str) -> str:
    return json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}, sort_keys=True)


def test_api_role_is_least_privilege(synth: Synthesized) -> None:
    tables = {
        name: synth.logical_id(synth.data.node.find_child(name))
        for name in (
            "Apps",
            "Endpoints",
            "Catalog",
            "Analytics",
            "EventStreams",
            "Timelines",
            "Segments",
            "Jobs",
            "Channels",
            "Otp",
            "Templates",
            "TwoWaySms",
            "DeliveryLedger",
            "Campaigns",
        )
    }
    endpoints_indexes = {"Fn::Join": ["", [{"Fn::GetAtt": [tables["Endpoints"], "Arn"]}, "/index/*"]]}
    key_arn = {"Fn::GetAtt": [synth.logical_id(synth.data.key), "Arn"]}
    log_group_arn = {"Fn::GetAtt": [synth.logical_id(synth.api.api_function.log_group), "Arn"]}

    everything = _role_statements(synth)
    # The one Deny: channel credentials sealed with the data key are never decrypted by the api.
    (deny,) = [s for s in everything if s["Effect"] == "Deny"]
    assert (deny["Action"], deny["Resource"]) == ("kms:Decrypt", key_arn)
    assert deny["Condition"] == {"StringEquals": {"kms:EncryptionContext:homing:purpose": "channel-credential"}}
    statements = [s for s in everything if s is not deny]
    by_service: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        services = {action.split(":")[0] for action in _as_list(statement["Action"])}
        assert len(services) == 1, f"statement mixes services: {statement}"
        by_service.setdefault(services.pop(), []).append(statement)

    # ses, sms-voice, lambda (custom channels), SNS push and the ledger: exactly send_messages' sending grants
    # (tests/infrastructure/test_senders_stack.py); what follows checks the rest.
    assert set(by_service) == {
        *("dynamodb", "kinesis", "kms", "logs", "s3", "sns", "sqs", "states", "xray"),
        *("ses", "sms-voice", "lambda"),
        *("scheduler", "iam"),  # campaigns' runs armed on Scheduler, passing its one role
    }

    # Resource "*" only where CDK requires it: X-Ray (Lambda active tracing) has no resource-level permissions.
    wildcard = [s for s in statements if "*" in _as_list(s["Resource"])]
    assert wildcard == by_service["xray"]
    assert {a for s in by_service["xray"] for a in _as_list(s["Action"])} == XRAY_ACTIONS

    # Read/write where the API writes; Analytics is written by process_events only.
    assert _actions_by_resource(statements, "dynamodb") == {
        _arn(tables["Apps"]): TABLE_READ_WRITE,
        _arn(tables["Endpoints"]): TABLE_READ_WRITE,
        json.dumps(endpoints_indexes, sort_keys=True): TABLE_READ_WRITE,
        _arn(tables["Catalog"]): TABLE_READ_WRITE,
        _arn(tables["EventStreams"]): TABLE_READ_WRITE,
        _arn(tables["Segments"]): TABLE_READ_WRITE,
        _arn(tables["Templates"]): TABLE_READ_WRITE,  # message templates and their versions
        _arn(tables["Analytics"]): TABLE_READ | {"dynamodb:DeleteItem"},  # DeleteUserEndpoints: activity
        _arn(tables["Timelines"]): TABLE_READ,  # funnels
        _arn(tables["Jobs"]): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"},
        _arn(tables["Channels"]): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"},
        _arn(tables["Otp"]): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},  # send, verify
        _arn(tables["TwoWaySms"]): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
        _arn(tables["DeliveryLedger"]): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        # head + version + segment usage in one transaction; activities; a deleted campaign's history
        _arn(tables["Campaigns"]): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "dynamodb:BatchWriteItem",
        },
    }
    # Push channels: Homing's own SNS platform applications only (homing-<app>-<type>).
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
    sending = ("sns:CreatePlatformEndpoint", "sns:Publish", "sns:GetEndpointAttributes", "sns:SetEndpointAttributes")
    channel_sns = {k: v for k, v in _actions_by_resource(statements, "sns").items() if not v & set(sending)}
    assert channel_sns == {
        json.dumps(platform_applications, sort_keys=True): {
            "sns:CreatePlatformApplication",
            "sns:SetPlatformApplicationAttributes",
            "sns:DeletePlatformApplication",
        }
    }
    # DeleteApp and Create*Job: send a task to the clean-up or jobs queue, nothing else with SQS.
    send = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert _actions_by_resource(statements, "sqs") == {
        _arn(synth.logical_id(synth.api.cleanup.queue)): send,
        _arn(synth.logical_id(synth.api.jobs.queue)): send,
    }
    # PutEvents: put records on the events stream, nothing else on it (no reads, no other stream).
    assert _actions_by_resource(statements, "kinesis") == {
        _arn(synth.logical_id(synth.data.event_stream)): STREAM_WRITE
    }

    # The audience extension: start the resolution workflow; get/put objects under audiences/, list the bucket.
    # Campaigns: start an IMMEDIATE run of the delivery workflow.
    assert _actions_by_resource(statements, "states") == {
        json.dumps({"Ref": synth.logical_id(synth.api.audiences.state_machine)}, sort_keys=True): {
            "states:StartExecution"
        },
        json.dumps({"Ref": synth.logical_id(synth.api.campaign_delivery.state_machine)}, sort_keys=True): {
            "states:StartExecution"
        },
    }
    # Campaigns' schedules: the adapter's four calls on the homing-campaigns group; pass only Scheduler's role.
    (schedules,) = by_service["scheduler"]
    assert set(_as_list(schedules["Action"])) == {
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:GetSchedule",
        "scheduler:DeleteSchedule",
    }
    assert "schedule/homing-campaigns/*" in json.dumps(schedules["Resource"])
    (pass_role,) = by_service["iam"]
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == {
        "Fn::GetAtt": [synth.logical_id(synth.api.campaign_delivery.scheduling.role), "Arn"]
    }
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    assert {a for s in by_service["s3"] for a in _as_list(s["Action"])} == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
    }

    otp_key_arn = {"Fn::GetAtt": [synth.logical_id(synth.api.otp_key), "Arn"]}
    assert _actions_by_resource(statements, "kms")[_arn(synth.logical_id(synth.api.otp_key))] == {"kms:GenerateMac"}
    for statement in by_service["kms"]:
        assert _as_list(statement["Resource"]) in ([key_arn], [otp_key_arn])
    for statement in by_service["logs"]:
        assert _as_list(statement["Resource"]) == [log_group_arn]
        assert set(_as_list(statement["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}


def test_api_function_may_not_touch_archive_or_firehose_or_assume_roles(synth: Synthesized) -> None:
    actions = {a for s in _role_statements(synth) for a in _as_list(s["Action"])}
    audience_bucket = synth.logical_id(synth.data.audience_bucket)

    assert not {a for a in actions if a.startswith(("firehose:", "sts:"))}
    s3_resources = [
        r
        for s in _role_statements(synth)
        if "s3:GetObject" in _as_list(s["Action"]) or "s3:ListBucket" in _as_list(s["Action"])
        for r in _as_list(s["Resource"])
    ]
    assert s3_resources
    assert all(audience_bucket in json.dumps(r) for r in s3_resources)  # the audience bucket only
