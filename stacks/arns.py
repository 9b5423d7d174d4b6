"""ARN building blocks shared by the stacks (tokens resolved by CloudFormation, never synth-time lookups)."""

from __future__ import annotations

import re

from aws_cdk import Aws, Fn
from constructs import Construct


def resource_arn_prefix() -> str:
    """``arn:<partition>:mobiletargeting:<region>:<account>``: Pinpoint ARNs (``.../apps/<id>``) start so."""
    return Fn.join(":", ["arn", Aws.PARTITION, "mobiletargeting", Aws.REGION, Aws.ACCOUNT_ID])


def event_stream_accounts(scope: Construct) -> list[str]:
    """Accounts whose roles and streams PutEventStream may name: context ``event_stream_accounts``
    (a list of 12-digit ids), default the deployment's own account (docs/decisions.md)."""
    configured = scope.node.try_get_context("event_stream_accounts") or []
    if isinstance(configured, str):
        configured = [a.strip() for a in configured.split(",") if a.strip()]
    accounts = [str(a) for a in configured]
    bad = [a for a in accounts if not re.fullmatch(r"\d{12}", a)]
    if bad:
        raise ValueError(f"context event_stream_accounts: not 12-digit account ids: {bad}")
    return accounts or [Aws.ACCOUNT_ID]


def platform_applications_arn() -> str:
    """The SNS platform applications Homing's push channels create (``homing-<app>-<type>``,
    homing.domain.channels.platform_application_name), on any platform."""
    return Fn.join(":", ["arn", Aws.PARTITION, "sns", Aws.REGION, Aws.ACCOUNT_ID, "app/*/homing-*"])
