"""Local mode's code cache is shared by processes: one that loses the race to extract a function's code
uses the winner's copy instead of failing the invocation (homing.local.runner.CodeLocator)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from homing.local.runner import CodeLocator


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return out.getvalue()


def test_a_process_that_loses_the_extraction_race_uses_the_winners_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locator = CodeLocator(tmp_path)
    real_replace = Path.replace

    def another_process_wins(self: Path, target: Path) -> Path:
        target.mkdir()  # the other process's copy lands first
        (target / "handler.py").write_text("# theirs\n")
        return real_replace(self, target)  # a non-empty directory cannot be replaced: OSError

    monkeypatch.setattr(Path, "replace", another_process_wins)
    located = locator.locate({}, _zip(), "digest")

    assert (located / "handler.py").read_text() == "# theirs\n"
    assert [p.name for p in tmp_path.iterdir()] == [located.name]  # no partial copy left behind
