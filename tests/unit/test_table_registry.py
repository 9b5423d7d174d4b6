"""The table registry is the one list of tables: every model has an entry, each function reads its own."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

from pynamodb.models import Model

import homing.adapters.dynamodb as dynamodb_adapters
from homing.adapters.dynamodb.tables import ANALYTICS, APPS, TABLES, TIMELINES, bind_tables, table_names
from homing.settings import ApiSettings, CleanupSettings, ProcessingSettings


def _models_in_adapters() -> set[type[Model]]:
    """Every PynamoDB model defined in homing.adapters.dynamodb (``_Private`` ones share a registered table)."""
    found = set()
    for info in pkgutil.iter_modules(dynamodb_adapters.__path__):
        module = importlib.import_module(f"{dynamodb_adapters.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Model)
                and value is not Model
                and value.__module__ == module.__name__
                and not value.__name__.startswith("_")
            ):
                found.add(value)
    return found


def test_every_model_is_in_the_registry() -> None:
    assert _models_in_adapters() == {t.model for t in TABLES}


def test_settings_read_the_tables_under_the_registry_names() -> None:
    env = {APPS.env: "a", ANALYTICS.env: "b", TIMELINES.env: "", "OTHER_TABLE": "x"}

    assert table_names(env) == {APPS: "a", ANALYTICS: "b"}  # an empty variable is no table
    for settings in (ApiSettings, ProcessingSettings, CleanupSettings):
        assert settings.from_env(env).tables == {APPS: "a", ANALYTICS: "b"}


def test_bind_tables_binds_only_the_tables_given() -> None:
    before = {t: (t.model.Meta.table_name, getattr(t.model.Meta, "region", None)) for t in TABLES}
    try:
        bind_tables({APPS: "bound-apps"}, "eu-west-1")
        assert (APPS.model.Meta.table_name, APPS.model.Meta.region) == ("bound-apps", "eu-west-1")
        for table in TABLES:
            if table is not APPS:
                assert (table.model.Meta.table_name, getattr(table.model.Meta, "region", None)) == before[table]
    finally:
        for table, (name, region) in before.items():
            table.model.Meta.table_name = name
            if region is not None:
                table.model.Meta.region = region
            table.model._connection = None


def test_the_registry_imports_a_model_only_when_asked_for_it() -> None:
    """Every function's settings import the registry; the models (and their families' domain) load on use."""
    code = (
        "import json, sys\n"
        "from homing.adapters.dynamodb.tables import SEGMENTS\n"
        "models = lambda: sorted(m for m in sys.modules if m.startswith('homing.adapters.dynamodb.') "
        "and not m.endswith('.tables'))\n"
        "before = models()\n"
        "SEGMENTS.model\n"
        "print(json.dumps({'before': before, 'after': models(), "
        "'segments_domain': 'homing.domain.segments' in sys.modules}))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(dynamodb_adapters.__file__).parents[3])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)

    assert result["before"] == []
    assert "homing.adapters.dynamodb.segments" in result["after"]
    others = {t.model.__module__ for t in TABLES} - {
        "homing.adapters.dynamodb.segments",
        "homing.adapters.dynamodb.catalog",
    }
    assert others.isdisjoint(result["after"])  # (catalog: the paging tokens' secret lives there)
    assert result["segments_domain"] is True


def test_all_models_is_every_entry_s_model() -> None:
    from homing.adapters.dynamodb import tables

    assert tables.all_models() == tuple(t.model for t in TABLES)
    assert tables.all_models() == tables.ALL_MODELS  # the name tests and benches used before stays
    assert len(set(tables.all_models())) == len(TABLES)
