"""ARN building blocks shared by the stacks (tokens resolved by CloudFormation, never synth-time lookups)."""

from __future__ import annotations

from aws_cdk import Aws, Fn


def resource_arn_prefix() -> str:
    """``arn:<partition>:mobiletargeting:<region>:<account>``: Pinpoint ARNs (``.../apps/<id>``) start so."""
    return Fn.join(":", ["arn", Aws.PARTITION, "mobiletargeting", Aws.REGION, Aws.ACCOUNT_ID])
