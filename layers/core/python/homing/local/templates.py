"""Make a synthesized CloudFormation template deployable into moto's CloudFormation.

Pure functions over template dicts (unit-tested without moto). moto rejects a template that
contains a resource type it has no model for, and any ``Ref``/``GetAtt`` to such a resource.
So unsupported resources are removed, and then, transitively, whatever references them,
with two exceptions where a placeholder value is harmless (IAM and resource policies, which
moto does not enforce, and Lambda environment variables, which must not cost us the function):
there the reference is replaced by a placeholder string. ``DependsOn`` entries to removed
resources are dropped, as are Outputs (and their Exports) that reference them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Types whose references to a removed resource are replaced instead of removing the resource.
POLICY_TYPES = frozenset(
    {
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
        "AWS::KMS::Key",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::Lambda::Permission",
    }
)
ALWAYS_STRIPPED_TYPES = frozenset({"AWS::CloudFormation::CustomResource"})
_SUB_TOKEN = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class StackReport:
    """What was changed in one template to make it deployable locally."""

    stripped: dict[str, str] = field(default_factory=dict)  # logical id -> resource type
    neutralized: list[str] = field(default_factory=list)  # "<logical id>: <removed logical id>"
    dropped_outputs: list[str] = field(default_factory=list)
    dropped_exports: set[str] = field(default_factory=set)


def is_supported(resource_type: str, supported: frozenset[str]) -> bool:
    if resource_type.startswith("Custom::") or resource_type in ALWAYS_STRIPPED_TYPES:
        return False  # custom resources need their provider Lambda's callback protocol
    return resource_type in supported


def references(value: Any, logical_ids: Iterable[str]) -> set[str]:
    """Logical ids of ``logical_ids`` that ``value`` refers to (Ref, GetAtt, Sub)."""
    ids = set(logical_ids)
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref" and isinstance(arg, str) and arg in ids:
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                    if isinstance(target, str) and target in ids:
                        found.add(target)
                elif key == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    local_vars = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                    for token in _SUB_TOKEN.findall(text):
                        name = token.split(".", 1)[0]
                        if name in ids and name not in local_vars:
                            found.add(name)
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit(value)
    return found


def imports(value: Any) -> set[str]:
    """Literal export names imported with Fn::ImportValue anywhere in ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        if set(value) == {"Fn::ImportValue"} and isinstance(value["Fn::ImportValue"], str):
            found.add(value["Fn::ImportValue"])
        for child in value.values():
            found |= imports(child)
    elif isinstance(value, list):
        for child in value:
            found |= imports(child)
    return found


def placeholder(stack_name: str, logical_id: str, resource: dict[str, Any], attribute: str | None) -> str:
    """A stand-in value for a reference to a removed resource (its literal name if it has one)."""
    if attribute is None:
        props = resource.get("Properties", {})
        name_key = resource.get("Type", "").rsplit("::", 1)[-1] + "Name"
        for key in (name_key, "Name"):
            if isinstance(props.get(key), str):
                return str(props[key])
        return f"{stack_name}-{logical_id}"
    return f"arn:aws:local:::stripped/{stack_name}/{logical_id}/{attribute}"


def _replace(value: Any, removed: dict[str, dict[str, Any]], stack_name: str, dropped_exports: set[str]) -> Any:
    """Copy of ``value`` with references to ``removed`` (and dropped imports) replaced."""
    if isinstance(value, list):
        return [_replace(v, removed, stack_name, dropped_exports) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and arg in removed:
            return placeholder(stack_name, arg, removed[arg], None)
        if key == "Fn::GetAtt":
            target, attribute = arg.split(".", 1) if isinstance(arg, str) else (arg[0], arg[1])
            if target in removed:
                return placeholder(stack_name, target, removed[target], str(attribute))
        if key == "Fn::ImportValue" and arg in dropped_exports:
            return f"arn:aws:local:::stripped-export/{arg}"
        if key == "Fn::Sub":
            text, local_vars = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] if len(arg) > 1 else {})

            def sub(match: re.Match[str]) -> str:
                name, _, attribute = match.group(1).partition(".")
                if name in removed and name not in local_vars:
                    return placeholder(stack_name, name, removed[name], attribute or None)
                return match.group(0)

            text = _SUB_TOKEN.sub(sub, text)
            new_vars = _replace(local_vars, removed, stack_name, dropped_exports)
            return {"Fn::Sub": text if isinstance(arg, str) else [text, new_vars]}
    return {k: _replace(v, removed, stack_name, dropped_exports) for k, v in value.items()}


