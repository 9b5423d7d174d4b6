"""Campaign schedules in EventBridge Scheduler (homing.adapters.schedules) against moto.

Arm, re-arm, read and disarm one campaign's schedule; then local mode's scheduler fires what the
adapter wrote, at the run's instant, as a StartExecution of the workflow with the input document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from homing.adapters.schedules import GROUP, CampaignSchedules, WorkflowTarget, at_expression, schedule_name
from homing.domain.schedules import Schedule, first_run, next_run

APP = "a" * 32
CAMPAIGN = "c" * 32
ROLE = "arn:aws:iam::123456789012:role/homing-scheduler"


@pytest.fixture
def moto_scheduler() -> Iterator[tuple[Any, str]]:
    from moto import mock_aws

    with mock_aws():
        scheduler = boto3.client("scheduler", region_name="us-east-1")
        scheduler.create_schedule_group(Name=GROUP)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
        machine = sfn.create_state_machine(name="delivery", definition=definition, roleArn=ROLE)["stateMachineArn"]
        yield scheduler, machine


def schedules(client: Any) -> list[dict[str, Any]]:
    return list(client.list_schedules(GroupName=GROUP)["Schedules"])


def test_arm_creates_one_time_schedule_targeting_the_workflow(moto_scheduler: tuple[Any, str]) -> None:
    client, machine = moto_scheduler
    adapter = CampaignSchedules(WorkflowTarget(machine, ROLE), client=client)
    run_at = datetime(2027, 1, 15, 14, 0, 0, 250000, tzinfo=UTC)

    arn = adapter.arm(APP, CAMPAIGN, run_at, {"Version": 3})

    got = client.get_schedule(Name=schedule_name(APP, CAMPAIGN), GroupName=GROUP)
    assert got["Arn"] == arn
    assert got["ScheduleExpression"] == "at(2027-01-15T14:00:01)"  # rounded up: never early
    assert got["ScheduleExpressionTimezone"] == "UTC"
    assert got["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert got["ActionAfterCompletion"] == "NONE"
    assert got["Target"]["Arn"] == machine
    assert got["Target"]["RoleArn"] == ROLE
    document = json.loads(got["Target"]["Input"])
    assert document["ApplicationId"] == APP
    assert document["CampaignId"] == CAMPAIGN
    assert document["RunAt"] == "2027-01-15T14:00:00.250000Z"
    assert document["Version"] == 3
    assert document["ScheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert f"{APP}/{CAMPAIGN}" in got["Description"]


def test_a_local_time_fire_is_armed_at_its_own_instant_with_the_runs_instant_as_run_at(
    moto_scheduler: tuple[Any, str],
) -> None:
    client, machine = moto_scheduler
    adapter = CampaignSchedules(WorkflowTarget(machine, ROLE), client=client)
    run_at, fire = datetime(2027, 1, 15, 9, tzinfo=UTC), datetime(2027, 1, 15, 8, tzinfo=UTC)

    adapter.arm(APP, CAMPAIGN, run_at, {"FireAt": "2027-01-15T08:00:00.000Z"}, fire_at=fire)

    found = adapter.get(APP, CAMPAIGN)
    assert found is not None
    assert found.run_at == fire
    assert (found.input["RunAt"], found.input["FireAt"]) == ("2027-01-15T09:00:00.000000Z", "2027-01-15T08:00:00.000Z")


def test_rearming_replaces_the_one_schedule_and_disarm_is_idempotent(moto_scheduler: tuple[Any, str]) -> None:
    client, machine = moto_scheduler
    adapter = CampaignSchedules(WorkflowTarget(machine, ROLE), client=client)
    first = datetime(2027, 1, 15, 14, tzinfo=UTC)

    adapter.arm(APP, CAMPAIGN, first)
    adapter.arm(APP, CAMPAIGN, first + timedelta(days=1))
    adapter.arm(APP, "other", first)

    assert len(schedules(client)) == 2
    armed = adapter.get(APP, CAMPAIGN)
    assert armed is not None
    assert armed.run_at == first + timedelta(days=1)
    assert armed.input["RunAt"] == "2027-01-16T14:00:00.000000Z"
    assert adapter.disarm(APP, CAMPAIGN) is True
    assert adapter.disarm(APP, CAMPAIGN) is False
    assert adapter.get(APP, CAMPAIGN) is None
    assert [s["Name"] for s in schedules(client)] == [schedule_name(APP, "other")]


def test_dead_letter_queue_is_passed_on(moto_scheduler: tuple[Any, str]) -> None:
    client, machine = moto_scheduler
    dlq = "arn:aws:sqs:us-east-1:123456789012:homing-campaign-schedules-dlq"
    CampaignSchedules(WorkflowTarget(machine, ROLE, dlq), client=client).arm(
        APP, CAMPAIGN, datetime(2027, 1, 1, tzinfo=UTC)
    )

    got = client.get_schedule(Name=schedule_name(APP, CAMPAIGN), GroupName=GROUP)
    assert got["Target"]["DeadLetterConfig"] == {"Arn": dlq}


def test_names_are_stable_valid_and_within_scheduler_limits() -> None:
    assert schedule_name("app1", "camp1") == "campaign-app1-camp1"
    long = schedule_name(APP, CAMPAIGN)
    assert len(long) == 64
    assert long.startswith("campaign-")
    assert long == schedule_name(APP, CAMPAIGN)
    assert long != schedule_name(APP, "d" * 32)
    assert long != schedule_name("d" * 32, CAMPAIGN)
    assert schedule_name("a/b", "c").startswith("campaign-")
    assert "/" not in schedule_name("a/b", "c")


def test_at_expression_is_utc() -> None:
    from zoneinfo import ZoneInfo

    assert at_expression(datetime(2027, 3, 14, 3, 30, tzinfo=ZoneInfo("America/New_York"))) == "at(2027-03-14T07:30:00)"


class _Moto:
    """What ``homing.local.scheduler.Targets`` asks of local mode's moto: clients."""

    def client(self, name: str) -> Any:
        make: Any = boto3.client  # the service name is a plain str here, not one of boto3's literals
        return make(name, region_name="us-east-1")


