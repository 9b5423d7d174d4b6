"""EventBridge Scheduler schedules fired locally, on a clock that tests can advance.

moto stores schedules (its Scheduler backend is the store here, so the Scheduler API and
CloudFormation-created schedules are both seen) but never fires them. ``LocalScheduler`` reads
them in-process and fires each due one at its target: a Lambda function (invoked through the
local runner), an SQS queue, an SNS topic or a Step Functions state machine (StartExecution),
with the target's ``Input`` and its ``<aws.scheduler.*>`` placeholders filled in.

Expressions: ``at(...)``, ``rate(...)`` and ``cron(...)`` (AWS's six fields: ``*``, ``?``,
lists, ranges, steps, names, ``L``, ``W`` and ``#``), in ``ScheduleExpressionTimezone``,
within ``StartDate``/``EndDate``. A one-time schedule with ``ActionAfterCompletion: DELETE``
is deleted after it fired. ``FlexibleTimeWindow`` FLEXIBLE fires within the window at an
offset derived from the schedule and the fire time (deterministic, so a test can advance past
the window and know it fired).

``LocalClock`` is real time plus an offset: ``advance`` moves it forward and fires everything
that became due on the way, in time order (``POST /_local/clock {"advance_seconds": N}``).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("homing.local")

TICK_SECONDS = 1.0
MAX_LOCAL_RETRIES = 2  # AWS retries over hours (default 185 times); locally at once, at most this often
MAX_FIRES_PER_SCHEDULE_AND_TICK = 1000  # a long clock jump on a per-minute cron fires at most this often


class LocalClock:
    """Real time plus an offset that only grows."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("advance_seconds must not be negative")
        with self._lock:
            self.offset += seconds


# -- expressions ------------------------------------------------------------------------------
MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _numbers(field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """``*``, ``?``, ``a``, ``a-b``, ``a/n``, ``a-b/n``, comma lists, with names (JAN, MON)."""
    out: set[int] = set()
    for part in field.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(names.get(a, a)), int(names.get(b, b))
        else:
            start = int(names.get(part, part))
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"cron field {field!r} is out of range")
        out.update(range(start, end + 1, step))
    return out


@dataclass(frozen=True)
class Cron:
    minutes: set[int]
    hours: set[int]
    day_of_month: str
    months: set[int]
    day_of_week: str
    years: set[int]

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ValueError("cron() takes six fields: minutes hours day-of-month month day-of-week year")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ValueError("cron(): exactly one of day-of-month and day-of-week must be '?'")
        return cls(
            _numbers(minute, 0, 59, {}),
            _numbers(hour, 0, 23, {}),
            dom.upper(),
            _numbers(month, 1, 12, MONTHS),
            dow.upper(),
            _numbers(year, 1970, 2199, {}),
        )

    def day_matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.day_of_month != "?":
            field = self.day_of_month
            if field == "L":
                return day.day == last
            if field.endswith("W"):  # the weekday nearest to that day, within the month
                target = date(day.year, day.month, last if field[:-1] == "L" else int(field[:-1]))
                if target.weekday() == 5:
                    target = target - timedelta(days=1) if target.day > 1 else target + timedelta(days=2)
                elif target.weekday() == 6:
                    target = target + timedelta(days=1) if target.day < last else target - timedelta(days=2)
                return day == target
            return day.day in _numbers(field, 1, 31, {})
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2 ... Sunday=6 -> 1
        field = self.day_of_week
        if "#" in field:
            weekday, nth = field.split("#", 1)
            return aws_weekday == int(DAYS.get(weekday, weekday)) and (day.day - 1) // 7 + 1 == int(nth)
        if field.endswith("L") and field != "L":
            weekday = field[:-1]
            return aws_weekday == int(DAYS.get(weekday, weekday)) and day.day + 7 > last
        return aws_weekday in _numbers("7" if field == "L" else field, 1, 7, DAYS)

    def matches(self, local: datetime) -> bool:
        return (
            local.minute in self.minutes
            and local.hour in self.hours
            and local.month in self.months
            and local.year in self.years
            and self.day_matches(local.date())
        )


