"""Campaign schedules and time: run times, time zones, recipients' local time, quiet time.

Pure: no clock (callers pass ``now``/``after``), no I/O. The campaign family maps Pinpoint's
``Schedule`` onto ``Schedule`` below; the delivery workflow asks it when to run, which instant
each recipient's time zone gets for a local-time run, and whether an endpoint is in quiet time.
The semantic choices (each written down in docs/decisions.md, "Schedules and time (issue 10)"):

- ``Schedule.Timezone`` is one of Pinpoint's fixed UTC offsets (``OFFSETS``); recurrences are
  counted in that offset's wall clock, which has no daylight saving, so HOURLY/DAILY/WEEKLY runs
  are exactly 1 h / 24 h / 7 d apart. MONTHLY keeps the start's day of the month and uses the
  month's last day when it is shorter (31 Jan → 28 Feb → 31 Mar), counted from the start each time.
- Runs are at or after StartTime and strictly before EndTime.
- ``IsLocalTime``: a run's wall-clock time (read in ``Schedule.Timezone``) is applied in each
  recipient's zone; EndTime too, as a wall-clock time. A wall-clock time a zone skips (spring
  forward) is moved forward by the gap (02:30 → 03:30 in New York); one it repeats (fall back) is
  its first occurrence. That is ``fold=0``, what ``zoneinfo`` gives.
- Quiet time applies only to an endpoint with a valid IANA ``Demographic.Timezone`` whose local
  time, to the minute, is within [Start, End] (both inclusive; Start > End wraps past midnight).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from homing.domain.errors import BadRequest

FREQUENCIES: tuple[str, ...] = ("ONCE", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "EVENT", "IN_APP_EVENT")
IMMEDIATE = "IMMEDIATE"

# The offsets Pinpoint accepts in a campaign's Schedule.Timezone (botocore's model documentation).
# fmt: off
OFFSETS: tuple[str, ...] = (
    "UTC",
    "UTC+01", "UTC+02", "UTC+03", "UTC+03:30", "UTC+04", "UTC+04:30", "UTC+05", "UTC+05:30", "UTC+05:45",
    "UTC+06", "UTC+06:30", "UTC+07", "UTC+08", "UTC+09", "UTC+09:30", "UTC+10", "UTC+10:30", "UTC+11",
    "UTC+12", "UTC+13",
    "UTC-02", "UTC-03", "UTC-04", "UTC-05", "UTC-06", "UTC-07", "UTC-08", "UTC-09", "UTC-10", "UTC-11",
)
# fmt: on

# The extreme offsets any IANA zone uses: the first and the last place on Earth to reach a wall-clock time.
EARLIEST_OFFSET = timedelta(hours=14)  # Pacific/Kiritimati
LATEST_OFFSET = timedelta(hours=-12)  # Etc/GMT+12 (Baker Island)

_OFFSET = re.compile(r"UTC(?:([+-])(\d\d)(?::(\d\d))?)?")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_PERIODS = {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}


# -- time zones ---------------------------------------------------------------------------------
def schedule_zone(value: str | None, field: str = "Schedule.Timezone") -> dt.timezone:
    """A campaign's ``Schedule.Timezone`` as a fixed offset; absent is UTC, anything off the list a 400."""
    if value is None or value == "":
        return UTC
    if value not in OFFSETS:
        raise BadRequest(f"{field} must be one of {', '.join(OFFSETS)}")
    match = _OFFSET.fullmatch(value)
    assert match is not None  # every member of OFFSETS matches
    sign, hours, minutes = match.groups()
    if sign is None:
        return UTC
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return dt.timezone(delta if sign == "+" else -delta, value)


@cache
def _zone_names() -> dict[str, str]:
    """IANA names by their case-folded form (tzdata's list; not the pseudo-zones a system may add)."""
    names = available_timezones() - {"Factory", "localtime", "posixrules", "posix", "right"}
    return {name.casefold(): name for name in names if not name.startswith(("posix/", "right/"))}


def endpoint_zone(value: str | None) -> ZoneInfo | None:
    """An endpoint's ``Demographic.Timezone`` (an IANA name, any case) or None when absent or unknown.

    Pinpoint stores whatever the endpoint sent; an unknown name counts as no time zone
    (``ENDPOINT_MISSING_TIMEZONE`` for local-time runs, not protected by quiet time)."""
    if not value:
        return None
    name = _zone_names().get(value.strip().casefold())
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# -- the schedule -------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuietTime:
    """``QuietTime{Start, End}`` as wall-clock times (minutes)."""

    start: time
    end: time


