"""Composition roots, one per function, each built once per cold start from that function's settings.

- ``services()``, the api function: apps, tags and endpoints are built eagerly; the event, analytics,
  event-stream, KPI and funnel services are built, and their modules imported, on first use: most API
  calls never need them, and importing them costs ~30 ms of the api function's cold start (target:
  300 ms of imports).
- ``processing()``, process_events: the processing service on the tables it touches (Apps, Analytics,
  EventStreams, Timelines) and nothing else.
- ``cleanup()``, clean_up_app: the clean-up service.
- ``audience_worker()``, resolve_audience: the audience service's workflow steps.
- ``campaign_runner()``, run_campaign: the campaign delivery workflow's begin, plan and finish steps.
- ``dispatcher()``, send_messages (and any function sending in-process, through
  ``build_dispatcher(SendSettings.from_env())``): every channel's sender behind the idempotent dispatcher.
- ``campaign_sender()``, send_batch: one batch of a campaign run (``CampaignSender``), sending
  in-process through the dispatcher, on Apps, Campaigns, Templates, Channels, Caps and the ledger.
- ``receipts()``, record_receipts, and ``inbound_sms()``, receive_sms: delivery receipts and inbound
  SMS, writing endpoints (Apps, Endpoints, Catalog; receive_sms also TwoWaySms) and the events stream.

Each binds only the tables its function was given (homing.adapters.dynamodb.tables).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING

from homing.adapters.dynamodb.apps import AppRepository
from homing.adapters.dynamodb.event_streams import EventStreamRepository
from homing.adapters.dynamodb.tables import bind_tables
from homing.settings import (
    ApiSettings,
    AudienceSettings,
    CampaignSendSettings,
    CleanupSettings,
    ProcessingSettings,
    ReceiptSettings,
    RunSettings,
    SendSettings,
)

if TYPE_CHECKING:
    from homing.adapters.dynamodb.analytics import AnalyticsRepository
    from homing.adapters.streams import KinesisPublisher
    from homing.adapters.workflows import StateMachine
    from homing.domain.campaigns import Campaign
    from homing.domain.channels import Channel
    from homing.domain.messages import Sender
    from homing.services.audiences import AudienceService
    from homing.services.campaign_runs import CampaignArming, CampaignRunner
    from homing.services.campaign_sending import CampaignSender
    from homing.services.campaign_triggers import CampaignTriggers
    from homing.services.campaigns import CampaignService
    from homing.services.channels import ChannelService
    from homing.services.cleanup import CleanupService, CleanupStarter
    from homing.services.delivery import Dispatcher
    from homing.services.endpoints import EndpointService
    from homing.services.event_streams import EventStreamService
    from homing.services.events import EventPublisher, EventService
    from homing.services.funnels import FunnelService
    from homing.services.jobs import ImportedMembers, JobService
    from homing.services.kpis import KpiService
    from homing.services.messaging import MessagingService
    from homing.services.otp import OtpService
    from homing.services.phone_numbers import PhoneNumberService
    from homing.services.processing import ProcessingService
    from homing.services.receipts import ReceiptService
    from homing.services.segments import SegmentService
    from homing.services.templates import TemplateService
    from homing.services.two_way_sms import Dispatcher as Replies
    from homing.services.two_way_sms import InboundSmsService, TwoWaySmsService
    from homing.settings import CampaignWorkflowSettings


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """The api function's services."""

    def __init__(self, settings: ApiSettings) -> None:
        # Imported here, not at the top: process_events and clean_up_app import this module too.
        from homing.adapters.dynamodb.catalog import CatalogRepository
        from homing.adapters.dynamodb.endpoints import EndpointRepository
        from homing.services.apps import AppService
        from homing.services.endpoints import EndpointService
        from homing.services.tags import TagService

        bind_tables(settings.tables, settings.region)
        self.settings = settings
        self._catalog = CatalogRepository()
        self._event_stream_repo = EventStreamRepository()
        endpoints_repo = EndpointRepository()
        self._app_repo = AppRepository()
        self.apps = AppService(
            self._app_repo,
            arn_prefix=settings.resource_arn_prefix,
            clock=_utc_now,
            cleanup=_LazyCleanup(self),
        )
        self.tags = TagService(self.apps, arn_prefix=settings.resource_arn_prefix)
        self.endpoints = EndpointService(
            self.apps, endpoints_repo, self._catalog, clock=_utc_now, forget_activity=self._forget_activity
        )

    def _forget_activity(self, app_id: str, endpoint_ids: list[str], user_id: str) -> None:
        """DeleteUserEndpoints: the user's analytics activity goes with the endpoints."""
        self.analytics.delete_activity(app_id, endpoint_ids, user_id)

    @cached_property
    def cleanup_starter(self) -> CleanupStarter:
        from homing.adapters.queues import SqsQueue
        from homing.services.cleanup import CleanupStarter

        return CleanupStarter(SqsQueue(self.settings.cleanup_queue_url))

    @cached_property
    def analytics(self) -> AnalyticsRepository:
        from homing.adapters.dynamodb.analytics import AnalyticsRepository

        return AnalyticsRepository()

    @cached_property
    def events(self) -> EventService:
        from homing.services.events import EventService

        publisher: list[EventPublisher] = []

        def events_stream() -> EventPublisher:
            """Created on first PutEvents, so the other API calls do not pay for a Kinesis client."""
            if not publisher:
                from homing.adapters.streams import KinesisPublisher

                publisher.append(KinesisPublisher(self.settings.event_stream_name))
            return publisher[0]

        return EventService(self.apps, self.endpoints, self._catalog, events_stream, clock=_utc_now)

    @cached_property
    def two_way_sms(self) -> TwoWaySmsService:
        from homing.adapters.dynamodb.two_way_sms import TwoWaySmsRepository
        from homing.services.two_way_sms import TwoWaySmsService

        return TwoWaySmsService(self.apps, TwoWaySmsRepository(), clock=_utc_now)

    @cached_property
    def event_streams(self) -> EventStreamService:
        from homing.services.event_streams import EventStreamService

        return EventStreamService(
            self.apps,
            self._event_stream_repo,
            clock=_utc_now,
            allowed_accounts=self.settings.allowed_event_stream_accounts,
        )

    @cached_property
    def segments(self) -> SegmentService:
        from homing.adapters.dynamodb.campaigns import CampaignRepository
        from homing.adapters.dynamodb.segments import SegmentRepository
        from homing.services.segments import SegmentService

        # DeleteSegment is refused while a campaign uses the segment (the campaigns' usage markers).
        return SegmentService(
            self.apps,
            SegmentRepository(CampaignRepository()),
            arn_prefix=self.settings.resource_arn_prefix,
            clock=_utc_now,
        )

    @cached_property
    def campaigns(self) -> CampaignService:
        from homing.adapters.dynamodb.campaigns import CampaignRepository
        from homing.services.campaigns import CampaignService

        return CampaignService(
            self.apps,
            CampaignRepository(),
            self.segments,
            self.templates,
            arn_prefix=self.settings.resource_arn_prefix,
            clock=_utc_now,
            scheduling=_campaign_arming(self.settings.campaigns),
        )

    @cached_property
    def audiences(self) -> AudienceService:
        from homing.adapters.workflows import StateMachine

        arn = self.settings.audience_state_machine_arn
        return _audience_service(
            self.segments, self.settings.audience_bucket, StateMachine(arn) if arn else None, self.imported_members
        )

    @cached_property
    def imported_members(self) -> ImportedMembers:
        """Who is in an IMPORT segment: what its import registered (the Jobs table)."""
        return _imported_members()

    @cached_property
    def channels(self) -> ChannelService:
        from homing.adapters.credentials import KmsSealer
        from homing.adapters.dynamodb.channels import ChannelRepository
        from homing.adapters.push import PlatformApplications
        from homing.services.channels import ChannelService

        return ChannelService(
            self.apps,
            ChannelRepository(),
            KmsSealer(self.settings.data_key_arn),
            PlatformApplications(),
            clock=_utc_now,
        )

    @cached_property
    def kpis(self) -> KpiService:
        from homing.services.kpis import KpiService

        return KpiService(self.apps, self.analytics, clock=_utc_now)

    @cached_property
    def funnels(self) -> FunnelService:
        from homing.services.funnels import FunnelService

        return FunnelService(self.apps, self.analytics, clock=_utc_now)

    @cached_property
    def jobs(self) -> JobService:
        from homing.adapters.dynamodb.audiences import AudienceSource
        from homing.adapters.dynamodb.jobs import JobRepository
        from homing.adapters.queues import SqsQueue
        from homing.adapters.s3 import JobFiles
        from homing.services.jobs import JobService

        return JobService(
            self.apps,
            self.endpoints,
            JobRepository(),
            JobFiles(),
            SqsQueue(self.settings.jobs_queue_url),
            clock=_utc_now,
            buckets=self.settings.job_buckets,
            segments=self.segments,
            source=AudienceSource(),
            members=self.imported_members,
        )

    @cached_property
    def phone_numbers(self) -> PhoneNumberService:
        from homing.services.phone_numbers import PhoneNumberService

        return PhoneNumberService()

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """The senders behind the idempotent dispatcher, in-process (SendMessages, OTP): the api function
        has the senders' grants, the DeliveryLedger table and ``SMS_CARRIER``, as send_messages has."""
        return build_dispatcher(SendSettings.from_env())

    @cached_property
    def otp(self) -> OtpService:
        """SendOTPMessage / VerifyOTPMessage: codes in the Otp table, MACed with the OTP key (KMS)."""
        from homing.adapters.dynamodb.otp import OtpRepository
        from homing.adapters.kms import KmsMac
        from homing.services.otp import OtpService

        return OtpService(
            self.apps,
            OtpRepository(),
            KmsMac(self.settings.otp_key_id),
            channels=self.channels,
            dispatcher=self.dispatcher,
            clock=_utc_now,
        )

    @cached_property
    def templates(self) -> TemplateService:
        from homing.adapters.dynamodb.templates import TemplateRepository
        from homing.services.templates import TemplateService

        return TemplateService(TemplateRepository(), arn_prefix=self.settings.resource_arn_prefix, clock=_utc_now)

    @cached_property
    def events_publisher(self) -> EventPublisher:
        """The events stream's publisher, for the send events of direct messages."""
        from homing.adapters.streams import KinesisPublisher

        return KinesisPublisher(self.settings.event_stream_name)

    @cached_property
    def messaging(self) -> MessagingService:
        """SendMessages and SendUsersMessages, rendering with ``homing.domain.rendering`` and sending
        in-process through the senders' idempotent dispatcher."""
        from homing.domain import rendering
        from homing.services.messaging import MessagingService

        return MessagingService(
            self.apps,
            self.endpoints,
            templates=self.templates,
            channels=self.channels,
            rendering=rendering,
            dispatcher=self.dispatcher,
            publisher=lambda: self.events_publisher,
            clock=_utc_now,
            account_id=self.settings.resource_arn_prefix.rsplit(":", 1)[-1],
        )