def _date(value: Any) -> datetime | None:
    """StartDate/EndDate as moto keeps them (epoch seconds from the API, ISO text from CloudFormation)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value)):
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ScheduleSpec:
    """What decides when a schedule fires."""

    expression: str
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    created: datetime | None = None
    flexible_minutes: int = 0
    key: str = ""  # spreads flexible fires (the schedule ARN)

    @property
    def one_time(self) -> bool:
        return self.expression.startswith("at(")

    def fire_times(
        self, after: datetime, until: datetime, limit: int = MAX_FIRES_PER_SCHEDULE_AND_TICK
    ) -> list[datetime]:
        """Fire times in ``(after, until]``, flexible window offsets included, in order."""
        window = timedelta(minutes=self.flexible_minutes)
        nominal = self._nominal(after - window, until, limit)
        out = [t + self._offset(t) for t in nominal]
        return [t for t in out if after < t <= until][:limit]

    def next_fire(self, after: datetime, horizon: timedelta = timedelta(days=400)) -> datetime | None:
        """The first fire after ``after`` (searched a day at a time, up to ``horizon``)."""
        step = timedelta(days=1)
        start = after
        while start < after + horizon:
            found = self.fire_times(start, start + step, limit=1)
            if found:
                return found[0]
            if self.one_time or (self.end is not None and start > self.end):
                return None
            start += step
        return None

    def _offset(self, nominal: datetime) -> timedelta:
        if not self.flexible_minutes:
            return timedelta(0)
        digest = hashlib.sha256(f"{self.key}|{nominal.isoformat()}".encode()).digest()
        return timedelta(seconds=int.from_bytes(digest[:4], "big") % (self.flexible_minutes * 60))

    def _nominal(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        zone = ZoneInfo(self.timezone or "UTC")
        lower = max(after, self.start) if self.start else after
        upper = min(until, self.end) if self.end else until
        if upper <= lower and not (self.start and after < self.start <= until):
            return []
        kind, _, body = self.expression.partition("(")
        body = body.rstrip(")").strip()
        if kind == "at":
            moment = datetime.fromisoformat(body).replace(tzinfo=zone).astimezone(UTC)
            return [moment] if after < moment <= until else []
        if kind == "rate":
            value, unit = body.split()
            period = timedelta(seconds=int(value) * RATE_UNITS[unit.lower()])
            anchor = self.start or self.created or after
            first = 0 if self.start else 1
            k = max(first, int((lower - anchor) / period))
            out: list[datetime] = []
            while len(out) < limit:
                moment = anchor + k * period
                if moment > upper:
                    break
                if moment > lower or (moment == lower and self.start == moment and after < moment):
                    out.append(moment)
                k += 1
            return out
        if kind == "cron":
            cron = Cron.parse(body)
            moment = lower.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if self.start and lower == self.start and self.start.second == 0 and self.start.microsecond == 0:
                moment = self.start
            found: list[datetime] = []
            while moment <= upper and len(found) < limit:
                local = moment.astimezone(zone)
                if local.year not in cron.years and local.year > max(cron.years):
                    break
                if local.hour not in cron.hours or not cron.day_matches(local.date()):
                    # skip to the next hour: no minute of this one can match
                    moment = moment.replace(minute=0) + timedelta(hours=1)
                    continue
                if cron.matches(local):
                    found.append(moment)
                moment += timedelta(minutes=1)
            return found
        raise ValueError(f"unsupported schedule expression {self.expression!r}")


def spec_of(schedule: Any, created: datetime | None = None) -> ScheduleSpec:
    """The ScheduleSpec of a moto ``Schedule``; ``created`` on the local clock (moto's is real time)."""
    window = schedule.flexible_time_window or {}
    minutes = int(window.get("MaximumWindowInMinutes") or 0) if window.get("Mode") == "FLEXIBLE" else 0
    return ScheduleSpec(
        expression=schedule.schedule_expression.strip(),
        timezone=schedule.schedule_expression_timezone or "UTC",
        start=_date(schedule.start_date),
        end=_date(schedule.end_date),
        created=created or _date(schedule.creation_date),
        flexible_minutes=minutes,
        key=schedule.arn,
    )


# -- firing -----------------------------------------------------------------------------------
@dataclass
class Fired:
    schedule_arn: str
    target_arn: str
    scheduled_time: datetime
    ok: bool
    detail: str = ""

    def row(self) -> dict[str, Any]:
        return {
            "Schedule": self.schedule_arn,
            "Target": self.target_arn,
            "ScheduledTime": self.scheduled_time.isoformat(),
            "Ok": self.ok,
            "Detail": self.detail,
        }


class Targets:
    """Delivers a schedule's Input to its target ARN."""

    def __init__(self, invoke: Callable[[str, dict[str, Any]], tuple[bytes, bool]], moto: Any) -> None:
        self._invoke = invoke
        self._sqs = moto.client("sqs")
        self._sns = moto.client("sns")
        self._sfn = moto.client("stepfunctions")

    def deliver(self, target: dict[str, Any], payload: str) -> str:
        """Send; a short description of the result (raises on failure)."""
        arn = str(target["Arn"])
        service = arn.split(":")[2]
        if service == "lambda":
            try:
                event = json.loads(payload)
            except ValueError:
                event = payload
            response, errored = self._invoke(arn, event)
            if errored:
                raise RuntimeError(f"function error: {response[:200].decode('utf-8', 'replace')}")
            return "invoked"
        if service == "sqs":
            parts = arn.split(":")
            url = self._sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": payload}
            attributes = target.get("SqsMessageAttributes")  # local only: the dead-letter event's
            if attributes:
                kwargs["MessageAttributes"] = {
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                }
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group:
                kwargs["MessageGroupId"] = group
                kwargs["MessageDeduplicationId"] = uuid.uuid4().hex
            return "message " + str(self._sqs.send_message(**kwargs)["MessageId"])
        if service == "sns":
            return "message " + str(self._sns.publish(TopicArn=arn, Message=payload)["MessageId"])
        if service == "states":
            # AWS names an execution with a UUID when none is given; moto would name it "None".
            execution = self._sfn.start_execution(stateMachineArn=arn, input=payload, name=str(uuid.uuid4()))
            return "execution " + str(execution["executionArn"])
        raise ValueError(f"target {arn} is not supported locally (Lambda, SQS, SNS and Step Functions are)")


def render_input(
    text: str | None, schedule_arn: str, scheduled: datetime, attempt: int = 1, execution_id: str = ""
) -> str:
    """The target's Input with Scheduler's context attributes filled in (``{}`` when absent)."""
    values = {
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.scheduled-time>": scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": execution_id or str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    out = text if text is not None else "{}"
    for placeholder, value in values.items():
        out = out.replace(placeholder, value)
    return out


class LocalScheduler:
    """Fires moto's schedules when they are due on ``clock``; a thread ticks with real time."""

    def __init__(self, backend: Any, targets: Targets, clock: LocalClock) -> None:
        self._backend = backend  # moto's SchedulerBackend of the local account and region
        self._targets = targets
        self.clock = clock
        self._checked: dict[str, tuple[datetime, tuple[Any, ...]]] = {}  # arn -> (fired up to, config)
        self._first_seen: dict[str, datetime] = {}  # arn -> local time (a rate schedule's anchor)
        self.history: list[Fired] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def start(self) -> None:
        self.tick()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:
                log.warning("local scheduler tick failed", exc_info=True)

    def advance(self, seconds: float) -> list[Fired]:
        """Move the clock forward and fire what became due; what fired."""
        with self._lock:
            self.tick()  # schedules created just now start from the current time
            fired_before = len(self.history)
            self.clock.advance(seconds)
            self.tick()
            return self.history[fired_before:]

    def _schedules(self) -> list[Any]:
        return [s for group in list(self._backend.schedule_groups.values()) for s in list(group.schedules.values())]

    def tick(self) -> None:
        with self._lock:
            now = self.clock.now()
            due: list[tuple[datetime, Any]] = []
            seen = set()
            for schedule in self._schedules():
                seen.add(schedule.arn)
                config = (schedule.schedule_expression, schedule.schedule_expression_timezone, schedule.start_date,
                          schedule.end_date, json.dumps(schedule.flexible_time_window, sort_keys=True))  # fmt: skip
                checked = self._checked.get(schedule.arn)
                if checked is None or checked[1] != config:
                    # new or changed: fire from now on; a rate counts from here, as from its creation in AWS
                    since = now if checked is None else checked[0]
                    self._checked[schedule.arn] = (since, config)
                    self._first_seen[schedule.arn] = since
                    if checked is None:
                        continue
                if schedule.state != "ENABLED":
                    self._checked[schedule.arn] = (now, config)
                    continue
                try:
                    spec = spec_of(schedule, self._first_seen.get(schedule.arn))
                    times = spec.fire_times(self._checked[schedule.arn][0], now)
                except (ValueError, KeyError) as error:
                    log.warning("schedule %s: %s", schedule.name, error)
                    times = []
                self._checked[schedule.arn] = (now, config)
                due.extend((moment, schedule) for moment in times)
            for arn in set(self._checked) - seen:
                del self._checked[arn]
                self._first_seen.pop(arn, None)
            for moment, schedule in sorted(due, key=lambda pair: pair[0]):
                self._fire(schedule, moment)

    def _fire(self, schedule: Any, moment: datetime) -> None:
        """Deliver, retrying at once up to the RetryPolicy (capped locally); then the dead-letter queue."""
        target = schedule.target
        retries = int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185))
        execution_id = str(uuid.uuid4())
        attempt = 0
        while True:
            payload = render_input(target.get("Input"), schedule.arn, moment, attempt + 1, execution_id)
            try:
                detail = self._targets.deliver(target, payload)
                fired = Fired(schedule.arn, target["Arn"], moment, True, detail)
                break
            except Exception as error:
                fired = Fired(schedule.arn, target.get("Arn", ""), moment, False, str(error)[:300])
                if attempt >= min(retries, MAX_LOCAL_RETRIES):
                    break
                attempt += 1
        if not fired.ok:
            log.warning("schedule %s: target failed after %d attempts: %s", schedule.name, attempt + 1, fired.detail)
            dead_letters = (target.get("DeadLetterConfig") or {}).get("Arn")
            if dead_letters:
                self._dead_letter(dead_letters, schedule, payload, fired, attempt, execution_id)
        self.history.append(fired)
        del self.history[:-500]
        self._complete(schedule)

    def _dead_letter(
        self, arn: str, schedule: Any, payload: str, fired: Fired, retries: int, execution_id: str
    ) -> None:
        """The dead-letter event: the target's input, with what failed as message attributes."""
        attributes = {
            "ERROR_CODE": fired.detail.split(":", 1)[0][:100] or "Error",
            "ERROR_MESSAGE": fired.detail,
            "EXECUTION_ID": execution_id,
            "RETRY_ATTEMPTS": str(retries),
            "SCHEDULE_ARN": schedule.arn,
            "TARGET_ARN": fired.target_arn,
        }
        try:
            self._targets.deliver({"Arn": arn, "SqsMessageAttributes": attributes}, payload)
            fired.detail += f" (sent to the dead-letter queue {arn.rsplit(':', 1)[-1]})"
        except Exception:
            log.warning("schedule %s: could not send to dead-letter queue %s", schedule.name, arn, exc_info=True)

    def _complete(self, schedule: Any) -> None:
        if schedule.schedule_expression.strip().startswith("at(") and schedule.action_after_completion == "DELETE":
            try:
                self._backend.delete_schedule(schedule.group_name, schedule.name)
            except Exception:
                log.debug("could not delete completed schedule %s", schedule.name, exc_info=True)

    # -- pages ----------------------------------------------------------------------------
    def schedule_rows(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        rows = []
        for schedule in self._schedules():
            try:
                spec = spec_of(schedule, self._first_seen.get(schedule.arn))
                upcoming = spec.next_fire(now) if schedule.state == "ENABLED" else None
                next_fire = upcoming.isoformat() if upcoming else None
            except (ValueError, KeyError) as error:
                next_fire = f"invalid: {error}"
            rows.append(
                {
                    "Name": schedule.name,
                    "Group": schedule.group_name,
                    "ScheduleExpression": schedule.schedule_expression,
                    "Timezone": schedule.schedule_expression_timezone,
                    "State": schedule.state,
                    "Target": schedule.target.get("Arn"),
                    "NextFire": next_fire,
                    "Fired": sum(1 for f in self.history if f.schedule_arn == schedule.arn),
                }
            )
        return rows

    def history_rows(self) -> list[dict[str, Any]]:
        return [f.row() for f in reversed(self.history[-100:])]

    def clock_rows(self) -> list[dict[str, Any]]:
        return [{"Now": self.clock.now().isoformat(), "OffsetSeconds": self.clock.offset}]

    def clock_action(self, request: dict[str, Any]) -> dict[str, Any]:
        """``POST /_local/clock {"advance_seconds": N}``: advance and fire; what fired."""
        seconds = float(request.get("advance_seconds", 0))
        fired = self.advance(seconds)
        return {"Now": self.clock.now().isoformat(), "Fired": [f.row() for f in fired]}


def start_scheduler(
    moto: Any, invoke: Callable[[str, dict[str, Any]], tuple[bytes, bool]], account: str
) -> LocalScheduler:
    """Local mode's hook: fire the schedules kept by moto's Scheduler backend."""
    from moto.scheduler.models import scheduler_backends

    scheduler = LocalScheduler(scheduler_backends[account][moto.region], Targets(invoke, moto), LocalClock())
    scheduler.start()
    return scheduler
