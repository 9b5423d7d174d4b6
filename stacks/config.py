"""Per-environment settings of the CDK app, read once from context into a frozen EnvConfig."""

from __future__ import annotations

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
        return cls.from_mapping(name, environments[name])

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
        )
