"""ManagementApi: the Pinpoint-compatible REST API, a proxy to the api function behind IAM (SigV4)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from homing.api.cors import ALLOW_HEADERS, ALLOW_METHODS, EXPOSE_HEADERS, MAX_AGE_SECONDS

STAGE_NAME = "prod"

# Every gateway response gets the CORS headers: the two defaults and the ones a browser meets most.
GATEWAY_RESPONSE_TYPES = (
    apigw.ResponseType.DEFAULT_4_XX,
    apigw.ResponseType.DEFAULT_5_XX,
    apigw.ResponseType.ACCESS_DENIED,
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    apigw.ResponseType.INVALID_SIGNATURE,
    apigw.ResponseType.EXPIRED_TOKEN,
    apigw.ResponseType.THROTTLED,
    apigw.ResponseType.REQUEST_TOO_LARGE,
)


def _preflight_options(origins: tuple[str, ...]) -> apigw.CorsOptions | None:
    if not origins:
        return None
    return apigw.CorsOptions(
        allow_origins=list(origins),
        allow_methods=list(ALLOW_METHODS),
        allow_headers=list(ALLOW_HEADERS),
        max_age=Duration.seconds(MAX_AGE_SECONDS),
        status_code=204,  # no body; also what cdk-nag (APIG4/COG4) recognizes as a preflight needing no auth
    )


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
        cors_allow_origins: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.cors_allow_origins = tuple(cors_allow_origins)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention, removal_policy=log_removal_policy)
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=handler,
            proxy=True,
            description="Homing management API (Amazon Pinpoint REST API compatible)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
            # Preflights: a MOCK OPTIONS method on every resource, without auth (browsers never sign them).
            default_cors_preflight_options=_preflight_options(self.cors_allow_origins),
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

        if self.cors_allow_origins:
            self._add_cors_to_gateway_responses()

    def _add_cors_to_gateway_responses(self) -> None:
        """API Gateway's own errors (bad signature, throttled, ...) must carry CORS headers too.

        Without them a browser hides the status and body and the SDK reports a network error.
        DEFAULT_4XX/5XX cover every type; the common ones are set explicitly as well so that a later
        customization of one of them cannot silently drop the headers.
        """
        origins = self.cors_allow_origins
        headers = {
            # One origin (or "*") is a literal; several: echo the caller's (error bodies carry no data).
            "Access-Control-Allow-Origin": f"'{origins[0]}'" if len(origins) == 1 else "method.request.header.Origin",
            "Access-Control-Allow-Headers": "'" + ",".join(ALLOW_HEADERS) + "'",
            "Access-Control-Allow-Methods": "'" + ",".join(ALLOW_METHODS) + "'",
            "Access-Control-Expose-Headers": "'" + ",".join(EXPOSE_HEADERS) + "'",
        }
        if origins != ("*",):
            headers["Vary"] = "'Origin'"
        for response_type in GATEWAY_RESPONSE_TYPES:
            self.rest_api.add_gateway_response(
                f"Cors{response_type.response_type}", type=response_type, response_headers=headers
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