def test_local_scheduler_fires_the_armed_run_and_the_rearmed_one(moto_scheduler: tuple[Any, str]) -> None:
    from moto.scheduler.models import scheduler_backends

    from homing.local.scheduler import LocalClock, LocalScheduler, Targets

    client, machine = moto_scheduler
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    clock = LocalClock()
    local = LocalScheduler(
        scheduler_backends["123456789012"]["us-east-1"], Targets(lambda arn, event: (b"", False), _Moto()), clock
    )
    adapter = CampaignSchedules(WorkflowTarget(machine, ROLE), client=client)
    schedule = Schedule(start_time=clock.now() + timedelta(hours=1), frequency="DAILY")
    run = first_run(schedule, clock.now())
    assert run is not None
    adapter.arm(APP, CAMPAIGN, run)

    assert local.advance(1800) == []  # half an hour: not yet
    fired = local.advance(3600)
    assert [f.ok for f in fired] == [True]
    assert fired[0].scheduled_time == datetime.fromisoformat(at_expression(run)[3:-1]).replace(tzinfo=UTC)
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    document = json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert document["CampaignId"] == CAMPAIGN
    assert document["ScheduledTime"] == at_expression(run)[3:-1] + "Z"  # Scheduler's placeholder filled in

    # the workflow re-arms for the next run; a one-time schedule never fires twice on its own
    assert local.advance(6 * 3600) == []
    following = next_run(schedule, run)
    assert following is not None
    adapter.arm(APP, CAMPAIGN, following)
    assert len(local.advance(24 * 3600)) == 1
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2
