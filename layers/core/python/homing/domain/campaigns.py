"""Campaign rules, pure: the records of a campaign version and of an activity (one run of one
treatment), the shape checks of WriteCampaignRequest, and how the reported state is derived.

The schedule's meaning (when runs happen) is ``domain/schedules.py``'s and the audience rules
(holdout, treatments, caps) ``domain/campaign_rules.py``'s; this module checks shapes and ranges only.
The records are Pinpoint's shapes in snake_case (the codec maps them to and from its JSON).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from homing.codec import pascal
from homing.domain.errors import BadRequest
from homing.domain.segments import AttributeDimension, MetricDimension, SetDimension
from homing.domain.timestamps import parse_timestamp

FREQUENCIES = ("ONCE", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "EVENT", "IN_APP_EVENT")
RECURRING = frozenset({"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "EVENT", "IN_APP_EVENT"})
IMMEDIATE = "IMMEDIATE"
# Schedule.Timezone: the values botocore's model documents ("UTC", "UTC+05:45", …).
TIMEZONES = frozenset((
    "UTC", "UTC+01", "UTC+02", "UTC+03", "UTC+03:30", "UTC+04", "UTC+04:30", "UTC+05", "UTC+05:30", "UTC+05:45",
    "UTC+06", "UTC+06:30", "UTC+07", "UTC+08", "UTC+09", "UTC+09:30", "UTC+10", "UTC+10:30", "UTC+11", "UTC+12",
    "UTC+13", "UTC-02", "UTC-03", "UTC-04", "UTC-05", "UTC-06", "UTC-07", "UTC-08", "UTC-09", "UTC-10", "UTC-11",
))  # fmt: skip
FILTER_TYPES = ("SYSTEM", "ENDPOINT")
HOOK_MODES = ("DELIVERY", "FILTER")
ENDPOINT_TYPES = (
    "PUSH", "GCM", "APNS", "APNS_SANDBOX", "APNS_VOIP", "APNS_VOIP_SANDBOX", "ADM", "SMS", "VOICE", "EMAIL",
    "BAIDU", "CUSTOM", "IN_APP",
)  # fmt: skip
PUSH_ACTIONS = ("OPEN_APP", "DEEP_LINK", "URL")
SMS_MESSAGE_TYPES = ("TRANSACTIONAL", "PROMOTIONAL")
# CampaignStatus. The run statuses are what the delivery workflow records; PAUSED and DELETED are
# derived (IsPaused, DeleteCampaign's answer).
SCHEDULED, EXECUTING, PENDING_NEXT_RUN, COMPLETED = "SCHEDULED", "EXECUTING", "PENDING_NEXT_RUN", "COMPLETED"
PAUSED, DELETED, INVALID = "PAUSED", "DELETED", "INVALID"
RUN_STATUSES = (SCHEDULED, EXECUTING, PENDING_NEXT_RUN, COMPLETED, INVALID)
# Activity states and results as Pinpoint reports them.
ACTIVITY_EXECUTING, ACTIVITY_COMPLETED = "EXECUTING", "COMPLETED"
RESULTS = ("SUCCESS", "FAILURE")
DEFAULT_TREATMENT_ID = "0"

MAX_NAME_CHARS = 1024  # not documented; storage-safe
MAX_TREATMENTS = 100  # SizePercent ≥ 1 each and a sum ≤ 100 bound the list anyway
MAX_CUSTOM_DATA_BYTES = 5 * 1024  # CampaignCustomMessage.Data
MAX_DAILY = MAX_TOTAL = 100
MPS_RANGE = (1, 20_000)
MIN_MAXIMUM_DURATION = 60
_QUIET = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LAMBDA_NAME = re.compile(
    r"^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$"
)

# Pinpoint's JSON names that PascalCase of the snake name does not give.
_WIRE_NAMES = {
    "sms_message": "SMSMessage",
    "apns_message": "APNSMessage",
    "gcm_message": "GCMMessage",
    "adm_message": "ADMMessage",
    "sms_template": "SMSTemplate",
    "tags": "tags",
}


def wire_name(name: str) -> str:
    return _WIRE_NAMES.get(name) or pascal(name)


# --- records (Pinpoint's shapes, snake_case) --------------------------------------------------------


@dataclass
class MessageHeader:
    name: str | None = None
    value: str | None = None


@dataclass
class TemplateRef:
    name: str | None = None
    version: str | None = None


@dataclass
class TemplateConfiguration:
    """Pinpoint's TemplateConfiguration (the same shape as direct messages'; declared here so that
    segments, which import this module for DeleteSegment's check, do not load the messaging rules)."""

    email_template: TemplateRef | None = None
    push_template: TemplateRef | None = None
    sms_template: TemplateRef | None = None
    voice_template: TemplateRef | None = None
    in_app_template: TemplateRef | None = None


