"""Campaign schedule math (homing.domain.schedules): run times, local time, quiet time, DST."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homing.domain.errors import BadRequest
from homing.domain.schedules import (
    OFFSETS,
    QuietTime,
    Schedule,
    endpoint_zone,
    first_run,
    in_quiet_time,
    local_instant,
    local_run,
    local_window,
    next_run,
    parse_quiet_time,
    quiet_time_ends,
    quiet_zones,
    schedule_zone,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# -- time zones ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "hours"),
    [("UTC", 0), ("UTC+01", 1), ("UTC+05:45", 5.75), ("UTC+13", 13), ("UTC-11", -11), ("UTC-03", -3), ("", 0)],
)
def test_schedule_zone_is_pinpoints_fixed_offset(value: str, hours: float) -> None:
    offset = schedule_zone(value).utcoffset(None)
    assert offset == timedelta(hours=hours)


@pytest.mark.parametrize("value", ["UTC+14", "UTC-12", "UTC+5", "UTC+05:15", "utc+01", "GMT+01", "America/New_York"])
def test_schedule_zone_off_the_list_is_a_bad_request_naming_the_field(value: str) -> None:
    with pytest.raises(BadRequest, match=r"Schedule.Timezone"):
        schedule_zone(value)


def test_offset_list_is_pinpoints() -> None:
    assert len(OFFSETS) == 31
    assert "UTC+05:45" in OFFSETS
    assert "UTC+08:45" not in OFFSETS


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("America/New_York", "America/New_York"),
        ("asia/kathmandu", "Asia/Kathmandu"),
        ("UTC", "UTC"),
        (" Europe/London ", "Europe/London"),
    ],
)
def test_endpoint_zone_accepts_iana_names(value: str, key: str) -> None:
    zone = endpoint_zone(value)
    assert zone is not None
    assert zone.key == key


@pytest.mark.parametrize("value", [None, "", "UTC+01", "Mars/Olympus", "../../etc/passwd", "EST5EDT\x00", "posixrules"])
def test_endpoint_zone_unknown_is_no_zone(value: str | None) -> None:
    assert endpoint_zone(value) is None


# -- run times ----------------------------------------------------------------------------------
def test_once_runs_at_its_start_and_not_again() -> None:
    schedule = Schedule(start_time=utc(2026, 12, 1, 9), frequency="ONCE")
    assert first_run(schedule, utc(2026, 11, 30)) == utc(2026, 12, 1, 9)
    assert next_run(schedule, utc(2026, 11, 30)) == utc(2026, 12, 1, 9)
    assert next_run(schedule, utc(2026, 12, 1, 9)) is None
    assert first_run(schedule, utc(2026, 12, 2)) is None  # a start already past has no run


def test_immediate_runs_now_and_recurs_from_then() -> None:
    now = utc(2026, 11, 30, 10, 15, 30)
    schedule = Schedule(start_time="IMMEDIATE", frequency="HOURLY")
    assert first_run(schedule, now) == now
    pinned = schedule.pinned(now)
    assert next_run(pinned, now) == now + timedelta(hours=1)
    with pytest.raises(ValueError, match="pinned"):
        next_run(schedule, now)


@pytest.mark.parametrize(
    ("frequency", "second"),
    [
        ("HOURLY", utc(2026, 12, 1, 10)),
        ("DAILY", utc(2026, 12, 2, 9)),
        ("WEEKLY", utc(2026, 12, 8, 9)),
        ("MONTHLY", utc(2027, 1, 1, 9)),
    ],
)
def test_recurring_second_run(frequency: str, second: datetime) -> None:
    schedule = Schedule(start_time=utc(2026, 12, 1, 9), frequency=frequency)
    assert next_run(schedule, utc(2026, 12, 1, 9)) == second
    assert first_run(schedule, utc(2026, 12, 1, 9)) == utc(2026, 12, 1, 9)


def test_runs_stop_before_end_time() -> None:
    schedule = Schedule(start_time=utc(2026, 12, 1, 9), frequency="DAILY", end_time=utc(2026, 12, 3, 9))
    assert next_run(schedule, utc(2026, 12, 1, 9)) == utc(2026, 12, 2, 9)
    assert next_run(schedule, utc(2026, 12, 2, 9)) is None  # 3 Dec 09:00 is the end itself


def test_monthly_on_the_31st_uses_the_last_day_of_shorter_months_without_drifting() -> None:
    schedule = Schedule(start_time=utc(2027, 1, 31, 8), frequency="MONTHLY")
    runs = [utc(2027, 1, 31, 8)]
    for _ in range(4):
        following = next_run(schedule, runs[-1])
        assert following is not None
        runs.append(following)
    assert [r.date().isoformat() for r in runs] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
    ]
    leap = Schedule(start_time=utc(2028, 1, 29, 8), frequency="MONTHLY")
    assert next_run(leap, utc(2028, 1, 29, 8)) == utc(2028, 2, 29, 8)


def test_monthly_counts_days_in_the_schedules_offset() -> None:
    # 1 Feb 02:00 at UTC+05:45 is 31 Jan 20:15 UTC: the day of the month is the 1st, in the offset
    schedule = Schedule(start_time=datetime(2027, 2, 1, 2, 0), frequency="MONTHLY", timezone="UTC+05:45")
    assert first_run(schedule, utc(2027, 1, 1)) == utc(2027, 1, 31, 20, 15)
    assert next_run(schedule, utc(2027, 1, 31, 20, 15)) == utc(2027, 2, 28, 20, 15)


def test_event_triggered_has_no_run_times() -> None:
    schedule = Schedule(start_time=utc(2026, 12, 1), frequency="EVENT")
    assert first_run(schedule, utc(2026, 11, 1)) is None
    assert next_run(schedule, utc(2026, 11, 1)) is None


def test_validate_names_the_member() -> None:
    with pytest.raises(BadRequest, match=r"Schedule.Frequency"):
        Schedule(start_time=utc(2026, 12, 1), frequency="YEARLY").validate()
    with pytest.raises(BadRequest, match=r"Schedule.EndTime"):
        Schedule(start_time=utc(2026, 12, 1), end_time=utc(2026, 12, 1)).validate()
    with pytest.raises(BadRequest, match=r"Schedule.QuietTime.End"):
        Schedule(start_time="IMMEDIATE", quiet_time_start="22:00", quiet_time_end="7:00").validate()
    Schedule(start_time="IMMEDIATE", frequency="DAILY", timezone="UTC-11").validate()


_FREQUENCIES = st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY"])
_INSTANTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(start=_INSTANTS, frequency=_FREQUENCIES, offset=st.sampled_from(OFFSETS), after=_INSTANTS)
def test_next_run_is_the_first_occurrence_strictly_after(
    start: datetime, frequency: str, offset: str, after: datetime
) -> None:
    schedule = Schedule(start_time=start, frequency=frequency, timezone=offset)
    run = next_run(schedule, after)
    assert run is not None
    assert run > after
    assert run >= start
    # it is an occurrence: re-arming from the one before lands on it again
    assert first_run(schedule, run) == run
    # nothing was skipped: no occurrence lies strictly between ``after`` and ``run``
    previous = first_run(schedule, max(after, start))
    assert previous is not None
    assert previous == run or previous <= after
    if frequency != "MONTHLY":
        assert (run - start) % {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}[
            frequency
        ] == timedelta(0)
    else:
        local_start, local_run_ = start.astimezone(schedule.zone), run.astimezone(schedule.zone)
        assert local_run_.time() == local_start.time()
        month_length = calendar.monthrange(local_run_.year, local_run_.month)[1]
        assert local_run_.day == min(local_start.day, month_length)  # clamped to a short month


@settings(max_examples=100, deadline=None)
@given(start=_INSTANTS, frequency=_FREQUENCIES, days=st.integers(1, 400), after=_INSTANTS)
def test_no_run_at_or_after_end_time(start: datetime, frequency: str, days: int, after: datetime) -> None:
    schedule = Schedule(start_time=start, frequency=frequency, end_time=start + timedelta(days=days))
    run = next_run(schedule, after)
    assert run is None or run < start + timedelta(days=days)


# -- recipients' local time ----------------------------------------------------------------------
def test_local_time_run_reaches_each_zone_at_its_wall_clock() -> None:
    schedule = Schedule(start_time=datetime(2027, 1, 15, 9, 0), is_local_time=True, timezone="UTC-05")
    run = first_run(schedule, utc(2027, 1, 1))
    assert run == utc(2027, 1, 15, 14)
    mapped = local_run(
        schedule,
        run,
        [
            "America/New_York",
            "Europe/London",
            "Asia/Kathmandu",
            "Pacific/Kiritimati",
            "Etc/GMT+12",
            "America/Toronto",
            None,
            "Nowhere/Else",
        ],
    )
    assert mapped.wall == datetime(2027, 1, 15, 9, 0)
    instants = {zone: slice_.instant for slice_ in mapped.slices for zone in slice_.zones}
    assert instants["Pacific/Kiritimati"] == utc(2027, 1, 14, 19)  # UTC+14: first on Earth
    assert instants["Asia/Kathmandu"] == utc(2027, 1, 15, 3, 15)  # UTC+05:45
    assert instants["Europe/London"] == utc(2027, 1, 15, 9)
    assert instants["America/New_York"] == instants["America/Toronto"] == utc(2027, 1, 15, 14)
    assert instants["Etc/GMT+12"] == utc(2027, 1, 15, 21)  # UTC-12: last on Earth
    assert mapped.earliest == utc(2027, 1, 14, 19)
    assert mapped.latest == utc(2027, 1, 15, 21)
    assert [len(s.zones) for s in mapped.slices] == [1, 1, 1, 2, 1]  # New York and Toronto share a batch
    assert mapped.missing == ("", "Nowhere/Else")
    assert mapped.instant_of("america/new_york") == utc(2027, 1, 15, 14)
    assert mapped.instant_of("UTC+01") is None
    assert local_window(schedule, run) == (utc(2027, 1, 14, 19), utc(2027, 1, 15, 21))


def test_local_time_follows_each_zones_dst() -> None:
    schedule = Schedule(start_time=datetime(2027, 3, 1, 9, 0), frequency="MONTHLY", is_local_time=True)
    march = first_run(schedule, utc(2027, 2, 1))
    assert march is not None
    april = next_run(schedule, march)
    assert april is not None
    zones = ["America/New_York", "Europe/London", "Australia/Lord_Howe"]
    before = {z: s.instant for s in local_run(schedule, march, zones).slices for z in s.zones}
    after = {z: s.instant for s in local_run(schedule, april, zones).slices for z in s.zones}
    assert before["America/New_York"] == utc(2027, 3, 1, 14)
    assert after["America/New_York"] == utc(2027, 4, 1, 13)
    assert before["Europe/London"] == utc(2027, 3, 1, 9)
    assert after["Europe/London"] == utc(2027, 4, 1, 8)
    # Lord Howe: +11 in summer (to 4 Apr 2027), then +10:30 — a 30-minute change
    assert before["Australia/Lord_Howe"] == utc(2027, 2, 28, 22)
    assert after["Australia/Lord_Howe"] == utc(2027, 3, 31, 22)


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        # spring forward: the skipped wall time moves on by the gap
        ("America/New_York", datetime(2027, 3, 14, 2, 30), utc(2027, 3, 14, 7, 30)),  # = 03:30 EDT
        ("Europe/London", datetime(2027, 3, 28, 1, 15), utc(2027, 3, 28, 1, 15)),  # = 02:15 BST
        ("Australia/Lord_Howe", datetime(2027, 10, 3, 2, 10), utc(2027, 10, 2, 15, 40)),  # = 02:40 +11
        # fall back: the repeated wall time is its first occurrence
        ("America/New_York", datetime(2027, 11, 7, 1, 30), utc(2027, 11, 7, 5, 30)),  # 01:30 EDT
        ("Europe/London", datetime(2027, 10, 31, 1, 30), utc(2027, 10, 31, 0, 30)),  # 01:30 BST
        ("Australia/Lord_Howe", datetime(2027, 4, 4, 1, 45), utc(2027, 4, 3, 14, 45)),  # 01:45 +11
        # no DST at all
        ("Asia/Kathmandu", datetime(2027, 3, 14, 2, 30), utc(2027, 3, 13, 20, 45)),
        ("Pacific/Kiritimati", datetime(2027, 1, 1, 0, 0), utc(2026, 12, 31, 10)),
    ],
)
def test_dst_gaps_and_repeats_are_deterministic(zone: str, wall: datetime, expected: datetime) -> None:
    assert local_instant(wall, ZoneInfo(zone)) == expected


_ZONES = st.sampled_from(
    [
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
        "Etc/GMT+12",
        "America/Sao_Paulo",
        "Pacific/Chatham",
        "Africa/Casablanca",
        "Antarctica/Troll",
    ]
)


@settings(max_examples=300, deadline=None)
@given(zone=_ZONES, wall=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_local_instant_shows_the_wall_clock_or_moves_on_by_the_gap(zone: str, wall: datetime) -> None:
    tz = ZoneInfo(zone)
    instant = local_instant(wall, tz)
    shown = instant.astimezone(tz).replace(tzinfo=None)
    if shown != wall:  # only in a gap: it is the same instant read on the clock after the change
        after_change, before_change = instant.astimezone(tz).utcoffset(), wall.replace(tzinfo=tz).utcoffset()
        assert after_change is not None
        assert before_change is not None
        gap = after_change - before_change
        assert shown == wall + gap
        assert gap > timedelta(0)
    else:  # a repeated wall time resolves to the earlier of its two instants
        assert instant <= wall.replace(tzinfo=tz, fold=1).astimezone(UTC)


def test_local_time_end_time_is_a_wall_clock_too() -> None:
    schedule = Schedule(
        start_time=datetime(2027, 1, 1, 9), end_time=datetime(2027, 1, 3, 9), frequency="DAILY", is_local_time=True
    )
    assert next_run(schedule, utc(2027, 1, 1, 9)) == utc(2027, 1, 2, 9)
    assert next_run(schedule, utc(2027, 1, 2, 9)) is None


# -- quiet time ---------------------------------------------------------------------------------
QUIET = QuietTime(time(22, 0), time(7, 0))


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(21, 59), False),
        (time(22, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 0), True),
        (time(7, 0, 59), True),
        (time(7, 1), False),
        (time(12, 0), False),
    ],
)
def test_quiet_time_across_midnight_inclusive_to_the_minute(local: time, quiet: bool) -> None:
    at = datetime.combine(date(2027, 1, 15), local, ZoneInfo("Asia/Kathmandu")).astimezone(UTC)
    assert in_quiet_time(QUIET, "Asia/Kathmandu", at) is quiet


def test_quiet_time_within_a_day() -> None:
    lunch = QuietTime(time(12, 0), time(13, 30))
    zone = ZoneInfo("Europe/London")
    assert in_quiet_time(lunch, "Europe/London", datetime(2027, 7, 1, 12, 45, tzinfo=zone))
    assert not in_quiet_time(lunch, "Europe/London", datetime(2027, 7, 1, 13, 31, tzinfo=zone))
    assert not in_quiet_time(lunch, "Europe/London", datetime(2027, 7, 1, 11, 59, tzinfo=zone))


def test_no_valid_zone_or_no_quiet_time_is_never_quiet() -> None:
    at = utc(2027, 1, 15, 23)
    assert in_quiet_time(QUIET, "UTC", at)
    assert not in_quiet_time(QUIET, None, at)
    assert not in_quiet_time(QUIET, "Not/AZone", at)
    assert not in_quiet_time(None, "UTC", at)


def test_quiet_time_uses_local_time_across_dst() -> None:
    morning = QuietTime(time(0, 0), time(6, 59))
    # 06:30 UTC is 01:30 EST in January (quiet) and 02:30 EDT in July (quiet); 11:30 UTC is 06:30/07:30
    assert in_quiet_time(morning, "America/New_York", utc(2027, 1, 15, 11, 30))
    assert not in_quiet_time(morning, "America/New_York", utc(2027, 7, 15, 11, 30))


def test_quiet_time_ends_after_the_end_minute() -> None:
    at = datetime(2027, 1, 15, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    assert quiet_time_ends(QUIET, "America/New_York", at) == datetime(
        2027, 1, 16, 7, 1, tzinfo=ZoneInfo("America/New_York")
    )
    early = datetime(2027, 1, 16, 3, 0, tzinfo=ZoneInfo("America/New_York"))
    assert quiet_time_ends(QUIET, "America/New_York", early) == datetime(
        2027, 1, 16, 7, 1, tzinfo=ZoneInfo("America/New_York")
    )
    assert quiet_time_ends(QUIET, "America/New_York", utc(2027, 1, 15, 17)) is None  # noon: not quiet
    assert quiet_time_ends(QuietTime(time(0, 0), time(23, 59)), "UTC", utc(2027, 1, 15, 17)) is None  # always quiet


@settings(max_examples=200, deadline=None)
@given(
    zone=_ZONES,
    at=_INSTANTS,
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_quiet_time_ends_is_the_first_minute_out(zone: str, at: datetime, start: time, end: time) -> None:
    quiet = QuietTime(start, end)
    ends = quiet_time_ends(quiet, zone, at)
    if ends is None:
        return
    assert ends > at
    assert not in_quiet_time(quiet, zone, ends)
    assert in_quiet_time(quiet, zone, ends - timedelta(minutes=1)) or ends - at <= timedelta(minutes=1)


def test_quiet_zones_of_a_local_run() -> None:
    schedule = Schedule(start_time=datetime(2027, 1, 15, 23, 0), is_local_time=True)
    run = first_run(schedule, utc(2027, 1, 1))
    assert run is not None
    mapped = local_run(schedule, run, ["Europe/London", "Asia/Kathmandu"])
    instants = {zone: s.instant for s in mapped.slices for zone in s.zones}
    assert quiet_zones(QUIET, instants) == {"Europe/London", "Asia/Kathmandu"}  # 23:00 everywhere
    assert quiet_zones(QuietTime(time(8, 0), time(9, 0)), instants) == frozenset()


def test_parse_quiet_time() -> None:
    assert parse_quiet_time("22:00", "07:00") == QUIET
    assert parse_quiet_time(None, None) is None
    for start, end, member in [("24:00", "07:00", "Start"), ("22:00", None, "End"), ("2200", "07:00", "Start")]:
        with pytest.raises(BadRequest, match=rf"QuietTime\.{member}"):
            parse_quiet_time(start, end)


_MINUTE_TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(start=_MINUTE_TIMES, end=_MINUTE_TIMES, at=_INSTANTS, zone=_ZONES)
def test_quiet_time_and_the_window_between_are_complements(start: time, end: time, at: datetime, zone: str) -> None:
    """[Start, End] and [End + 1 min, Start - 1 min] cover every minute of the day exactly once."""
    if (datetime.combine(date.min, end) + timedelta(minutes=1)).time() == start:
        return  # the window is the whole day: it has no complement
    quiet = QuietTime(start, end)
    gap = QuietTime(
        (datetime.combine(date(2000, 1, 2), end) + timedelta(minutes=1)).time(),
        (datetime.combine(date(2000, 1, 2), start) - timedelta(minutes=1)).time(),
    )
    assert in_quiet_time(quiet, zone, at) != in_quiet_time(gap, zone, at)


@settings(max_examples=150, deadline=None)
@given(
    wall=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    offset=st.sampled_from(OFFSETS),
    zones=st.lists(st.one_of(_ZONES, st.sampled_from(["Europe/Paris", "UTC", "nowhere", ""]), st.none()), max_size=12),
)
def test_local_run_slices_partition_the_valid_zones_in_time_order(
    wall: datetime, offset: str, zones: list[str | None]
) -> None:
    schedule = Schedule(start_time=wall, timezone=offset, is_local_time=True)
    run = first_run(schedule, wall.replace(tzinfo=schedule.zone))
    assert run is not None
    mapped = local_run(schedule, run, zones)
    instants = [s.instant for s in mapped.slices]
    assert instants == sorted(set(instants))  # one slice per instant, earliest first
    grouped = [zone for s in mapped.slices for zone in s.zones]
    valid = {z for z in zones if z is not None and endpoint_zone(z) is not None}
    assert sorted(grouped) == sorted(valid)  # every valid zone in exactly one slice
    assert set(mapped.missing) == {z or "" for z in zones if endpoint_zone(z) is None}
    for slice_ in mapped.slices:
        for zone in slice_.zones:
            assert slice_.instant == local_instant(wall, ZoneInfo(zone))
            assert mapped.instant_of(zone) == slice_.instant
    if mapped.slices:
        window = local_window(schedule, run)
        assert window[0] <= instants[0] <= instants[-1] <= window[1]
