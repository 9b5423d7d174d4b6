"""Data lifecycle and operations settings: archive retention, events stream capacity, alarm
notifications and reserved concurrency, with their defaults (the session synth) and overrides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.conftest import REPO_ROOT, TEST_CONTEXT, Synthesized, synthesize

pytestmark = pytest.mark.xdist_group("infrastructure")

COMPLETE = {
    "api_throttling_rate_limit": 10,
    "api_throttling_burst_limit": 20,
    "log_retention": "ONE_WEEK",
    "removal_policy": "destroy",
}
# As ``cdk deploy -c key=value`` passes them: strings, overriding cdk.json's environment.
OVERRIDES: dict[str, Any] = {
    "archive_retention_days": "never",
    "event_stream_mode": "on-demand",
    "alarm_email": "ops@example.com",
    "reserved_concurrency": '{"api": 20, "process_events": 2}',
}


def _lifecycle_rules(synth: Synthesized) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = synth.resource(synth.data.archive_bucket)["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    return rules


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        f"{name}/{logical_id}": resource["Properties"]
        for name, template in synth.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def _functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        f"{name}/{logical_id}": resource["Properties"]
        for name, template in synth.templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def _topic_policy(synth: Synthesized) -> list[dict[str, Any]]:
    topic_ref = {"Ref": synth.logical_id(synth.monitoring.alarm_topic.topic)}
    (policy,) = (
        p["Properties"]
        for p in synth.resources(synth.monitoring, "AWS::SNS::TopicPolicy").values()
        if topic_ref in p["Properties"]["Topics"]
    )
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


@pytest.fixture(scope="module")
def overridden(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The whole app synthesized with every setting overridden from the command-line context."""
    return synthesize({**TEST_CONTEXT, **OVERRIDES}, tmp_path_factory.mktemp("cdk.out.overridden"))


# -- archive retention ----------------------------------------------------------------------------


