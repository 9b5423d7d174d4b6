"""Step Functions executions run for real in local mode: moto's ASL interpreter, Lambda tasks in warm workers.

A moto server of the test's own, the local runner installed and execution switched on as local mode
does (deploy.py); a tiny Python function and small state machines of the test's own: Lambda tasks,
Map, Distributed Map over an S3 item list, Retry and Catch.
"""

from __future__ import annotations

import io
import json
import os
import textwrap
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from homing.local.pages import recent_executions

HANDLER = """
import json, os, time, uuid
import boto3

s3 = boto3.client("s3")

class Boom(Exception):
    pass

def handler(event, context):
    key = f"calls/{time.time_ns()}-{uuid.uuid4().hex[:6]}"
    s3.put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps(event))
    if event.get("boom"):
        raise Boom("asked to fail")
    return {"n": event["n"] * 2}
"""
BUCKET = "sfn-test"


@dataclass
class Local:
    moto: Any
    function_arn: str
    role: str

    def run(self, definition: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        """Create a machine, start it, wait (bounded) for the end; describe_execution."""
        sfn = self.moto.client("stepfunctions")
        machine = sfn.create_state_machine(
            name=f"m-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=self.role
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.1)
        raise AssertionError("execution did not finish")

    def calls(self) -> list[dict[str, Any]]:
        s3 = self.moto.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="calls/").get("Contents", [])]
        out = [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in sorted(keys)]
        for key in keys:
            s3.delete_object(Bucket=BUCKET, Key=key)
        return out


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    from moto.awslambda.models import LambdaFunction

    from homing.local import runner as runner_module
    from homing.local.moto_stack import MotoStack

    saved_env = {k: os.environ.get(k) for k in ("MOTO_PORT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    saved = LambdaFunction._invoke_lambda
    moto = MotoStack()
    moto.start()
    runner = runner_module.Runner(moto.url, runner_module.CodeLocator(), max_workers=4)
    try:
        runner_module.install(runner)
        moto.set_config({"stepfunctions": {"execute_state_machine": True}})  # as deploy.py does
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", textwrap.dedent(HANDLER))
        role = moto.client("iam").create_role(
            RoleName="sfn-test", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        moto.client("s3").create_bucket(Bucket=BUCKET)
        function_arn = moto.client("lambda").create_function(
            FunctionName="sfn-double",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=30,
            Environment={"Variables": {"BUCKET": BUCKET}},
        )["FunctionArn"]
        yield Local(moto, function_arn, role)
    finally:
        runner.close()
        moto.stop()
        LambdaFunction._invoke_lambda = saved  # type: ignore[method-assign]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_lambda_task_and_map_run_the_real_handler(local: Local) -> None:
    definition = {
        "StartAt": "First",
        "States": {
            "First": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": local.function_arn, "Payload": {"n.$": "$.n"}},
                "ResultSelector": {"n.$": "$.Payload.n"},
                "ResultPath": "$.first",
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Task", "Resource": local.function_arn, "End": True}},
                },
                "ResultPath": "$.each",
                "End": True,
            },
        },
    }

    execution = local.run(definition, {"n": 5, "items": [{"n": 1}, {"n": 2}, {"n": 3}]})

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["first"] == {"n": 10}
    assert output["each"] == [{"n": 2}, {"n": 4}, {"n": 6}]
    assert sorted(c["n"] for c in local.calls()) == [1, 2, 3, 5]


def test_retry_then_catch_on_a_handler_error(local: Local) -> None:
    definition = {
        "StartAt": "Fail",
        "States": {
            "Fail": {
                "Type": "Task",
                "Resource": local.function_arn,
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}],
                "End": True,
            },
            "Recovered": {"Type": "Pass", "End": True},
        },
    }

    execution = local.run(definition, {"n": 1, "boom": True})

    assert execution["status"] == "SUCCEEDED", execution
    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "Boom"
    assert len(local.calls()) == 3  # the first attempt and two retries
    pages = recent_executions(local.moto.client("stepfunctions"))()
    (row,) = [r for r in pages if r["ExecutionArn"] == execution["executionArn"]]
    assert (row["Status"], row["Steps"]) == ("SUCCEEDED", ["Task Fail", "Pass Recovered"])


