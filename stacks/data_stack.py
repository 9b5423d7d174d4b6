"""DataStack: Homing's stateful resources (key, tables, event stream, archive). Everything is retained."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from homing.adapters.dynamodb.tables import TABLES, Table
from stacks.config import EnvConfig
from stacks.constructs.tables import ModelTable
from stacks.resources import DataResources

# Versioning keeps a deleted or expired archive object this long (to undo a mistake), then it is gone.
ARCHIVE_NONCURRENT_RETENTION = Duration.days(30)
# Firehose finishes its uploads within minutes; parts left behind by a failed one cost storage.
ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7)
# A resolved audience is a snapshot for one send or one look; a campaign run resolves its own.
AUDIENCE_RETENTION = Duration.days(14)


def archive_lifecycle_rules(retention_days: int | None) -> list[s3.LifecycleRule]:
    """Archived events expire ``retention_days`` after delivery (None: kept until deleted).

    The bucket is versioned, so expiry only adds a delete marker; the event itself goes
    ``ARCHIVE_NONCURRENT_RETENTION`` later, and S3 then removes the marker too (it does so itself
    when the rule has Days; without expiry a rule of its own removes lone delete markers).
    """
    rule = s3.LifecycleRule(
        id="Retention",
        expiration=Duration.days(retention_days) if retention_days is not None else None,
        expired_object_delete_marker=True if retention_days is None else None,
        noncurrent_version_expiration=ARCHIVE_NONCURRENT_RETENTION,
        abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS_AFTER,
    )
    return [rule]


class DataStack(Stack):
    """Stateful stack; the stateless stacks receive its resources as one bundle (``resources``).

    Construct ids here are part of the deployed state: never rename them.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Homing ({config.name}): data (tables, event stream, archive, key)",
            termination_protection=config.termination_protection,
            **kwargs,
        )
        self.config = config

        # One customer-managed key for all data at rest: the customer controls (and audits) access.
        self.key = kms.Key(
            self,
            "DataKey",
            description=f"Homing ({config.name}) data at rest",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

        # Every table of the registry, built from its PynamoDB model (keys, indexes, TTL).
        self.tables: dict[Table, ModelTable] = {
            table: ModelTable(self, table.construct_id, model=table.model, encryption_key=self.key) for table in TABLES
        }

        # PutEvents goes here; EventsStack consumes it (analytics, export to apps' streams, archive).
        # Provisioned by default: one shard (~$11/month) carries 1 MB/s or 1,000 records/s in;
        # on-demand costs ~$29/month before the first event (docs/capacity.md).
        provisioned = config.event_stream_mode == "provisioned"
        self.event_stream = kinesis.Stream(
            self,
            "Events",
            stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
            shard_count=config.event_stream_shards if provisioned else None,
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self.key,
            retention_period=Duration.hours(24),
            removal_policy=RemovalPolicy.RETAIN,
        )

        # Server access logs of the archive. S3 log delivery needs SSE-S3 on the target bucket.
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(365), noncurrent_version_expiration=Duration.days(30))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

        # Raw events, date-partitioned in Pinpoint's event-stream JSON (written by EventsStack's Firehose).
        self.archive_bucket = s3.Bucket(
            self,
            "Archive",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,  # one KMS call per object batch, not per object: cost
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="archive/",
            lifecycle_rules=archive_lifecycle_rules(config.archive_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Resolved segment audiences (pages of endpoints and their manifests), expiring after two weeks.
        self.audience_bucket = s3.Bucket(
            self,
            "Audiences",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="audiences/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="Expiry",
                    expiration=AUDIENCE_RETENTION,
                    abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS_AFTER,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The delivery-receipt and inbound-SMS topics' key (stacks/constructs/delivery_feedback.py): SES and
        # End User Messaging must be able to use the key of a topic they publish to, and the data key is
        # not opened to service principals. Kept here because stateless stacks hold no keys.
        self.messaging_key = kms.Key(
            self,
            "MessagingKey",
            description=f"Homing ({config.name}) delivery receipts and inbound SMS (SNS topic encryption)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowMessagingServicesToPublish",
                principals=[iam.ServicePrincipal(p) for p in ("ses.amazonaws.com", "sms-voice.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.resources = DataResources(
            tables=self.tables,
            event_stream=self.event_stream,
            archive_bucket=self.archive_bucket,
            key=self.key,
            audience_bucket=self.audience_bucket,
            messaging_key=self.messaging_key,
        )
