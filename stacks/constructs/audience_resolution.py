"""AudienceResolution: the state machine that resolves a segment's audience, and its resolve_audience function.

Input (homing.services.audiences.AudienceService.start): ``{"request": {...}, "parts": [item, ...]}``,
one item per key-range part. A Map runs the parts in parallel; each part invokes resolve_audience
until its range is done (the function stops a little before its timeout and returns a cursor, the
Choice loops back). Then finalize writes the manifest; a failure anywhere records the error.
Campaigns' delivery workflow starts the same machine (or nests it) and fans out over the manifest.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from homing.adapters.dynamodb.tables import ANALYTICS, APPS, ENDPOINTS, JOBS, SEGMENTS
from homing.domain.audiences import DEFAULT_PARTS, PREFIX
from homing.settings import Env
from stacks.constructs.function import HomingFunction
from stacks.resources import DataResources, function_environment

# The tables resolve_audience reads: its environment names exactly these, and each has a grant below.
AUDIENCE_TABLES = (APPS, SEGMENTS, ENDPOINTS, ANALYTICS, JOBS)
TIMEOUT = Duration.minutes(5)  # a part stops reading RESERVE_MS (30 s) before this and continues
MEMORY_MB = 1024  # CPU scales with memory: evaluation and JSON are CPU-bound
EXECUTION_TIMEOUT = Duration.hours(2)
# Lambda's own transient errors are retried; a handler error fails the resolution (recorded by Fail).
TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def grant_audience_objects(grantee: iam.IGrantable, data: DataResources, *, write: bool) -> None:
    """Get (and Put) objects under ``audiences/`` and list the bucket, with the data key: nothing else
    (no delete: objects expire by the bucket's lifecycle; DeleteApp's clean-up deletes its own)."""
    bucket = data.audience_bucket
    actions = ["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{PREFIX}/*")])
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )
    data.key.grant(grantee, "kms:Decrypt", *(["kms:GenerateDataKey"] if write else []))


class AudienceResolution(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        resource_arn_prefix: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        tables, bucket = data.tables, data.audience_bucket
        self.resolve_audience = HomingFunction(
            self,
            "ResolveAudience",
            entry="resolve_audience",
            description="Homing: resolves one part of a segment's audience into pages, or writes the manifest",
            env=function_environment(
                data,
                AUDIENCE_TABLES,
                {Env.RESOURCE_ARN_PREFIX: resource_arn_prefix, Env.AUDIENCE_BUCKET: bucket.bucket_name},
            ),
            memory=MEMORY_MB,
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        function = self.resolve_audience.function
        tables[APPS].grant(function, "dynamodb:GetItem")
        tables[SEGMENTS].grant(function, "dynamodb:GetItem")
        tables[ENDPOINTS].grant(function, "dynamodb:Query")  # the table and its by-channel index
        tables[ANALYTICS].grant(function, "dynamodb:BatchGetItem")  # activity items of candidates
        tables[JOBS].grant(function, "dynamodb:Query")  # an IMPORT segment's members: its import's piece items
        grant_audience_objects(function, data, write=True)

        def invoke(name: str, payload: sfn.TaskInput | None, result_path: str | None) -> tasks.LambdaInvoke:
            task = tasks.LambdaInvoke(
                self,
                name,
                lambda_function=function,
                payload=payload,
                payload_response_only=True,
                result_path=result_path if result_path is not None else sfn.JsonPath.DISCARD,
                retry_on_service_exceptions=False,
            )
            task.add_retry(errors=TRANSIENT, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
            return task

        part = invoke(
            "Part",
            sfn.TaskInput.from_object(
                {
                    "action": "part",
                    "request": sfn.JsonPath.object_at("$.request"),
                    "item": sfn.JsonPath.object_at("$.item"),
                }
            ),
            "$.item",
        )
        loop = (
            sfn.Choice(self, "PartDone")
            .when(sfn.Condition.boolean_equals("$.item.done", True), sfn.Succeed(self, "PartFinished"))
            .otherwise(part)
        )
        parts = sfn.Map(
            self,
            "Parts",
            items_path="$.parts",
            max_concurrency=DEFAULT_PARTS,
            result_path=sfn.JsonPath.DISCARD,
        )
        parts.item_processor(part.next(loop))
        finalize = invoke(
            "Finalize",
            sfn.TaskInput.from_object({"action": "finalize", "request": sfn.JsonPath.object_at("$.request")}),
            "$.result",
        )
        record_failure = invoke(
            "RecordFailure",
            sfn.TaskInput.from_object(
                {
                    "action": "fail",
                    "request": sfn.JsonPath.object_at("$.request"),
                    "error": sfn.JsonPath.object_at("$.error"),
                }
            ),
            None,
        ).next(sfn.Fail(self, "Failed", error="AudienceResolutionFailed"))
        parts.add_catch(record_failure, result_path="$.error")
        finalize.add_catch(record_failure, result_path="$.error")

        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(parts.next(finalize)),
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