@dataclass
class CampaignLimits:
    daily: int | None = None
    maximum_duration: int | None = None
    messages_per_second: int | None = None
    total: int | None = None
    session: int | None = None


@dataclass
class QuietTime:
    start: str | None = None
    end: str | None = None


@dataclass
class EventDimensions:
    event_type: SetDimension | None = None
    attributes: dict[str, AttributeDimension] | None = None
    metrics: dict[str, MetricDimension] | None = None


@dataclass
class CampaignEventFilter:
    dimensions: EventDimensions | None = None
    filter_type: str | None = None


@dataclass
class Schedule:
    start_time: str | None = None
    end_time: str | None = None
    event_filter: CampaignEventFilter | None = None
    frequency: str | None = None
    is_local_time: bool | None = None
    quiet_time: QuietTime | None = None
    timezone: str | None = None


@dataclass
class CampaignHook:
    lambda_function_name: str | None = None
    mode: str | None = None
    web_url: str | None = None


@dataclass
class PushMessage:
    """Pinpoint's ``Message`` (DefaultMessage and the push platforms' messages of a campaign)."""

    action: str | None = None
    body: str | None = None
    image_icon_url: str | None = None
    image_small_icon_url: str | None = None
    image_url: str | None = None
    json_body: str | None = None
    media_url: str | None = None
    raw_content: str | None = None
    silent_push: bool | None = None
    time_to_live: int | None = None
    title: str | None = None
    url: str | None = None


@dataclass
class CampaignEmailMessage:
    body: str | None = None
    from_address: str | None = None
    headers: list[MessageHeader] | None = None
    html_body: str | None = None
    title: str | None = None


@dataclass
class CampaignSmsMessage:
    body: str | None = None
    message_type: str | None = None
    origination_number: str | None = None
    sender_id: str | None = None
    entity_id: str | None = None
    template_id: str | None = None


@dataclass
class CampaignCustomMessage:
    data: str | None = None


@dataclass
class MessageConfiguration:
    adm_message: PushMessage | None = None
    apns_message: PushMessage | None = None
    baidu_message: PushMessage | None = None
    custom_message: CampaignCustomMessage | None = None
    default_message: PushMessage | None = None
    email_message: CampaignEmailMessage | None = None
    gcm_message: PushMessage | None = None
    sms_message: CampaignSmsMessage | None = None


@dataclass
class CustomDeliveryConfiguration:
    delivery_uri: str | None = None
    endpoint_types: list[str] | None = None


@dataclass
class Treatment:
    """An additional treatment (WriteTreatmentResource; ``id`` once stored: "1", "2", … by position)."""

    size_percent: int | None = None
    custom_delivery_configuration: CustomDeliveryConfiguration | None = None
    message_configuration: MessageConfiguration | None = None
    schedule: Schedule | None = None
    template_configuration: TemplateConfiguration | None = None
    treatment_description: str | None = None
    treatment_name: str | None = None
    id: str | None = None


@dataclass
class CampaignDefinition:
    """WriteCampaignRequest as sent: every member optional (an update keeps what is not sent)."""

    additional_treatments: list[Treatment] | None = None
    custom_delivery_configuration: CustomDeliveryConfiguration | None = None
    description: str | None = None
    holdout_percent: int | None = None
    hook: CampaignHook | None = None
    is_paused: bool | None = None
    limits: CampaignLimits | None = None
    message_configuration: MessageConfiguration | None = None
    name: str | None = None
    schedule: Schedule | None = None
    segment_id: str | None = None
    segment_version: int | None = None
    tags: dict[str, str] | None = None
    template_configuration: TemplateConfiguration | None = None
    treatment_description: str | None = None
    treatment_name: str | None = None
    priority: int | None = None


