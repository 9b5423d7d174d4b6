"""ApiStack: the management API and its function (stateless; receives the data resources)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, Stack
from constructs import Construct

from homing.adapters.dynamodb.tables import (
    ANALYTICS,
    APPS,
    CATALOG,
    ENDPOINTS,
    EVENT_STREAMS,
    JOBS,
    SEGMENTS,
    TIMELINES,
    TWO_WAY_SMS,
)
from homing.settings import Env
from stacks.arns import event_stream_accounts, resource_arn_prefix
from stacks.config import EnvConfig
from stacks.constructs.app_cleanup import DEFAULT_GRACE_SECONDS, GRACE_CONTEXT_KEY, AppCleanup
from stacks.constructs.audience_resolution import AudienceResolution, grant_audience_objects
from stacks.constructs.function import HomingFunction
from stacks.constructs.identity_pool import EventsIdentityPool
from stacks.constructs.jobs import Jobs, job_buckets
from stacks.constructs.management_api import ManagementApi
from stacks.resources import DataResources, function_environment

# The tables the api function uses: its environment names exactly these, and each has a grant below.
API_TABLES = (APPS, ENDPOINTS, CATALOG, ANALYTICS, EVENT_STREAMS, TIMELINES, SEGMENTS, JOBS, TWO_WAY_SMS)


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
        data: DataResources,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Homing ({config.name}): management API", **kwargs)
        self.config = config
        # DeleteApp tombstones the app and sends one message; this removes the rest, asynchronously.
        self.cleanup = AppCleanup(
            self,
            "AppCleanup",
            data=data,
            grace_seconds=int(self.node.try_get_context(GRACE_CONTEXT_KEY) or DEFAULT_GRACE_SECONDS),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        # CreateImportJob / CreateExportJob queue a job; run_jobs plans it and runs its pieces.
        self.jobs = Jobs(
            self,
            "Jobs",
            data=data,
            buckets=job_buckets(self),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        # Segment audiences: a state machine over resolve_audience, started by the audience extension.
        self.audiences = AudienceResolution(
            self,
            "AudienceResolution",
            data=data,
            resource_arn_prefix=resource_arn_prefix(),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

        self.api_function = HomingFunction(
            self,
            "Api",
            entry="api",
            description="Homing management API (Amazon Pinpoint REST operations)",
            env=function_environment(
                data,
                API_TABLES,
                {
                    Env.RESOURCE_ARN_PREFIX: resource_arn_prefix(),
                    Env.EVENT_STREAM_NAME: data.event_stream.stream_name,
                    Env.CORS_ALLOW_ORIGINS: ",".join(config.cors_allow_origins),
                    Env.CLEANUP_QUEUE_URL: self.cleanup.queue.queue_url,
                    Env.EVENT_STREAM_ACCOUNTS: Fn.join(",", event_stream_accounts(self)),
                    Env.JOBS_QUEUE_URL: self.jobs.queue.queue_url,
                    Env.JOB_BUCKETS: ",".join(self.jobs.buckets),
                    Env.AUDIENCE_BUCKET: data.audience_bucket.bucket_name,
                    Env.AUDIENCE_STATE_MACHINE_ARN: self.audiences.state_machine.state_machine_arn,
                },
            ),
            # API Gateway gives up after 29 s; a longer function timeout would only waste money.
            timeout=Duration.seconds(29),
            log_retention=config.log_retention,
            log_removal_policy=config.removal_policy,
        )
        function = self.api_function.function
        for table in (APPS, ENDPOINTS, CATALOG, EVENT_STREAMS, SEGMENTS):
            data.tables[table].grant_read_write_data(function)
        data.tables[ANALYTICS].grant_read_data(function)
        data.tables[TIMELINES].grant_read_data(function)  # funnels read what process_events wrote
        data.tables[ANALYTICS].grant(function, "dynamodb:DeleteItem")  # DeleteUserEndpoints: the user's activity
        self.cleanup.queue.grant_send_messages(function)  # DeleteApp starts the clean-up
        # create (and undo when the job cannot be queued), get, list
        data.tables[JOBS].grant(
            function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"
        )
        self.jobs.queue.grant_send_messages(function)  # CreateImportJob / CreateExportJob start the job
        # The two-way SMS extension: the configuration and its number claims, written in one transaction.
        data.tables[TWO_WAY_SMS].grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
        # PutRecord(s) (+ kms:Encrypt etc. on the stream's key): PutEvents only ever writes.
        data.event_stream.grant_write(function)
        # The audience extension: start a resolution, record its request, read its state and manifest.
        self.audiences.state_machine.grant_start_execution(function)
        grant_audience_objects(function, data, write=True)  # request.json; reads state and manifests

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
