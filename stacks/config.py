"""Per-environment settings of the CDK app, read once from context into a frozen EnvConfig."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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


class ConfigError(ValueError):
    """The context does not describe the selected environment completely."""


@dataclass(frozen=True)
class EnvConfig:
    """What differs between deployments (dev, prod, ...).

    ``removal_policy`` applies to stateless resources (log groups); the stateful resources of
    DataStack (key, tables, stream, buckets) are always retained.
    """

    name: str
    api_throttling_rate_limit: float  # steady-state requests per second for the whole stage
    api_throttling_burst_limit: int
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy
    termination_protection: bool
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
        return cls(
            name=name,
            api_throttling_rate_limit=rate,
            api_throttling_burst_limit=burst,
            log_retention=retention,
            removal_policy=removal,
            termination_protection=bool(values.get("termination_protection", name == "prod")),
            cors_allow_origins=_cors_origins(name, values.get("cors_allow_origins", ["*"])),
            identity_pool_app_ids=_app_ids(name, values.get("identity_pool_app_ids", [])),
        )


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