@dataclass
class Campaign:
    """One version of a campaign as stored; ``run_status`` is the delivery workflow's last word."""

    id: str
    application_id: str
    version: int
    creation_date: str
    last_modified_date: str
    segment_id: str
    segment_version: int
    run_status: str = SCHEDULED
    additional_treatments: list[Treatment] = field(default_factory=list)
    custom_delivery_configuration: CustomDeliveryConfiguration | None = None
    description: str | None = None
    holdout_percent: int | None = None
    hook: CampaignHook | None = None
    is_paused: bool = False
    limits: CampaignLimits | None = None
    message_configuration: MessageConfiguration | None = None
    name: str | None = None
    schedule: Schedule | None = None
    tags: dict[str, str] = field(default_factory=dict)
    template_configuration: TemplateConfiguration | None = None
    treatment_description: str | None = None
    treatment_name: str | None = None
    priority: int | None = None


@dataclass
class Activity:
    """One run of one treatment (Pinpoint's ActivityResponse)."""

    id: str
    application_id: str
    campaign_id: str
    treatment_id: str
    scheduled_start: str
    state: str = ACTIVITY_EXECUTING
    start: str | None = None
    end: str | None = None
    result: str | None = None
    successful_endpoint_count: int | None = None
    total_endpoint_count: int | None = None
    timezones_completed_count: int | None = None
    timezones_total_count: int | None = None
    execution_metrics: dict[str, str] = field(default_factory=dict)
    campaign_version: int | None = None


@dataclass(frozen=True)
class ActivityCounts:
    """What a finished run reports (the workflow's totals, recorded once)."""

    total_endpoint_count: int
    successful_endpoint_count: int
    timezones_total_count: int = 1
    timezones_completed_count: int = 1
    result: str = "SUCCESS"
    execution_metrics: dict[str, str] = field(default_factory=dict)


# --- state ------------------------------------------------------------------------------------------


def status(campaign: Campaign) -> str:
    """State.CampaignStatus: PAUSED while IsPaused, otherwise what the runs recorded."""
    return PAUSED if campaign.is_paused else campaign.run_status


def activity_id(campaign_id: str, treatment_id: str, scheduled_start: datetime) -> str:
    """32 hex characters, the same for the same (campaign, treatment, scheduled start): the first 12
    are the start in epoch milliseconds, so the ids of one campaign sort by when their run was due."""
    ms = int(scheduled_start.timestamp() * 1000)
    digest = hashlib.sha256(f"{campaign_id}\x00{treatment_id}\x00{ms}".encode()).hexdigest()
    return f"{ms:012x}"[-12:] + digest[:20]


# --- shape checks (each a 400 naming the field) -----------------------------------------------------


def check_campaign(campaign: Campaign) -> None:
    """The whole version valid before anything is written (the segment and templates are checked by the
    service, which can read them)."""
    if campaign.name is not None and len(campaign.name) > MAX_NAME_CHARS:
        raise BadRequest(f"Name must be at most {MAX_NAME_CHARS} characters")
    holdout = campaign.holdout_percent or 0
    if not 0 <= holdout <= 100:
        raise BadRequest("HoldoutPercent must be between 0 and 100")
    if campaign.schedule is None:
        raise BadRequest("Schedule is required")
    check_schedule(campaign.schedule, "Schedule")
    if campaign.limits is not None:
        check_limits(campaign.limits, "Limits")
    if campaign.hook is not None:
        check_hook(campaign.hook, "Hook")
    check_delivery(
        campaign.message_configuration, campaign.template_configuration, campaign.custom_delivery_configuration, ""
    )
    if len(campaign.additional_treatments) > MAX_TREATMENTS:
        raise BadRequest(f"AdditionalTreatments must have at most {MAX_TREATMENTS} treatments")
    total = holdout
    for i, t in enumerate(campaign.additional_treatments):
        path = f"AdditionalTreatments[{i}]"
        if t.size_percent is None:
            raise BadRequest(f"{path}.SizePercent is required")
        if not 1 <= t.size_percent <= 100:
            raise BadRequest(f"{path}.SizePercent must be between 1 and 100")
        total += t.size_percent
        if t.schedule is not None:
            check_schedule(t.schedule, f"{path}.Schedule")
        if t.message_configuration or t.template_configuration or t.custom_delivery_configuration:
            check_delivery(
                t.message_configuration, t.template_configuration, t.custom_delivery_configuration, f"{path}."
            )
    if total > 100:
        raise BadRequest("AdditionalTreatments: the SizePercent values and HoldoutPercent must add up to at most 100")
    if campaign.tags and len(campaign.tags) > 50:
        raise BadRequest("tags must have at most 50 entries")


