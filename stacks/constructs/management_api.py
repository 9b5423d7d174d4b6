"""ManagementApi: the Pinpoint-compatible REST API, a proxy to the api function behind IAM (SigV4)."""

from __future__ import annotations

from aws_cdk import Aws, Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

STAGE_NAME = "prod"


class ManagementApi(Construct):
    """REST API with ``ANY /`` and ``ANY /{proxy+}`` to one function; every method needs AWS_IAM.

    Pinpoint clients sign with SigV4, so IAM authorization is the Pinpoint-compatible choice.
    The stage throttles, writes JSON access logs to its own log group, logs errors, publishes
    metrics and traces. Request bodies are validated in the function (Pinpoint's schemas), not here.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        throttling_rate_limit: float,
        throttling_burst_limit: int,
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention, removal_policy=log_removal_policy)
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=handler,
            proxy=True,
            description="Homing management API (Amazon Pinpoint REST API compatible)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            # Stage logging needs the account-wide API Gateway CloudWatch role. Retained: other stacks
            # in the account (another environment) may rely on the same account setting.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=throttling_rate_limit,
                throttling_burst_limit=throttling_burst_limit,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # full request/response logging would put addresses into logs
                metrics_enabled=True,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )

    @property
    def url(self) -> str:
        """``https://<api>.execute-api.<region>.<suffix>/prod/``.

        Built from the stage *name* rather than ``rest_api.url`` (a Ref to the Stage), so the value
        still resolves where the Stage resource is absent (moto's CloudFormation in local mode).
        """
        return Fn.join(
            "",
            [
                "https://",
                self.rest_api.rest_api_id,
                ".execute-api.",
                Aws.REGION,
                ".",
                Aws.URL_SUFFIX,
                f"/{STAGE_NAME}/",
            ],
        )
