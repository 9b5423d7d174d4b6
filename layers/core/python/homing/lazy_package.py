"""Import a library package's submodules without running its ``__init__`` up front.

Powertools' ``aws_lambda_powertools.event_handler/__init__.py`` imports every resolver it has
(AppSync with asyncio, Bedrock agents, VPC Lattice, AppSync Events…) to re-export them; the API
function uses only the REST resolver, and those imports were ~10 ms of its cold start. Python
runs a package's ``__init__`` before any of its submodules, so the package is registered here as
a module that is the same package (same ``__path__``, same spec) but resolves names lazily
(PEP 562): a submodule is imported when asked for, and any other name runs the real
``__init__`` once, so code that imports from the package itself still gets what it always did.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_lock = threading.RLock()


def defer_package_init(package: str) -> None:
    """Register ``package`` so that its ``__init__`` runs only when a name only it defines is used."""
    with _lock:
        if package in sys.modules:
            return  # already imported (or already deferred): nothing to gain, nothing to change
        spec = importlib.util.find_spec(package)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        module = importlib.util.module_from_spec(spec)
        initialised = False

        def resolve(name: str) -> Any:
            nonlocal initialised
            if name.startswith("__"):
                raise AttributeError(name)
            with _lock:
                if importlib.util.find_spec(f"{package}.{name}") is not None:
                    return importlib.import_module(f"{package}.{name}")
                if not initialised:
                    initialised = True
                    spec.loader.exec_module(module)  # type: ignore[union-attr]
                    if name in module.__dict__:
                        return module.__dict__[name]
            raise AttributeError(f"module {package!r} has no attribute {name!r}")

        module.__getattr__ = resolve  # type: ignore[method-assign]  # PEP 562: names not yet defined
        sys.modules[package] = module


def loaded(module: ModuleType) -> bool:
    """Whether a deferred package's own ``__init__`` has run (tests)."""
    return "__all__" in module.__dict__
