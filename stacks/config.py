"""Per-environment settings of the CDK app, read once from context into a frozen EnvConfig."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node

DEFAULT_ENV = "dev"

_REQUIRED_KEYS = (
    "api_throttling_rate_limit",
    "api_throttling_burst_limit",
    "log_retention",
    "removal_policy",
)

_REMOVAL_POLICIES = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}

# Optional settings: an environment may set them in cdk.json, and a top-level context value of the
# same name overrides the environment's (``cdk deploy -c alarm_email=ops@example.com``; such values
# arrive as strings, so each parser also accepts its value's text).
OVERRIDABLE_KEYS = (
    "archive_retention_days",
    "alarm_email",
    "event_stream_mode",
    "event_stream_shards",
    "reserved_concurrency",
    "cors_allow_origins",
    "identity_pool_app_ids",
)
DEFAULT_ARCHIVE_RETENTION_DAYS = 365
NEVER = "never"
STREAM_MODES = ("provisioned", "on_demand")
DEFAULT_STREAM_MODE = "provisioned"  # one shard costs ~$11/month; on-demand ~$29 before the first event
DEFAULT_STREAM_SHARDS = 1
STREAM_CONSUMER = "process_events"  # the events stream's consumer: one invocation per shard

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ConfigError(ValueError):
    """The context does not describe the selected environment completely."""


@dataclass(frozen=True)
class EnvConfig:
    """What differs between deployments (dev, prod, ...).

    ``removal_policy`` applies to stateless resources (log groups, the alarm topic's key); the stateful resources of
    DataStack (key, tables, stream, buckets) are always retained.
    """

    name: str
    api_throttling_rate_limit: float  # steady-state requests per second for the whole stage
    api_throttling_burst_limit: int
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy
    termination_protection: bool
    # S3 lifecycle of the Archive bucket: days until an archived event expires; None = never.
    archive_retention_days: int | None = DEFAULT_ARCHIVE_RETENTION_DAYS
    # Subscribed to the alarm topic (needs confirming from the mail AWS sends); None = no subscription.
    alarm_email: str | None = None
    event_stream_mode: str = DEFAULT_STREAM_MODE  # "provisioned" or "on_demand"
    event_stream_shards: int = DEFAULT_STREAM_SHARDS  # provisioned mode only
    # Function entry (functions/<entry>) -> reserved concurrent executions; absent = unreserved.
    reserved_concurrency: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # Browsers and mobile apps (issue 6): origins allowed by CORS (empty = no CORS), and the apps a
    # Cognito identity pool may send events to (empty = no identity pool).
    cors_allow_origins: tuple[str, ...] = ("*",)
    identity_pool_app_ids: tuple[str, ...] = ()

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"

    def stack_id(self, purpose: str) -> str:
        """``Homing-<env>-<Purpose>``: the house naming of stacks."""
        return f"Homing-{self.name}-{purpose}"

    @classmethod
    def from_context(cls, node: Node) -> EnvConfig:
        """Select ``context.environments[<env>]`` where ``env`` comes from the context (default dev)."""
        name = str(node.try_get_context("env") or DEFAULT_ENV)
        environments = node.try_get_context("environments") or {}
        if name not in environments:
            known = ", ".join(sorted(environments)) or "none"
            raise ConfigError(f"environment {name!r} is not defined in context 'environments' (defined: {known})")
        values = dict(environments[name])
        for key in OVERRIDABLE_KEYS:
            override = node.try_get_context(key)
            if override is not None:
                values[key] = override
        # ``cdk deploy -c corsAllowOrigins=https://a.example,https://b.example`` overrides the environment.
        for context_key, key in _CONTEXT_OVERRIDES.items():
            override = node.try_get_context(context_key)
            if override is not None:
                values[key] = override
        return cls.from_mapping(name, values)

    @classmethod
    def from_mapping(cls, name: str, values: Mapping[str, Any]) -> EnvConfig:
        missing = [key for key in _REQUIRED_KEYS if key not in values]
        if missing:
            raise ConfigError(f"environment {name!r} lacks required keys: {', '.join(missing)}")
        try:
            retention = logs.RetentionDays[str(values["log_retention"])]
        except KeyError:
            raise ConfigError(f"environment {name!r}: unknown log_retention {values['log_retention']!r}") from None
        removal = _REMOVAL_POLICIES.get(str(values["removal_policy"]).lower())
        if removal is None:
            raise ConfigError(f"environment {name!r}: removal_policy must be one of {sorted(_REMOVAL_POLICIES)}")
        rate = float(values["api_throttling_rate_limit"])
        burst = int(values["api_throttling_burst_limit"])
        if rate <= 0 or burst <= 0:
            raise ConfigError(f"environment {name!r}: API throttling limits must be positive")
        config = cls(
            name=name,
            api_throttling_rate_limit=rate,
            api_throttling_burst_limit=burst,
            log_retention=retention,
            removal_policy=removal,
            termination_protection=bool(values.get("termination_protection", name == "prod")),
            archive_retention_days=_retention_days(name, values.get("archive_retention_days")),
            alarm_email=_alarm_email(name, values.get("alarm_email")),
            event_stream_mode=_stream_mode(name, values.get("event_stream_mode")),
            event_stream_shards=_positive_int(
                name, "event_stream_shards", values.get("event_stream_shards", DEFAULT_STREAM_SHARDS)
            ),
            reserved_concurrency=_reserved_concurrency(name, values.get("reserved_concurrency")),
            cors_allow_origins=_cors_origins(name, values.get("cors_allow_origins", ["*"])),
            identity_pool_app_ids=_app_ids(name, values.get("identity_pool_app_ids", [])),
        )
        consumer = config.reserved_concurrency.get(STREAM_CONSUMER)
        if consumer is not None and config.event_stream_mode == "provisioned" and consumer < config.event_stream_shards:
            # One invocation per shard at a time (parallelization factor 1): fewer would leave shards
            # unread in turn, and records older than the stream's 24 h retention would be lost.
            raise ConfigError(
                f"environment {name!r}: reserved_concurrency.{STREAM_CONSUMER} ({consumer}) must be at least "
                f"event_stream_shards ({config.event_stream_shards})"
            )
        return config


def function_entries() -> frozenset[str]:
    """The function entries the factory can build: ``functions/<entry>/handler.py``."""
    return frozenset(p.parent.name for p in FUNCTIONS_DIR.glob("*/handler.py"))


def _int(name: str, key: str, value: Any) -> int:
    """An integer from JSON or from ``-c key=<text>``; booleans and fractions are refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"environment {name!r}: {key} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment {name!r}: {key} must be an integer, not {value!r}") from None


