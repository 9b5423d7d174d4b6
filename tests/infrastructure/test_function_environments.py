"""Each function is given exactly the tables it is granted, under the variable its settings read."""

from __future__ import annotations

from typing import Any

import pytest

from homing.adapters.dynamodb.tables import TABLES
from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_events_stack import _actions_by_resource, _key

pytestmark = pytest.mark.xdist_group("infrastructure")

# What each function's code touches (bootstrap.py builds its repositories on these tables).
USES = {
    "api": {"Apps", "Endpoints", "Catalog", "Analytics", "EventStreams", "Timelines"},
    "process_events": {"Apps", "Analytics", "EventStreams", "Timelines"},
    "clean_up_app": {"Apps", "Endpoints", "Catalog", "Analytics", "EventStreams", "Timelines"},
}


def _functions(synth: Synthesized) -> dict[str, Any]:
    return {
        "api": synth.api.api_function,
        "process_events": synth.events.processing.process_events,
        "clean_up_app": synth.api.cleanup.clean_up_app,
    }


def _table_arn(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(synth.data.node.find_child(construct_id)), "Arn"]}


@pytest.mark.parametrize("name", sorted(USES))
def test_environment_names_exactly_the_tables_the_function_uses(synth: Synthesized, name: str) -> None:
    function = _functions(synth)[name]
    env = synth.resolve_import(synth.resource(function.function)["Properties"]["Environment"]["Variables"])
    given = {t.construct_id: env[t.env] for t in TABLES if t.env in env}

    assert set(given) == USES[name]
    for construct_id, value in given.items():
        assert value == {"Ref": synth.logical_id(synth.data.node.find_child(construct_id))}
    assert not {k for k in env if k.endswith("_TABLE")} - {t.env for t in TABLES}  # no name outside the registry


@pytest.mark.parametrize("name", sorted(USES))
def test_the_function_is_granted_exactly_the_tables_in_its_environment(synth: Synthesized, name: str) -> None:
    function = _functions(synth)[name]
    granted = _actions_by_resource(synth.role_statements(function.role))
    tables = {t.construct_id for t in TABLES if _key(_table_arn(synth, t.construct_id)) in granted}

    assert tables == USES[name]
