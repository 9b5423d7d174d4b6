"""ApiStack: the management API and its function (stateless; receives the data resources)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.config import EnvConfig
from stacks.constructs.function import HomingFunction
from stacks.constructs.management_api import ManagementApi


def resource_arn_prefix() -> str:
    """``arn:<partition>:mobiletargeting:<region>:<account>``: Pinpoint ARNs (``.../apps/<id>``) start so."""
    return Fn.join(":", ["arn", Aws.PARTITION, "mobiletargeting", Aws.REGION, Aws.ACCOUNT_ID])


class ApiStack(Stack):
    """Pinpoint-compatible REST API (IAM auth) -> one api function -> the three tables."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvConfig,
        apps_table: dynamodb.ITable,
        endpoints_table: dynamodb.ITable,
        catalog_table: dynamodb.ITable,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Homing ({config.name}): management API", **kwargs)
        self.config = config

        self.api_function = HomingFunction(
            self,
            "Api",
            entry="api",
            description="Homing management API (Amazon Pinpoint REST operations)",
            env={
                "APPS_TABLE": apps_table.table_name,
                "ENDPOINTS_TABLE": endpoints_table.table_name,
                "CATALOG_TABLE": catalog_table.table_name,
                "RESOURCE_ARN_PREFIX": resource_arn_prefix(),
                "POWERTOOLS_SERVICE_NAME": "homing",
                "POWERTOOLS_METRICS_NAMESPACE": "Homing",
                "LOG_LEVEL": "INFO",
            },
            # API Gateway gives up after 29 s; a longer function timeout would only waste money.
            timeout=Duration.seconds(29),
            log_retention=config.log_retention,
            log_removal_policy=config.removal_policy,
        )
        for table in (apps_table, endpoints_table, catalog_table):
            table.grant_read_write_data(self.api_function.function)

        self.api = ManagementApi(
            self,
            "ManagementApi",
            handler=self.api_function.function,
            throttling_rate_limit=config.api_throttling_rate_limit,
            throttling_burst_limit=config.api_throttling_burst_limit,
            log_retention=config.log_retention,
            log_removal_policy=config.removal_policy,
        )
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Homing endpoint for Pinpoint clients (SigV4)")