def parse_quiet_time(start: str | None, end: str | None, field: str = "QuietTime") -> QuietTime | None:
    """``HH:MM`` pair (24 h, zero-padded); None when both are absent, a 400 naming the member otherwise."""
    if not start and not end:
        return None
    clocks = []
    for name, value in (("Start", start), ("End", end)):
        match = _CLOCK.fullmatch(value or "")
        if match is None:
            raise BadRequest(f"{field}.{name} must be a time of day in HH:MM format (24 hours)")
        clocks.append(time(int(match[1]), int(match[2])))
    return QuietTime(clocks[0], clocks[1])


@dataclass(frozen=True)
class Schedule:
    """Pinpoint's campaign ``Schedule`` (snake_case); ``start_time`` is a timestamp or ``IMMEDIATE``.

    A timestamp without an offset is read in ``timezone``. ``pinned(now)`` replaces IMMEDIATE by the
    instant the campaign was scheduled, which recurrences count from."""

    start_time: datetime | Literal["IMMEDIATE"]
    frequency: str = "ONCE"
    end_time: datetime | None = None
    is_local_time: bool = False
    timezone: str = "UTC"
    quiet_time_start: str | None = None
    quiet_time_end: str | None = None

    @property
    def zone(self) -> dt.timezone:
        return schedule_zone(self.timezone)

    @property
    def quiet_time(self) -> QuietTime | None:
        return parse_quiet_time(self.quiet_time_start, self.quiet_time_end, "Schedule.QuietTime")

    @property
    def event_triggered(self) -> bool:
        return self.frequency in ("EVENT", "IN_APP_EVENT")

    def pinned(self, now: datetime) -> Schedule:
        """IMMEDIATE fixed to ``now``; any other start unchanged."""
        return replace(self, start_time=now) if self.start_time == IMMEDIATE else self

    def validate(self) -> None:
        """The rules that need no clock: a 400 naming the member."""
        if self.frequency not in FREQUENCIES:
            raise BadRequest(f"Schedule.Frequency must be one of {', '.join(FREQUENCIES)}")
        schedule_zone(self.timezone)
        parse_quiet_time(self.quiet_time_start, self.quiet_time_end, "Schedule.QuietTime")
        end = self.end_time
        if end is not None and self.start_time != IMMEDIATE and self._aware(end) <= self._start():
            raise BadRequest("Schedule.EndTime must be after Schedule.StartTime")

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=self.zone)

    def _start(self) -> datetime:
        if self.start_time == IMMEDIATE:
            raise ValueError("an IMMEDIATE schedule has no run times until it is pinned (Schedule.pinned)")
        assert isinstance(self.start_time, datetime)
        return self._aware(self.start_time)


def _add_months(moment: datetime, months: int, day: int) -> datetime:
    """``moment`` moved ``months`` on, on ``day`` or the month's last day when it is shorter."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(day, calendar.monthrange(year, month)[1]))


def _occurrence(start: datetime, frequency: str, k: int) -> datetime:
    """The k-th run (k ≥ 0) in the schedule's wall clock, counted from the start (no drift)."""
    if frequency == "MONTHLY":
        return _add_months(start, k, start.day)
    return start + k * _PERIODS[frequency]


def _first_index_after(start: datetime, frequency: str, moment: datetime) -> int:
    """The smallest k with occurrence(k) ≥ moment (k ≥ 0)."""
    if moment <= start:
        return 0
    if frequency == "MONTHLY":
        k = max(0, (moment.year - start.year) * 12 + moment.month - start.month - 1)
    else:
        k = int((moment - start) / _PERIODS[frequency])
    while _occurrence(start, frequency, k) < moment:
        k += 1
    return k


def _run_at_or_after(schedule: Schedule, moment: datetime, strictly: bool) -> datetime | None:
    if schedule.event_triggered:
        return None
    zone = schedule.zone
    start = schedule._start().astimezone(zone)
    after = moment.astimezone(zone)
    end = schedule._aware(schedule.end_time).astimezone(zone) if schedule.end_time else None
    if schedule.is_local_time:
        # runs and EndTime compare as wall-clock times (the same in every recipient's zone)
        start, after = start.replace(tzinfo=None), after.replace(tzinfo=None)
        end = end.replace(tzinfo=None) if end is not None else None
    if schedule.frequency == "ONCE":
        run = start
        if run < after or (strictly and run == after):
            return None
    else:
        k = _first_index_after(start, schedule.frequency, after)
        run = _occurrence(start, schedule.frequency, k)
        if strictly and run == after:
            run = _occurrence(start, schedule.frequency, k + 1)
    if end is not None and run >= end:
        return None
    return run.replace(tzinfo=zone) if run.tzinfo is None else run


def first_run(schedule: Schedule, now: datetime) -> datetime | None:
    """The first run at or after ``now`` (IMMEDIATE: ``now``); None for EVENT or when none is left.

    For a local-time schedule this is the run's nominal instant, in ``Schedule.Timezone``; the
    recipients' instants come from ``local_run``. A ONCE start already past has no run."""
    return _run_at_or_after(schedule.pinned(now), now, strictly=False)


