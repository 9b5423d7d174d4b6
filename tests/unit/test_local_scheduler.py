"""scheduler.py's schedule expressions: when at(), rate() and cron() schedules fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homing.local.scheduler import Cron, LocalClock, ScheduleSpec, render_input

T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # a Friday, two days before Paris moves to summer time


def fires(spec: ScheduleSpec, hours: float, after: datetime = T0) -> list[str]:
    return [t.isoformat() for t in spec.fire_times(after, after + timedelta(hours=hours))]


def test_at_fires_once_in_its_time_zone() -> None:
    spec = ScheduleSpec("at(2026-03-27T15:30:00)", timezone="Europe/Paris")

    assert fires(spec, 24) == ["2026-03-27T14:30:00+00:00"]
    assert fires(spec, 24, after=T0 + timedelta(hours=3)) == []
    assert spec.one_time


def test_rate_counts_from_creation_or_from_the_start_date() -> None:
    created = ScheduleSpec("rate(10 minutes)", created=T0)
    started = ScheduleSpec("rate(1 hour)", start=T0 + timedelta(minutes=5))

    assert fires(created, 0.5) == [
        "2026-03-27T12:10:00+00:00",
        "2026-03-27T12:20:00+00:00",
        "2026-03-27T12:30:00+00:00",
    ]
    assert fires(started, 2.5) == [
        "2026-03-27T12:05:00+00:00",
        "2026-03-27T13:05:00+00:00",
        "2026-03-27T14:05:00+00:00",
    ]


def test_end_date_stops_a_schedule() -> None:
    spec = ScheduleSpec("rate(1 hour)", created=T0, end=T0 + timedelta(hours=2, minutes=30))

    assert len(fires(spec, 10)) == 2


def test_cron_follows_the_time_zone_across_a_dst_change() -> None:
    spec = ScheduleSpec("cron(0 9 * * ? *)", timezone="Europe/Paris")

    assert fires(spec, 72) == [
        "2026-03-28T08:00:00+00:00",  # 09:00 CET
        "2026-03-29T07:00:00+00:00",  # 09:00 CEST
        "2026-03-30T07:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("expression", "days", "expected"),
    [
        ("cron(0/15 12 * * ? *)", 1, ["2026-03-27 12:15", "2026-03-27 12:30", "2026-03-27 12:45", "2026-03-28 12:00"]),
        ("cron(30 8-10 ? * MON-FRI *)", 3, ["2026-03-30 08:30", "2026-03-30 09:30", "2026-03-30 10:30"]),
        ("cron(0 0 L * ? *)", 7, ["2026-03-31 00:00"]),
        ("cron(0 0 ? * 6#1 *)", 7, ["2026-04-03 00:00"]),  # first Friday of April
        ("cron(0 0 ? * 2L *)", 7, ["2026-03-30 00:00"]),  # last Monday of March
        ("cron(0 0 1W * ? *)", 7, ["2026-04-01 00:00"]),
        ("cron(0 12 ? JAN,MAR SAT 2026)", 7, ["2026-03-28 12:00"]),
    ],
)
def test_cron_fields(expression: str, days: int, expected: list[str]) -> None:
    spec = ScheduleSpec(expression)

    got = [t.strftime("%Y-%m-%d %H:%M") for t in spec.fire_times(T0, T0 + timedelta(days=days))]

    assert got == expected


@pytest.mark.parametrize("body", ["0 9 * * *", "0 9 * * * *", "0 9 ? * ? *", "61 9 * * ? *"])
def test_invalid_cron_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        Cron.parse(body)


def test_flexible_window_fires_within_the_window() -> None:
    spec = ScheduleSpec("at(2026-03-27T13:00:00)", flexible_minutes=15, key="arn:s")

    (fired,) = spec.fire_times(T0, T0 + timedelta(hours=2))

    assert datetime(2026, 3, 27, 13, 0, tzinfo=UTC) <= fired < datetime(2026, 3, 27, 13, 15, tzinfo=UTC)
    assert spec.fire_times(T0, T0 + timedelta(hours=2)) == [fired]  # the same offset every time


def test_next_fire() -> None:
    assert ScheduleSpec("cron(0 9 ? * MON *)").next_fire(T0) == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert ScheduleSpec("at(2026-03-27T11:00:00)").next_fire(T0) is None


def test_clock_only_moves_forward() -> None:
    clock = LocalClock()
    before = clock.now()
    clock.advance(3600)

    assert clock.now() - before >= timedelta(hours=1)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-1)


def test_input_placeholders_are_filled() -> None:
    text = render_input('{"arn": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>"}', "arn:s", T0)

    assert text == '{"arn": "arn:s", "at": "2026-03-27T12:00:00Z"}'
    assert render_input(None, "arn:s", T0) == "{}"
