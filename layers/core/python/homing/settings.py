"""Runtime settings, read once from the environment into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """What the functions need to know about the deployment they run in.

    Table and stream names come from the CDK stacks through environment variables; nothing
    else in the code reads ``os.environ``.
    """

    apps_table: str
    endpoints_table: str
    catalog_table: str
    region: str
    resource_arn_prefix: str  # arn:<partition>:mobiletargeting:<region>:<account>
    event_stream_name: str = ""
    analytics_table: str = ""
    event_streams_table: str = ""
    timelines_table: str = ""
    funnel_timelines: bool = True
    cors_allow_origins: tuple[str, ...] = ()  # browser origins; empty = no CORS headers
    cleanup_queue_url: str = ""
    cleanup_grace_seconds: int = 360
    # Accounts whose roles and streams PutEventStream may name (default: the deployment's own).
    event_stream_accounts: tuple[str, ...] = ()
    jobs_table: str = ""
    jobs_queue_url: str = ""
    # Buckets (glob patterns) import and export jobs may read and write: what the stack granted.
    job_buckets: tuple[str, ...] = ()

    @property
    def allowed_event_stream_accounts(self) -> frozenset[str]:
        own = self.resource_arn_prefix.rsplit(":", 1)[-1]
        return frozenset(self.event_stream_accounts or (own,))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        return cls(
            apps_table=env["APPS_TABLE"],
            endpoints_table=env["ENDPOINTS_TABLE"],
            catalog_table=env["CATALOG_TABLE"],
            region=region,
            resource_arn_prefix=env.get("RESOURCE_ARN_PREFIX") or f"arn:aws:mobiletargeting:{region}:000000000000",
            event_stream_name=env.get("EVENT_STREAM_NAME", ""),
            analytics_table=env.get("ANALYTICS_TABLE", ""),
            event_streams_table=env.get("EVENT_STREAMS_TABLE", ""),
            timelines_table=env.get("TIMELINES_TABLE", ""),
            funnel_timelines=env.get("FUNNEL_TIMELINES", "true").lower() != "false",
            cors_allow_origins=tuple(o.strip() for o in env.get("CORS_ALLOW_ORIGINS", "").split(",") if o.strip()),
            cleanup_queue_url=env.get("CLEANUP_QUEUE_URL", ""),
            cleanup_grace_seconds=int(env.get("CLEANUP_GRACE_SECONDS") or 360),
            event_stream_accounts=tuple(
                a.strip() for a in env.get("EVENT_STREAM_ACCOUNTS", "").split(",") if a.strip()
            ),
            jobs_table=env.get("JOBS_TABLE", ""),
            jobs_queue_url=env.get("JOBS_QUEUE_URL", ""),
            job_buckets=tuple(b.strip() for b in env.get("JOB_BUCKETS", "").split(",") if b.strip()),
        )
