"""CampaignDelivery: the campaign delivery workflow (Step Functions), its run_campaign function and the
Scheduler group and role that start it.

Input: what a campaign's schedule (homing.adapters.schedules) or a direct start (CampaignTriggers)
passes, ``{"ApplicationId", "CampaignId", "RunAt", ...}``. The machine::

    Begin (run_campaign)            the run, its activities, an audience resolution request
    Skip?                           -> Skipped (deleted, paused, completed, not a run of the schedule)
    Parts (Map over begin.parts)    resolve_audience "part", looping on its cursor (as AudienceResolution)
    Finalize (resolve_audience)     the manifest
    Plan (run_campaign)             the batches, written to S3 as the items file; concurrency, wait
    Batches (Distributed Map)       ItemReader on the items file, MaxConcurrencyPath from the plan,
                                    ToleratedFailurePercentage 100: send_batch (retried), then a Wait
                                    of the plan's wait_seconds when the campaign is paced
    Finish (run_campaign)           tallies -> activities (FAILURE when a batch never reported), state,
                                    the next run armed
    any failure after Begin         -> RecordFailure (run_campaign "fail") -> Failed

run_campaign's environment names the machine by its ARN built from a fixed name (the machine's
definition names the function, so a reference the other way would be a cycle).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from homing.adapters.dynamodb.tables import APPS, CAMPAIGNS, JOBS, SEGMENTS
from homing.domain.audiences import DEFAULT_PARTS
from homing.domain.campaign_runs import RUNS_PREFIX
from homing.settings import Env
from stacks.constructs.audience_resolution import TRANSIENT, grant_audience_objects
from stacks.constructs.campaign_schedules import CampaignScheduling
from stacks.constructs.function import HomingFunction
from stacks.resources import DataResources, function_environment

# The tables run_campaign uses: its environment names exactly these, and each has a grant below.
RUN_TABLES = (APPS, CAMPAIGNS, SEGMENTS, JOBS)
# begin and plan read and write a few items and S3 objects; finish reads every tally of the run (20,000
# for 10 million endpoints, 16 at a time: about 20 s)
TIMEOUT = Duration.minutes(5)
MEMORY_MB = 512
# A paced run of a large segment takes long (10 million at 1,000 a second: about 3 hours); MaximumDuration
# stops the sends, not the machine. Standard workflows may run a year.
EXECUTION_TIMEOUT = Duration.days(7)
BATCH_ATTEMPTS = 3  # a batch whose handler fails is tried this often in all, then counted as failed


class CampaignDelivery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        resolve_audience: lambda_.IFunction,
        send_batch: lambda_.IFunction,
        resource_arn_prefix: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.state_machine_name = f"{stack.stack_name}-CampaignDelivery"[:80]
        state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        tables, bucket = data.tables, data.audience_bucket
        self.run_campaign = HomingFunction(
            self,
            "RunCampaign",
            entry="run_campaign",
            description="Homing: begins, plans and finishes a campaign run (the delivery workflow's own steps)",
            env=function_environment(
                data,
                RUN_TABLES,
                {Env.RESOURCE_ARN_PREFIX: resource_arn_prefix, Env.AUDIENCE_BUCKET: bucket.bucket_name},
            ),
            memory=MEMORY_MB,
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        function = self.run_campaign.function
        tables[APPS].grant(function, "dynamodb:GetItem")
        tables[SEGMENTS].grant(function, "dynamodb:GetItem")  # the segment version of the audience request
        tables[JOBS].grant(function, "dynamodb:Query")  # an IMPORT segment compiles with its import's pieces
        # the head and version (reads), activities (conditional put and update), the state (head rewrite)
        tables[CAMPAIGNS].grant(function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        grant_audience_objects(function, data, write=True)  # the resolution request; the manifest
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[bucket.arn_for_objects(f"{RUNS_PREFIX}/*")]
            )
        )

        def invoke(
            name: str, target: lambda_.IFunction, payload: dict[str, object], result_path: str | None
        ) -> tasks.LambdaInvoke:
            task = tasks.LambdaInvoke(
                self,
                name,
                lambda_function=target,
                payload=sfn.TaskInput.from_object(payload),
                payload_response_only=True,
                result_path=result_path if result_path is not None else sfn.JsonPath.DISCARD,
                retry_on_service_exceptions=False,
            )
            task.add_retry(errors=TRANSIENT, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
            if target is function:  # run_campaign's steps are idempotent per run: any error is tried again
                task.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=2, backoff_rate=2)
            return task

        run = sfn.JsonPath.object_at("$.begin.run")
        begin = invoke("Begin", function, {"action": "begin", "input": sfn.JsonPath.entire_payload}, "$.begin")
        record_failure = invoke(
            "RecordFailure",
            function,
            {"action": "fail", "run": run, "error": sfn.JsonPath.object_at("$.error")},
            None,
        ).next(sfn.Fail(self, "Failed", error="CampaignRunFailed"))

        # the audience: the resolution workflow's parts and finalize, on the same function and payloads
        part = invoke(
            "Part",
            resolve_audience,
            {
                "action": "part",
                "request": sfn.JsonPath.object_at("$.request"),
                "item": sfn.JsonPath.object_at("$.item"),
            },
            "$.item",
        )
        part_done = (
            sfn.Choice(self, "PartDone")
            .when(sfn.Condition.boolean_equals("$.item.done", True), sfn.Succeed(self, "PartFinished"))
            .otherwise(part)
        )
        parts = sfn.Map(
            self,
            "Parts",
            items_path="$.begin.parts",
            max_concurrency=DEFAULT_PARTS,
            result_path=sfn.JsonPath.DISCARD,
        )
        parts.item_processor(part.next(part_done))
        finalize = invoke(
            "Finalize",
            resolve_audience,
            {"action": "finalize", "request": sfn.JsonPath.object_at("$.begin.request")},
            "$.audience",
        )
        plan = invoke(
            "Plan",
            function,
            {"action": "plan", "run": run, "request": sfn.JsonPath.object_at("$.begin.request")},
            "$.plan",
        )

        # the batches: one send_batch per item of the items file; a batch failing every attempt is
        # counted by Finish (its tally is missing) and never stops the others
        send = invoke(
            "SendBatch",
            send_batch,
            {"run": sfn.JsonPath.object_at("$.run"), "item": sfn.JsonPath.object_at("$.item")},
            "$.sent",
        )
        send.add_retry(
            errors=["States.ALL"], interval=Duration.seconds(1), max_attempts=BATCH_ATTEMPTS - 1, backoff_rate=2
        )
        pace = (
            sfn.Choice(self, "Paced")
            .when(
                sfn.Condition.number_greater_than("$.wait", 0),
                sfn.Wait(self, "Pace", time=sfn.WaitTime.seconds_path("$.wait")),
            )
            .otherwise(sfn.Succeed(self, "Sent"))
        )
        batches = sfn.DistributedMap(
            self,
            "Batches",
            item_reader=sfn.S3JsonItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.plan.key")),
            item_selector={
                "run": run,
                "item": sfn.JsonPath.object_at("$$.Map.Item.Value"),
                "wait": sfn.JsonPath.number_at("$.plan.wait_seconds"),
            },
            max_concurrency_path="$.plan.concurrency",
            tolerated_failure_percentage=100,
            result_path=sfn.JsonPath.DISCARD,
        )
        batches.item_processor(send.next(pace))
        finish = invoke("Finish", function, {"action": "finish", "run": run}, "$.finish")
        for step in (parts, finalize, plan, batches, finish):
            step.add_catch(record_failure, result_path="$.error")

        skip = (
            sfn.Choice(self, "Skip")
            .when(sfn.Condition.boolean_equals("$.begin.skip", True), sfn.Succeed(self, "Skipped"))
            .otherwise(parts.next(finalize).next(plan).next(batches).next(finish))
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(begin.next(skip)),
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        data.key.grant(self.state_machine, "kms:Decrypt")  # the items file, under the data key

        # Scheduler starts this machine for each armed run; run_campaign re-arms after a run.
        self.scheduling = CampaignScheduling(
            self, "Scheduling", state_machine=self.state_machine, removal_policy=removal_policy
        )
        self.scheduling.grant_manage(function)
        for name, value in self.scheduling.environment().items():
            function.add_environment(name, state_machine_arn if name == Env.DELIVERY_STATE_MACHINE_ARN else value)
        # a run due at once (a late re-arm) is started directly, named by its run id
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[state_machine_arn])
        )

    def grant_start(self, grantee: iam.IGrantable) -> dict[str, str]:
        """What the api needs to arm, start and disarm campaigns' runs; the environment that goes with it."""
        self.state_machine.grant_start_execution(grantee)
        self.scheduling.grant_manage(grantee)
        return self.scheduling.environment()
