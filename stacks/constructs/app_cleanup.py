"""AppCleanup: the queue-driven function that removes what a deleted app owned (services/cleanup.py)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from homing.adapters.dynamodb.tables import (
    ANALYTICS,
    APPS,
    CAMPAIGNS,
    CAPS,
    CATALOG,
    CHANNELS,
    ENDPOINTS,
    EVENT_STREAMS,
    JOBS,
    OTP,
    SEGMENTS,
    TIMELINES,
    TWO_WAY_SMS,
)
from homing.domain.audiences import PREFIX as AUDIENCE_PREFIX
from homing.settings import DEFAULT_CLEANUP_GRACE_SECONDS, Env
from stacks.constructs.alarms import dead_letters_alarm
from stacks.constructs.channel_access import deny_opening_credentials, grant_platform_applications
from stacks.constructs.function import HomingFunction
from stacks.constructs.queues import secure_queue
from stacks.resources import DataResources, function_environment

TIMEOUT = Duration.minutes(5)  # a task stops starting chunks a minute before this (cleanup.MIN_REMAINING_MS)
# Lambda's advice for SQS sources: a visibility timeout of at least six times the function timeout.
VISIBILITY_TIMEOUT = Duration.minutes(30)
MAX_RECEIVE_COUNT = 5  # a task that fails five times goes to the dead-letter queue (and alarms)
RETENTION = Duration.days(14)  # the SQS maximum
# Default time between DeleteApp and the final pass: longer than the API's 29 s and than
# process_events' 5-minute timeout, the longest a write that read the app before its tombstone lasts.
DEFAULT_GRACE_SECONDS = DEFAULT_CLEANUP_GRACE_SECONDS  # 360, the function's own default too
GRACE_CONTEXT_KEY = "cleanup_grace_seconds"
# Everything a deleted app owned: its environment names exactly these, and each has a grant below.
CLEANUP_TABLES = (
    APPS,
    ENDPOINTS,
    CATALOG,
    EVENT_STREAMS,
    ANALYTICS,
    TIMELINES,
    SEGMENTS,
    JOBS,
    CHANNELS,
    OTP,
    TWO_WAY_SMS,
    CAPS,
    CAMPAIGNS,
)


class AppCleanup(Construct):
    """Clean-up queue (KMS, TLS only) -> clean_up_app (batch size 1, partial batch response) -> DLQ + alarm.

    Grants are what the clean-up does and nothing more: read the Apps table (is the app a
    tombstone?); query and batch-delete Endpoints and Catalog; get and delete the app's
    EventStreams item; scan and batch-delete Analytics and Timelines; list and delete the app's objects
    in the audience bucket; send its own continuations.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        grace_seconds: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        key, tables = data.key, data.tables
        if grace_seconds < 1:  # under 30 s (the API's limit) only for tests: a racing write could be missed
            raise ValueError(f"{GRACE_CONTEXT_KEY} must be at least 1 second, not {grace_seconds}")
        self.dead_letters = secure_queue(
            self, "DeadLetters", key=key, retention=RETENTION, removal_policy=removal_policy
        )
        self.queue = secure_queue(
            self,
            "Queue",
            key=key,
            retention=RETENTION,
            removal_policy=removal_policy,
            visibility_timeout=VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        )
        self.clean_up_app = HomingFunction(
            self,
            "CleanUpApp",
            entry="clean_up_app",
            description="Homing: removes what a deleted app owned, one bounded chunk per queue message",
            env=function_environment(
                data,
                CLEANUP_TABLES,
                {
                    Env.CLEANUP_QUEUE_URL: self.queue.queue_url,
                    Env.CLEANUP_GRACE_SECONDS: str(grace_seconds),
                    Env.AUDIENCE_BUCKET: data.audience_bucket.bucket_name,
                },
            ),
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        function = self.clean_up_app.function
        tables[APPS].grant(function, "dynamodb:GetItem")
        for table in (ENDPOINTS, CATALOG, SEGMENTS, JOBS, OTP, CAPS, CAMPAIGNS):
            tables[table].grant(function, "dynamodb:Query", "dynamodb:BatchWriteItem")
        tables[CHANNELS].grant(function, "dynamodb:Query", "dynamodb:DeleteItem")
        # The app's push channels' SNS platform applications go with it.
        grant_platform_applications(function, "DeletePlatformApplication")
        deny_opening_credentials(function, key)
        tables[EVENT_STREAMS].grant(function, "dynamodb:GetItem", "dynamodb:DeleteItem")
        tables[TWO_WAY_SMS].grant(function, "dynamodb:GetItem", "dynamodb:DeleteItem")  # config and number claims
        for table in (ANALYTICS, TIMELINES):
            tables[table].grant(function, "dynamodb:Scan", "dynamodb:BatchWriteItem")
        key.grant_encrypt_decrypt(function)  # the tables' and the queue's customer-managed key
        # The app's resolved audiences: list them and delete them (objects under audiences/<app>/).
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[data.audience_bucket.bucket_arn])
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:DeleteObject"], resources=[data.audience_bucket.arn_for_objects(f"{AUDIENCE_PREFIX}/*")]
            )
        )
        self.queue.grant_send_messages(function)  # continuations and the final pass
        self.queue.grant_consume_messages(function)

        # Explicit (not SqsEventSource) so its logical id is stable for local mode and the tests.
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSourceMapping",
            target=function,
            event_source_arn=self.queue.queue_arn,
            batch_size=1,  # one task = one bounded chunk of work
            report_batch_item_failures=True,
        )
        self.dead_letters_alarm = dead_letters_alarm(
            self,
            self.dead_letters,
            (
                "A deleted app's clean-up task failed five times; the queue holds the task (app id and "
                "progress). Its data stays until the task is redriven to the clean-up queue."
            ),
        )
