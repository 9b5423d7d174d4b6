"""Runtime settings: one frozen object per function, read once from that function's environment.

Each function's stack gives it only what it uses (stacks/resources.py, ``function_environment``).
The variable names are defined once, shared by the stacks that write them and the readers here:
tables in the table registry (``Table.env``, homing.adapters.dynamodb.tables), the rest in ``Env``.
Nothing else in the code reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from homing.adapters.dynamodb.tables import TableNames, table_names


class Env:
    """Names of the environment variables other than table names."""

    RESOURCE_ARN_PREFIX = "RESOURCE_ARN_PREFIX"  # arn:<partition>:mobiletargeting:<region>:<account>
    EVENT_STREAM_NAME = "EVENT_STREAM_NAME"
    CORS_ALLOW_ORIGINS = "CORS_ALLOW_ORIGINS"
    CLEANUP_QUEUE_URL = "CLEANUP_QUEUE_URL"
    CLEANUP_GRACE_SECONDS = "CLEANUP_GRACE_SECONDS"
    EVENT_STREAM_ACCOUNTS = "EVENT_STREAM_ACCOUNTS"
    FUNNEL_TIMELINES = "FUNNEL_TIMELINES"
    JOBS_QUEUE_URL = "JOBS_QUEUE_URL"
    JOB_BUCKETS = "JOB_BUCKETS"  # glob patterns of the buckets import and export jobs may use
    AUDIENCE_BUCKET = "AUDIENCE_BUCKET"  # resolutions' pages and manifests
    AUDIENCE_STATE_MACHINE_ARN = "AUDIENCE_STATE_MACHINE_ARN"  # the resolution workflow the api starts
    SMS_CARRIER = "SMS_CARRIER"  # "end-user-messaging" (default) or "sns": who carries SMS
    DATA_KEY_ARN = "DATA_KEY_ARN"  # the data key: channel credentials are sealed with it (kms:Encrypt)
    OTP_KEY_ID = "OTP_KEY_ID"  # the KMS HMAC key one-time passwords are MACed with
    CAMPAIGN_SCHEDULE_GROUP = "CAMPAIGN_SCHEDULE_GROUP"  # EventBridge Scheduler group of campaigns' schedules
    CAMPAIGN_SCHEDULER_ROLE_ARN = "CAMPAIGN_SCHEDULER_ROLE_ARN"  # the role their schedules start the workflow as
    DELIVERY_STATE_MACHINE_ARN = "DELIVERY_STATE_MACHINE_ARN"  # the campaign delivery workflow
    CAMPAIGN_SENDER_FUNCTION = "CAMPAIGN_SENDER_FUNCTION"  # send_batch: process_events starts event-triggered sends


DEFAULT_CLEANUP_GRACE_SECONDS = 360


def _region(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


def _arn_prefix(env: Mapping[str, str], region: str) -> str:
    return env.get(Env.RESOURCE_ARN_PREFIX) or f"arn:aws:mobiletargeting:{region}:000000000000"


def _list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _allowed_accounts(resource_arn_prefix: str, accounts: tuple[str, ...]) -> frozenset[str]:
    """Accounts whose roles and streams PutEventStream may name (default: the deployment's own)."""
    own = resource_arn_prefix.rsplit(":", 1)[-1]
    return frozenset(accounts or (own,))


@dataclass(frozen=True)
class CampaignWorkflowSettings:
    """What arms and starts campaign runs (stacks/constructs/campaign_schedules.py ``environment()``):
    the Scheduler group, the role its schedules start the workflow as, and the delivery workflow."""

    schedule_group: str = ""
    scheduler_role_arn: str = ""
    delivery_state_machine_arn: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.schedule_group and self.scheduler_role_arn and self.delivery_state_machine_arn)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CampaignWorkflowSettings:
        return cls(
            schedule_group=env.get(Env.CAMPAIGN_SCHEDULE_GROUP, ""),
            scheduler_role_arn=env.get(Env.CAMPAIGN_SCHEDULER_ROLE_ARN, ""),
            delivery_state_machine_arn=env.get(Env.DELIVERY_STATE_MACHINE_ARN, ""),
        )


