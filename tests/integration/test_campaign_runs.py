"""What campaign writes arm, through the real api handler on moto: the campaign's one Scheduler schedule at
its first run, disarmed by a pause or a delete and armed again by un-pausing; an IMMEDIATE campaign's
run started at once as an execution named by its run id (a second start of the same run is refused)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from homing.adapters.schedules import GROUP, schedule_name
from homing.domain.campaign_runs import run_id
from tests.integration.test_campaigns_api import EMAIL, app_and_segment

ROLE = "arn:aws:iam::123456789012:role/homing-scheduler"


@pytest.fixture
def machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Scheduler group and a stand-in delivery machine; the api's environment names them."""
    boto3.client("scheduler").create_schedule_group(Name=GROUP)
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    arn = boto3.client("stepfunctions").create_state_machine(name="delivery", definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", GROUP)
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", ROLE)
    monkeypatch.setenv("DELIVERY_STATE_MACHINE_ARN", arn)
    return arn


def armed(app: str, campaign: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = boto3.client("scheduler").get_schedule(
            Name=schedule_name(app, campaign), GroupName=GROUP
        )
    except boto3.client("scheduler").exceptions.ResourceNotFoundException:
        return None
    return found


def test_a_scheduled_campaign_is_armed_at_its_first_run_paused_unpaused_and_deleted(machine: str, call: Any) -> None:
    app, segment = app_and_segment(call)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    schedule = {"StartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "Frequency": "WEEKLY"}
    r = call(
        "POST",
        f"/v1/apps/{app}/campaigns",
        {"Name": "weekly", "SegmentId": segment, "MessageConfiguration": EMAIL, "Schedule": schedule},
    )
    assert r.status == 201, r.body
    cid = r.body["Id"]
    assert r.body["State"] == {"CampaignStatus": "SCHEDULED"}

    found = armed(app, cid)
    assert found is not None
    assert found["ScheduleExpression"] == f"at({start.strftime('%Y-%m-%dT%H:%M:%S')})"
    assert found["Target"]["Arn"] == machine
    assert found["Target"]["RoleArn"] == ROLE
    assert json.loads(found["Target"]["Input"])["RunAt"].startswith(start.strftime("%Y-%m-%dT%H:%M:%S"))

    assert call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"IsPaused": True}).status == 200
    assert armed(app, cid) is None
    assert call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"IsPaused": False}).status == 200
    assert armed(app, cid) is not None
    assert call("DELETE", f"/v1/apps/{app}/campaigns/{cid}").status == 200
    assert armed(app, cid) is None
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"] == []


def test_an_immediate_campaign_starts_its_run_once_named_by_the_run_id(machine: str, call: Any) -> None:
    from homing.bootstrap import services

    app, segment = app_and_segment(call)
    r = call(
        "POST",
        f"/v1/apps/{app}/campaigns",
        {"Name": "now", "SegmentId": segment, "MessageConfiguration": EMAIL, "Schedule": {"StartTime": "IMMEDIATE"}},
    )
    assert r.status == 201, r.body
    cid, written = r.body["Id"], r.body["LastModifiedDate"]

    sfn = boto3.client("stepfunctions")
    (execution,) = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert execution["name"] == run_id(cid, written)
    document = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert document == {"ApplicationId": app, "CampaignId": cid, "RunAt": written}
    assert armed(app, cid) is None  # nothing scheduled: it runs now

    campaign = services().campaigns.get(app, cid)
    started = datetime.fromisoformat(written.replace("Z", "+00:00"))
    triggers = services().campaigns._scheduling
    assert triggers is not None
    triggers.written(campaign, started)  # the same run started again (a retried request's path): refused
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
