"""IAM for channels: who may touch the push channels' SNS platform applications and the sealed credentials."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from stacks.arns import platform_applications_arn

# homing.domain.channels.encryption_context: every sealed credential carries this purpose.
CREDENTIAL_CONTEXT = {"kms:EncryptionContext:homing:purpose": "channel-credential"}


def grant_platform_applications(function: lambda_.IFunction, *actions: str) -> None:
    """``sns:<action>`` on Homing's platform applications only (``app/*/homing-*``)."""
    function.add_to_role_policy(
        iam.PolicyStatement(actions=[f"sns:{a}" for a in actions], resources=[platform_applications_arn()])
    )


def deny_opening_credentials(function: lambda_.IFunction, key: kms.IKey) -> None:
    """A function that uses the data key for its tables (kms:Decrypt through DynamoDB) still may not
    decrypt a channel credential: only the senders may (explicit Deny on the credentials' context)."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=["kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": CREDENTIAL_CONTEXT},
        )
    )
