"""The campaign schedule group and scheduler role, synthesized in a stack of the test's own.

The delivery workflow's construct will own ``CampaignScheduling``; until then this proves the
group, the role Scheduler assumes (confused-deputy conditions, StartExecution on one machine), the
least-privilege grant for the adapter's calls, and that cdk-nag (which fails synth on an error) passes
with the one acknowledgement the grant needs (``stacks.nag.acknowledge_campaign_schedules``).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

pytestmark = pytest.mark.xdist_group("infrastructure")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from aws_cdk import Acknowledgment, App, RemovalPolicy, Stack, Validations
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk.assertions import Template

    from stacks.constructs.campaign_schedules import CampaignScheduling
    from stacks.nag import PACK, acknowledge_campaign_schedules, apply_checks

    app = App()
    apply_checks(app)
    stack = Stack(app, "Scheduling")
    machine = sfn.StateMachine(
        stack, "Delivery", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Run"))
    )
    scheduling = CampaignScheduling(stack, "Campaigns", state_machine=machine, removal_policy=RemovalPolicy.DESTROY)
    api_role = iam.Role(stack, "ApiRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    scheduling.grant_manage(api_role)
    acknowledge_campaign_schedules(api_role)
    for rule in ("SF1", "SF2"):  # the stand-in machine only: the delivery workflow logs and traces
        Validations.of(machine).acknowledge(Acknowledgment(id=f"{PACK}-{rule}", reason="a test's stand-in machine"))
    rendered = dict(Template.from_stack(stack).to_json())  # synth: cdk-nag errors fail it
    rendered["__env__"] = stack.resolve(scheduling.environment())
    rendered["__ids__"] = {
        "group": stack.get_logical_id(scheduling.group.node.default_child),  # type: ignore[arg-type]
        "role": stack.get_logical_id(scheduling.role.node.default_child),  # type: ignore[arg-type]
        "machine": stack.get_logical_id(machine.node.default_child),  # type: ignore[arg-type]
        "api": stack.get_logical_id(api_role.node.default_child),  # type: ignore[arg-type]
    }
    return rendered


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _statements_of(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_group_is_homing_campaigns(template: dict[str, Any]) -> None:
    (group,) = _of_type(template, "AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == "homing-campaigns"


def test_scheduler_assumes_the_role_only_for_this_account_and_group(template: dict[str, Any]) -> None:
    ids = template["__ids__"]
    role = template["Resources"][ids["role"]]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert trust["Condition"]["ArnEquals"] == {"aws:SourceArn": {"Fn::GetAtt": [ids["group"], "Arn"]}}
    (start,) = _statements_of(template, ids["role"])
    assert start["Action"] == "states:StartExecution"
    assert start["Resource"] == {"Ref": ids["machine"]}


def test_managing_role_gets_the_adapters_calls_on_the_groups_schedules_and_passes_only_this_role(
    template: dict[str, Any],
) -> None:
    ids = template["__ids__"]
    manage, pass_role = _statements_of(template, ids["api"])
    assert sorted(manage["Action"]) == [
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
        "scheduler:UpdateSchedule",
    ]
    resource = manage["Resource"]["Fn::Join"][1]
    assert resource[-1].endswith(":schedule/homing-campaigns/*")
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == {"Fn::GetAtt": [ids["role"], "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_environment_names_the_group_role_and_workflow(template: dict[str, Any]) -> None:
    ids = template["__ids__"]
    assert template["__env__"] == {
        "CAMPAIGN_SCHEDULE_GROUP": "homing-campaigns",
        "CAMPAIGN_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": [ids["role"], "Arn"]},
        "DELIVERY_STATE_MACHINE_ARN": {"Ref": ids["machine"]},
    }
