"""The campaign delivery workflow as synthesized: its states, run_campaign's environment and grants, the
Scheduler role that starts it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_events_stack import _actions_by_resource, _key, _table_arn

pytestmark = pytest.mark.xdist_group("infrastructure")


def _machine(synth: Synthesized) -> dict[str, Any]:
    delivery = synth.api.campaign_delivery
    props = synth.resource(delivery.state_machine)["Properties"]
    parts = props["DefinitionString"]["Fn::Join"][1]
    functions = {
        json.dumps({"Fn::GetAtt": [synth.logical_id(function), "Arn"]}): name
        for name, function in (
            ("RUN_CAMPAIGN", delivery.run_campaign.function),
            ("RESOLVE_AUDIENCE", synth.api.audiences.resolve_audience.function),
            ("SEND_BATCH", synth.api.campaign_sending.function),
        )
    }
    # the three functions by name; any other token (the bucket, the partition) as TOKEN
    text = "".join(p if isinstance(p, str) else functions.get(json.dumps(p), "TOKEN") for p in parts)
    definition: dict[str, Any] = json.loads(text)
    return definition


def test_the_workflow_begins_resolves_plans_sends_in_a_distributed_map_and_finishes(synth: Synthesized) -> None:
    states = _machine(synth)["States"]

    assert _machine(synth)["StartAt"] == "Begin"
    assert (states["Begin"]["Resource"], states["Begin"]["Parameters"]) == (
        "RUN_CAMPAIGN",
        {"action": "begin", "input.$": "$"},
    )
    assert states["Skip"]["Choices"] == [{"Variable": "$.begin.skip", "BooleanEquals": True, "Next": "Skipped"}]
    assert states["Skip"]["Default"] == "Parts"
    parts = states["Parts"]
    assert (parts["ItemsPath"], parts["Next"]) == ("$.begin.parts", "Finalize")
    assert parts["ItemProcessor"]["States"]["Part"]["Resource"] == "RESOLVE_AUDIENCE"
    assert states["Finalize"]["Parameters"] == {"action": "finalize", "request.$": "$.begin.request"}
    assert states["Plan"]["Parameters"] == {"action": "plan", "run.$": "$.begin.run", "request.$": "$.begin.request"}

    batches = states["Batches"]
    assert batches["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert batches["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert batches["ItemReader"]["Parameters"]["Key.$"] == "$.plan.key"
    assert batches["MaxConcurrencyPath"] == "$.plan.concurrency"
    assert batches["ToleratedFailurePercentage"] == 100  # a failed batch never stops the others
    assert batches["ResultPath"] is None  # a large run's results would not fit the state's payload
    inner = batches["ItemProcessor"]["States"]
    send = inner["SendBatch"]
    assert (send["Resource"], send["Parameters"]) == ("SEND_BATCH", {"run.$": "$.run", "item.$": "$.item"})
    assert send["Retry"][-1]["ErrorEquals"] == ["States.ALL"]  # handler errors too, with backoff
    assert inner["Pace"] == {"Type": "Wait", "SecondsPath": "$.wait", "End": True}
    assert states["Finish"]["Parameters"] == {"action": "finish", "run.$": "$.begin.run"}
    for name in ("Parts", "Finalize", "Plan", "Batches", "Finish"):
        assert [c["Next"] for c in states[name]["Catch"]] == ["RecordFailure"], name
    assert states["RecordFailure"]["Parameters"]["action"] == "fail"
    assert states["RecordFailure"]["Next"] == "Failed"
    props = synth.resource(synth.api.campaign_delivery.state_machine)["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_run_campaign_has_its_tables_the_bucket_and_the_scheduling_names(synth: Synthesized) -> None:
    delivery = synth.api.campaign_delivery
    env = synth.resolve_import(synth.resource(delivery.run_campaign.function)["Properties"]["Environment"]["Variables"])

    assert {k for k in env if k.endswith("_TABLE")} == {"APPS_TABLE", "CAMPAIGNS_TABLE", "SEGMENTS_TABLE", "JOBS_TABLE"}
    assert env["AUDIENCE_BUCKET"] == {"Ref": synth.logical_id(synth.data.audience_bucket)}
    assert env["CAMPAIGN_SCHEDULE_GROUP"] == "homing-campaigns"
    assert env["CAMPAIGN_SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": [synth.logical_id(delivery.scheduling.role), "Arn"]}
    # the machine's ARN from its fixed name (a reference would be a cycle: the machine names the function)
    assert synth.resource(delivery.state_machine)["Properties"]["StateMachineName"] == delivery.state_machine_name
    assert delivery.state_machine_name in json.dumps(env["DELIVERY_STATE_MACHINE_ARN"])


def test_run_campaign_is_least_privilege(synth: Synthesized) -> None:
    delivery = synth.api.campaign_delivery
    statements = synth.role_statements(delivery.run_campaign.role)

    dynamodb = [s for s in statements if "dynamodb:" in json.dumps(s["Action"])]
    assert _actions_by_resource(dynamodb) == {
        _key(_table_arn(synth, "Apps")): {"dynamodb:GetItem"},
        _key(_table_arn(synth, "Segments")): {"dynamodb:GetItem"},
        _key(_table_arn(synth, "Jobs")): {"dynamodb:Query"},
        _key(_table_arn(synth, "Campaigns")): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    }
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {a for a in actions if a.startswith("s3:")} == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert {a for a in actions if a.startswith("scheduler:")} == {
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:GetSchedule",
        "scheduler:DeleteSchedule",
    }
    assert {a for a in actions if a.startswith("states:")} == {"states:StartExecution"}
    assert {a for a in actions if a.startswith("iam:")} == {"iam:PassRole"}
    assert not {a for a in actions if a.startswith(("lambda:", "sns:", "ses:", "kinesis:", "sqs:"))}


def test_scheduler_may_start_only_this_machine(synth: Synthesized) -> None:
    delivery = synth.api.campaign_delivery
    statements = synth.role_statements(delivery.scheduling.role)

    (start,) = statements
    assert start["Action"] == "states:StartExecution"
    assert start["Resource"] == {"Ref": synth.logical_id(delivery.state_machine)}
