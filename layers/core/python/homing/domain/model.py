"""Domain records for apps, settings and endpoints (snake_case; the wire mapping is in homing.api.schemas).

Every field of a request-side record is optional: ``None`` means "not given", which the merge
rules in homing.domain.endpoints treat as "keep what is stored".
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHANNEL_TYPES = frozenset(
    {
        "PUSH", "GCM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX",
        "ADM", "SMS", "VOICE", "EMAIL", "BAIDU", "CUSTOM", "IN_APP",
    }
)  # fmt: skip
# Push-token channels whose oldest endpoint Pinpoint evicts when a user is at the endpoint cap.
EVICTABLE_CHANNELS = frozenset({"ADM", "GCM", "APNS", "APNS_VOIP", "APNS_VOIP_SANDBOX", "BAIDU"})
OPT_OUT_VALUES = frozenset({"ALL", "NONE"})
ENDPOINT_STATUSES = frozenset({"ACTIVE", "INACTIVE"})

AttributeMap = dict[str, list[str]]


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


@dataclass
class Demographic:
    app_version: str | None = None
    locale: str | None = None
    make: str | None = None
    model: str | None = None
    model_version: str | None = None
    platform: str | None = None
    platform_version: str | None = None
    timezone: str | None = None


@dataclass
class Location:
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    postal_code: str | None = None
    region: str | None = None


@dataclass
class EndpointUser:
    user_attributes: AttributeMap | None = None
    user_id: str | None = None


@dataclass
class EndpointRequest:
    """An UpdateEndpoint body or one UpdateEndpointsBatch item (``id`` is only set for batch items)."""

    address: str | None = None
    attributes: AttributeMap | None = None
    channel_type: str | None = None
    demographic: Demographic | None = None
    effective_date: str | None = None
    endpoint_status: str | None = None
    id: str | None = None
    location: Location | None = None
    metrics: dict[str, float] | None = None
    opt_out: str | None = None
    request_id: str | None = None
    user: EndpointUser | None = None


@dataclass
class Endpoint:
    """A stored endpoint, as GetEndpoint returns it."""

    id: str
    application_id: str
    creation_date: str
    cohort_id: str
    effective_date: str
    endpoint_status: str = "ACTIVE"
    opt_out: str = "NONE"
    channel_type: str | None = None
    address: str | None = None
    attributes: AttributeMap = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    demographic: Demographic = field(default_factory=Demographic)
    location: Location = field(default_factory=Location)
    user: EndpointUser = field(default_factory=EndpointUser)
    request_id: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.user.user_id or None
