"""ApiStack: the management API and its function (stateless; receives the data resources)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.arns import event_stream_accounts, resource_arn_prefix
from stacks.config import EnvConfig
from stacks.constructs.app_cleanup import DEFAULT_GRACE_SECONDS, GRACE_CONTEXT_KEY, AppCleanup
from stacks.constructs.function import OBSERVABILITY_ENV, HomingFunction
from stacks.constructs.identity_pool import EventsIdentityPool
from stacks.constructs.jobs import Jobs, job_buckets
from stacks.constructs.management_api import ManagementApi


class ApiStack(Stack):
    """Pinpoint-compatible REST API (IAM auth) -> one api function -> the tables and the events stream.

    Least privilege per table: read/write where the API writes (apps, endpoints, catalogue, event
    streams), read-only on Analytics (KPIs and funnels; only process_events writes it), and only
    PutRecord(s) on the events stream (PutEvents).
    """

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
        jobs_table: dynamodb.ITable,
        event_stream: kinesis.IStream,
        data_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Homing ({config.name}): management API", **kwargs)
        self.config = config
        tables_env = {
            "APPS_TABLE": apps_table.table_name,
            "ENDPOINTS_TABLE": endpoints_table.table_name,
            "CATALOG_TABLE": catalog_table.table_name,
            "ANALYTICS_TABLE": analytics_table.table_name,
            "EVENT_STREAMS_TABLE": event_streams_table.table_name,
            "TIMELINES_TABLE": timelines_table.table_name,
            "JOBS_TABLE": jobs_table.table_name,
            "RESOURCE_ARN_PREFIX": resource_arn_prefix(),
            **OBSERVABILITY_ENV,
        }
        # DeleteApp tombstones the app and sends one message; this removes the rest, asynchronously.
        self.cleanup = AppCleanup(
            self,
            "AppCleanup",
            apps_table=apps_table,
            endpoints_table=endpoints_table,
            catalog_table=catalog_table,
            analytics_table=analytics_table,
            event_streams_table=event_streams_table,
            timelines_table=timelines_table,
            env=tables_env,
            key=data_key,
            grace_seconds=int(self.node.try_get_context(GRACE_CONTEXT_KEY) or DEFAULT_GRACE_SECONDS),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

        jobs_table.grant(self.cleanup.clean_up_app.function, "dynamodb:Query", "dynamodb:BatchWriteItem")
        self.jobs = Jobs(
            self,
            "Jobs",
            apps_table=apps_table,
            endpoints_table=endpoints_table,
            catalog_table=catalog_table,
            jobs_table=jobs_table,
            env=tables_env,
            key=data_key,
            buckets=job_buckets(self),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

        self.api_function = HomingFunction(
            self,
            "Api",
            entry="api",
            description="Homing management API (Amazon Pinpoint REST operations)",
            env={
                **tables_env,
                "EVENT_STREAM_NAME": event_stream.stream_name,
                "CORS_ALLOW_ORIGINS": ",".join(config.cors_allow_origins),
                "CLEANUP_QUEUE_URL": self.cleanup.queue.queue_url,
                "EVENT_STREAM_ACCOUNTS": Fn.join(",", event_stream_accounts(self)),
                "JOBS_QUEUE_URL": self.jobs.queue.queue_url,
                "JOB_BUCKETS": ",".join(self.jobs.buckets),
            },
            # API Gateway gives up after 29 s; a longer function timeout would only waste money.
            timeout=Duration.seconds(29),
            log_retention=config.log_retention,
            log_removal_policy=config.removal_policy,
        )
        function = self.api_function.function
        for table in (apps_table, endpoints_table, catalog_table, event_streams_table):
            table.grant_read_write_data(function)
        analytics_table.grant_read_data(function)
        timelines_table.grant_read_data(function)  # funnels read what process_events wrote
        analytics_table.grant(function, "dynamodb:DeleteItem")  # DeleteUserEndpoints: the user's activity
        self.cleanup.queue.grant_send_messages(function)  # DeleteApp starts the clean-up
        # create (and undo when the job cannot be queued), get, list
        jobs_table.grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query")
        self.jobs.queue.grant_send_messages(function)  # CreateImportJob / CreateExportJob start the job
        # PutRecord(s) (+ kms:Encrypt etc. on the stream's key): PutEvents only ever writes.
        event_stream.grant_write(function)

        self.api = ManagementApi(
            self,
            "ManagementApi",
            handler=function,
            throttling_rate_limit=config.api_throttling_rate_limit,
            throttling_burst_limit=config.api_throttling_burst_limit,
            log_retention=config.log_retention,
            log_removal_policy=config.removal_policy,
            cors_allow_origins=config.cors_allow_origins,
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Homing endpoint for Pinpoint clients (SigV4)")

        # Browsers and mobile apps: guest credentials that may only send events to the listed apps.
        self.identity_pool: EventsIdentityPool | None = None
        if config.identity_pool_app_ids:
            self.identity_pool = EventsIdentityPool(
                self,
                "EventsIdentityPool",
                api=self.api.rest_api,
                app_ids=config.identity_pool_app_ids,
                name=f"homing_{config.name}_events",
            )
