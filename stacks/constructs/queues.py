"""SQS queues the house way: encrypted with the data key, TLS only."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def secure_queue(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention: Duration,
    removal_policy: RemovalPolicy,
    **options: Any,
) -> sqs.Queue:
    """A KMS-encrypted queue that refuses plain HTTP (cdk-nag SQS2/SQS4); ``options`` go to ``sqs.Queue``."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=retention,
        removal_policy=removal_policy,
        **options,
    )
