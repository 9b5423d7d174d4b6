"""The synthesized app passes cdk-nag (nothing unacknowledged, warnings included) and cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infrastructure.conftest import REPO_ROOT, Synthesized

pytestmark = pytest.mark.xdist_group("infrastructure")


def test_synth_succeeds_with_cdk_nag(synth: Synthesized) -> None:
    assert synth.error is None, f"synth failed: {synth.error}"


def test_cdk_nag_leaves_no_unacknowledged_findings(synth: Synthesized) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())

    violations = [
        f"{v['severity']} {v['ruleName']} at {[c['constructPath'] for c in v['violatingConstructs']]}"
        for plugin in report["pluginReports"]
        for v in plugin.get("violations", [])
    ]
    assert violations == []


def test_cdk_nag_is_active_and_fails_synth_on_findings(tmp_path: Path) -> None:
    """Negative control: the same checks reject an unacknowledged finding (the report above is not vacuous)."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    from stacks.nag import apply_checks

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "NagControl")
    sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    apply_checks(app)

    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


def test_cfn_lint_passes_on_every_template(synth: Synthesized) -> None:
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(templates) == 4  # Data, Monitoring, Api, Events
    cfn_lint = Path(sys.executable).with_name("cfn-lint")

    result = subprocess.run(
        [str(cfn_lint), "--config-file", str(REPO_ROOT / ".cfnlintrc"), "--", *templates],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )

    assert result.returncode == 0, result.stdout + result.stderr
