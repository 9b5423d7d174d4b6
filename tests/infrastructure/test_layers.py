"""The Docker-free deps-layer bundler and the core layer's contents."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("infrastructure")


def _install_fake_dist(site: Path, name: str, files: dict[str, str]) -> None:
    dist_info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    record = []
    for rel, content in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        record.append(f"{rel},,")
    record.append(f"{dist_info.name}/METADATA,,")
    record.append("../../bin/tool,,")
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")


def test_remove_distributions_drops_runtime_provided_packages_only(tmp_path: Path) -> None:
    from stacks.constructs.layers import RUNTIME_PROVIDED, remove_distributions

    _install_fake_dist(tmp_path, "botocore", {"botocore/__init__.py": "", "botocore/data/x.json": "{}"})
    _install_fake_dist(tmp_path, "python-dateutil", {"dateutil/__init__.py": ""})
    _install_fake_dist(tmp_path, "six", {"six.py": ""})
    _install_fake_dist(tmp_path, "pynamodb", {"pynamodb/__init__.py": ""})

    removed = remove_distributions(tmp_path, RUNTIME_PROVIDED)

    assert sorted(removed) == ["botocore", "python-dateutil", "six"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pynamodb", "pynamodb-1.0.dist-info"]


def test_bundler_fingerprint_tracks_requirements_and_platform(tmp_path: Path) -> None:
    from stacks.constructs.layers import LocalPipBundler

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pynamodb==6.1.0\n")
    arm = LocalPipBundler(requirements, python_version="3.14", platform="manylinux2014_aarch64")
    x86 = LocalPipBundler(requirements, python_version="3.14", platform="manylinux2014_x86_64")
    before = arm.fingerprint()

    requirements.write_text("pynamodb==6.1.1\n")

    assert arm.fingerprint() != before
    assert arm.fingerprint() != x86.fingerprint()


def test_bundler_raises_instead_of_falling_back_to_docker(tmp_path: Path) -> None:
    from stacks.constructs.layers import LocalPipBundler

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("--definitely-not-a-pip-option\n")
    bundler = LocalPipBundler(requirements, python_version="3.14", platform="manylinux2014_aarch64")

    with pytest.raises(RuntimeError, match="pip could not build the deps layer"):
        bundler.try_bundle(str(tmp_path / "out"))


def test_core_layer_asset_ships_homing_without_local_runner(synth: object) -> None:
    import json

    from tests.infrastructure.conftest import Synthesized

    assert isinstance(synth, Synthesized)
    core_layer = synth.api.node.find_child("HomingLayers").core
    key = synth.resource(core_layer)["Properties"]["Content"]["S3Key"]
    assets = json.loads((synth.outdir / f"{synth.api.stack_name}.assets.json").read_text())
    (source,) = (
        f["source"]["path"]
        for f in assets["files"].values()
        if key in {d["objectKey"] for d in f["destinations"].values()}
    )
    root = synth.outdir / source

    assert (root / "python" / "homing" / "__init__.py").is_file()
    assert not (root / "python" / "homing" / "local").exists()
    assert not list(root.rglob("__pycache__"))
    assert not list(root.rglob("*.egg-info"))
    assert not (root / "pyproject.toml").exists()
