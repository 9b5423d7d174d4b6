"""Jobs: the queue-driven run_jobs function that plans and runs import and export jobs (services/jobs.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from homing.adapters.dynamodb.tables import ANALYTICS, APPS, CATALOG, ENDPOINTS, JOBS, SEGMENTS
from homing.settings import Env
from stacks.arns import resource_arn_prefix
from stacks.constructs.alarms import dead_letters_alarm
from stacks.constructs.function import HomingFunction
from stacks.constructs.queues import secure_queue
from stacks.resources import DataResources, function_environment

# The planner streams every file once to cut it into pieces of whole lines (1 GB: well under this).
TIMEOUT = Duration.minutes(15)
VISIBILITY_TIMEOUT = Duration.minutes(90)  # Lambda's advice for SQS sources: six times the function timeout
MAX_RECEIVE_COUNT = 5  # a task that fails five times goes to the dead-letter queue (and alarms)
RETENTION = Duration.days(14)
# At most this many pieces run at once: the endpoint writes of an import stay a steady load.
MAX_CONCURRENCY = 10
MEMORY_MB = 1024
# Buckets (glob patterns) import and export jobs may read and write; context "job_buckets" overrides.
BUCKETS_CONTEXT_KEY = "job_buckets"
DEFAULT_BUCKETS = ("homing-jobs-*",)
# The tables run_jobs uses: its environment names exactly these, and each has a grant below.
# Segments: an import with DefineSegment defines one, and a segment export reads one; Analytics: the
# activity of a segment export's candidates when the segment has a Recency (BatchGetItem only).
JOBS_TABLES = (APPS, ENDPOINTS, CATALOG, JOBS, SEGMENTS, ANALYTICS)


def job_buckets(scope: Construct) -> tuple[str, ...]:
    """The context's ``job_buckets`` (a list, JSON list text or a comma-separated string), else DEFAULT_BUCKETS."""
    value = scope.node.try_get_context(BUCKETS_CONTEXT_KEY)
    if value is None:
        return DEFAULT_BUCKETS
    if isinstance(value, str) and value.strip().startswith("["):
        value = json.loads(value)  # -c job_buckets='["a","b"]'
    names = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(n).strip() for n in names if str(n).strip())


class Jobs(Construct):
    """Jobs queue (KMS, TLS only) -> run_jobs (batch size 1, partial batch response) -> DLQ + alarm.

    run_jobs may: read the Apps table (the app exists); write endpoints the way UpdateEndpointsBatch
    does (Endpoints and Catalog, read and write); read and update the Jobs table; read, list and write
    the configured job buckets; send its own pieces and continuations.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        buckets: Sequence[str],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        key, tables = data.key, data.tables
        self.buckets = tuple(buckets)
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
        self.run_jobs = HomingFunction(
            self,
            "RunJobs",
            entry="run_jobs",
            description="Homing: plans import and export jobs and runs their pieces, one queue message each",
            env=function_environment(
                data,
                JOBS_TABLES,
                {
                    Env.RESOURCE_ARN_PREFIX: resource_arn_prefix(),
                    Env.JOBS_QUEUE_URL: self.queue.queue_url,
                    Env.JOB_BUCKETS: ",".join(self.buckets),
                },
            ),
            memory=MEMORY_MB,
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        function = self.run_jobs.function
        tables[APPS].grant_read_data(function)
        for table in (ENDPOINTS, CATALOG, SEGMENTS):
            tables[table].grant_read_write_data(function)
        tables[JOBS].grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")
        tables[ANALYTICS].grant(function, "dynamodb:BatchGetItem")  # a segment export's Recency: candidates' activity
        key.grant_encrypt_decrypt(function)  # the tables' and the queue's customer-managed key
        self.queue.grant_send_messages(function)
        self.queue.grant_consume_messages(function)
        self.grant_buckets(function)

        # Explicit (not SqsEventSource) so its logical id is stable for local mode and the tests.
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            "EventSourceMapping",
            target=function,
            event_source_arn=self.queue.queue_arn,
            batch_size=1,  # one task = one piece
            report_batch_item_failures=True,
            max_concurrency=MAX_CONCURRENCY,
        )
        self.dead_letters_alarm = dead_letters_alarm(
            self,
            self.dead_letters,
            (
                "An import or export task failed five times; the queue holds it (app, job and piece). The job "
                "stays PROCESSING until the task is redriven to the jobs queue."
            ),
        )

    def grant_buckets(self, function: lambda_.IFunction) -> None:
        """List, read and write the configured buckets: Homing uses its own role, not the job's RoleArn."""
        partition = Stack.of(self).partition
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[f"arn:{partition}:s3:::{b}" for b in self.buckets],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[f"arn:{partition}:s3:::{b}/*" for b in self.buckets],
            )
        )
