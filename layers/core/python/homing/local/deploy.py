"""Deploy a synthesized CDK cloud assembly (cdk.out) into moto's CloudFormation.

One source of truth: the same templates that ``cdk deploy`` ships are deployed locally, so
wiring and environment variables cannot drift between local mode and AWS. Generic over the
assembly: every stack in the manifest, in dependency order, with its file assets uploaded to the
fake bootstrap bucket. What moto cannot create is stripped (templates.py), and three moto
quirks are fixed afterwards (Lambda layers dropped, empty LayerVersion physical ids, and the
split Step Functions backends).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homing.local.moto_stack import MotoStack
from homing.local.runner import CodeLocator
from homing.local.templates import StackReport, prepare_template

log = logging.getLogger("homing.local")

STACK_ARTIFACT = "aws:cloudformation:stack"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
BOOTSTRAP_VERSION = "30"


@dataclass
class DeployedStack:
    name: str
    outputs: dict[str, str]
    report: StackReport
    template: dict[str, Any]  # as deployed (after preparation)
    physical_ids: dict[str, str] = field(default_factory=dict)
    source_template: dict[str, Any] = field(default_factory=dict)  # as synthesized (stripped types included)


@dataclass
class Deployment:
    stacks: list[DeployedStack]
    seconds: float = 0.0


def stack_order(manifest: dict[str, Any]) -> list[str]:
    """Stack artifact ids of a cloud assembly manifest, dependencies first (stable order)."""
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks = [name for name, artifact in artifacts.items() if artifact.get("type") == STACK_ARTIFACT]
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ValueError(f"dependency cycle at stack {name}")
        visiting.add(name)
        for dep in artifacts[name].get("dependencies", []):
            if dep in stacks:
                visit(dep)
        visiting.discard(name)
        ordered.append(name)

    for name in stacks:
        visit(name)
    return ordered


def _substitute(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")
    )


def _fingerprint(directory: Path) -> str:
    """Cheap change detector for an asset dir (paths, sizes, mtimes) to reuse cached zips."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            stat = path.stat()
            digest.update(f"{path.relative_to(directory)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def zip_directory(directory: Path, cache_dir: Path) -> Path:
    """Zip ``directory`` (cached by content fingerprint: big dependency layers zip once)."""
    target = cache_dir / f"{directory.name}-{_fingerprint(directory)}.zip"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                path = Path(root, name)
                archive.write(path, path.relative_to(directory).as_posix())
    partial.replace(target)
    return target


class Deployer:
    """Deploys every stack of ``cdk_out`` into the running ``moto`` stack."""

    def __init__(self, moto: MotoStack, cdk_out: Path, code: CodeLocator, account: str) -> None:
        self.moto = moto
        self.cdk_out = cdk_out
        self.code = code
        self.account = account
        self.cache_dir = Path(tempfile.gettempdir()) / "homing-local-assets"
        self._cfn = moto.client("cloudformation")
        self._s3 = moto.client("s3")
        self._lambda = moto.client("lambda")
        self._buckets: set[str] = set()

    def deploy_all(self) -> Deployment:
        started = time.perf_counter()
        from homing.local.cfn_shims import supported_types

        supported = supported_types()
        manifest = json.loads((self.cdk_out / "manifest.json").read_text())
        artifacts = manifest["artifacts"]
        nested = [n for n, a in artifacts.items() if a.get("type") == "cdk:cloud-assembly"]
        if nested:
            log.warning("nested cloud assemblies (CDK Stages) are not deployed locally: %s", ", ".join(nested))
        dropped_exports: set[str] = set()
        deployed: list[DeployedStack] = []
        for artifact_id in stack_order(manifest):
            artifact = artifacts[artifact_id]
            props = artifact.get("properties", {})
            stack_name = props.get("stackName", artifact_id)
            for dep in artifact.get("dependencies", []):
                if artifacts.get(dep, {}).get("type") == "cdk:asset-manifest":
                    self._publish_assets(self.cdk_out / artifacts[dep]["properties"]["file"])
            ssm_param = props.get("bootstrapStackVersionSsmParameter")
            if ssm_param:
                self._ensure_bootstrap_parameter(ssm_param)
            template = json.loads((self.cdk_out / props["templateFile"]).read_text())
            prepared, report = prepare_template(template, stack_name, supported, dropped_exports)
            dropped_exports |= report.dropped_exports
            stack = self._create_stack(stack_name, prepared, report)
            stack.source_template = template
            self._reapply_layers(stack)
            deployed.append(stack)
        self._enable_step_functions_execution()
        return Deployment(stacks=deployed, seconds=time.perf_counter() - started)

    # -- assets and bootstrap -------------------------------------------------------------
    def _publish_assets(self, assets_file: Path) -> None:
        assets = json.loads(assets_file.read_text())
        for asset in assets.get("files", {}).values():
            source = self.cdk_out / asset["source"]["path"]
            packaging = asset["source"].get("packaging", "file")
            for destination in asset.get("destinations", {}).values():
                bucket = _substitute(destination["bucketName"], self.account, self.moto.region)
                key = _substitute(destination["objectKey"], self.account, self.moto.region)
                self._ensure_bucket(bucket)
                if packaging == "zip" and source.is_dir():
                    self._s3.upload_file(str(zip_directory(source, self.cache_dir)), bucket, key)
                    self.code.register(bucket, key, source)
                else:
                    self._s3.upload_file(str(source), bucket, key)
        if assets.get("dockerImages"):
            log.warning("docker image assets are not supported locally: %s", ", ".join(assets["dockerImages"]))

    def _ensure_bucket(self, bucket: str) -> None:
        if bucket not in self._buckets:
            with contextlib.suppress(self._s3.exceptions.BucketAlreadyOwnedByYou):
                self._s3.create_bucket(Bucket=bucket)
            self._buckets.add(bucket)

    def _ensure_bootstrap_parameter(self, name: str) -> None:
        self.moto.client("ssm").put_parameter(Name=name, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True)

    # -- stacks ---------------------------------------------------------------------------
    def _create_stack(self, stack_name: str, template: dict[str, Any], report: StackReport) -> DeployedStack:
        self._cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(template), Capabilities=CAPABILITIES)
        description = self._cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = description["StackStatus"]
        if status != "CREATE_COMPLETE":
            events = self._cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
            reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events[:5]]
            raise RuntimeError(f"stack {stack_name} is {status}: {'; '.join(reasons)}")
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in description.get("Outputs", [])}
        resources = self._cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
        physical_ids = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}
        log.info(
            "deployed %s: %d resources, %d stripped%s",
            stack_name,
            len(physical_ids),
            len(report.stripped),
            f" ({', '.join(sorted(set(report.stripped.values())))})" if report.stripped else "",
        )
        return DeployedStack(stack_name, outputs, report, template, physical_ids)

    # -- quirk fixes ----------------------------------------------------------------------
    def _layer_arn(self, stack: DeployedStack, value: Any) -> str | None:
        """Resolve one entry of a function's ``Layers`` to a layer version ARN in moto."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Fn::ImportValue" in value:
            exports = {e["Name"]: e["Value"] for e in self._cfn.list_exports().get("Exports", [])}
            return exports.get(value["Fn::ImportValue"])
        if isinstance(value, dict) and "Ref" in value:
            logical_id = value["Ref"]
            physical = stack.physical_ids.get(logical_id, "")
            if physical.startswith("arn:"):
                return physical
            # moto leaves LayerVersion's physical id empty: find the layer by its generated name.
            resource = stack.template["Resources"].get(logical_id, {})
            explicit = resource.get("Properties", {}).get("LayerName")
            for layer in self._lambda.list_layers().get("Layers", []):
                name = layer["LayerName"]
                if name == explicit or (not explicit and name.startswith(f"{stack.name}-{logical_id}-")):
                    return str(layer["LatestMatchingVersion"]["LayerVersionArn"])
        return None

    def _layer_exists(self, arn: str) -> bool:
        parts = arn.split(":")  # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
        if len(parts) != 8 or parts[5] != "layer" or not parts[7].isdigit():
            return False
        try:
            self._lambda.get_layer_version(LayerName=parts[6], VersionNumber=int(parts[7]))
        except self._lambda.exceptions.ResourceNotFoundException:
            return False
        return True

    def _reapply_layers(self, stack: DeployedStack) -> None:
        """moto's CloudFormation drops a function's ``Layers``: set them again through the API."""
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Lambda::Function":
                continue
            wanted = resource.get("Properties", {}).get("Layers") or []
            arns = []
            for entry in wanted:
                arn = self._layer_arn(stack, entry)
                if arn is not None and self._layer_exists(arn):
                    arns.append(arn)
                    continue
                log.warning("%s/%s: layer %s is not available locally (skipped)", stack.name, logical_id, entry)
            if arns:
                self._lambda.update_function_configuration(FunctionName=stack.physical_ids[logical_id], Layers=arns)

    def _enable_step_functions_execution(self) -> None:
        """Let state machines really run (moto's ASL interpreter).

        With execution enabled, moto serves Step Functions from a second backend that does not
        see the machines CloudFormation created; re-create them there under the same names.
        """
        sfn = self.moto.client("stepfunctions")
        machines = [sfn.describe_state_machine(stateMachineArn=m["stateMachineArn"]) for m in _all_machines(sfn)]
        self.moto.set_config({"stepfunctions": {"execute_state_machine": True}})
        for machine in machines:
            kwargs = {
                "name": machine["name"],
                "definition": interpretable(machine["definition"]),
                "roleArn": machine["roleArn"],
                "type": machine.get("type", "STANDARD"),
            }
            if machine.get("loggingConfiguration"):
                kwargs["loggingConfiguration"] = machine["loggingConfiguration"]
            if machine.get("tracingConfiguration"):
                kwargs["tracingConfiguration"] = machine["tracingConfiguration"]
            sfn.create_state_machine(**kwargs)


def interpretable(definition: str) -> str:
    """The definition as moto's ASL parser reads it: it takes ``ToleratedFailurePercentage`` only as a
    decimal (its grammar's NUMBER; ``100`` lexes as INT), so whole percentages are written ``100.0``."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: float(v) if k == "ToleratedFailurePercentage" and isinstance(v, int) else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(json.loads(definition)))


def _all_machines(sfn: Any) -> list[dict[str, Any]]:
    machines: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        machines.extend(page["stateMachines"])
    return machines
