"""ApiStack: the management API and its function (stateless; receives the data resources)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from homing.adapters.dynamodb.tables import (
    ANALYTICS,
    APPS,
    CAMPAIGNS,
    CATALOG,
    CHANNELS,
    DELIVERY_LEDGER,
    ENDPOINTS,
    EVENT_STREAMS,
    JOBS,
    OTP,
    SEGMENTS,
    TEMPLATES,
    TIMELINES,
    TWO_WAY_SMS,
)
from homing.settings import Env
from stacks.arns import event_stream_accounts, resource_arn_prefix
from stacks.config import EnvConfig
from stacks.constructs.app_cleanup import DEFAULT_GRACE_SECONDS, GRACE_CONTEXT_KEY, AppCleanup
from stacks.constructs.audience_resolution import AudienceResolution, grant_audience_objects
from stacks.constructs.campaign_delivery import CampaignDelivery
from stacks.constructs.campaign_sending import CampaignSending
from stacks.constructs.channel_access import deny_opening_credentials, grant_platform_applications
from stacks.constructs.function import HomingFunction
from stacks.constructs.identity_pool import EventsIdentityPool
from stacks.constructs.jobs import Jobs, job_buckets
from stacks.constructs.management_api import ManagementApi
from stacks.constructs.senders import Senders, custom_channel_functions, grant_sending, sms_carrier
from stacks.resources import DataResources, function_environment

# The tables the api function uses: its environment names exactly these, and each has a grant below.
API_TABLES = (
    APPS,
    ENDPOINTS,
    CATALOG,
    ANALYTICS,
    EVENT_STREAMS,
    TIMELINES,
    SEGMENTS,
    JOBS,
    CHANNELS,
    OTP,
    TEMPLATES,
    TWO_WAY_SMS,
    DELIVERY_LEDGER,
    CAMPAIGNS,
)


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

        # The sender task of the campaign and journey workflows (and the senders' grants, for in-process use).
        self.senders = Senders(
            self,
            "Senders",
            data=data,
            custom_functions=custom_channel_functions(self),
            carrier=sms_carrier(self),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

        # Campaigns: send_batch sends one batch of a run; the delivery workflow runs a campaign's runs
        # (audience, batches, activities) and Scheduler starts it at each armed run.
        self.campaign_sending = CampaignSending(
            self,
            "CampaignSending",
            data=data,
            senders=self.senders,
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.campaign_delivery = CampaignDelivery(
            self,
            "CampaignDelivery",
            data=data,
            resolve_audience=self.audiences.resolve_audience.function,
            send_batch=self.campaign_sending.function,
            resource_arn_prefix=resource_arn_prefix(),
            log_retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

        # One-time passwords are stored as HMACs under this key; it never leaves KMS (docs/decisions.md).
        self.otp_key = kms.Key(
            self,
            "OtpKey",
            description=f"Homing ({config.name}): MACs of one-time passwords (SendOTPMessage)",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
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
                    Env.DATA_KEY_ARN: data.key.key_arn,
                    Env.OTP_KEY_ID: self.otp_key.key_arn,
                    Env.SMS_CARRIER: self.senders.carrier,  # SendMessages and OTP send in-process
                    **self.campaign_delivery.scheduling.environment(),  # campaigns' runs: arm, start, disarm
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
        data.tables[TEMPLATES].grant_read_write_data(function)  # message templates and their versions
        data.tables[TIMELINES].grant_read_data(function)  # funnels read what process_events wrote
        data.tables[ANALYTICS].grant(function, "dynamodb:DeleteItem")  # DeleteUserEndpoints: the user's activity
        self.cleanup.queue.grant_send_messages(function)  # DeleteApp starts the clean-up
        # create (and undo when the job cannot be queued), get, list
        data.tables[JOBS].grant(
            function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"
        )
        self.jobs.queue.grant_send_messages(function)  # CreateImportJob / CreateExportJob start the job
        # SendOTPMessage replaces a scope's code; VerifyOTPMessage reads it and spends an attempt.
        data.tables[OTP].grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.otp_key.grant(function, "kms:GenerateMac")
        # The two-way SMS extension: the configuration and its number claims, written in one transaction.
        data.tables[TWO_WAY_SMS].grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
        # Campaigns: head + version + segment usage in one transaction (DeleteSegment checks the usage),
        # activities, and the history removed after a DeleteCampaign.
        data.tables[CAMPAIGNS].grant(
            function,
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:Query",
            "dynamodb:BatchWriteItem",
        )
        # Create/UpdateCampaign arm the first run on Scheduler (or start an IMMEDIATE one); pause and delete disarm.
        self.campaign_delivery.grant_start(function)
        # SendMessages, SendUsersMessages and OTP send in-process, through the same senders and ledger.
        grant_sending(
            self, function, data, custom_functions=self.senders.custom_functions, carrier=self.senders.carrier
        )
        # PutRecord(s) (+ kms:Encrypt etc. on the stream's key): PutEvents only ever writes.
        data.event_stream.grant_write(function)
        # The audience extension: start a resolution, record its request, read its state and manifest.
        self.audiences.state_machine.grant_start_execution(function)
        grant_audience_objects(function, data, write=True)  # request.json; reads state and manifests
        # Channels: the item per app and type; credentials sealed with the data key (Encrypt only:
        # the api never reads a credential back) and handed to the push channels' SNS applications.
        data.tables[CHANNELS].grant(
            function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"
        )
        data.key.grant(function, "kms:Encrypt")
        deny_opening_credentials(function, data.key)
        grant_platform_applications(
            function, "CreatePlatformApplication", "SetPlatformApplicationAttributes", "DeletePlatformApplication"
        )

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