def next_run(schedule: Schedule, after: datetime) -> datetime | None:
    """The run strictly after ``after`` (re-arming after a run); None for EVENT or after the last."""
    return _run_at_or_after(schedule, after, strictly=True)


# -- recipients' local time ---------------------------------------------------------------------
def wall_clock(schedule: Schedule, run: datetime) -> datetime:
    """A run's wall-clock time (naive), read in ``Schedule.Timezone``."""
    return run.astimezone(schedule.zone).replace(tzinfo=None)


def local_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant ``wall`` happens in ``zone``: a skipped time moves on by the gap, a repeated one is its first."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class Slice:
    """Recipients whose zones reach the run's wall-clock time at the same instant: one batch group."""

    instant: datetime
    zones: tuple[str, ...]


@dataclass(frozen=True)
class LocalRun:
    """A local-time run mapped over the audience's zones; endpoints with no valid zone are ``missing``."""

    wall: datetime
    slices: tuple[Slice, ...]  # in time order
    missing: tuple[str, ...]  # the Demographic.Timezone values that are absent or not IANA names

    @property
    def earliest(self) -> datetime | None:
        return self.slices[0].instant if self.slices else None

    @property
    def latest(self) -> datetime | None:
        return self.slices[-1].instant if self.slices else None

    def instant_of(self, zone_name: str | None) -> datetime | None:
        """The instant a recipient with this ``Demographic.Timezone`` is due; None when it has no valid zone."""
        zone = endpoint_zone(zone_name)
        return local_instant(self.wall, zone) if zone is not None else None


def local_run(schedule: Schedule, run: datetime, zone_names: Iterable[str | None]) -> LocalRun:
    """Group the audience's ``Demographic.Timezone`` values by the instant each reaches the run's wall clock."""
    wall = wall_clock(schedule, run)
    by_instant: dict[datetime, set[str]] = {}
    missing: set[str] = set()
    for name in zone_names:
        zone = endpoint_zone(name)
        if zone is None:
            missing.add(name or "")
            continue
        by_instant.setdefault(local_instant(wall, zone), set()).add(zone.key)
    slices = tuple(Slice(instant, tuple(sorted(by_instant[instant]))) for instant in sorted(by_instant))
    return LocalRun(wall, slices, tuple(sorted(missing)))


def local_window(schedule: Schedule, run: datetime) -> tuple[datetime, datetime]:
    """The first and last instant any zone on Earth reaches the run's wall clock (UTC+14 … UTC-12)."""
    wall = wall_clock(schedule, run)
    return (
        wall.replace(tzinfo=dt.timezone(EARLIEST_OFFSET)).astimezone(UTC),
        wall.replace(tzinfo=dt.timezone(LATEST_OFFSET)).astimezone(UTC),
    )


# -- quiet time ---------------------------------------------------------------------------------
def effective_quiet_time(schedule: Schedule, app_default: QuietTime | None) -> QuietTime | None:
    """The campaign's quiet time, or the app's default when the campaign sets none."""
    return schedule.quiet_time or app_default


def _within(clock: time, quiet: QuietTime) -> bool:
    if quiet.start <= quiet.end:
        return quiet.start <= clock <= quiet.end
    return clock >= quiet.start or clock <= quiet.end  # wraps past midnight


def in_quiet_time(quiet: QuietTime | None, zone_name: str | None, at: datetime) -> bool:
    """Whether an endpoint is in quiet time at ``at``.

    Only with a valid zone, and its local time, to the minute, within [Start, End]."""
    zone = endpoint_zone(zone_name)
    if quiet is None or zone is None:
        return False
    local = at.astimezone(zone)
    return _within(time(local.hour, local.minute), quiet)


def quiet_time_ends(quiet: QuietTime, zone_name: str | None, at: datetime) -> datetime | None:
    """The first instant after ``at`` when the endpoint is out of quiet time (for a send that waits);
    None when it is not in quiet time at ``at``, or when the window covers every minute of the day."""
    if not in_quiet_time(quiet, zone_name, at):
        return None
    zone = endpoint_zone(zone_name)
    assert zone is not None
    # the window ends at the end of its End minute; walk local days until that instant is after ``at``
    local = at.astimezone(zone)
    for days in range(0, 3):
        day = (local + timedelta(days=days)).date()
        wall = datetime.combine(day, quiet.end) + timedelta(minutes=1)
        candidate = local_instant(wall, zone)
        if candidate > at and not in_quiet_time(quiet, zone_name, candidate):
            return candidate
    return None


def quiet_zones(quiet: QuietTime | None, instants: Mapping[str, datetime]) -> frozenset[str]:
    """Of the zones of a local-time run (zone → its instant), those in quiet time at their instant."""
    return frozenset(name for name, at in instants.items() if in_quiet_time(quiet, name, at))
