"""EventBridge Scheduler: one schedule per campaign that starts the delivery workflow at its next run.

Each campaign has at most one schedule, in the group ``homing-campaigns``, named from the app and
campaign IDs (so arming twice is one schedule, and disarming finds it without a lookup). The
schedule is a one-time ``at(...)`` expression in UTC for the next run only; the workflow re-arms it
for the run after (``homing.domain.schedules.next_run``) and the campaign service disarms it when
the campaign completes, is paused or is deleted. Why one-time rather than ``rate``/``cron``: a
MONTHLY run on the 29th to 31st (clamped to short months), a local-time run (fired at the first zone
to reach the wall clock, which moves with every zone's DST) and EndTime are not expressible exactly
as either; one rule for every frequency keeps the schedule and the domain's run times the same thing.
See docs/decisions.md, "Schedules and time (issue 10)".

The target is the delivery workflow's state machine (StartExecution, with the schedule's role) and
the input names the campaign and the run's instant, so a duplicate delivery from Scheduler (it is
at-least-once) is recognised by the workflow as the same run. Flexible time window off: a campaign
runs when it was scheduled. ``ActionAfterCompletion`` stays NONE: with DELETE, Scheduler's clean-up
after a fire could delete the schedule the workflow had just re-armed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

GROUP = "homing-campaigns"
MAX_NAME = 64  # Scheduler's limit on a schedule name
_NAME = re.compile(r"[0-9A-Za-z_.-]+")
_AT = re.compile(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)")


def schedule_name(app_id: str, campaign_id: str) -> str:
    """``campaign-<app>-<campaign>``; when that is over Scheduler's 64 characters (two 32-character IDs
    are), ``campaign-`` and 55 hex digits of a SHA-256 of both IDs. The same IDs always give the same name."""
    readable = f"campaign-{app_id}-{campaign_id}"
    if len(readable) <= MAX_NAME and _NAME.fullmatch(readable):
        return readable
    digest = hashlib.sha256(f"{app_id}/{campaign_id}".encode()).hexdigest()
    return "campaign-" + digest[: MAX_NAME - len("campaign-")]


def at_expression(moment: datetime) -> str:
    """``at(yyyy-mm-ddThh:mm:ss)`` in UTC, rounded up to the second (a run never fires early)."""
    utc = moment.astimezone(UTC)
    whole = utc.replace(microsecond=0) + (timedelta(seconds=1) if utc.microsecond else timedelta(0))
    return f"at({whole.strftime('%Y-%m-%dT%H:%M:%S')})"


def _at_instant(expression: str) -> datetime | None:
    match = _AT.fullmatch(expression.strip())
    return datetime.fromisoformat(match[1]).replace(tzinfo=UTC) if match else None


@dataclass(frozen=True)
class WorkflowTarget:
    """What a campaign schedule starts: the delivery workflow, as the role Scheduler assumes."""

    state_machine_arn: str
    role_arn: str
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class ArmedSchedule:
    name: str
    arn: str
    run_at: datetime | None  # None: an expression that is not a one-time at(...)
    input: dict[str, Any]
    state: str


class CampaignSchedules:
    """Create, re-arm, read and delete campaigns' schedules (boto3 ``scheduler``)."""

    def __init__(self, target: WorkflowTarget, group: str = GROUP, client: Any = None) -> None:
        self._target = target
        self._group = group
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("scheduler")
        return self._client

    def arm(
        self,
        app_id: str,
        campaign_id: str,
        run_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        fire_at: datetime | None = None,
    ) -> str:
        """Schedule the campaign's next run at ``run_at`` (creating or replacing its one schedule); its ARN.

        A run due now is started directly, not scheduled: an ``at()`` in the past is not a promise
        Scheduler makes. ``payload`` adds members to the input (a local-time run's fire); ``fire_at``
        fires it at another instant than ``RunAt`` (a local-time run's fires: the same run, later)."""
        name = schedule_name(app_id, campaign_id)
        document = {
            **(payload or {}),
            "ApplicationId": app_id,
            "CampaignId": campaign_id,
            "RunAt": run_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "ScheduledTime": "<aws.scheduler.scheduled-time>",
            "ScheduleExecutionId": "<aws.scheduler.execution-id>",
        }
        target: dict[str, Any] = {
            "Arn": self._target.state_machine_arn,
            "RoleArn": self._target.role_arn,
            "Input": json.dumps(document, sort_keys=True),
        }
        if self._target.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self._target.dead_letter_arn}
        request = {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": at_expression(fire_at or run_at),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
            "State": "ENABLED",
            "ActionAfterCompletion": "NONE",
            "Description": f"Homing campaign {app_id}/{campaign_id}"[:512],
        }
        try:  # re-arming (the common case) updates; the first arm creates; a racing creator is updated over
            return str(self.client.update_schedule(**request)["ScheduleArn"])
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
        try:
            return str(self.client.create_schedule(**request)["ScheduleArn"])
        except ClientError as error:
            if _code(error) != "ConflictException":
                raise
        return str(self.client.update_schedule(**request)["ScheduleArn"])

    def get(self, app_id: str, campaign_id: str) -> ArmedSchedule | None:
        """The campaign's schedule, or None when it has none."""
        try:
            found = self.client.get_schedule(Name=schedule_name(app_id, campaign_id), GroupName=self._group)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise
        text = (found.get("Target") or {}).get("Input") or "{}"
        return ArmedSchedule(
            name=str(found["Name"]),
            arn=str(found["Arn"]),
            run_at=_at_instant(str(found.get("ScheduleExpression", ""))),
            input=json.loads(text),
            state=str(found.get("State", "ENABLED")),
        )

    def disarm(self, app_id: str, campaign_id: str) -> bool:
        """Delete the campaign's schedule; False when there was none (deleting twice is harmless)."""
        try:
            self.client.delete_schedule(Name=schedule_name(app_id, campaign_id), GroupName=self._group)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return False
            raise
        return True


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
