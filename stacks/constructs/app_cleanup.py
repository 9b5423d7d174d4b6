"""AppCleanup: the queue-driven function that removes what a deleted app owned (services/cleanup.py)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.alarms import dead_letters_alarm
from stacks.constructs.function import HomingFunction
from stacks.constructs.queues import secure_queue

TIMEOUT = Duration.minutes(5)  # a task stops starting chunks a minute before this (cleanup.MIN_REMAINING_MS)
# Lambda's advice for SQS sources: a visibility timeout of at least six times the function timeout.
VISIBILITY_TIMEOUT = Duration.minutes(30)
MAX_RECEIVE_COUNT = 5  # a task that fails five times goes to the dead-letter queue (and alarms)
RETENTION = Duration.days(14)  # the SQS maximum
# Default time between DeleteApp and the final pass: longer than the API's 29 s and than
# process_events' 5-minute timeout, the longest a write that read the app before its tombstone lasts.
DEFAULT_GRACE_SECONDS = 360
GRACE_CONTEXT_KEY = "cleanup_grace_seconds"


class AppCleanup(Construct):
    """Clean-up queue (KMS, TLS only) -> clean_up_app (batch size 1, partial batch response) -> DLQ + alarm.

    Grants are what the clean-up does and nothing more: read the Apps table (is the app a
    tombstone?); query and batch-delete Endpoints and Catalog; get and delete the app's
    EventStreams item; scan and batch-delete Analytics and Timelines; send its own continuations.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        apps_table: dynamodb.ITable,
        endpoints_table: dynamodb.ITable,
        catalog_table: dynamodb.ITable,
        analytics_table: dynamodb.ITable,
        event_streams_table: dynamodb.ITable,
        timelines_table: dynamodb.ITable,
        segments_table: dynamodb.ITable,
        env: Mapping[str, str],
        key: kms.IKey,
        grace_seconds: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
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
            env={
                **env,
                "CLEANUP_QUEUE_URL": self.queue.queue_url,
                "CLEANUP_GRACE_SECONDS": str(grace_seconds),
            },
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        function = self.clean_up_app.function
        apps_table.grant(function, "dynamodb:GetItem")
        for table in (endpoints_table, catalog_table, segments_table):
            table.grant(function, "dynamodb:Query", "dynamodb:BatchWriteItem")
        event_streams_table.grant(function, "dynamodb:GetItem", "dynamodb:DeleteItem")
        for table in (analytics_table, timelines_table):
            table.grant(function, "dynamodb:Scan", "dynamodb:BatchWriteItem")
        key.grant_encrypt_decrypt(function)  # the tables' and the queue's customer-managed key
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
