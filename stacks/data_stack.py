"""DataStack: Homing's stateful resources (key, tables, event stream, archive). Everything is retained."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from homing.adapters.dynamodb.models import (
    AnalyticsItem,
    AppItem,
    CatalogItem,
    EndpointItem,
    EventStreamItem,
    JobItem,
    TimelineItem,
)
from stacks.config import EnvConfig
from stacks.constructs.tables import ModelTable

# Versioning keeps a deleted or expired archive object this long (to undo a mistake), then it is gone.
ARCHIVE_NONCURRENT_RETENTION = Duration.days(30)
# Firehose finishes its uploads within minutes; parts left behind by a failed one cost storage.
ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7)


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
    """Stateful stack; stateless stacks receive its resources as constructor arguments.

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

        self.apps_table = ModelTable(self, "Apps", model=AppItem, encryption_key=self.key)
        self.endpoints_table = ModelTable(self, "Endpoints", model=EndpointItem, encryption_key=self.key)
        self.catalog_table = ModelTable(self, "Catalog", model=CatalogItem, encryption_key=self.key)
        # Counters, activity states and shard checkpoints of process_events.
        self.analytics_table = ModelTable(self, "Analytics", model=AnalyticsItem, encryption_key=self.key)
        # Each app's own event stream (PutEventStream) that process_events forwards events to.
        self.event_streams_table = ModelTable(self, "EventStreams", model=EventStreamItem, encryption_key=self.key)
        # One item per event for funnels, expiring after 90 days (TTL); most of the write volume.
        self.timelines_table = ModelTable(self, "Timelines", model=TimelineItem, encryption_key=self.key)
        # Import and export jobs: their progress, and the ids each import piece registered.
        self.jobs_table = ModelTable(self, "Jobs", model=JobItem, encryption_key=self.key)

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

    @property
    def tables(self) -> tuple[ModelTable, ...]:
        return (
            self.apps_table,
            self.endpoints_table,
            self.catalog_table,
            self.analytics_table,
            self.event_streams_table,
            self.timelines_table,
            self.jobs_table,
        )