def test_archived_events_expire_after_365_days_by_default(synth: Synthesized, dev_environment: dict[str, Any]) -> None:
    assert dev_environment["archive_retention_days"] == 365
    assert _lifecycle_rules(synth) == [
        {
            "Id": "Retention",
            "Status": "Enabled",
            "ExpirationInDays": 365,
            # versioned bucket: the expired version is removed 30 days later
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]


def test_archive_retention_never_keeps_events_but_still_cleans_up(overridden: Synthesized) -> None:
    assert _lifecycle_rules(overridden) == [
        {
            "Id": "Retention",
            "Status": "Enabled",
            "ExpiredObjectDeleteMarker": True,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]


def test_archive_retention_days_from_the_environment() -> None:
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from app import cdk_json_context
    from stacks.config import EnvConfig
    from stacks.data_stack import DataStack

    config = EnvConfig.from_mapping("dev", {**COMPLETE, "archive_retention_days": 30, "event_stream_shards": 4})
    stack = DataStack(App(context=cdk_json_context()), config.stack_id("Data"), config=config)
    template = Template.from_stack(stack).to_json()

    (bucket,) = (
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket" and "Retention" in json.dumps(r["Properties"].get("LifecycleConfiguration"))
    )
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30
    (stream,) = (r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Kinesis::Stream")
    assert stream["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert stream["ShardCount"] == 4


def test_access_logs_keep_their_own_retention(synth: Synthesized) -> None:
    """The retention setting is about events; the access logs bucket's year is independent of it."""
    (rule,) = synth.resource(synth.data.access_logs_bucket)["Properties"]["LifecycleConfiguration"]["Rules"]

    assert rule["ExpirationInDays"] == 365


# -- events stream capacity -----------------------------------------------------------------------


def test_events_stream_is_provisioned_with_one_shard_by_default(
    synth: Synthesized, dev_environment: dict[str, Any]
) -> None:
    props = synth.resource(synth.data.event_stream)["Properties"]

    assert (dev_environment["event_stream_mode"], dev_environment["event_stream_shards"]) == ("provisioned", 1)
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["ShardCount"] == 1
    assert props["RetentionPeriodHours"] == 24


def test_events_stream_can_be_on_demand(overridden: Synthesized) -> None:
    props = overridden.resource(overridden.data.event_stream)["Properties"]

    assert props["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in props


def test_local_mode_deploys_the_provisioned_stream(synth: Synthesized) -> None:
    from homing.local.cfn_shims import supported_types
    from homing.local.templates import prepare_template

    prepared, _ = prepare_template(synth.template(synth.data), synth.data.stack_name, supported_types())

    assert prepared["Resources"][synth.logical_id(synth.data.event_stream)] == synth.resource(synth.data.event_stream)


# -- alarm notifications --------------------------------------------------------------------------


def test_every_alarm_of_every_stack_notifies_the_alarm_topic_on_alarm_and_ok(synth: Synthesized) -> None:
    topic = {"Ref": synth.logical_id(synth.monitoring.alarm_topic.topic)}
    alarms = _alarms(synth)

    assert len(alarms) >= 3  # process_events: iterator age, dead letters; the stream: throttled writes
    for name, alarm in alarms.items():
        assert synth.resolve_import(alarm.get("AlarmActions")) == [topic], name
        assert synth.resolve_import(alarm.get("OKActions")) == [topic], name


def test_stacks_with_alarms_deploy_after_the_monitoring_stack(synth: Synthesized) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())

    assert synth.monitoring.artifact_id in manifest["artifacts"][synth.events.artifact_id]["dependencies"]
    assert not synth.resources(synth.monitoring, "AWS::CloudWatch::Alarm")


def test_alarm_topic_is_encrypted_with_its_own_rotating_key(synth: Synthesized) -> None:
    alarm_topic = synth.monitoring.alarm_topic
    key_id = synth.logical_id(alarm_topic.key)
    topic = synth.resource(alarm_topic.topic)["Properties"]
    key = synth.resource(alarm_topic.key)["Properties"]

    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["EnableKeyRotation"] is True
    (cloudwatch,) = (s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") != {"AWS": _root()})
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Effect"] == "Allow"


def _root() -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]}


def test_data_key_is_not_opened_to_cloudwatch(synth: Synthesized) -> None:
    statements = synth.resource(synth.data.key)["Properties"]["KeyPolicy"]["Statement"]

    assert all("cloudwatch" not in json.dumps(s.get("Principal")) for s in statements)


def test_alarm_topic_is_tls_only_and_publishable_by_this_accounts_alarms_only(synth: Synthesized) -> None:
    topic_ref = {"Ref": synth.logical_id(synth.monitoring.alarm_topic.topic)}
    statements = _topic_policy(synth)

    denials = [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    (allow,) = (s for s in statements if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == topic_ref
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert allow["Condition"]["ArnLike"] == {
        "aws:SourceArn": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":cloudwatch:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":alarm:*",
                ],
            ]
        }
    }


def test_no_email_subscription_by_default(synth: Synthesized, dev_environment: dict[str, Any]) -> None:
    assert dev_environment["alarm_email"] is None
    assert not synth.resources(synth.monitoring, "AWS::SNS::Subscription")


def test_alarm_email_subscribes_to_the_topic(overridden: Synthesized) -> None:
    (subscription,) = (
        s["Properties"] for s in overridden.resources(overridden.monitoring, "AWS::SNS::Subscription").values()
    )

    assert subscription == {
        "Protocol": "email",
        "Endpoint": "ops@example.com",
        "TopicArn": {"Ref": overridden.logical_id(overridden.monitoring.alarm_topic.topic)},
    }


def test_local_mode_keeps_the_alarm_topic(synth: Synthesized) -> None:
    """moto has no SNS topic policies or subscriptions: those are stripped, the topic stays."""
    from homing.local.cfn_shims import supported_types
    from homing.local.templates import prepare_template

    monitoring = synth.monitoring
    prepared, report = prepare_template(synth.template(monitoring), monitoring.stack_name, supported_types())

    assert synth.logical_id(monitoring.alarm_topic.topic) in prepared["Resources"]
    assert set(report.stripped.values()) <= {"AWS::SNS::TopicPolicy", "AWS::SNS::Subscription"}


# -- reserved concurrency -------------------------------------------------------------------------


def test_no_function_reserves_concurrency_by_default(synth: Synthesized, dev_environment: dict[str, Any]) -> None:
    functions = _functions(synth)

    assert dev_environment["reserved_concurrency"] == {}
    assert len(functions) >= 2
    assert all("ReservedConcurrentExecutions" not in f for f in functions.values())


def test_reserved_concurrency_per_function_from_context(overridden: Synthesized) -> None:
    api = overridden.resource(overridden.api.api_function.function)["Properties"]
    process_events = overridden.resource(overridden.events.processing.process_events.function)["Properties"]

    assert api["ReservedConcurrentExecutions"] == 20
    assert process_events["ReservedConcurrentExecutions"] == 2


def test_function_factory_argument_wins_over_the_setting() -> None:
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from stacks.constructs.function import HomingFunction

    environments = {"dev": {**COMPLETE, "reserved_concurrency": {"api": 7}}}
    stack = Stack(App(context={**TEST_CONTEXT, "environments": environments}), "Factory")
    configured = HomingFunction(stack, "Configured", entry="api", env={}, description="setting")
    explicit = HomingFunction(stack, "Explicit", entry="api", env={}, description="argument", reserved_concurrency=3)
    unreserved = HomingFunction(stack, "Unreserved", entry="process_events", env={}, description="none")
    resources = Template.from_stack(stack).to_json()["Resources"]

    def reserved(fn: Any) -> Any:
        return resources[stack.get_logical_id(fn.function.node.default_child)]["Properties"].get(
            "ReservedConcurrentExecutions"
        )

    assert (reserved(configured), reserved(explicit), reserved(unreserved)) == (7, 3, None)


# -- the overridden app is as clean as the default one --------------------------------------------


def test_overridden_app_passes_cdk_nag(overridden: Synthesized) -> None:
    report = json.loads((overridden.outdir / "validation-report.json").read_text())
    violations = [v["ruleName"] for p in report["pluginReports"] for v in p.get("violations", [])]

    assert overridden.error is None, f"synth failed: {overridden.error}"
    assert violations == []


def test_overridden_app_passes_cfn_lint(overridden: Synthesized) -> None:
    templates = sorted(str(p) for p in Path(overridden.outdir).glob("*.template.json"))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")

    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(REPO_ROOT / ".cfnlintrc"), "--", *templates],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_alarm_when_the_events_stream_throttles_writes(synth: Synthesized) -> None:
    """The signal to raise ``event_stream_shards``: sustained throttling, not one absorbed burst."""
    (alarm,) = (
        a["Properties"]
        for a in synth.resources(synth.events, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "WriteProvisionedThroughputExceeded"
    )

    assert alarm["Namespace"] == "AWS/Kinesis"
    assert synth.resolve_import(alarm["Dimensions"]) == [
        {"Name": "StreamName", "Value": {"Ref": synth.logical_id(synth.data.event_stream)}}
    ]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 300
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 2)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["TreatMissingData"] == "notBreaching"
