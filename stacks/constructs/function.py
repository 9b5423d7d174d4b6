"""HomingFunction: the house Lambda defaults, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import EnvConfig
from stacks.constructs.layers import REPO_ROOT, HomingLayers

FUNCTIONS_DIR: Path = REPO_ROOT / "functions"
FUNCTIONS_EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache"]

# The newest Python runtime aws-cdk-lib knows; cdk-nag's L1 rule requires exactly that one.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

DEFAULT_MEMORY_MB = 512
DEFAULT_TIMEOUT = Duration.seconds(30)

# Powertools settings every Homing function shares (one service name and metrics namespace).
OBSERVABILITY_ENV: Mapping[str, str] = {
    "POWERTOOLS_SERVICE_NAME": "homing",
    "POWERTOOLS_METRICS_NAMESPACE": "Homing",
    "LOG_LEVEL": "INFO",
}


class HomingFunction(Construct):
    """A Lambda function with Homing's defaults.

    ARM64 on the latest Python runtime; code = the whole ``functions/`` folder with handler
    ``<entry>.handler.lambda_handler``; both layers; JSON logs into an explicit LogGroup with
    retention (no ``log_retention=`` custom resource); active X-Ray tracing; an own role that may
    only write to that log group (no AWSLambdaBasicExecutionRole). Callers grant data access with
    ``table.grant_*(fn.function)``.

    Reserved concurrency: ``reserved_concurrency`` if given, else the environment's
    ``reserved_concurrency[<entry>]`` setting (cdk.json / ``-c``), else none (the account's pool).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        entry: str,
        env: Mapping[str, str],
        description: str,
        memory: int = DEFAULT_MEMORY_MB,
        timeout: Duration = DEFAULT_TIMEOUT,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (FUNCTIONS_DIR / entry / "handler.py").is_file():
            raise ValueError(f"functions/{entry}/handler.py does not exist")
        if reserved_concurrency is None:
            reserved_concurrency = configured_reserved_concurrency(self, entry)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention,
            removal_policy=log_removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Homing {entry} function",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=FUNCTIONS_EXCLUDE),
            handler=f"{entry}.handler.lambda_handler",
            layers=HomingLayers.of(self, runtime=RUNTIME, architecture=ARCHITECTURE).layers,
            environment=dict(env),
            memory_size=memory,
            timeout=timeout,
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
        )


def configured_reserved_concurrency(scope: Construct, entry: str) -> int | None:
    """The selected environment's ``reserved_concurrency`` for ``entry`` (None outside a Homing app)."""
    if scope.node.try_get_context("environments") is None:
        return None
    return EnvConfig.from_context(scope.node).reserved_concurrency.get(entry)
