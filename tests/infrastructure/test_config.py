"""EnvConfig: environments come from cdk.json context and fail fast when incomplete."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.xdist_group("infrastructure")

COMPLETE = {
    "api_throttling_rate_limit": 10,
    "api_throttling_burst_limit": 20,
    "log_retention": "ONE_WEEK",
    "removal_policy": "destroy",
}


def _config_from(context: dict[str, Any]) -> Any:
    from aws_cdk import App

    from stacks.config import EnvConfig

    return EnvConfig.from_context(App(context=context).node)


def test_env_defaults_to_dev() -> None:
    config = _config_from({"environments": {"dev": COMPLETE}})

    assert config.name == "dev"
    assert config.stack_id("Data") == "Homing-dev-Data"
    assert config.api_throttling_rate_limit == 10
    assert config.api_throttling_burst_limit == 20
    assert config.termination_protection is False


def test_prod_gets_termination_protection_by_default() -> None:
    config = _config_from({"env": "prod", "environments": {"prod": COMPLETE}})

    assert config.is_prod
    assert config.termination_protection is True


def test_unknown_environment_fails_fast() -> None:
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match="'staging' is not defined"):
        _config_from({"env": "staging", "environments": {"dev": COMPLETE}})


@pytest.mark.parametrize("missing", sorted(COMPLETE))
def test_missing_key_fails_fast(missing: str) -> None:
    from stacks.config import ConfigError

    incomplete = {k: v for k, v in COMPLETE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        _config_from({"environments": {"dev": incomplete}})


def test_bad_values_fail_fast() -> None:
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match="log_retention"):
        _config_from({"environments": {"dev": {**COMPLETE, "log_retention": "FOREVER-ISH"}}})
    with pytest.raises(ConfigError, match="removal_policy"):
        _config_from({"environments": {"dev": {**COMPLETE, "removal_policy": "snapshot"}}})
    with pytest.raises(ConfigError, match="positive"):
        _config_from({"environments": {"dev": {**COMPLETE, "api_throttling_rate_limit": 0}}})


def test_cdk_json_defines_dev_and_prod(synth: Any) -> None:
    from stacks.config import EnvConfig

    environments = synth.app.node.try_get_context("environments")
    prod = EnvConfig.from_mapping("prod", environments["prod"])

    assert EnvConfig.from_mapping("dev", environments["dev"]).termination_protection is False
    assert prod.termination_protection is True


def test_prod_data_stack_has_termination_protection() -> None:
    from aws_cdk import App

    from app import cdk_json_context
    from stacks.config import EnvConfig
    from stacks.data_stack import DataStack

    config = EnvConfig.from_mapping("prod", COMPLETE)
    # The project's feature flags (cdk.json) apply to every App that builds Homing's stacks.
    stack = DataStack(App(context=cdk_json_context()), config.stack_id("Data"), config=config)

    assert stack.termination_protection is True


# -- data lifecycle and operations settings (optional keys) ---------------------------------------


def test_operations_settings_default_when_absent() -> None:
    config = _config_from({"environments": {"dev": COMPLETE}})

    assert config.archive_retention_days == 365
    assert config.alarm_email is None
    assert config.event_stream_mode == "provisioned"
    assert config.event_stream_shards == 1
    assert dict(config.reserved_concurrency) == {}


def test_operations_settings_from_the_environment() -> None:
    environment = {
        **COMPLETE,
        "archive_retention_days": 90,
        "alarm_email": "ops@example.com",
        "event_stream_mode": "on_demand",
        "event_stream_shards": 3,
        "reserved_concurrency": {"api": 50, "process_events": 0},
    }
    config = _config_from({"environments": {"dev": environment}})

    assert config.archive_retention_days == 90
    assert config.alarm_email == "ops@example.com"
    assert config.event_stream_mode == "on_demand"
    assert config.event_stream_shards == 3
    assert dict(config.reserved_concurrency) == {"api": 50, "process_events": 0}


def test_command_line_context_overrides_the_environment_as_text() -> None:
    environment = {**COMPLETE, "archive_retention_days": 90, "event_stream_shards": 1}
    config = _config_from(
        {
            "environments": {"dev": environment},
            "archive_retention_days": "Never",
            "event_stream_shards": "8",
            "event_stream_mode": "PROVISIONED",
            "alarm_email": "oncall@example.org",
            "reserved_concurrency": '{"api": 25}',
        }
    )

    assert config.archive_retention_days is None
    assert config.event_stream_shards == 8
    assert config.event_stream_mode == "provisioned"
    assert config.alarm_email == "oncall@example.org"
    assert dict(config.reserved_concurrency) == {"api": 25}


def test_settings_are_frozen() -> None:
    config = _config_from({"environments": {"dev": {**COMPLETE, "reserved_concurrency": {"api": 5}}}})

    with pytest.raises(TypeError):
        config.reserved_concurrency["api"] = 6


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("archive_retention_days", 0, "archive_retention_days must be at least 1"),
        ("archive_retention_days", "forever", "archive_retention_days must be an integer"),
        ("archive_retention_days", True, "archive_retention_days must be an integer"),
        ("archive_retention_days", 1.5, "archive_retention_days must be an integer"),
        ("event_stream_shards", 0, "event_stream_shards must be at least 1"),
        ("event_stream_mode", "fast", "event_stream_mode must be one of"),
        ("alarm_email", "ops at example.com", "alarm_email must be one email address"),
        ("alarm_email", "a@example.com,b@example.com", "alarm_email must be one email address"),
        ("reserved_concurrency", {"apii": 5}, "unknown function 'apii'"),
        ("reserved_concurrency", {"api": -1}, r"reserved_concurrency\.api must not be negative"),
        ("reserved_concurrency", {"api": "lots"}, r"reserved_concurrency\.api must be an integer"),
        ("reserved_concurrency", "{api: 5}", "must be a JSON object"),
        ("reserved_concurrency", [5], "must map function names"),
    ],
)
def test_bad_operations_settings_fail_fast(key: str, value: Any, message: str) -> None:
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        _config_from({"environments": {"dev": {**COMPLETE, key: value}}})


def test_stream_consumer_may_not_reserve_fewer_invocations_than_shards() -> None:
    from stacks.config import ConfigError

    provisioned = {**COMPLETE, "event_stream_shards": 4, "reserved_concurrency": {"process_events": 3}}
    with pytest.raises(
        ConfigError, match=r"reserved_concurrency\.process_events \(3\) must be at least event_stream_shards \(4\)"
    ):
        _config_from({"environments": {"dev": provisioned}})

    assert _config_from({"environments": {"dev": {**provisioned, "reserved_concurrency": {"process_events": 4}}}})
    on_demand = {**provisioned, "event_stream_mode": "on_demand"}  # shards are AWS's business there
    assert dict(_config_from({"environments": {"dev": on_demand}}).reserved_concurrency) == {"process_events": 3}
