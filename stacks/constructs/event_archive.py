"""EventArchive: every record of the events stream, delivered by Firehose to the Archive bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

# Hive-style partitions (year=/month=/day=/hour=, UTC arrival time): Athena and Glue use them as
# partition columns (partition projection) without a crawler.
DATA_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
ERROR_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
BUFFER_SIZE = Size.mebibytes(5)
BUFFER_INTERVAL = Duration.seconds(300)
# GZIP rather than uncompressed: event JSON is verbose and repetitive (it shrinks ~5-10x), the
# archive is kept indefinitely, and Athena bills bytes scanned *as stored*, so both the storage
# bill and every query get that much cheaper. Athena (and Glue, Spark, `zcat | jq`) read gzipped
# NDJSON transparently by the ``.gz`` suffix, so the archive stays queryable as-is.
COMPRESSION = firehose.Compression.GZIP

# What Firehose needs to deliver to S3 (its documented S3 destination policy); no read-back,
# no delete: the archive's writer cannot remove what it wrote.
S3_DELIVERY_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:PutObject",
)
KMS_DELIVERY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# The Firehose L2 always adds a region -> Firehose CIDR mapping to the stack, for ``connections``
# (security groups of VPC destinations). An S3 destination never uses it, and left in, cfn-lint and
# CDK's template validation flag it as unused (W7001). Removed; do not use ``delivery_stream.connections``.
# (Its construct id is "@aws-cdk/aws-kinesisfirehose.CidrBlocks" with "/" escaped by constructs.)
_FIREHOSE_CIDR_MAPPING_ID = "@aws-cdk--aws-kinesisfirehose.CidrBlocks"


class EventArchive(Construct):
    """Firehose (source: the events stream) -> the Archive bucket, encrypted with the data key.

    Records on the stream are already one JSON object per line (Pinpoint's event-stream JSON, each
    ending in a newline), so Firehose concatenates them into NDJSON objects without a processor.
    Delivery errors are logged to an own log group with retention.

    The S3 destination role is Homing's own, with exactly the S3/KMS/logs actions delivery needs:
    the L2 would grant it ``bucket.grant_read_write`` (``s3:DeleteObject*``, ``s3:GetObject*``, ...),
    so it gets the role read-only (``without_policy_updates``) and the grants are made here. The
    source side (the L2's service role) only reads the events stream and decrypts with its key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_stream: kinesis.IStream,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention, removal_policy=log_removal_policy)

        self.destination_role = iam.Role(
            self,
            "DestinationRole",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description="Homing event archive: Firehose delivery to the Archive bucket",
        )
        self.destination_role.add_to_policy(
            iam.PolicyStatement(
                actions=list(S3_DELIVERY_ACTIONS),
                resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
            )
        )
        encryption_key.grant(self.destination_role, *KMS_DELIVERY_ACTIONS)
        self.log_group.grant_write(self.destination_role)

        self.delivery_stream = firehose.DeliveryStream(
            self,
            "DeliveryStream",
            source=firehose.KinesisStreamSource(event_stream),
            destination=firehose.S3Bucket(
                bucket,
                data_output_prefix=DATA_PREFIX,
                error_output_prefix=ERROR_PREFIX,
                buffering_size=BUFFER_SIZE,
                buffering_interval=BUFFER_INTERVAL,
                compression=COMPRESSION,
                encryption_key=encryption_key,
                logging_config=firehose.EnableLogging(self.log_group),
                role=self.destination_role.without_policy_updates(),
            ),
        )
        # Firehose checks its access when the stream is created: the role's policy must exist first.
        cfn_delivery_stream = self.delivery_stream.node.default_child
        assert cfn_delivery_stream is not None
        cfn_delivery_stream.node.add_dependency(self.destination_role)
        if not Stack.of(self).node.try_remove_child(_FIREHOSE_CIDR_MAPPING_ID):
            raise RuntimeError(f"the Firehose L2 no longer adds {_FIREHOSE_CIDR_MAPPING_ID}: drop this workaround")
