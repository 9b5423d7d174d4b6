"""CampaignSending: the send_batch function, which sends one batch of a campaign run.

The delivery workflow's Distributed Map invokes it once per batch (``{"run", "item"}``) and
process_events asynchronously for an event-triggered send. It reads the audience page, applies the
audience rules and sends in-process through the senders (``grant_sending``), so its grants are
what that needs and no more: Apps, Templates, Channels read; Caps read/write; for event-triggered
sends Endpoints, Segments and Analytics read and Campaigns read/write (the day's activity); the
delivery ledger and the carriers through ``grant_sending``; PutRecord(s) on the events stream;
audience pages read under ``audiences/``, tallies written under ``campaign-runs/``; and Invoke only
on the campaign-hook functions the deployment allows (context ``campaign_hook_functions``, as
custom channels' are allowed by ``custom_channel_functions``).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from homing.adapters.dynamodb.tables import (
    ANALYTICS,
    APPS,
    CAMPAIGNS,
    CAPS,
    CHANNELS,
    DELIVERY_LEDGER,
    ENDPOINTS,
    SEGMENTS,
    TEMPLATES,
)
from homing.domain.campaign_runs import RUNS_PREFIX
from homing.settings import Env
from stacks.arns import resource_arn_prefix
from stacks.constructs.audience_resolution import grant_audience_objects
from stacks.constructs.function import HomingFunction
from stacks.constructs.senders import Senders, context_functions, function_arns, grant_sending
from stacks.resources import DataResources, function_environment

# The tables send_batch uses: its environment names exactly these, and each has a grant below.
# Event-triggered sends (action "trigger") also read the endpoint (Endpoints), the segment (Segments),
# its last activity for Recency (Analytics), and write the day's activity and its counts (Campaigns).
SENDING_TABLES = (APPS, CAMPAIGNS, TEMPLATES, CHANNELS, CAPS, DELIVERY_LEDGER, ENDPOINTS, SEGMENTS, ANALYTICS)
READ_TABLES = (APPS, TEMPLATES, CHANNELS)
# Event-triggered sends are invoked asynchronously: Pinpoint drops what is not delivered within 5 minutes.
TRIGGER_MAX_EVENT_AGE = Duration.minutes(5)
TRIGGER_RETRY_ATTEMPTS = 2
# A batch is at most 500 members (campaign_rules.MAX_BATCH): a cap transaction each (~10 ms), up to 10
# hook invocations (50 endpoints each, 15 s and 3 attempts at worst), and the sends, 10 at a time
# (~50 ms each through SES): about 30 s in the usual case; 5 minutes leave room for a slow hook and
# throttled carriers' back-off while staying well inside the Map's own timeouts.
TIMEOUT = Duration.minutes(5)
# Rendering 500 messages (Handlebars, JSON of each endpoint) is CPU-bound: 1 GB gives a full vCPU's
# share to the dispatcher's 10 threads; a page of 500 endpoints is a few MB in memory.
MEMORY_MB = 1024
# Campaign hooks (CampaignHook.LambdaFunctionName) the deployment allows; context "campaign_hook_functions".
HOOK_FUNCTIONS_CONTEXT_KEY = "campaign_hook_functions"
DEFAULT_HOOK_FUNCTIONS = ("homing-hook-*",)


def campaign_hook_functions(scope: Construct) -> tuple[str, ...]:
    """The context's ``campaign_hook_functions`` (a list, JSON list text or comma-separated), else the default."""
    return context_functions(scope, HOOK_FUNCTIONS_CONTEXT_KEY, DEFAULT_HOOK_FUNCTIONS)


def grant_run_objects(grantee: iam.IGrantable, data: DataResources) -> None:
    """Put (and Get, for a retry's reread) objects under ``campaign-runs/``: the batches' tallies."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject"],
            resources=[data.audience_bucket.arn_for_objects(f"{RUNS_PREFIX}/*")],
        )
    )
    data.key.grant(grantee, "kms:GenerateDataKey")


class CampaignSending(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        senders: Senders,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.hook_functions = campaign_hook_functions(self)
        self.custom_functions, self.carrier = senders.custom_functions, senders.carrier
        self.send_batch = HomingFunction(
            self,
            "SendBatch",
            entry="send_batch",
            description="Homing: sends one batch of a campaign run (audience rules, caps, hook, render, send)",
            env=function_environment(
                data,
                SENDING_TABLES,
                {
                    Env.RESOURCE_ARN_PREFIX: resource_arn_prefix(),
                    Env.EVENT_STREAM_NAME: data.event_stream.stream_name,
                    Env.AUDIENCE_BUCKET: data.audience_bucket.bucket_name,
                    Env.SMS_CARRIER: senders.carrier,
                },
            ),
            memory=MEMORY_MB,
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        self.function: lambda_.Function = self.send_batch.function
        self.role = self.send_batch.role
        function = self.function
        for table in READ_TABLES:
            data.tables[table].grant_read_data(function)
        data.tables[CAPS].grant_read_write_data(function)
        data.tables[CAMPAIGNS].grant_read_write_data(function)  # event campaigns' day activities and counts
        # Event-triggered sends read one endpoint, its segment's versions and its active days: items, no index.
        # (explicit statements: Table.grant would add the tables' index/* too)
        for table, action in (
            (ENDPOINTS, "dynamodb:BatchGetItem"),
            (SEGMENTS, "dynamodb:GetItem"),
            (ANALYTICS, "dynamodb:BatchGetItem"),
        ):
            function.add_to_role_policy(iam.PolicyStatement(actions=[action], resources=[data.tables[table].table_arn]))
        function.configure_async_invoke(max_event_age=TRIGGER_MAX_EVENT_AGE, retry_attempts=TRIGGER_RETRY_ATTEMPTS)
        grant_sending(self, function, data, custom_functions=senders.custom_functions, carrier=senders.carrier)
        data.event_stream.grant_write(function)
        grant_audience_objects(function, data, write=False)
        grant_run_objects(function, data)
        if self.hook_functions:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=function_arns(self, self.hook_functions)
                )
            )