def check_schedule(schedule: Schedule, path: str) -> None:
    if not schedule.start_time:
        raise BadRequest(f"{path}.StartTime is required")
    start = None if schedule.start_time == IMMEDIATE else parse_timestamp(schedule.start_time, f"{path}.StartTime")
    if schedule.end_time is not None:
        end = parse_timestamp(schedule.end_time, f"{path}.EndTime")
        if start is not None and end <= start:
            raise BadRequest(f"{path}.EndTime must be after StartTime")
    if schedule.frequency is not None and schedule.frequency not in FREQUENCIES:
        raise BadRequest(f"{path}.Frequency must be one of {', '.join(FREQUENCIES)}")
    if schedule.timezone is not None and schedule.timezone not in TIMEZONES:
        raise BadRequest(f"{path}.Timezone must be UTC or a UTC offset Pinpoint accepts (UTC+01, UTC+05:45, UTC-11, …)")
    if schedule.quiet_time is not None:
        for name, value in (("Start", schedule.quiet_time.start), ("End", schedule.quiet_time.end)):
            if value is not None and not _QUIET.match(value):
                raise BadRequest(f"{path}.QuietTime.{name} must be HH:MM")
    if schedule.event_filter is not None:
        if schedule.frequency != "EVENT":
            raise BadRequest(f"{path}.EventFilter is allowed only with Frequency EVENT")
        check_event_filter(schedule.event_filter, f"{path}.EventFilter")
    elif schedule.frequency == "EVENT":
        raise BadRequest(f"{path}.EventFilter is required with Frequency EVENT")


def check_event_filter(event_filter: CampaignEventFilter, path: str) -> None:
    if event_filter.filter_type not in FILTER_TYPES:
        raise BadRequest(f"{path}.FilterType must be one of {', '.join(FILTER_TYPES)}")
    if event_filter.dimensions is None:
        raise BadRequest(f"{path}.Dimensions is required")
    event_type = event_filter.dimensions.event_type
    if event_type is not None:
        if event_type.dimension_type not in (None, "INCLUSIVE", "EXCLUSIVE"):
            raise BadRequest(f"{path}.Dimensions.EventType.DimensionType must be INCLUSIVE or EXCLUSIVE")
        if not event_type.values:
            raise BadRequest(f"{path}.Dimensions.EventType.Values must name at least one event type")


def check_limits(limits: CampaignLimits, path: str) -> None:
    if limits.daily is not None and not 0 <= limits.daily <= MAX_DAILY:
        raise BadRequest(f"{path}.Daily must be between 0 and {MAX_DAILY}")
    if limits.total is not None and not 0 <= limits.total <= MAX_TOTAL:
        raise BadRequest(f"{path}.Total must be between 0 and {MAX_TOTAL}")
    low, high = MPS_RANGE
    if limits.messages_per_second is not None and not low <= limits.messages_per_second <= high:
        raise BadRequest(f"{path}.MessagesPerSecond must be between {low} and {high}")
    if limits.maximum_duration is not None and limits.maximum_duration < MIN_MAXIMUM_DURATION:
        raise BadRequest(f"{path}.MaximumDuration must be at least {MIN_MAXIMUM_DURATION} seconds")
    if limits.session is not None and limits.session < 0:
        raise BadRequest(f"{path}.Session must not be negative")


def check_hook(hook: CampaignHook, path: str) -> None:
    if hook.mode is not None and hook.mode not in HOOK_MODES:
        raise BadRequest(f"{path}.Mode must be one of {', '.join(HOOK_MODES)}")
    if hook.lambda_function_name is not None and not _LAMBDA_NAME.match(hook.lambda_function_name):
        raise BadRequest(f"{path}.LambdaFunctionName must be a Lambda function name or ARN")
    if hook.web_url is not None and not hook.web_url.startswith("https://"):
        raise BadRequest(f"{path}.WebUrl must be an https URL")