def _neutralizable_part(resource_type: str) -> Callable[[dict[str, Any]], tuple[dict[str, Any], str] | None]:
    """Which part of a resource may hold placeholders: (container, key) or None."""

    def part(resource: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        if resource_type in POLICY_TYPES:
            return resource, "Properties"
        if resource_type == "AWS::Lambda::Function" and "Environment" in resource.get("Properties", {}):
            return resource["Properties"], "Environment"
        return None

    return part


def _work_around_moto(resource: dict[str, Any]) -> None:
    """Property shapes that moto's CloudFormation models misread (moto 5.2.5)."""
    props = resource.get("Properties", {})
    if resource.get("Type") == "AWS::KMS::Key" and isinstance(props.get("Tags"), list):
        # moto's KMS model expects the KMS API's TagKey/TagValue, not CloudFormation's Key/Value.
        props["Tags"] = [{"TagKey": t.get("Key"), "TagValue": t.get("Value")} for t in props["Tags"]]


def prepare_template(
    template: dict[str, Any],
    stack_name: str,
    supported: frozenset[str],
    dropped_exports: set[str] | None = None,
) -> tuple[dict[str, Any], StackReport]:
    """Return a deployable copy of ``template`` and what was changed.

    ``dropped_exports``: export names other (already prepared) stacks lost; importers are
    treated like references to a removed resource.
    """
    template = copy.deepcopy(template)
    dropped_exports = set(dropped_exports or ())
    report = StackReport()
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})
    removed: dict[str, dict[str, Any]] = {}
    for logical_id, resource in list(resources.items()):
        if not is_supported(resource.get("Type", ""), supported):
            removed[logical_id] = resources.pop(logical_id)

    changed = True
    while changed:
        changed = False
        for logical_id, resource in list(resources.items()):
            body = {k: v for k, v in resource.items() if k != "DependsOn"}
            hits = references(body, removed) | {f"export:{e}" for e in imports(body) & dropped_exports}
            if not hits:
                continue
            part = _neutralizable_part(resource.get("Type", ""))(resource)
            if part is not None:
                container, key = part
                container[key] = _replace(container[key], removed, stack_name, dropped_exports)
                body = {k: v for k, v in resource.items() if k != "DependsOn"}
                remaining = references(body, removed) | (imports(body) & dropped_exports)
                if not remaining:
                    report.neutralized.extend(f"{logical_id}: {hit}" for hit in sorted(hits))
                    continue
            removed[logical_id] = resources.pop(logical_id)
            changed = True

    for resource in resources.values():
        _work_around_moto(resource)
    for logical_id, resource in removed.items():
        report.stripped[logical_id] = resource.get("Type", "")
    for resource in resources.values():
        depends_on = resource.get("DependsOn")
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        if isinstance(depends_on, list):
            kept = [d for d in depends_on if d not in removed]
            if kept:
                resource["DependsOn"] = kept
            else:
                resource.pop("DependsOn")

    outputs: dict[str, Any] = template.get("Outputs", {})
    for name, output in list(outputs.items()):
        if references(output, removed) or imports(output) & dropped_exports:
            del outputs[name]
            report.dropped_outputs.append(name)
            export_name = output.get("Export", {}).get("Name")
            if isinstance(export_name, str):
                report.dropped_exports.add(export_name)
    if "Outputs" in template and not outputs:
        del template["Outputs"]
    return template, report
