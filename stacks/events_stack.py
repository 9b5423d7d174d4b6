"""EventsStack: the consumers of the events stream (stateless; receives the data resources)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.arns import event_stream_accounts, resource_arn_prefix
from stacks.config import EnvConfig
from stacks.constructs.event_archive import EventArchive
from stacks.constructs.event_processing import EventProcessing
from stacks.constructs.function import OBSERVABILITY_ENV


class EventsStack(Stack):
    """Events stream -> process_events (analytics, export to apps' event streams) and -> Firehose -> archive."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        apps_table: dynamodb.ITable,
        endpoints_table: dynamodb.ITable,
        catalog_table: dynamodb.ITable,
        analytics_table: dynamodb.ITable,
        event_streams_table: dynamodb.ITable,
        timelines_table: dynamodb.ITable,
        event_stream: kinesis.IStream,
        archive_bucket: s3.IBucket,
        data_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, description=f"Homing ({config.name}): event processing and archive", **kwargs
        )
        self.config = config

        self.processing = EventProcessing(
            self,
            "Processing",
            event_stream=event_stream,
            analytics_table=analytics_table,
            event_streams_table=event_streams_table,
            timelines_table=timelines_table,
            env={
                # Settings requires the three names; process_events only reads Apps (is an app deleted?).
                "APPS_TABLE": apps_table.table_name,
                "ENDPOINTS_TABLE": endpoints_table.table_name,
                "CATALOG_TABLE": catalog_table.table_name,
                "ANALYTICS_TABLE": analytics_table.table_name,
                "EVENT_STREAMS_TABLE": event_streams_table.table_name,
                "TIMELINES_TABLE": timelines_table.table_name,
                "RESOURCE_ARN_PREFIX": resource_arn_prefix(),
                "EVENT_STREAM_ACCOUNTS": Fn.join(",", event_stream_accounts(self)),
                **OBSERVABILITY_ENV,
            },
            dead_letter_key=data_key,
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
            event_stream_accounts=event_stream_accounts(self),
        )
        # process_events drops the records of deleted apps: one BatchGetItem on Apps per batch.
        apps_table.grant(self.processing.process_events.function, "dynamodb:BatchGetItem")
        self.archive = EventArchive(
            self,
            "Archive",
            event_stream=event_stream,
            bucket=archive_bucket,
            encryption_key=data_key,
            log_retention=config.log_retention,
            log_removal_policy=config.removal_policy,
        )

        # The stream's write capacity (event_stream_shards) is too small: PutEvents retries throttled
        # records and, past its retries, answers them with a per-event 500. Sustained throttling (2 of
        # 3 five-minute periods; a short burst that retries absorb does not count) means raise shards.
        self.stream_throttled_alarm = cloudwatch.Alarm(
            self,
            "StreamThrottledAlarm",
            alarm_description=(
                "The events stream throttles PutEvents' writes: raise event_stream_shards (docs/capacity.md); "
                "events past PutEvents' retries are answered with a per-event 500"
            ),
            metric=event_stream.metric_write_provisioned_throughput_exceeded(
                statistic=cloudwatch.Stats.SUM, period=Duration.minutes(5)
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        CfnOutput(
            self,
            "EventStreamPrincipal",
            value=self.processing.process_events.role.role_arn,
            description="The role that assumes PutEventStream roles: the Principal of their trust policy",
        )
