#!/usr/bin/env python3
"""CDK entry point: ``python app.py`` (or ``cdk synth``) writes the cloud assembly offline.

Context: ``env`` selects ``context.environments[<env>]`` in cdk.json (default ``dev``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Tags

from stacks.api_stack import ApiStack
from stacks.config import EnvConfig
from stacks.data_stack import DataStack
from stacks.events_stack import EventsStack
from stacks.monitoring_stack import MonitoringStack
from stacks.nag import acknowledge, apply_checks

ROOT = Path(__file__).resolve().parent


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` of cdk.json: feature flags and environments apply to ``python app.py`` and tests too.

    The CDK CLI passes the same values (and wins on conflicts, e.g. ``cdk synth -c env=prod``).
    """
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")).get("context", {})
    return context


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """Build the App with every stack and the cdk-nag checks (nothing is synthesized yet)."""
    app = App(
        outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"),
        context={**cdk_json_context(), **(context or {})},
    )
    config = EnvConfig.from_context(app.node)

    data = DataStack(app, config.stack_id("Data"), config=config)
    monitoring = MonitoringStack(app, config.stack_id("Monitoring"), config=config)
    api = ApiStack(app, config.stack_id("Api"), config=config, data=data.resources)
    events = EventsStack(
        app,
        config.stack_id("Events"),
        config=config,
        data=data.resources,
        campaign_sender=api.campaign_sending.function,  # event-triggered campaigns' sends
    )
    events.add_stack_dependency(data)  # implied by the references too; explicit for readers and deploy order
    monitoring.notify_on_every_alarm(app)  # every alarm of every stack, including ones added later
    for stack in (data, monitoring, api, events):
        Tags.of(stack).add("project", "homing")
        Tags.of(stack).add("environment", config.name)

    acknowledge(data=data, api=api, events=events)
    apply_checks(app)
    return app


if __name__ == "__main__":
    build_app().synth()