def test_distributed_map_reads_its_items_from_s3(local: Local) -> None:
    s3 = local.moto.client("s3")
    s3.put_object(Bucket=BUCKET, Key="items/numbers.json", Body=json.dumps([{"n": i} for i in range(1, 6)]))
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": BUCKET, "Key": "items/numbers.json"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Double",
                    "States": {"Double": {"Type": "Task", "Resource": local.function_arn, "End": True}},
                },
                "End": True,
            }
        },
    }

    execution = local.run(definition, {})

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == [{"n": 2}, {"n": 4}, {"n": 6}, {"n": 8}, {"n": 10}]
    assert sorted(c["n"] for c in local.calls()) == [1, 2, 3, 4, 5]


def test_schedules_start_executions_and_invoke_functions_with_their_input(local: Local) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.scheduler.models import scheduler_backends

    from homing.local.__main__ import _moto_invoker
    from homing.local.scheduler import LocalClock, LocalScheduler, Targets

    sfn = local.moto.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"scheduled-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(
            {"StartAt": "Double", "States": {"Double": {"Type": "Task", "Resource": local.function_arn, "End": True}}}
        ),
        roleArn=local.role,
    )["stateMachineArn"]
    backend = scheduler_backends[DEFAULT_ACCOUNT_ID][local.moto.region]
    scheduler = LocalScheduler(
        backend, Targets(_moto_invoker(local.moto, DEFAULT_ACCOUNT_ID), local.moto), LocalClock()
    )
    client = local.moto.client("scheduler")
    for name, target in (("to-machine", machine), ("to-function", local.function_arn)):
        client.create_schedule(
            Name=name,
            ScheduleExpression="cron(0 * * * ? *)",  # every hour, on the hour
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": target, "RoleArn": local.role, "Input": json.dumps({"n": 21})},
        )

    fired = scheduler.advance(2 * 3600)

    assert sorted(f.schedule_arn.rsplit("/", 1)[-1] for f in fired) == [
        "to-function",
        "to-function",
        "to-machine",
        "to-machine",
    ]
    assert all(f.ok for f in fired), [f.detail for f in fired]
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 2
    for execution in executions:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        deadline = time.monotonic() + 60
        while described["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.1)
            described = sfn.describe_execution(executionArn=execution["executionArn"])
        assert json.loads(described["output"]) == {"n": 42}
    assert [c["n"] for c in local.calls()] == [21] * 4


def test_a_failing_schedule_target_is_retried_then_dead_lettered(local: Local) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.scheduler.models import scheduler_backends

    from homing.local.__main__ import _moto_invoker
    from homing.local.scheduler import LocalClock, LocalScheduler, Targets

    sqs = local.moto.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"schedule-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    backend = scheduler_backends[DEFAULT_ACCOUNT_ID][local.moto.region]
    scheduler = LocalScheduler(
        backend, Targets(_moto_invoker(local.moto, DEFAULT_ACCOUNT_ID), local.moto), LocalClock()
    )
    name = f"failing-{uuid.uuid4().hex[:8]}"
    local.moto.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="cron(0 * * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": local.function_arn,
            "RoleArn": local.role,
            "Input": json.dumps({"n": 1, "boom": True}),
            "RetryPolicy": {"MaximumRetryAttempts": 1},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    )

    (fired,) = [f for f in scheduler.advance(3600) if name in f.schedule_arn]

    assert fired.ok is False
    assert [c for c in local.calls() if c.get("boom")] == [{"n": 1, "boom": True}] * 2  # the attempt, one retry
    (message,) = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == {"n": 1, "boom": True}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RETRY_ATTEMPTS"] == "1"
    assert attributes["SCHEDULE_ARN"].endswith(f"/{name}")
    assert attributes["TARGET_ARN"] == local.function_arn
    assert "Boom" in attributes["ERROR_MESSAGE"]