class _LazyCleanup:
    """DeleteApp's CleanupScheduler: the clean-up module is imported only when an app is deleted."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def schedule(self, app_id: str) -> None:
        self._services.cleanup_starter.schedule(app_id)


def _imported_members() -> ImportedMembers:
    from homing.adapters.dynamodb.jobs import JobRepository
    from homing.services.jobs import ImportedMembers

    return ImportedMembers(JobRepository())


def _audience_service(
    segments: SegmentService, bucket: str, workflow: StateMachine | None, imported: ImportedMembers
) -> AudienceService:
    from homing.adapters.audience_store import AudienceStore
    from homing.adapters.dynamodb.audiences import AudienceSource
    from homing.services.audiences import AudienceService

    return AudienceService(
        segments, AudienceSource(), AudienceStore(bucket), workflow, clock=_utc_now, imported=imported
    )


class _NoCleanup:
    """resolve_audience (and the receipt functions) never delete an app."""

    def __init__(self, function: str = "resolve_audience") -> None:
        self._function = function

    def schedule(self, app_id: str) -> None:
        raise NotImplementedError(f"{self._function} does not delete apps")


def build_audience_worker(settings: AudienceSettings) -> AudienceService:
    """resolve_audience: reads Apps, Segments, Endpoints, Analytics and Jobs (imported segments' members);
    writes the audience bucket."""
    from homing.adapters.dynamodb.segments import SegmentRepository
    from homing.services.apps import AppService
    from homing.services.segments import SegmentService

    bind_tables(settings.tables, settings.region)
    apps = AppService(AppRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now, cleanup=_NoCleanup())
    segments = SegmentService(apps, SegmentRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now)
    return _audience_service(segments, settings.audience_bucket, None, _imported_members())


def _campaign_arming(settings: CampaignWorkflowSettings) -> CampaignArming | None:
    """Campaign runs armed on EventBridge Scheduler and started on the delivery workflow; None where
    the deployment has no workflow (campaigns are then stored but never run)."""
    if not settings.configured:
        return None
    from homing.adapters.schedules import CampaignSchedules, WorkflowTarget
    from homing.adapters.workflows import StateMachine
    from homing.services.campaign_runs import CampaignArming

    target = WorkflowTarget(settings.delivery_state_machine_arn, settings.scheduler_role_arn)
    return CampaignArming(
        CampaignSchedules(target, settings.schedule_group),
        StateMachine(settings.delivery_state_machine_arn),
        clock=_utc_now,
    )


class _NoTemplates:
    """run_campaign never writes a campaign, so it never checks a template."""

    def resolve(self, name: str, template_type: str, version: str | None = None) -> object:
        raise NotImplementedError("run_campaign does not write campaigns")


def build_campaign_runner(settings: RunSettings) -> CampaignRunner:
    """run_campaign: reads Apps, Segments (and Jobs for imported segments), reads and writes Campaigns
    (activities, state); the audience bucket; arms the next run on Scheduler."""
    from homing.adapters.audience_store import AudienceStore
    from homing.adapters.dynamodb.campaigns import CampaignRepository
    from homing.adapters.dynamodb.segments import SegmentRepository
    from homing.services.apps import AppService
    from homing.services.campaign_runs import CampaignRunner
    from homing.services.campaigns import CampaignService
    from homing.services.segments import SegmentService

    bind_tables(settings.tables, settings.region)
    arn_prefix = settings.resource_arn_prefix
    apps = AppService(AppRepository(), arn_prefix=arn_prefix, clock=_utc_now, cleanup=_NoCleanup("run_campaign"))
    segments = SegmentService(apps, SegmentRepository(), arn_prefix=arn_prefix, clock=_utc_now)
    campaigns = CampaignService(
        apps, CampaignRepository(), segments, _NoTemplates(), arn_prefix=arn_prefix, clock=_utc_now
    )
    triggers = _campaign_arming(settings.campaigns)
    if triggers is None:
        raise ValueError("run_campaign needs the campaign workflow's settings (CAMPAIGN_SCHEDULE_GROUP, ...)")
    audiences = _audience_service(segments, settings.audience_bucket, None, _imported_members())
    return CampaignRunner(apps, campaigns, audiences, AudienceStore(settings.audience_bucket), triggers, clock=_utc_now)


def build_services(settings: ApiSettings) -> Services:
    return Services(settings)


def build_processing(settings: ProcessingSettings) -> ProcessingService:
    """process_events: count into Analytics and Timelines, forward to EventStreams' targets, skip deleted apps,
    and start event-triggered campaigns' sends (reads Campaigns, invokes send_batch) when it is given both."""
    from homing.adapters.dynamodb.analytics import AnalyticsRepository
    from homing.adapters.dynamodb.tables import CAMPAIGNS
    from homing.adapters.streams import StreamForwarder
    from homing.services.event_streams import stream_target
    from homing.services.processing import ProcessingService

    bind_tables(settings.tables, settings.region)
    streams, allowed = EventStreamRepository(), settings.allowed_event_stream_accounts
    triggers = None
    if settings.campaign_sender_function and CAMPAIGNS in settings.tables:
        from homing.adapters.dynamodb.campaigns import CampaignRepository
        from homing.adapters.functions import AsyncInvoker
        from homing.services.campaign_triggers import CampaignTriggers

        triggers = CampaignTriggers(
            CampaignRepository(), clock=_utc_now, invoker=AsyncInvoker(settings.campaign_sender_function)
        )
    return ProcessingService(
        AnalyticsRepository(),
        StreamForwarder(lambda app_id: stream_target(streams, app_id, allowed)),
        clock=_utc_now,
        funnel_timelines=settings.funnel_timelines,
        live_apps=AppRepository().live,
        triggers=triggers,
    )


def build_cleanup(settings: CleanupSettings) -> CleanupService:
    from homing.adapters.dynamodb.erasure import AppDataEraser
    from homing.adapters.queues import SqsQueue
    from homing.services.cleanup import CleanupService

    bind_tables(settings.tables, settings.region)
    audiences = None
    if settings.audience_bucket:
        from homing.adapters.audience_store import AudienceStore
        from homing.domain.audiences import app_prefix

        store = AudienceStore(settings.audience_bucket)

        def audiences(app_id: str, limit: int) -> int:
            return store.delete_prefix(app_prefix(app_id), limit)

    from homing.adapters.push import PlatformApplications

    return CleanupService(
        AppRepository(),
        AppDataEraser(audiences=audiences, platform_applications=PlatformApplications().delete),
        SqsQueue(settings.cleanup_queue_url),
        clock=_utc_now,
        grace=timedelta(seconds=settings.cleanup_grace_seconds),
    )


def _receipt_parts(settings: ReceiptSettings) -> tuple[KinesisPublisher, EndpointService]:
    """The events stream publisher and the endpoint service that receipts and inbound SMS write through."""
    from homing.adapters.dynamodb.catalog import CatalogRepository
    from homing.adapters.dynamodb.endpoints import EndpointRepository
    from homing.adapters.streams import KinesisPublisher
    from homing.services.apps import AppService
    from homing.services.endpoints import EndpointService

    bind_tables(settings.tables, settings.region)
    apps = AppService(
        AppRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now, cleanup=_NoCleanup("receipts")
    )
    endpoints = EndpointService(apps, EndpointRepository(), CatalogRepository(), clock=_utc_now)
    return KinesisPublisher(settings.event_stream_name), endpoints


def build_receipts(settings: ReceiptSettings) -> ReceiptService:
    """record_receipts: receipts to the events stream; hard bounces and complaints deactivate."""
    from homing.services.receipts import ReceiptService

    publisher, endpoints = _receipt_parts(settings)
    return ReceiptService(publisher, endpoints, clock=_utc_now)


def build_inbound_sms(settings: ReceiptSettings, replies: Callable[[], Replies] | None = None) -> InboundSmsService:
    """receive_sms: opt-outs, keyword replies, events and forwarding for inbound messages. Replies go
    through the idempotent dispatcher (built on first reply, from send settings in the environment)."""
    from homing.adapters.dynamodb.two_way_sms import TwoWaySmsRepository
    from homing.adapters.topics import SnsTopics
    from homing.services.two_way_sms import InboundSmsService

    publisher, endpoints = _receipt_parts(settings)
    return InboundSmsService(
        TwoWaySmsRepository(), endpoints, publisher, SnsTopics(), replies or dispatcher, clock=_utc_now
    )


@cache
def receipts() -> ReceiptService:
    """record_receipts' service, built from the environment on first use (cold start)."""
    return build_receipts(ReceiptSettings.from_env())


@cache
def inbound_sms() -> InboundSmsService:
    """receive_sms' service, built from the environment on first use (cold start)."""
    return build_inbound_sms(ReceiptSettings.from_env())


@cache
def services() -> Services:
    """The api function's services, built from the environment on first use (cold start)."""
    return build_services(ApiSettings.from_env())


@cache
def processing() -> ProcessingService:
    """process_events' service, built from the environment on first use (cold start)."""
    return build_processing(ProcessingSettings.from_env())


@cache
def cleanup() -> CleanupService:
    """clean_up_app's service, built from the environment on first use (cold start)."""
    return build_cleanup(CleanupSettings.from_env())


@cache
def campaign_runner() -> CampaignRunner:
    """run_campaign's runner, built from the environment on first use (cold start)."""
    return build_campaign_runner(RunSettings.from_env())


@cache
def audience_worker() -> AudienceService:
    """resolve_audience's service, built from the environment on first use (cold start)."""
    return build_audience_worker(AudienceSettings.from_env())


def build_senders(settings: SendSettings) -> dict[str, Sender]:
    """Channel type -> its sender: SES for email, End User Messaging (or SNS, by ``sms_carrier``) for
    SMS, End User Messaging for voice, SNS mobile push for every push channel, Lambda/HTTPS for custom.
    One client per carrier, shared by the dispatcher's threads (boto3 clients are thread-safe)."""
    from homing.adapters.senders.custom import CustomSender
    from homing.adapters.senders.ses import SesEmailSender
    from homing.adapters.senders.sms_voice import EndUserMessagingSender
    from homing.adapters.senders.sns import SnsPushSender, SnsSmsSender
    from homing.domain import messages

    end_user_messaging = EndUserMessagingSender()
    push = SnsPushSender()
    senders: dict[str, Sender] = {
        messages.EMAIL: SesEmailSender(),
        messages.SMS: SnsSmsSender(push.client) if settings.sms_carrier == "sns" else end_user_messaging,
        messages.VOICE: end_user_messaging,
        messages.CUSTOM: CustomSender(),
    }
    senders.update(dict.fromkeys(messages.PUSH_CHANNELS, push))
    return senders


def build_dispatcher(settings: SendSettings) -> Dispatcher:
    """The senders behind the idempotent dispatcher, on the DeliveryLedger table."""
    from homing.adapters.dynamodb.deliveries import DeliveryLedger
    from homing.services.delivery import Dispatcher

    bind_tables(settings.tables, settings.region)
    return Dispatcher(build_senders(settings), DeliveryLedger(), clock=_utc_now)


@cache
def dispatcher() -> Dispatcher:
    """send_messages' dispatcher, built from the environment on first use (cold start)."""
    return build_dispatcher(SendSettings.from_env())


class _CampaignVersions:
    """The version a run delivers, read from the Campaigns table; NotFound once the campaign is deleted
    (send_batch has no Segments table, so no CampaignService)."""

    def __init__(self) -> None:
        from homing.adapters.dynamodb.campaigns import CampaignRepository

        self._repo = CampaignRepository()

    def version(self, app_id: str, campaign_id: str, version: int) -> Campaign:
        from homing.domain.errors import NotFound

        found = self._repo.get_version(app_id, campaign_id, version) if self._repo.get(app_id, campaign_id) else None
        if found is None:
            raise NotFound(f"Campaign {campaign_id} has no version {version}")
        return found


class _EnabledChannels:
    """The app's enabled channels, read from the Channels table (no credentials are unsealed)."""

    def __init__(self) -> None:
        from homing.adapters.dynamodb.channels import ChannelRepository

        self._repo = ChannelRepository()

    def enabled(self, app_id: str) -> dict[str, Channel]:
        return {c.channel_type: c for c in self._repo.all(app_id) if c.enabled}


def build_campaign_sender(settings: CampaignSendSettings) -> CampaignSender:
    """send_batch: reads Apps, Campaigns, Templates, Channels; counts in Caps; sends through the
    dispatcher (DeliveryLedger); puts the send events on the events stream."""
    from homing.adapters.campaign_hook import CampaignHookInvoker
    from homing.adapters.dynamodb.caps import CapCounter
    from homing.adapters.dynamodb.deliveries import DeliveryLedger
    from homing.adapters.dynamodb.templates import TemplateRepository
    from homing.adapters.streams import KinesisPublisher
    from homing.domain import rendering
    from homing.services.apps import AppService
    from homing.services.campaign_sending import CampaignSender
    from homing.services.templates import TemplateService

    bind_tables(settings.tables, settings.region)
    apps = AppService(
        AppRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now, cleanup=_NoCleanup("send_batch")
    )
    publisher = KinesisPublisher(settings.event_stream_name)
    dispatcher = build_dispatcher(settings.send)
    return CampaignSender(
        apps=apps,
        campaigns=_CampaignVersions(),
        channels=_EnabledChannels(),
        templates=TemplateService(TemplateRepository(), arn_prefix=settings.resource_arn_prefix, clock=_utc_now),
        rendering=rendering,
        dispatcher=dispatcher,
        caps=CapCounter(),
        ledger=DeliveryLedger(),
        hook=CampaignHookInvoker(),
        publisher=lambda: publisher,
        clock=_utc_now,
        account_id=settings.resource_arn_prefix.rsplit(":", 1)[-1],
    )


@cache
def campaign_sender() -> CampaignSender:
    """send_batch's sender, built from the environment on first use (cold start)."""
    return build_campaign_sender(CampaignSendSettings.from_env())


def build_event_triggers(settings: CampaignSendSettings, sender: CampaignSender) -> CampaignTriggers:
    """send_batch's event-triggered sends: also reads Endpoints, Segments and Analytics (Recency), and
    writes the day's activities and their counts in Campaigns."""
    from homing.adapters.dynamodb.audiences import AudienceSource
    from homing.adapters.dynamodb.campaigns import CampaignRepository
    from homing.adapters.dynamodb.endpoints import EndpointRepository
    from homing.adapters.dynamodb.segments import SegmentRepository
    from homing.adapters.dynamodb.templates import TemplateRepository
    from homing.services.apps import AppService
    from homing.services.campaign_triggers import CampaignTriggers
    from homing.services.campaigns import CampaignService
    from homing.services.segments import SegmentService
    from homing.services.templates import TemplateService

    bind_tables(settings.tables, settings.region)
    arn_prefix = settings.resource_arn_prefix
    apps = AppService(AppRepository(), arn_prefix=arn_prefix, clock=_utc_now, cleanup=_NoCleanup("send_batch"))
    segments = SegmentService(apps, SegmentRepository(), arn_prefix=arn_prefix, clock=_utc_now)
    templates = TemplateService(TemplateRepository(), arn_prefix=arn_prefix, clock=_utc_now)
    repo = CampaignRepository()
    return CampaignTriggers(
        repo,
        clock=_utc_now,
        activities=CampaignService(apps, repo, segments, templates, arn_prefix=arn_prefix, clock=_utc_now),
        endpoints=EndpointRepository(),
        segments=segments.resolver,
        activity_days=AudienceSource(),
        sender=sender,
    )


@cache
def event_triggers() -> CampaignTriggers:
    """send_batch's event-triggered sends (action "trigger"), with its sender; built on first use."""
    return build_event_triggers(CampaignSendSettings.from_env(), campaign_sender())
