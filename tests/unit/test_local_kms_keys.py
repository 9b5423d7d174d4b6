"""Local mode's CloudFormation creates KMS keys with the spec and usage the template declares."""

from __future__ import annotations

import boto3
from moto import mock_aws

from homing.local.cfn_shims import register


def _create(properties: dict[str, object]) -> str:
    from moto.kms.models import Key

    key = Key.create_from_cloudformation_json(
        "K", {"Properties": {"KeyPolicy": {}, **properties}}, "123456789012", "us-east-1"
    )
    return str(key.id)


@mock_aws
def test_an_hmac_key_declared_in_the_template_can_mac() -> None:
    register()
    key_id = _create({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC", "Description": "otp"})
    kms = boto3.client("kms", region_name="us-east-1")

    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    mac = kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]

    assert (metadata["KeySpec"], metadata["KeyUsage"], metadata["Description"]) == (
        "HMAC_256",
        "GENERATE_VERIFY_MAC",
        "otp",
    )
    assert kms.verify_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac)["MacValid"]


@mock_aws
def test_a_key_without_a_spec_stays_a_symmetric_encryption_key() -> None:
    register()
    register()  # idempotent
    key_id = _create({"EnableKeyRotation": True})
    kms = boto3.client("kms", region_name="us-east-1")

    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]

    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"])["Plaintext"] == b"x"
