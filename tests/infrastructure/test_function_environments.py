"""Each function is given exactly the tables it is granted, under the registry variable its settings read."""

from __future__ import annotations

from typing import Any

import pytest

from homing.adapters.dynamodb.tables import TABLES
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_events_stack import _actions_by_resource, _key

pytestmark = pytest.mark.xdist_group("infrastructure")

FUNCTIONS = ("api", "process_events", "clean_up_app", "send_messages")


def _functions(synth: Synthesized) -> dict[str, Any]:
    return {
        "api": synth.api.api_function,
        "process_events": synth.events.processing.process_events,
        "clean_up_app": synth.api.cleanup.clean_up_app,
        "send_messages": synth.api.senders.send_messages,
    }


def _table_arn(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(synth.data.node.find_child(construct_id)), "Arn"]}


def _given(synth: Synthesized, function: Any) -> dict[str, Any]:
    """construct id -> the value of its variable, for every registry table in the function's environment."""
    env = synth.resolve_import(synth.resource(function.function)["Properties"]["Environment"]["Variables"])
    assert not {k for k in env if k.endswith("_TABLE")} - {t.env for t in TABLES}  # no name outside the registry
    return {t.construct_id: env[t.env] for t in TABLES if t.env in env}


def _granted(synth: Synthesized, function: Any) -> set[str]:
    """Construct ids of the tables the function's role may act on."""
    allowed = [s for s in synth.role_statements(function.role) if s["Effect"] == "Allow"]  # not the KMS Deny
    granted = _actions_by_resource(allowed)
    return {t.construct_id for t in TABLES if _key(_table_arn(synth, t.construct_id)) in granted}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_environment_names_exactly_the_tables_the_function_is_granted(synth: Synthesized, name: str) -> None:
    function = _functions(synth)[name]
    given = _given(synth, function)

    assert set(given) == _granted(synth, function)
    for construct_id, value in given.items():
        assert value == {"Ref": synth.logical_id(synth.data.node.find_child(construct_id))}


def test_process_events_is_given_only_the_tables_it_touches(synth: Synthesized) -> None:
    assert set(_given(synth, synth.events.processing.process_events)) == {
        "Apps",
        "Analytics",
        "EventStreams",
        "Timelines",
        "Campaigns",  # event-triggered campaigns: the app's EVENT campaigns (Query only)
    }
