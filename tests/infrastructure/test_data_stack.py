"""DataStack: encryption, retention and the table schemas derived from the PynamoDB models."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.models import Model

from homing.adapters.dynamodb.tables import TABLES as REGISTRY
from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.xdist_group("infrastructure")

TABLES = {table.construct_id: table.model for table in REGISTRY}
# Construct ids are deployed state (a renamed table is a new, empty table): these must stay.
DEPLOYED_TABLES = {"Apps", "Endpoints", "Catalog", "Analytics", "EventStreams", "Timelines"}


def _table(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    return synth.resource(synth.data.node.find_child(construct_id))


def _key_arn(synth: Synthesized) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(synth.data.key), "Arn"]}


def _by_key_type(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(keys, key=lambda k: k["KeyType"])


def _expected_schema(model: type[Model]) -> dict[str, Any]:
    """What CloudFormation must declare for ``model``, computed by PynamoDB itself (``_get_schema``)."""
    schema: dict[str, Any] = dict(model._get_schema())

    def indexes(kind: str) -> list[dict[str, Any]]:
        found = [
            {"IndexName": i["index_name"], "KeySchema": _by_key_type(i["key_schema"]), "Projection": i["projection"]}
            for i in schema[kind]
        ]
        return sorted(found, key=lambda i: i["IndexName"])

    return {
        "KeySchema": _by_key_type(schema["key_schema"]),
        "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": indexes("global_secondary_indexes"),
        "LocalSecondaryIndexes": indexes("local_secondary_indexes"),
    }


def _actual_schema(table: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = table["Properties"]

    def indexes(kind: str) -> list[dict[str, Any]]:
        found = [
            {"IndexName": i["IndexName"], "KeySchema": _by_key_type(i["KeySchema"]), "Projection": i["Projection"]}
            for i in props.get(kind, [])
        ]
        return sorted(found, key=lambda i: i["IndexName"])

    return {
        "KeySchema": _by_key_type(props["KeySchema"]),
        "AttributeDefinitions": sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": indexes("GlobalSecondaryIndexes"),
        "LocalSecondaryIndexes": indexes("LocalSecondaryIndexes"),
    }


def test_the_registry_keeps_every_deployed_table_and_names_each_once() -> None:
    assert set(TABLES) >= DEPLOYED_TABLES
    for attribute in ("construct_id", "env"):
        names = [getattr(table, attribute) for table in REGISTRY]
        assert len(set(names)) == len(names), attribute
    assert len({table.model for table in REGISTRY}) == len(REGISTRY)


def test_data_stack_holds_exactly_the_model_tables(synth: Synthesized) -> None:
    tables = synth.resources(synth.data, "AWS::DynamoDB::Table")

    assert len(tables) == len(TABLES)

    assert sorted(tables) == sorted(synth.logical_id(synth.data.node.find_child(name)) for name in TABLES)
    assert not synth.resources(synth.data, "AWS::DynamoDB::GlobalTable")  # moto's CloudFormation lacks it


@pytest.mark.parametrize("construct_id", sorted(TABLES))
def test_table_is_on_demand_recoverable_encrypted_with_data_key_and_retained(
    synth: Synthesized, construct_id: str
) -> None:
    table = _table(synth, construct_id)
    props = table["Properties"]

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": _key_arn(synth)}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize(("construct_id", "model"), sorted(TABLES.items()))
def test_table_schema_is_the_pynamodb_model_schema(synth: Synthesized, construct_id: str, model: type[Model]) -> None:
    assert _actual_schema(_table(synth, construct_id)) == _expected_schema(model)


@pytest.mark.parametrize(("construct_id", "model"), sorted(TABLES.items()))
def test_table_has_ttl_exactly_when_the_model_declares_one(
    synth: Synthesized, construct_id: str, model: type[Model]
) -> None:
    ttl = model._ttl_attribute()
    spec = _table(synth, construct_id)["Properties"].get("TimeToLiveSpecification")

    if ttl is None:
        assert spec is None
    else:
        assert spec == {"AttributeName": ttl.attr_name, "Enabled": True}


def test_analytics_items_expire_on_expires(synth: Synthesized) -> None:
    """Funnel timeline items carry ``expires``; DynamoDB deletes them after it (no scan job needed)."""
    props = _table(synth, "Analytics")["Properties"]

    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]


def test_endpoints_by_address_index_projects_keys_only(synth: Synthesized) -> None:
    indexes = {i["IndexName"]: i for i in _table(synth, "Endpoints")["Properties"]["GlobalSecondaryIndexes"]}

    assert sorted(indexes) == ["by-address", "by-channel", "by-user"]
    assert indexes["by-address"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_data_key_rotates_and_is_retained(synth: Synthesized) -> None:
    key = synth.resource(synth.data.key)

    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    # the data key, and the messaging key of the receipt / inbound SMS topics (delivery_feedback.py)
    assert len(synth.resources(synth.data, "AWS::KMS::Key")) == 2


def test_messaging_key_rotates_is_retained_and_lets_ses_and_sms_voice_publish_only(synth: Synthesized) -> None:
    key = synth.resource(synth.data.messaging_key)

    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    (publish,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "AllowMessagingServicesToPublish"
    ]
    assert publish["Principal"] == {"Service": ["ses.amazonaws.com", "sms-voice.amazonaws.com"]}
    assert publish["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    data_key = synth.resource(synth.data.key)["Properties"]["KeyPolicy"]["Statement"]
    assert all("Service" not in s["Principal"] for s in data_key)  # the data key stays closed to services


def test_event_stream_is_encrypted_with_data_key(synth: Synthesized) -> None:
    stream = synth.resource(synth.data.event_stream)

    assert stream["Properties"]["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": _key_arn(synth)}
    assert stream["DeletionPolicy"] == "Retain"


def _bucket_policy_statements(synth: Synthesized, bucket: Any) -> list[dict[str, Any]]:
    bucket_ref = {"Ref": synth.logical_id(bucket)}
    policies = [
        p
        for p in synth.resources(synth.data, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == bucket_ref
    ]
    assert len(policies) == 1
    statements: list[dict[str, Any]] = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    return statements


@pytest.mark.parametrize("bucket_attr", ["archive_bucket", "access_logs_bucket"])
def test_bucket_is_private_tls_only_versioned_and_retained(synth: Synthesized, bucket_attr: str) -> None:
    bucket = getattr(synth.data, bucket_attr)
    resource = synth.resource(bucket)
    props = resource["Properties"]

    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert resource["DeletionPolicy"] == "Retain"
    tls_denials = [
        s
        for s in _bucket_policy_statements(synth, bucket)
        if s["Effect"] == "Deny"
        and s["Action"] == "s3:*"
        and s["Principal"] == {"AWS": "*"}
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(tls_denials) == 1


def test_archive_bucket_is_encrypted_with_data_key_and_logs_access(synth: Synthesized) -> None:
    props = synth.resource(synth.data.archive_bucket)["Properties"]

    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": _key_arn(synth)}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synth.logical_id(synth.data.access_logs_bucket)
    }


def test_access_logs_bucket_uses_s3_managed_encryption(synth: Synthesized) -> None:
    props = synth.resource(synth.data.access_logs_bucket)["Properties"]

    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # S3 log delivery needs SSE-S3
