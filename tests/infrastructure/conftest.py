"""Build and synthesize the CDK App once per test session (bundling skipped) and share the result.

Every infrastructure test module sets ``pytestmark = pytest.mark.xdist_group("infrastructure")``, so
under ``pytest -n N --dist loadgroup`` one worker runs them all and pays for jsii and synth once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[2]

# Skip asset bundling (no pip run for the deps layer): the templates are the same.
TEST_CONTEXT: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


@dataclass
class Synthesized:
    """The synthesized cloud assembly of ``app.build_app`` with handles on the stack objects."""

    outdir: Path
    app: Any
    data: Any  # stacks.data_stack.DataStack
    api: Any  # stacks.api_stack.ApiStack
    events: Any  # stacks.events_stack.EventsStack
    error: BaseException | None
    monitoring: Any = None  # stacks.monitoring_stack.MonitoringStack
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template(self, stack: Any) -> dict[str, Any]:
        return self.templates[stack.stack_name]

    def logical_id(self, construct: Any) -> str:
        """Logical id of an L2 construct's CloudFormation resource (or of an L1 itself)."""
        from aws_cdk import CfnElement, Stack

        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        return str(Stack.of(element).get_logical_id(element))

    def resources(self, stack: Any, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template(stack)["Resources"].items() if v["Type"] == resource_type}

    def resource(self, construct: Any) -> dict[str, Any]:
        from aws_cdk import Stack

        resource: dict[str, Any] = self.template(Stack.of(construct))["Resources"][self.logical_id(construct)]
        return resource

    def role_statements(self, role: Any) -> list[dict[str, Any]]:
        """Every statement any policy of its stack grants ``role`` (inline, attached or managed), imports resolved."""
        from aws_cdk import Stack

        stack = Stack.of(role)
        role_id = self.logical_id(role)
        props = self.template(stack)["Resources"][role_id]["Properties"]
        statements: list[dict[str, Any]] = []
        for policy in props.get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in self.resources(stack, kind).values():
                if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                    statements += policy["Properties"]["PolicyDocument"]["Statement"]
        return [self.resolve_import(s) for s in statements]

    def resolve_import(self, value: Any) -> Any:
        """Replace ``{"Fn::ImportValue": name}`` by the exporting output's value (from the Data stack)."""
        if isinstance(value, dict) and set(value) == {"Fn::ImportValue"}:
            for template in self.templates.values():
                for output in template.get("Outputs", {}).values():
                    if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]:
                        return output["Value"]
            raise KeyError(f"no export named {value['Fn::ImportValue']}")
        if isinstance(value, dict):
            return {k: self.resolve_import(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_import(v) for v in value]
        return value


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    """The whole app synthesized into ``outdir``; a cdk-nag failure is kept in ``error``, not raised."""
    import app as cdk_app
    from stacks.config import EnvConfig

    application = cdk_app.build_app(context=context, outdir=str(outdir))
    error: BaseException | None = None
    try:
        application.synth()
    except Exception as exc:  # cdk-nag errors fail synth; the templates are still written
        error = exc
    config = EnvConfig.from_context(application.node)
    result = Synthesized(
        outdir=outdir,
        app=application,
        data=application.node.find_child(config.stack_id("Data")),
        api=application.node.find_child(config.stack_id("Api")),
        events=application.node.find_child(config.stack_id("Events")),
        monitoring=application.node.find_child(config.stack_id("Monitoring")),
        error=error,
    )
    for path in outdir.glob("*.template.json"):
        result.templates[path.name.removesuffix(".template.json")] = json.loads(path.read_text())
    return result


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(TEST_CONTEXT, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def dev_environment() -> dict[str, Any]:
    """cdk.json's ``context.environments.dev``: what the synthesized dev stacks must reflect."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    environment: dict[str, Any] = context["environments"]["dev"]
    return environment
