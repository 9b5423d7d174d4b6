"""CampaignScheduling: the schedule group campaigns' schedules live in and the role Scheduler assumes.

``homing.adapters.schedules.CampaignSchedules`` keeps one one-time schedule per campaign in the group
``homing-campaigns``; each starts the delivery workflow as ``role``. ``grant_manage`` gives a function
(the api for create/update/delete of campaigns, the workflow's re-arming step) exactly what the
adapter calls, on that group's schedules only, and lets it pass only this role, only to Scheduler.
The delivery workflow's construct creates this one with its state machine (issue 10).
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from homing.adapters.schedules import GROUP
from homing.settings import Env

# What the adapter calls: UpdateSchedule then CreateSchedule (arm), GetSchedule, DeleteSchedule (disarm).
MANAGE_ACTIONS = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:GetSchedule",
                  "scheduler:DeleteSchedule"]  # fmt: skip


class CampaignScheduling(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(self, "Group", schedule_group_name=GROUP, removal_policy=removal_policy)
        # Scheduler assumes the role on behalf of this account's campaign group only (confused deputy).
        self.role = iam.Role(
            self,
            "Role",
            description="Homing: EventBridge Scheduler starts the campaign delivery workflow",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": self.group.schedule_group_arn},
                },
            ),
        )
        state_machine.grant_start_execution(self.role)
        self.state_machine = state_machine

    @property
    def schedules_arn(self) -> str:
        """Every schedule of the group: ``arn:…:scheduler:<region>:<account>:schedule/homing-campaigns/*``."""
        return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{GROUP}/*"

    def grant_manage(self, grantee: iam.IGrantable) -> None:
        """Create, update, read and delete the group's schedules, passing this role to Scheduler only."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=MANAGE_ACTIONS, resources=[self.schedules_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )

    def environment(self) -> dict[str, str]:
        """What the adapter needs, for the environment of a function given ``grant_manage``."""
        return {
            Env.CAMPAIGN_SCHEDULE_GROUP: GROUP,
            Env.CAMPAIGN_SCHEDULER_ROLE_ARN: self.role.role_arn,
            Env.DELIVERY_STATE_MACHINE_ARN: self.state_machine.state_machine_arn,
        }
