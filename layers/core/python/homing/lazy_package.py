"""Import a library package's submodules without running its ``__init__`` up front.

Powertools' ``aws_lambda_powertools.event_handler/__init__.py`` imports every resolver it has
(AppSync with asyncio, Bedrock agents, VPC Lattice, AppSync Events…) and
``utilities/data_classes/__init__.py`` every event class (~40 modules), only to re-export them;
the API function uses the REST resolver and three event classes, and the rest was ~20 ms of its
cold start. Python runs a package's ``__init__`` before any of its submodules, so the package is
registered here as a module built from the same spec (same ``__path__``) whose names resolve
lazily (PEP 562): a submodule is imported when asked for; a name the ``__init__`` re-exports is
taken from the module it re-exports it from, when the ``__init__`` does nothing but re-export
(checked on its source); any other name runs the real ``__init__`` once. Code importing from the
package itself still gets the same objects.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_lock = threading.RLock()
_INITIALISED = "_homing_init_ran"


def _reexports(package: str, source: str) -> dict[str, str] | None:
    """{name: module it comes from} if ``source`` only re-exports (imports, ``__all__``, docstring)."""
    names: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module and all(a.name != "*" for a in node.names):
            module = importlib.util.resolve_name("." * node.level + node.module, package) if node.level else node.module
            names.update({alias.asname or alias.name: module for alias in node.names})
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and ast.unparse(node).startswith("__all__"):
            continue
        else:
            return None  # the __init__ does more than re-export: names come from running it
    return names


def defer_package_init(package: str) -> None:
    """Register ``package`` so that its ``__init__`` runs only when a name only it defines is used."""
    with _lock:
        if package in sys.modules:
            return  # already imported (or already deferred): nothing to gain, nothing to change
        spec = importlib.util.find_spec(package)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None or not spec.origin:
            return
        reexports = _reexports(package, Path(spec.origin).read_text(encoding="utf-8")) or {}
        module = importlib.util.module_from_spec(spec)

        def resolve(name: str) -> Any:
            if name.startswith("__") and name != "__all__":
                raise AttributeError(name)
            with _lock:
                if name in reexports:
                    value = getattr(importlib.import_module(reexports[name]), name)
                    setattr(module, name, value)
                    return value
                if importlib.util.find_spec(f"{package}.{name}") is not None:
                    return importlib.import_module(f"{package}.{name}")
                if not module.__dict__.get(_INITIALISED):
                    module.__dict__[_INITIALISED] = True
                    spec.loader.exec_module(module)  # type: ignore[union-attr]
                    if name in module.__dict__:
                        return module.__dict__[name]
            raise AttributeError(f"module {package!r} has no attribute {name!r}")

        module.__getattr__ = resolve  # type: ignore[method-assign]  # PEP 562: names not yet defined
        sys.modules[package] = module


def loaded(module: ModuleType) -> bool:
    """Whether a deferred package's own ``__init__`` has run (tests)."""
    return bool(module.__dict__.get(_INITIALISED)) or "__all__" in module.__dict__


class LazyModule:
    """Stands for a module that is imported when one of its names is first read.

    A family router (homing.api.routers) registers its routes at the first request, but its route
    functions need the family's wire module (and through it the domain) only when one of them runs:
    ``wire = LazyModule("homing.api.wire.segments")`` keeps that import off the cold start of every
    request of another family. Each read is ``getattr(importlib.import_module(name), attr)``: a normal
    import (thread-safe under the import lock, the module in ``sys.modules`` as usual, so tests that
    patch it are seen), then a dictionary lookup. Not ``importlib.util.LazyLoader``: before Python 3.12.3
    its first attribute read is not thread-safe, and it puts a half-made module in ``sys.modules``.
    For type checkers the router imports the real module under ``TYPE_CHECKING`` instead.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