@dataclass(frozen=True)
class ApiSettings:
    """The api function: every table, the events stream (PutEvents), the clean-up queue (DeleteApp)."""

    region: str
    resource_arn_prefix: str
    tables: TableNames = field(default_factory=dict)
    event_stream_name: str = ""
    cors_allow_origins: tuple[str, ...] = ()  # browser origins; empty = no CORS headers
    cleanup_queue_url: str = ""
    event_stream_accounts: tuple[str, ...] = ()
    jobs_queue_url: str = ""
    # Buckets (glob patterns) import and export jobs may read and write: what the stack granted.
    job_buckets: tuple[str, ...] = ()
    audience_bucket: str = ""
    audience_state_machine_arn: str = ""
    data_key_arn: str = ""
    otp_key_id: str = ""
    campaigns: CampaignWorkflowSettings = field(default_factory=CampaignWorkflowSettings)

    @property
    def allowed_event_stream_accounts(self) -> frozenset[str]:
        return _allowed_accounts(self.resource_arn_prefix, self.event_stream_accounts)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if env is None else env
        region = _region(env)
        return cls(
            region=region,
            resource_arn_prefix=_arn_prefix(env, region),
            tables=table_names(env),
            event_stream_name=env.get(Env.EVENT_STREAM_NAME, ""),
            cors_allow_origins=_list(env.get(Env.CORS_ALLOW_ORIGINS, "")),
            cleanup_queue_url=env.get(Env.CLEANUP_QUEUE_URL, ""),
            event_stream_accounts=_list(env.get(Env.EVENT_STREAM_ACCOUNTS, "")),
            jobs_queue_url=env.get(Env.JOBS_QUEUE_URL, ""),
            job_buckets=_list(env.get(Env.JOB_BUCKETS, "")),
            audience_bucket=env.get(Env.AUDIENCE_BUCKET, ""),
            audience_state_machine_arn=env.get(Env.AUDIENCE_STATE_MACHINE_ARN, ""),
            data_key_arn=env.get(Env.DATA_KEY_ARN, ""),
            otp_key_id=env.get(Env.OTP_KEY_ID, ""),
            campaigns=CampaignWorkflowSettings.from_env(env),
        )


@dataclass(frozen=True)
class AudienceSettings:
    """resolve_audience: the tables it reads (Apps, Segments, Endpoints, Analytics, Jobs) and the audience bucket."""

    region: str
    resource_arn_prefix: str
    tables: TableNames = field(default_factory=dict)
    audience_bucket: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AudienceSettings:
        env = os.environ if env is None else env
        region = _region(env)
        return cls(
            region=region,
            resource_arn_prefix=_arn_prefix(env, region),
            tables=table_names(env),
            audience_bucket=env.get(Env.AUDIENCE_BUCKET, ""),
        )


