"""Apps (Pinpoint projects): the record, its application settings, and the settings' pure rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from homing.domain.errors import BadRequest

_QUIET_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass
class CampaignHook:
    lambda_function_name: str | None = None
    mode: str | None = None
    web_url: str | None = None


@dataclass
class CampaignLimits:
    daily: int | None = None
    maximum_duration: int | None = None
    messages_per_second: int | None = None
    total: int | None = None
    session: int | None = None


@dataclass
class QuietTime:
    end: str | None = None
    start: str | None = None


@dataclass
class JourneyTimeframeCap:
    cap: int | None = None
    days: int | None = None


@dataclass
class ApplicationSettingsJourneyLimits:
    daily_cap: int | None = None
    timeframe_cap: JourneyTimeframeCap | None = None
    total_cap: int | None = None


@dataclass
class ApplicationSettings:
    campaign_hook: CampaignHook | None = None
    cloud_watch_metrics_enabled: bool | None = None
    event_tagging_enabled: bool | None = None
    limits: CampaignLimits | None = None
    quiet_time: QuietTime | None = None
    journey_limits: ApplicationSettingsJourneyLimits | None = None


@dataclass
class App:
    id: str
    arn: str
    name: str
    creation_date: str
    tags: dict[str, str] = field(default_factory=dict)
    settings: ApplicationSettings = field(default_factory=ApplicationSettings)
    settings_modified: str | None = None
    version: int = 0  # of the stored item this was read from (0 = not stored yet)


def validate_settings(s: ApplicationSettings) -> None:
    """Ranges from the Pinpoint model's member documentation (reference/pinpoint-api.md §7)."""
    if s.campaign_hook is not None and s.campaign_hook.mode not in (None, "DELIVERY", "FILTER"):
        raise BadRequest("CampaignHook.Mode must be DELIVERY or FILTER")
    if s.limits is not None:
        _in_range("Limits.Daily", s.limits.daily, 0, 100)
        _in_range("Limits.Total", s.limits.total, 0, 100)
        _in_range("Limits.MessagesPerSecond", s.limits.messages_per_second, 1, 20_000)
        _in_range("Limits.MaximumDuration", s.limits.maximum_duration, 60, None)
        _in_range("Limits.Session", s.limits.session, 0, None)
    if s.quiet_time is not None:
        for name, value in (("Start", s.quiet_time.start), ("End", s.quiet_time.end)):
            if value is not None and not _QUIET_TIME.match(value):
                raise BadRequest(f"QuietTime.{name} must be HH:MM in 24-hour time")
    if s.journey_limits is not None:
        _in_range("JourneyLimits.DailyCap", s.journey_limits.daily_cap, 0, 100)
        _in_range("JourneyLimits.TotalCap", s.journey_limits.total_cap, 0, 100)
        if s.journey_limits.timeframe_cap is not None:
            _in_range("JourneyLimits.TimeframeCap.Cap", s.journey_limits.timeframe_cap.cap, 0, 100)
            _in_range("JourneyLimits.TimeframeCap.Days", s.journey_limits.timeframe_cap.days, 0, 30)


def _in_range(field: str, value: int | None, low: int, high: int | None) -> None:
    if value is not None and (value < low or (high is not None and value > high)):
        raise BadRequest(
            f"{field} must be between {low} and {high}" if high is not None else f"{field} must be >= {low}"
        )