def check_delivery_uri(uri: str | None, path: str) -> None:
    if not uri:
        raise BadRequest(f"{path}.DeliveryUri is required")
    if uri.startswith("https://") and len(uri) > len("https://"):
        return
    if not _LAMBDA_NAME.match(uri):
        raise BadRequest(f"{path}.DeliveryUri must be a Lambda function name or ARN, or an https URL")


def check_delivery(
    messages: MessageConfiguration | None,
    templates: TemplateConfiguration | None,
    custom: CustomDeliveryConfiguration | None,
    prefix: str,
) -> None:
    """Something to send: a message or template for a channel, or a custom delivery; each well formed."""
    if custom is not None:
        check_delivery_uri(custom.delivery_uri, f"{prefix}CustomDeliveryConfiguration")
        for i, t in enumerate(custom.endpoint_types or []):
            if t not in ENDPOINT_TYPES:
                raise BadRequest(
                    f"{prefix}CustomDeliveryConfiguration.EndpointTypes[{i}] must be one of the channel types"
                )
    if messages is not None:
        check_messages(messages, f"{prefix}MessageConfiguration")
    has_message = messages is not None and any(
        getattr(messages, f) is not None
        for f in (
            "adm_message", "apns_message", "baidu_message", "custom_message", "default_message",
            "email_message", "gcm_message", "sms_message",
        )
    )  # fmt: skip
    has_template = templates is not None and any(
        ref is not None and ref.name
        for ref in (
            templates.email_template,
            templates.push_template,
            templates.sms_template,
            templates.in_app_template,
        )
    )
    if templates is not None and templates.voice_template is not None:
        raise BadRequest(f"{prefix}TemplateConfiguration.VoiceTemplate cannot be used by a campaign")
    if not (has_message or has_template or custom is not None):
        raise BadRequest(f"{prefix}MessageConfiguration must hold a message for a channel (or use a template)")


def check_messages(messages: MessageConfiguration, path: str) -> None:
    for name in ("adm_message", "apns_message", "baidu_message", "default_message", "gcm_message"):
        push: PushMessage | None = getattr(messages, name)
        if push is not None:
            if push.action is not None and push.action not in PUSH_ACTIONS:
                raise BadRequest(f"{path}.{wire_name(name)}.Action must be one of {', '.join(PUSH_ACTIONS)}")
            if push.time_to_live is not None and push.time_to_live < 0:
                raise BadRequest(f"{path}.{wire_name(name)}.TimeToLive must not be negative")
    sms = messages.sms_message
    if sms is not None and sms.message_type is not None and sms.message_type not in SMS_MESSAGE_TYPES:
        raise BadRequest(f"{path}.SMSMessage.MessageType must be one of {', '.join(SMS_MESSAGE_TYPES)}")
    custom = messages.custom_message
    if custom is not None and custom.data is not None and len(custom.data.encode()) > MAX_CUSTOM_DATA_BYTES:
        raise BadRequest(f"{path}.CustomMessage.Data must be at most 5 KB")


def template_refs(campaign: Campaign) -> list[tuple[str, str, str | None, str]]:
    """(template name, template type, version or None, field path) for every template the campaign names."""
    refs: list[tuple[str, str, str | None, str]] = []
    configs = [("TemplateConfiguration", campaign.template_configuration)] + [
        (f"AdditionalTreatments[{i}].TemplateConfiguration", t.template_configuration)
        for i, t in enumerate(campaign.additional_treatments)
    ]
    for path, config in configs:
        if config is None:
            continue
        for member, kind, ref in (
            ("EmailTemplate", "EMAIL", config.email_template),
            ("PushTemplate", "PUSH", config.push_template),
            ("SMSTemplate", "SMS", config.sms_template),
            ("InAppTemplate", "INAPP", config.in_app_template),
        ):
            if ref is not None and ref.name:
                refs.append((ref.name, kind, ref.version, f"{path}.{member}"))
    return refs
