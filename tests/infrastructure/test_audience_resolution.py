"""The audience resolution workflow as synthesized: bucket, function, state machine, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_events_stack import _actions_by_resource, _arn, _key, _table_arn

pytestmark = pytest.mark.xdist_group("infrastructure")


def test_audience_bucket_is_private_tls_only_encrypted_with_the_data_key_and_expires(synth: Synthesized) -> None:
    bucket = synth.resource(synth.data.audience_bucket)
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": _arn(synth, synth.data.key),
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert (lifecycle["Status"], lifecycle["ExpirationInDays"]) == ("Enabled", 14)
    policies = synth.resources(synth.data, "AWS::S3::BucketPolicy").values()
    (policy,) = [
        p for p in policies if p["Properties"]["Bucket"] == {"Ref": synth.logical_id(synth.data.audience_bucket)}
    ]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def _machine(synth: Synthesized) -> dict[str, Any]:
    props = synth.resource(synth.api.audiences.state_machine)["Properties"]
    parts = props["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
    function = synth.logical_id(synth.api.audiences.resolve_audience.function)
    return json.loads(text.replace(json.dumps({"Fn::GetAtt": [function, "Arn"]}), "FUNCTION"))


def test_state_machine_maps_over_parts_loops_until_done_then_finalizes(synth: Synthesized) -> None:
    definition = _machine(synth)
    assert definition["StartAt"] == "Parts"
    parts = definition["States"]["Parts"]
    assert (parts["Type"], parts["ItemsPath"], parts["MaxConcurrency"]) == ("Map", "$.parts", 16)
    assert parts["Next"] == "Finalize"
    assert [c["Next"] for c in parts["Catch"]] == ["RecordFailure"]
    inner = parts["ItemProcessor"]["States"]
    assert inner["Part"]["Resource"] == "FUNCTION"
    assert inner["Part"]["Parameters"] == {"action": "part", "request.$": "$.request", "item.$": "$.item"}
    assert inner["Part"]["ResultPath"] == "$.item"
    assert inner["PartDone"]["Choices"] == [{"Variable": "$.item.done", "BooleanEquals": True, "Next": "PartFinished"}]
    assert inner["PartDone"]["Default"] == "Part"  # continue where the last invocation stopped
    assert definition["States"]["Finalize"]["Parameters"] == {"action": "finalize", "request.$": "$.request"}
    assert definition["States"]["RecordFailure"]["Next"] == "Failed"
    props = synth.resource(synth.api.audiences.state_machine)["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_resolve_audience_reads_only_what_it_evaluates_and_writes_only_audience_objects(synth: Synthesized) -> None:
    resolution = synth.api.audiences
    function = synth.resource(resolution.resolve_audience.function)["Properties"]
    env = synth.resolve_import(function["Environment"]["Variables"])
    assert {k for k in env if k.endswith("_TABLE")} == {
        "APPS_TABLE",
        "SEGMENTS_TABLE",
        "ENDPOINTS_TABLE",
        "ANALYTICS_TABLE",
        "JOBS_TABLE",  # an IMPORT segment's members
    }
    assert env["AUDIENCE_BUCKET"] == {"Ref": synth.logical_id(synth.data.audience_bucket)}
    assert (function["Timeout"], function["MemorySize"]) == (300, 1024)
    granted = _actions_by_resource(synth.role_statements(resolution.resolve_audience.role))
    endpoints_indexes = {"Fn::Join": ["", [_table_arn(synth, "Endpoints"), "/index/*"]]}
    objects = {"Fn::Join": ["", [_arn(synth, synth.data.audience_bucket), "/audiences/*"]]}
    assert granted == {
        _key(_table_arn(synth, "Apps")): {"dynamodb:GetItem"},
        _key(_table_arn(synth, "Segments")): {"dynamodb:GetItem"},
        _key(_table_arn(synth, "Endpoints")): {"dynamodb:Query"},
        _key(endpoints_indexes): {"dynamodb:Query"},
        _key(_table_arn(synth, "Analytics")): {"dynamodb:BatchGetItem"},
        _key(_table_arn(synth, "Jobs")): {"dynamodb:Query"},
        _key(objects): {"s3:GetObject", "s3:PutObject"},
        _key(_arn(synth, synth.data.audience_bucket)): {"s3:ListBucket"},
        _key(_arn(synth, synth.data.key)): {"kms:Decrypt", "kms:GenerateDataKey"},
        _key(_arn(synth, resolution.resolve_audience.log_group)): {"logs:CreateLogStream", "logs:PutLogEvents"},
        _key("*"): {"xray:PutTelemetryRecords", "xray:PutTraceSegments"},
    }