def _positive_int(name: str, key: str, value: Any) -> int:
    number = _int(name, key, value)
    if number < 1:
        raise ConfigError(f"environment {name!r}: {key} must be at least 1")
    return number


def _retention_days(name: str, value: Any) -> int | None:
    if value is None:
        return DEFAULT_ARCHIVE_RETENTION_DAYS
    if isinstance(value, str) and value.strip().lower() == NEVER:
        return None
    return _positive_int(name, "archive_retention_days", value)


def _alarm_email(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise ConfigError(f"environment {name!r}: alarm_email must be one email address, not {value!r}")
    return value


def _stream_mode(name: str, value: Any) -> str:
    mode = DEFAULT_STREAM_MODE if value is None else str(value).strip().lower().replace("-", "_")
    if mode not in STREAM_MODES:
        raise ConfigError(f"environment {name!r}: event_stream_mode must be one of {list(STREAM_MODES)}")
    return mode


def _reserved_concurrency(name: str, value: Any) -> Mapping[str, int]:
    if value is None or value == "":
        return MappingProxyType({})
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(f"environment {name!r}: reserved_concurrency must be a JSON object") from None
    if not isinstance(value, Mapping):
        raise ConfigError(f"environment {name!r}: reserved_concurrency must map function names to numbers")
    known = function_entries()
    settings: dict[str, int] = {}
    for entry, reserved in value.items():
        if entry not in known:
            raise ConfigError(
                f"environment {name!r}: reserved_concurrency names unknown function {entry!r} "
                f"(functions: {', '.join(sorted(known))})"
            )
        number = _int(name, f"reserved_concurrency.{entry}", reserved)
        if number < 0:
            raise ConfigError(f"environment {name!r}: reserved_concurrency.{entry} must not be negative")
        settings[str(entry)] = number
    return MappingProxyType(settings)


_CONTEXT_OVERRIDES = {"corsAllowOrigins": "cors_allow_origins", "identityPoolAppIds": "identity_pool_app_ids"}
_ORIGIN = re.compile(r"https?://[^/\s,*]+")  # scheme://host[:port], as browsers send it
_APP_ID = re.compile(r"[0-9a-f]{32}")


def _string_list(value: Any) -> list[str]:
    """A JSON list from cdk.json, or a comma-separated string from ``-c key=a,b``."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [str(item).strip() for item in items if str(item).strip()]


def _cors_origins(name: str, value: Any) -> tuple[str, ...]:
    origins = _string_list(value)
    if "*" in origins and len(origins) > 1:
        raise ConfigError(f"environment {name!r}: cors_allow_origins is either ['*'] or a list of origins")
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(f"environment {name!r}: CORS origin {origin!r} is not scheme://host[:port]")
    return tuple(origins)


def _app_ids(name: str, value: Any) -> tuple[str, ...]:
    app_ids = _string_list(value)
    for app_id in app_ids:
        if not _APP_ID.fullmatch(app_id):
            raise ConfigError(f"environment {name!r}: identity pool app id {app_id!r} is not 32 lowercase hex")
    return tuple(dict.fromkeys(app_ids))
