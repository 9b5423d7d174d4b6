"""The two Lambda layers every Homing function uses, packaged without Docker.

* CoreLayer: the ``homing`` domain package as it is in the repository (``layers/core/python/homing``),
  zipped as-is so Lambda finds it under ``/opt/python/homing``. The local-mode runner is not shipped.
* DepsLayer: third-party runtime dependencies (``layers/deps/requirements.txt``), installed by pip on
  the host for the Lambda platform (``LocalPipBundler``). CDK tries local bundling first; as it
  always succeeds or raises, the Docker image named in the bundling options is never pulled.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_LAYER_DIR = REPO_ROOT / "layers" / "core"
DEPS_LAYER_DIR = REPO_ROOT / "layers" / "deps"

# Files of the core layer folder that must not reach Lambda.
CORE_LAYER_EXCLUDE = [
    "pyproject.toml",
    "**/*.egg-info",
    "**/__pycache__",
    "**/*.pyc",
    "python/homing/local",
]

# Distributions the Lambda Python runtime already provides (boto3 and its dependency closure).
# They arrive through pynamodb -> botocore; shipping them would add ~31 MB to every function.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"})

_PIP_PLATFORMS = {
    lambda_.Architecture.ARM_64.name: "manylinux2014_aarch64",
    lambda_.Architecture.X86_64.name: "manylinux2014_x86_64",
}

# Bump when the bundler's output changes for the same inputs (part of the asset hash).
_BUNDLER_VERSION = "2"


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _dist_name(dist_info: Path) -> str:
    for line in (dist_info / "METADATA").read_text(encoding="utf-8").splitlines():
        if line.startswith("Name:"):
            return _normalize(line.partition(":")[2].strip())
    return ""


def remove_distributions(site_dir: Path, names: Iterable[str]) -> list[str]:
    """Delete the installed distributions ``names`` from ``site_dir`` (by their RECORD); return those removed."""
    wanted = {_normalize(n) for n in names}
    removed: list[str] = []
    for dist_info in sorted(site_dir.glob("*.dist-info")):
        name = _dist_name(dist_info)
        if name not in wanted:
            continue
        record = dist_info / "RECORD"
        top_dirs: set[Path] = set()
        for line in record.read_text(encoding="utf-8").splitlines() if record.exists() else []:
            rel = line.split(",", 1)[0]
            path = (site_dir / rel).resolve()
            if not path.is_relative_to(site_dir.resolve()):
                continue  # scripts recorded outside the target (../bin): dropped with bin/ below
            if path.is_file():
                path.unlink()
            top_dirs.add(site_dir / Path(rel).parts[0])
        for top in top_dirs:
            if top.is_dir() and not any(p.is_file() for p in top.rglob("*")):
                shutil.rmtree(top)
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    return removed


@jsii.implements(ILocalBundling)
class LocalPipBundler:
    """Install a requirements file for the Lambda platform with the host's pip (no Docker).

    ``pip install --platform ... --only-binary=:all:`` picks wheels built for the Lambda CPU and
    Python version whatever the host is; ``--no-compile`` keeps host-version ``.pyc`` files out.
    """

    def __init__(self, requirements: Path, *, python_version: str, platform: str) -> None:
        self.requirements = requirements
        self.python_version = python_version
        self.platform = platform

    # jsii passes the BundlingOptions struct positionally (see docs/toolchain findings).
    def try_bundle(self, output_dir: str, options: Any = None, **_: Any) -> bool:
        with tempfile.TemporaryDirectory() as wheelhouse:
            self._wheels(wheelhouse)
            return self._install(output_dir, wheelhouse)

    def _wheels(self, wheelhouse: str) -> None:
        """Wheels of the requirements built on the host first: a dependency published only as an sdist
        (pybars3, PyMeta3: pure Python) has no wheel ``--only-binary`` could pick for the Lambda platform."""
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
        command += ["--wheel-dir", wheelhouse, "-r", str(self.requirements)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pip could not build the deps layer's wheels:\n{result.stdout}\n{result.stderr}")

    def _install(self, output_dir: str, wheelhouse: str) -> bool:
        target = Path(output_dir) / "python"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--platform",
            self.platform,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
            "--no-compile",
            "--find-links",
            wheelhouse,
            "--target",
            str(target),
            "-r",
            str(self.requirements),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Raise rather than return False: False would make CDK fall back to Docker.
            raise RuntimeError(f"pip could not build the deps layer:\n{result.stdout}\n{result.stderr}")
        remove_distributions(target, RUNTIME_PROVIDED)
        shutil.rmtree(target / "bin", ignore_errors=True)
        return True

    def fingerprint(self) -> str:
        """Everything the bundle depends on: the requirements, the target platform, this bundler."""
        digest = hashlib.sha256()
        digest.update(self.requirements.read_bytes())
        for part in (self.python_version, self.platform, ",".join(sorted(RUNTIME_PROVIDED)), _BUNDLER_VERSION):
            digest.update(b"\0" + part.encode())
        return digest.hexdigest()


def _python_version(runtime: lambda_.Runtime) -> str:
    if not runtime.name.startswith("python"):
        raise ValueError(f"{runtime.name} is not a Python runtime")
    return runtime.name.removeprefix("python")


class CoreLayer(lambda_.LayerVersion):
    """The ``homing`` package (``/opt/python/homing``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, runtime: lambda_.Runtime, architecture: lambda_.Architecture
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            code=lambda_.Code.from_asset(str(CORE_LAYER_DIR), exclude=CORE_LAYER_EXCLUDE),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description="Homing domain package (homing)",
        )


class DepsLayer(lambda_.LayerVersion):
    """Pinned third-party runtime dependencies, without what the Lambda runtime already ships."""

    def __init__(
        self, scope: Construct, construct_id: str, *, runtime: lambda_.Runtime, architecture: lambda_.Architecture
    ) -> None:
        bundler = LocalPipBundler(
            DEPS_LAYER_DIR / "requirements.txt",
            python_version=_python_version(runtime),
            platform=_PIP_PLATFORMS[architecture.name],
        )
        super().__init__(
            scope,
            construct_id,
            code=lambda_.Code.from_asset(
                str(DEPS_LAYER_DIR),
                # A custom hash: bundling is skipped while the requirements and platform are unchanged.
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=bundler.fingerprint(),
                bundling=BundlingOptions(image=runtime.bundling_image, local=bundler),
            ),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description="Homing third-party dependencies (layers/deps/requirements.txt)",
        )


class HomingLayers(Construct):
    """Both layers, created once per stack and shared by all its functions (see ``HomingLayers.of``)."""

    ID = "HomingLayers"

    def __init__(
        self, scope: Construct, construct_id: str, *, runtime: lambda_.Runtime, architecture: lambda_.Architecture
    ) -> None:
        super().__init__(scope, construct_id)
        self.core = CoreLayer(self, "Core", runtime=runtime, architecture=architecture)
        self.deps = DepsLayer(self, "Deps", runtime=runtime, architecture=architecture)

    @property
    def layers(self) -> list[lambda_.ILayerVersion]:
        return [self.deps, self.core]

    @classmethod
    def of(cls, scope: Construct, *, runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> HomingLayers:
        """The stack's layers, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        if isinstance(existing, HomingLayers):
            return existing
        return cls(stack, cls.ID, runtime=runtime, architecture=architecture)
