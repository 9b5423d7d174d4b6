"""EventsStack: the consumers of the events stream (stateless; receives the data resources)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.arns import event_stream_accounts
from stacks.config import EnvConfig
from stacks.constructs.delivery_feedback import CONFIGURATION_SET_CONTEXT_KEY, DeliveryFeedback
from stacks.constructs.event_archive import EventArchive
from stacks.constructs.event_processing import EventProcessing
from stacks.resources import DataResources


class EventsStack(Stack):
    """Events stream -> process_events (analytics, export to apps' event streams, event-triggered campaigns'
    sends through ``campaign_sender``, the Api stack's send_batch) and -> Firehose -> archive."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        data: DataResources,
        campaign_sender: lambda_.IFunction | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, description=f"Homing ({config.name}): event processing and archive", **kwargs
        )
        self.config = config

        self.processing = EventProcessing(
            self,
            "Processing",
            data=data,
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
            event_stream_accounts=event_stream_accounts(self),
            campaign_sender=campaign_sender,
        )
        self.feedback = DeliveryFeedback(
            self,
            "DeliveryFeedback",
            data=data,
            configuration_set_name=str(
                self.node.try_get_context(CONFIGURATION_SET_CONTEXT_KEY) or f"homing-{config.name}"
            ),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.archive = EventArchive(
            self,
            "Archive",
            event_stream=data.event_stream,
            bucket=data.archive_bucket,
            encryption_key=data.key,
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
            metric=data.event_stream.metric_write_provisioned_throughput_exceeded(
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
