"""The layering rules of docs/architecture.md: routes only in registered family routers, services and
everything below them never importing the wire layer, the domain importing nothing but itself and the codec."""

from __future__ import annotations

import ast
import pkgutil
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import homing
from homing.api import routers

PACKAGE = Path(homing.__file__).parent


def _resolver() -> Any:
    from homing.api.app import build_resolver
    from homing.settings import ApiSettings

    settings = ApiSettings(region="us-east-1", resource_arn_prefix="")
    return build_resolver(SimpleNamespace(settings=settings))  # type: ignore[arg-type]


def routes_outside_families(resolver: Any, family_modules: Iterable[str]) -> list[str]:
    """``METHOD path (module)`` of every route whose handler is not defined in a family router module."""
    allowed = set(family_modules)
    return sorted(
        f"{route.method.upper()} {route.path} ({route.func.__module__})"
        for route in resolver._static_routes + resolver._dynamic_routes
        if route.func.__module__ not in allowed
    )


def imported_modules(source: str, package: str) -> set[str]:
    """Every module a source file imports, anywhere in it (functions and TYPE_CHECKING blocks included).

    ``package`` resolves relative imports (``from ..api import x`` inside ``homing.services``).
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _modules(layer: str) -> list[tuple[str, set[str]]]:
    """(module name, its imports) for every module of a layer (``services``, ``adapters``, ``domain``)."""
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        name = ".".join(("homing", *path.relative_to(PACKAGE).with_suffix("").parts))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found.append((name, imported_modules(path.read_text(), package)))
    return found


# -- routes ---------------------------------------------------------------------------------------
def test_every_route_comes_from_a_registered_family_router() -> None:
    from homing.api.families import FAMILY_ROUTERS

    resolver = _resolver()

    assert resolver._static_routes + resolver._dynamic_routes, "the resolver serves no route"
    assert routes_outside_families(resolver, [m.__name__ for m in FAMILY_ROUTERS]) == []  # type: ignore[attr-defined]


def test_every_router_module_is_registered_once() -> None:
    from homing.api.families import FAMILY_ROUTERS

    registered = [m.__name__ for m in FAMILY_ROUTERS]  # type: ignore[attr-defined]
    present = [f"{routers.__name__}.{info.name}" for info in pkgutil.iter_modules(routers.__path__)]

    assert sorted(registered) == sorted(present)
    assert len(registered) == len(set(registered))


def test_a_route_registered_outside_a_family_router_is_caught() -> None:
    from homing.api.families import FAMILY_ROUTERS

    resolver = _resolver()

    @resolver.get("/v1/apps/<application_id>/stray")
    def stray(application_id: str) -> None:  # pragma: no cover - never called
        raise AssertionError(application_id)

    problems = routes_outside_families(resolver, [m.__name__ for m in FAMILY_ROUTERS])  # type: ignore[attr-defined]
    assert problems == [f"GET /v1/apps/<application_id>/stray ({__name__})"]


# -- imports --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", ["services", "adapters", "domain"])
def test_layers_below_the_wire_never_import_it(layer: str) -> None:
    offenders = {
        name: sorted(m for m in imports if _under(m, "homing.api") or _under(m, "homing.bootstrap"))
        for name, imports in _modules(layer)
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_adapters_and_domain_never_import_services() -> None:
    offenders = {
        name: sorted(m for m in imports if _under(m, "homing.services"))
        for layer in ("adapters", "domain")
        for name, imports in _modules(layer)
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_domain_imports_only_itself_and_the_codec() -> None:
    offenders = {
        name: sorted(
            m for m in imports if _under(m, "homing") and not (_under(m, "homing.domain") or _under(m, "homing.codec"))
        )
        for name, imports in _modules("domain")
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


@pytest.mark.parametrize(
    ("source", "package"),
    [
        ("from homing.api.schemas import parse_body", "homing.services"),
        ("import homing.api.wire.tags", "homing.services"),
        ("def f():\n    from homing.api import wire\n", "homing.services"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..api.schemas import x\n", "homing.services"),
        ("from .. import api", "homing.services"),
    ],
)
def test_the_import_scan_sees_every_spelling_of_a_wire_import(source: str, package: str) -> None:
    assert any(_under(m, "homing.api") for m in imported_modules(source, package))


def test_the_import_scan_does_not_mistake_a_lookalike_for_the_wire_layer() -> None:
    imports = imported_modules("from homing.apis import x\nimport homing.apiary\n", "homing.services")
    assert not any(_under(m, "homing.api") for m in imports)