@dataclass(frozen=True)
class RunSettings:
    """run_campaign: Apps, Campaigns and Segments (and Jobs: an IMPORT segment's request is checked), the
    audience bucket (requests, manifests, the run's items and tallies) and the campaign workflow's names."""

    region: str
    resource_arn_prefix: str
    tables: TableNames = field(default_factory=dict)
    audience_bucket: str = ""
    campaigns: CampaignWorkflowSettings = field(default_factory=CampaignWorkflowSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RunSettings:
        env = os.environ if env is None else env
        region = _region(env)
        return cls(
            region=region,
            resource_arn_prefix=_arn_prefix(env, region),
            tables=table_names(env),
            audience_bucket=env.get(Env.AUDIENCE_BUCKET, ""),
            campaigns=CampaignWorkflowSettings.from_env(env),
        )


@dataclass(frozen=True)
class ProcessingSettings:
    """process_events: its tables, whether to write funnel timelines, which accounts' streams it may use,
    and the function that sends event-triggered campaigns (send_batch; none: events trigger nothing)."""

    region: str
    resource_arn_prefix: str
    tables: TableNames = field(default_factory=dict)
    funnel_timelines: bool = True
    event_stream_accounts: tuple[str, ...] = ()
    campaign_sender_function: str = ""

    @property
    def allowed_event_stream_accounts(self) -> frozenset[str]:
        return _allowed_accounts(self.resource_arn_prefix, self.event_stream_accounts)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProcessingSettings:
        env = os.environ if env is None else env
        region = _region(env)
        return cls(
            region=region,
            resource_arn_prefix=_arn_prefix(env, region),
            tables=table_names(env),
            funnel_timelines=env.get(Env.FUNNEL_TIMELINES, "true").lower() != "false",
            event_stream_accounts=_list(env.get(Env.EVENT_STREAM_ACCOUNTS, "")),
            campaign_sender_function=env.get(Env.CAMPAIGN_SENDER_FUNCTION, ""),
        )


@dataclass(frozen=True)
class CleanupSettings:
    """clean_up_app: the tables it empties, its own queue (continuations) and the grace period."""

    region: str
    tables: TableNames = field(default_factory=dict)
    cleanup_queue_url: str = ""
    cleanup_grace_seconds: int = DEFAULT_CLEANUP_GRACE_SECONDS
    audience_bucket: str = ""  # resolved audiences under audiences/<app>/ go with the app

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CleanupSettings:
        env = os.environ if env is None else env
        return cls(
            region=_region(env),
            tables=table_names(env),
            cleanup_queue_url=env.get(Env.CLEANUP_QUEUE_URL, ""),
            cleanup_grace_seconds=int(env.get(Env.CLEANUP_GRACE_SECONDS) or DEFAULT_CLEANUP_GRACE_SECONDS),
            audience_bucket=env.get(Env.AUDIENCE_BUCKET, ""),
        )


SMS_CARRIERS = ("end-user-messaging", "sns")


@dataclass(frozen=True)
class SendSettings:
    """The senders and their dispatcher (send_messages, and any function that sends in-process): the
    delivery ledger table and who carries SMS (End User Messaging, or SNS for an account without an
    origination identity)."""

    region: str
    tables: TableNames = field(default_factory=dict)
    sms_carrier: str = SMS_CARRIERS[0]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SendSettings:
        env = os.environ if env is None else env
        carrier = (env.get(Env.SMS_CARRIER) or SMS_CARRIERS[0]).strip().lower()
        if carrier not in SMS_CARRIERS:
            raise ValueError(f"{Env.SMS_CARRIER} must be one of {', '.join(SMS_CARRIERS)}, not {carrier!r}")
        return cls(region=_region(env), tables=table_names(env), sms_carrier=carrier)


@dataclass(frozen=True)
class CampaignSendSettings:
    """send_batch: the tables it reads (Apps, Campaigns, Templates, Channels) and writes (Caps, the
    delivery ledger), the audience bucket (pages in, tallies out), the events stream, who carries SMS."""

    region: str
    resource_arn_prefix: str
    tables: TableNames = field(default_factory=dict)
    event_stream_name: str = ""
    audience_bucket: str = ""
    sms_carrier: str = SMS_CARRIERS[0]

    @property
    def send(self) -> SendSettings:
        """The senders' own settings (the dispatcher is built from these)."""
        return SendSettings(region=self.region, tables=self.tables, sms_carrier=self.sms_carrier)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CampaignSendSettings:
        env = os.environ if env is None else env
        region = _region(env)
        return cls(
            region=region,
            resource_arn_prefix=_arn_prefix(env, region),
            tables=table_names(env),
            event_stream_name=env.get(Env.EVENT_STREAM_NAME, ""),
            audience_bucket=env.get(Env.AUDIENCE_BUCKET, ""),
            sms_carrier=SendSettings.from_env(env).sms_carrier,
        )


@dataclass(frozen=True)
class ReceiptSettings:
    """record_receipts and receive_sms: the tables they write (Apps, Endpoints, Catalog, TwoWaySms)
    and the events stream their records go to."""

    region: str
    resource_arn_prefix: str
    tables: TableNames = field(default_factory=dict)
    event_stream_name: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReceiptSettings:
        env = os.environ if env is None else env
        region = _region(env)
        return cls(
            region=region,
            resource_arn_prefix=_arn_prefix(env, region),
            tables=table_names(env),
            event_stream_name=env.get(Env.EVENT_STREAM_NAME, ""),
        )
