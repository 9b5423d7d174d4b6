"""EventProcessing: process_events on the events stream, its dead-letter queue and its alarms."""

from __future__ import annotations

from aws_cdk import Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from homing.adapters.dynamodb.tables import ANALYTICS, APPS, CAMPAIGNS, EVENT_STREAMS, TIMELINES
from homing.settings import Env
from stacks.arns import resource_arn_prefix
from stacks.constructs.alarms import dead_letters_alarm
from stacks.constructs.function import HomingFunction
from stacks.constructs.queues import secure_queue
from stacks.resources import DataResources, function_environment

# Kinesis consumer defaults (house style 4.4 item 6). 500 records or 5 s, whichever comes first:
# big batches amortize the per-invocation checkpoint read and transaction.
BATCH_SIZE = 500
MAX_BATCHING_WINDOW = Duration.seconds(5)
RETRY_ATTEMPTS = 5
# The events stream keeps records for 24 h; older records cannot be retried anyway.
MAX_RECORD_AGE = Duration.days(1)
# Exactly-once counting relies on in-order processing per shard: each shard has ONE checkpoint
# (its last counted sequence number) and a record at or below it is skipped as a replay. With a
# parallelization factor above 1, Lambda would process one shard's records in several concurrent
# batches (ordered only per partition key), the checkpoint would jump ahead of records not yet
# counted, and those would later be skipped as "replays". Keep it at 1.
PARALLELIZATION_FACTOR = 1

MEMORY_MB = 1024
TIMEOUT = Duration.minutes(5)

DEAD_LETTER_RETENTION = Duration.days(14)  # the SQS maximum: time to inspect and replay from the archive
ITERATOR_AGE_THRESHOLD = Duration.minutes(5)
# The tables process_events uses: its environment names exactly these, and each has a grant below.
PROCESSING_TABLES = (APPS, ANALYTICS, EVENT_STREAMS, TIMELINES, CAMPAIGNS)


class EventProcessing(Construct):
    """process_events, triggered by the events stream (Kinesis event-source mapping).

    Partial batch failures are reported (ReportBatchItemFailures), a failing batch is bisected to
    isolate a poison record, and after ``RETRY_ATTEMPTS`` the failed range's metadata (shard,
    sequence numbers; not the records) goes to an encrypted SQS queue, so one bad record never
    stalls a shard. Alarms: the function falls behind the stream, and anything in that queue.

    Grants follow what the code uses: Apps BatchGetItem (records of deleted apps are dropped),
    Analytics read/write (counters, states, checkpoints), EventStreams read (each app's export
    target), Timelines write, read on the events stream, and ``sts:AssumeRole`` on roles in the
    allowed accounts: events are forwarded with the role the customer registered with
    PutEventStream. Event-triggered campaigns: Campaigns Query (each app's EVENT campaigns) and
    ``lambda:InvokeFunction`` on ``campaign_sender`` (send_batch) only. Its environment names those
    five tables and no other.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        event_stream_accounts: list[str],
        campaign_sender: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        tables, event_stream = data.tables, data.event_stream
        settings = {
            Env.RESOURCE_ARN_PREFIX: resource_arn_prefix(),
            Env.EVENT_STREAM_ACCOUNTS: Fn.join(",", event_stream_accounts),
        }
        if campaign_sender is not None:  # event-triggered campaigns start their sends there
            settings[Env.CAMPAIGN_SENDER_FUNCTION] = campaign_sender.function_name

        self.process_events = HomingFunction(
            self,
            "ProcessEvents",
            entry="process_events",
            description="Homing event processing: analytics aggregates (exactly once), export to apps' event streams",
            env=function_environment(data, PROCESSING_TABLES, settings),
            memory=MEMORY_MB,
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        function = self.process_events.function

        # Records of deleted apps are dropped: one BatchGetItem on Apps per batch.
        tables[APPS].grant(function, "dynamodb:BatchGetItem")
        tables[ANALYTICS].grant_read_write_data(function)
        tables[EVENT_STREAMS].grant_read_data(function)
        tables[TIMELINES].grant_write_data(function)  # funnel timelines: batch writes only
        tables[CAMPAIGNS].grant(function, "dynamodb:Query")  # an app's campaign heads (EVENT campaigns)
        if campaign_sender is not None:  # the function itself (no versions or aliases: it is called unqualified)
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="StartEventTriggeredSends",
                    actions=["lambda:InvokeFunction"],
                    resources=[campaign_sender.function_arn],
                )
            )
        self.process_events.role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeCustomerEventStreamRoles",
                actions=["sts:AssumeRole"],
                resources=[  # only roles in the accounts PutEventStream allows (with the app's ExternalId)
                    Stack.of(self).format_arn(
                        service="iam", region="", account=account, resource="role", resource_name="*"
                    )
                    for account in event_stream_accounts
                ],
            )
        )

        # On-failure destination of the event-source mapping (a dead-letter queue, not a work queue).
        self.dead_letters = secure_queue(
            self, "DeadLetters", key=data.key, retention=DEAD_LETTER_RETENTION, removal_policy=removal_policy
        )

        # An explicit EventSourceMapping (rather than KinesisEventSource) keeps its logical id free of
        # the Data stack's name; local mode and the tests find it by a stable id in every environment.
        event_stream.grant_read(function)
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSourceMapping",
            target=function,
            event_source_arn=event_stream.stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=BATCH_SIZE,
            max_batching_window=MAX_BATCHING_WINDOW,
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=RETRY_ATTEMPTS,
            max_record_age=MAX_RECORD_AGE,
            parallelization_factor=PARALLELIZATION_FACTOR,  # must stay 1: see PARALLELIZATION_FACTOR
            on_failure=event_sources.SqsDlq(self.dead_letters),
        )

        # No alarm actions here: the Monitoring stack's aspect gives every alarm the alarm topic.
        self.iterator_age_alarm = cloudwatch.Alarm(
            self,
            "IteratorAgeAlarm",
            alarm_description=(
                "process_events is more than 5 minutes behind the events stream (KPIs are stale; records "
                "older than 24 h are lost from the stream)"
            ),
            metric=function.metric("IteratorAge", statistic=cloudwatch.Stats.MAXIMUM, period=Duration.minutes(1)),
            threshold=ITERATOR_AGE_THRESHOLD.to_milliseconds(),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no traffic, no metric
        )
        self.dead_letters_alarm = dead_letters_alarm(
            self,
            self.dead_letters,
            (
                "Event records failed process_events after all retries; the queue holds their shard and "
                "sequence range (replay them from the archive)"
            ),
        )

    @property
    def alarms(self) -> tuple[cloudwatch.Alarm, ...]:
        return (self.iterator_age_alarm, self.dead_letters_alarm)
