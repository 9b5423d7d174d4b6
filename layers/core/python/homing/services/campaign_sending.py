"""One batch of a campaign run: every audience rule applied to each member, one dispatch, the tally.

Per member, in this order (docs/decisions.md, "Campaign sender"): opted out or inactive (skipped,
no event) → treatment or holdout → a message for the member's channel → the run's deadline →
quiet time → the campaign hook (FILTER) → one message per address → the caps → rendering → one
``Dispatcher.send_all`` for the batch. Each member considered gets one ``_campaign.send`` event with Pinpoint's
``campaign_send_status``, each attempted send also its channel's send event.

A retried batch is the same batch: deliveries are keyed by ``campaign_runs.delivery_key`` (the
ledger answers a key already sent with its recorded result, without sending), caps by ``SendKey``
(a send already counted proceeds), so it sends nothing twice and reports the same tally. The
collaborators are the small Protocols below; ``homing.bootstrap.campaign_sender`` wires the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from homing.adapters.campaign_hook import HookOutcome, HookRequest
from homing.adapters.dynamodb.caps import CapOutcome, SendKey
from homing.codec import build, dump, snake
from homing.domain import campaign_rules as rules
from homing.domain import campaign_sending as cs
from homing.domain.apps import App
from homing.domain.apps import CampaignHook as AppHook
from homing.domain.campaign_runs import HOLDOUT, BatchTally, CampaignRun, TreatmentTally, delivery_key
from homing.domain.campaigns import (
    Campaign,
    CampaignHook,
    MessageConfiguration,
    Schedule,
    TemplateConfiguration,
    wire_name,
)
from homing.domain.endpoints import Endpoint
from homing.domain.errors import HomingError, NotFound
from homing.domain.events import partition_key
from homing.domain.messages import EMAIL, Delivery, DeliveryResult
from homing.domain.messaging import (
    OUTCOME_UNKNOWN,
    PHONE_CHANNELS,
    ChannelMessage,
    TemplateContent,
    build_content,
    engagement_record,
    fit_record,
    phone_number,
    resolve_message,
    template_field,
)
from homing.domain.schedules import QuietTime, in_quiet_time, parse_quiet_time
from homing.domain.timestamps import parse_timestamp
from homing.observability import logger
from homing.services.messaging import TEMPLATE_TYPES, Channel, origination, template_content

# --- what this service needs from the other parts --------------------------------------------------


class Apps(Protocol):
    def require(self, app_id: str) -> App: ...


class Campaigns(Protocol):
    def version(self, app_id: str, campaign_id: str, version: int) -> Campaign:
        """The version a run delivers; NotFound once the campaign is deleted."""
        ...


class Channels(Protocol):
    def enabled(self, app_id: str) -> Mapping[str, Channel]: ...


class Templates(Protocol):
    def resolve(self, name: str, template_type: str, version: str | None = None) -> Any: ...


class Rendering(Protocol):
    def render(self, source: str, values: Mapping[str, Any]) -> str: ...

    def variables(
        self,
        endpoint: Endpoint | None,
        endpoint_id: str | None,
        substitutions: Mapping[str, Sequence[str]],
        defaults: Mapping[str, str],
    ) -> Mapping[str, Any]: ...


class Dispatcher(Protocol):
    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]: ...


class Ledger(Protocol):
    def recorded(self, key: str) -> bool:
        """Whether a send was made (or started) under the delivery key: a retried batch's earlier attempt."""
        ...


class Caps(Protocol):
    def count(self, app_id: str, send: SendKey, checks: tuple[rules.CapCheck, ...], now: datetime) -> CapOutcome: ...


class Hook(Protocol):
    def filter(self, request: HookRequest, endpoints: Mapping[str, Mapping[str, Any]]) -> HookOutcome: ...


class EventPublisher(Protocol):
    def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]: ...


# --- a campaign version, prepared once per warm instance -------------------------------------------

CAP_THREADS = 10  # as the dispatcher's: the HTTP pools hold 10 connections
VERSION_CACHE = 64  # (app, campaign, version) entries kept per warm instance


@dataclass(frozen=True)
class _Treatment:
    id: str  # "0", "1", …
    index: int  # campaign_rules.assign's answer for it
    messages: MessageConfiguration | None
    templates: TemplateConfiguration | None
    schedule: Schedule | None


@dataclass
class _Version:
    campaign: Campaign
    allocation: rules.Allocation
    treatments: dict[int, _Treatment]
    limits: rules.Limits | None
    ends: datetime | None


def _prepare(campaign: Campaign) -> _Version:
    treatments = {
        0: _Treatment("0", 0, campaign.message_configuration, campaign.template_configuration, campaign.schedule)
    }
    for i, t in enumerate(campaign.additional_treatments, start=1):
        own = t.message_configuration is not None or t.template_configuration is not None
        treatments[i] = _Treatment(
            t.id or str(i),
            i,
            t.message_configuration if own else campaign.message_configuration,
            t.template_configuration if own else campaign.template_configuration,
            t.schedule or campaign.schedule,
        )
    allocation = rules.Allocation(
        campaign.id, campaign.holdout_percent or 0, tuple(t.size_percent or 0 for t in campaign.additional_treatments)
    )
    cap = campaign.limits
    limits = (
        rules.Limits(cap.daily, cap.maximum_duration, cap.messages_per_second, cap.total, cap.session)
        if cap is not None
        else None
    )
    ends = None
    if campaign.schedule is not None and campaign.schedule.end_time:
        try:
            ends = parse_timestamp(campaign.schedule.end_time, "Schedule.EndTime")
        except HomingError:
            ends = None
    return _Version(campaign, allocation, treatments, limits, ends)


def _hook(hook: CampaignHook | AppHook | None) -> rules.HookSettings | None:
    return None if hook is None else rules.HookSettings(hook.lambda_function_name, hook.mode, hook.web_url)


def _quiet(start: str | None, end: str | None) -> QuietTime | None:
    try:
        return parse_quiet_time(start, end)
    except HomingError:  # a stored value the checks of its day let through: no quiet time
        return None


# --- one member through the rules -----------------------------------------------------------------


@dataclass
class _Member:
    """One audience member on its way: its treatment, the status once decided, the delivery if any."""

    endpoint_id: str
    endpoint: Endpoint
    channel: str
    treatment: _Treatment
    tally_key: str
    status: str | None = None
    message: ChannelMessage | None = None
    address: str = ""
    country: str | None = None
    delivery: Delivery | None = None


class CampaignSender:
    def __init__(
        self,
        *,
        apps: Apps,
        campaigns: Campaigns,
        channels: Channels,
        templates: Templates,
        rendering: Rendering,
        dispatcher: Dispatcher,
        caps: Caps,
        ledger: Ledger,
        hook: Hook,
        publisher: Callable[[], EventPublisher],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        account_id: str = "",
    ) -> None:
        self._apps, self._campaigns, self._channels, self._templates = apps, campaigns, channels, templates
        self._rendering, self._dispatcher, self._caps, self._hook = rendering, dispatcher, caps, hook
        self._ledger = ledger
        self._publisher, self._clock, self._account_id = publisher, clock, account_id
        self._versions: dict[tuple[str, str, int], _Version] = {}

    def _version(self, run: CampaignRun) -> _Version:
        key = (run.application_id, run.campaign_id, run.campaign_version)
        found = self._versions.get(key)
        if found is None:
            found = _prepare(self._campaigns.version(*key))
            if len(self._versions) >= VERSION_CACHE:
                self._versions.pop(next(iter(self._versions)))
            self._versions[key] = found
        return found

    def send(self, run: CampaignRun, members: list[dict[str, Any]], *, now: datetime | None = None) -> BatchTally:
        """Send one batch of ``run`` to ``members`` (audience-page members); what it came to, by treatment."""
        now = now or self._clock()
        tally = BatchTally()
        try:
            version = self._version(run)
            app = self._apps.require(run.application_id)
        except NotFound:  # the campaign or its app deleted since the run began: nothing more goes out
            logger.info("campaign gone: batch not sent", extra={"campaign_id": run.campaign_id})
            return tally
        batch = _Batch(self, run, version, app, now, tally)
        batch.run(members)
        return tally


class _Batch:
    """One call of ``CampaignSender.send``."""

    def __init__(
        self, svc: CampaignSender, run: CampaignRun, version: _Version, app: App, now: datetime, tally: BatchTally
    ) -> None:
        self.svc, self.run_, self.version, self.app, self.now, self.tally = svc, run, version, app, now, tally
        self.enabled = dict(svc._channels.enabled(run.application_id))
        settings = app.settings
        self.limits = rules.effective_limits(version.limits, rules.app_limits(settings))
        app_quiet = settings.quiet_time
        self.app_quiet = _quiet(app_quiet.start, app_quiet.end) if app_quiet is not None else None
        self.hook_function = rules.hook_function(_hook(version.campaign.hook), _hook(settings.campaign_hook))
        self.deadline = parse_timestamp(run.deadline, "deadline") if run.deadline else None
        self.events: list[tuple[str, bytes]] = []
        self.messages: dict[tuple[int, str], ChannelMessage | None] = {}
        self.now_ms = int(now.timestamp() * 1000)

    # -- the pipeline ------------------------------------------------------------------------------

    def run(self, raw_members: list[dict[str, Any]]) -> None:
        members: list[_Member] = []
        for raw in raw_members:
            try:
                member = self.admit(raw)
            except Exception as error:  # one bad endpoint must not stop the others
                self.unknown(raw, error)
                continue
            if member is not None:
                members.append(member)
        for step in (self.channel, self.expired, self.quiet):
            for m in members:
                if m.status is None:
                    self.guard(m, step)
        self.filter([m for m in members if m.status is None])
        self.deduplicate([m for m in members if m.status is None])
        self.count([m for m in members if m.status is None])
        for m in members:
            if m.status is None:
                self.guard(m, self.render)
        self.dispatch([m for m in members if m.status is None and m.delivery is not None])
        for m in members:
            self.record(m)
        self.publish()

    def guard(self, member: _Member, step: Callable[[_Member], None]) -> None:
        try:
            step(member)
        except Exception as error:  # a member's data no rule expected: UNKNOWN, the others go on
            logger.warning(
                "campaign member failed",
                extra={"campaign_id": self.run_.campaign_id, "step": step.__name__, "error": type(error).__name__},
            )
            member.status = cs.UNKNOWN

    def unknown(self, raw: Any, error: Exception) -> None:
        """A member that could not be read at all: counted UNKNOWN (default treatment's tally), no address logged."""
        logger.warning(
            "campaign member unreadable", extra={"campaign_id": self.run_.campaign_id, "error": type(error).__name__}
        )
        tally = self.tally.of("0")
        tally.produced += 1
        tally.statuses[cs.UNKNOWN] += 1
        endpoint_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(endpoint_id, str) and endpoint_id:
            channel = raw.get("channel_type")
            self.event(endpoint_id, self.version.treatments[0], str(channel or ""), cs.UNKNOWN, None)

    def admit(self, raw: dict[str, Any]) -> _Member | None:
        """Opted out or inactive: skipped (no event). Otherwise the member's treatment, or the holdout."""
        body = raw.get("endpoint") if isinstance(raw, dict) else None
        if not isinstance(body, dict):
            raise ValueError("a member without its endpoint")
        endpoint = build(Endpoint, body, key_of=snake)
        if not endpoint.id:
            raise ValueError("a member without an id")
        index = rules.assign(self.version.allocation, endpoint.id)
        treatment = self.version.treatments.get(max(index, 0), self.version.treatments[0])
        key = HOLDOUT if index == rules.HOLDOUT else treatment.id
        tally = self.tally.of(key)
        tally.produced += 1
        reason = rules.exclusion(body)
        if reason is not None:
            tally.skipped[reason] += 1
            return None
        member = _Member(endpoint.id, endpoint, endpoint.channel_type or "", treatment, key)
        if index == rules.HOLDOUT:
            tally.skipped[rules.TREATMENT_HOLDOUT] += 1
            member.status = cs.HOLDOUT
        return member

    def channel(self, m: _Member) -> None:
        """A message for the member's channel, on an enabled channel, to a usable address."""
        settings = self.enabled.get(m.channel)
        if m.channel not in cs.CAMPAIGN_CHANNELS or settings is None or not settings.enabled:
            m.status = cs.UNSUPPORTED_CHANNEL
            return
        message = self.message(m.treatment, m.channel)
        if message is None:  # a template it names is gone: not sent
            m.status = cs.FAILURE
            return
        if not message.has_content():
            m.status = cs.UNSUPPORTED_CHANNEL
            return
        address = m.endpoint.address or ""
        if m.channel in PHONE_CHANNELS:
            normal = phone_number(address)
            if normal is None:
                m.status = cs.FAILURE_PERMANENT
                return
            address, m.country = normal
        if not address.strip():
            m.status = cs.FAILURE_PERMANENT
            return
        m.message, m.address = message, address

    def expired(self, m: _Member) -> None:
        if self.deadline is not None and self.now > self.deadline and not self.sent_before(m):
            m.status = cs.EXPIRED

    def quiet(self, m: _Member) -> None:
        """The treatment's quiet time, else the campaign's, else the app's, in the endpoint's own time
        zone: the send is skipped (not deferred)."""
        quiet = None
        for schedule in (m.treatment.schedule, self.version.campaign.schedule):
            own = schedule.quiet_time if schedule is not None else None
            quiet = _quiet(own.start, own.end) if own is not None else None
            if quiet is not None:
                break
        if in_quiet_time(quiet or self.app_quiet, m.endpoint.demographic.timezone, self.now) and not self.sent_before(
            m
        ):
            m.status = cs.QUIET_TIME

    def sent_before(self, m: _Member) -> bool:
        """A time rule that skips the member now, on a retry, must not undo what an earlier attempt of
        the batch sent: a key already in the ledger goes on (the dispatcher answers its recorded result)."""
        return self.svc._ledger.recorded(delivery_key(self.run_, m.treatment.id, m.endpoint_id))

    def filter(self, members: list[_Member]) -> None:
        """The campaign hook (FILTER mode), once per treatment over its members: dropped endpoints are
        not sent; members of a failed invocation are HOOK_FAILURE; kept ones carry the hook's changes."""
        if self.hook_function is None or not members:
            return
        by_treatment: dict[str, list[_Member]] = {}
        for m in members:
            by_treatment.setdefault(m.treatment.id, []).append(m)
        for treatment_id, group in by_treatment.items():
            treatment = group[0].treatment
            request = HookRequest(
                function_name=self.hook_function,
                application_id=self.run_.application_id,
                campaign_id=self.run_.campaign_id,
                treatment_id=treatment_id,
                activity_id=self.activity(treatment_id),
                scheduled_time=self.run_.run_at,
                message_configuration=dump(treatment.messages, key_of=wire_name) if treatment.messages else {},
            )
            by_id = {m.endpoint_id: m for m in group}
            try:
                outcome = self.svc._hook.filter(request, {i: cs.endpoint_json(m.endpoint) for i, m in by_id.items()})
            except Exception as error:  # fail closed: a filter may exist to keep messages from people
                logger.warning(
                    "campaign hook failed",
                    extra={"campaign_id": self.run_.campaign_id, "error": type(error).__name__},
                )
                outcome = HookOutcome(failed=list(by_id))
            for endpoint_id in outcome.failed:
                by_id[endpoint_id].status = cs.HOOK_FAILURE
            for endpoint_id in outcome.dropped:
                m = by_id[endpoint_id]
                m.status = ""  # filtered out: no send, no event
                self.tally.of(m.tally_key).skipped[cs.HOOK_FILTERED] += 1
            for endpoint_id, changed in outcome.kept.items():
                m = by_id[endpoint_id]
                try:
                    m.endpoint = build(Endpoint, changed)
                except HomingError:
                    m.status = cs.HOOK_FAILURE

    def deduplicate(self, members: list[_Member]) -> None:
        """Endpoints of the batch that share an address on one channel get one message: the first in
        the page sends, the others are DUPLICATE_ADDRESS (email addresses compared without case)."""
        seen: set[tuple[str, str]] = set()
        for m in members:
            key = (m.channel, m.address.lower() if m.channel == EMAIL else m.address)
            if key in seen:
                m.status = cs.DUPLICATE_ADDRESS
            seen.add(key)

    def count(self, members: list[_Member]) -> None:
        """The caps, one conditional transaction per member, ``CAP_THREADS`` at a time. A storage
        failure raises (after the others finish): the batch is retried and the markers count nothing twice."""
        if not members:
            return
        if not self.limits.daily and not self.limits.total and not (self.limits.session and self.run_.trigger):
            return  # no cap to count: nothing to write
        with ThreadPoolExecutor(max_workers=min(CAP_THREADS, len(members)), thread_name_prefix="caps") as pool:
            list(pool.map(self.capped, members))

    def capped(self, m: _Member) -> None:
        checks = rules.cap_checks(
            self.limits,
            campaign_id=self.run_.campaign_id,
            endpoint_id=m.endpoint_id,
            now=self.now,
            session_id=(self.run_.trigger or {}).get("session_id"),
            campaign_ends=self.version.ends,
        )
        send = SendKey(self.run_.campaign_id, self.run_.run_id, m.treatment.index, m.endpoint_id)
        outcome = self.svc._caps.count(self.run_.application_id, send, checks, self.now)
        if not outcome.may_send:
            m.status = cs.DAILY_CAP if outcome.scope == "daily" else cs.CAMPAIGN_CAP

    def render(self, m: _Member) -> None:
        message = m.message
        assert message is not None
        rendering = self.svc._rendering
        values = rendering.variables(m.endpoint, m.endpoint_id, message.substitutions, message.defaults)

        def fill(source: str | None) -> str | None:
            return None if source is None else rendering.render(source, values)

        content = build_content(message, origination(self.enabled[m.channel]), fill)
        m.delivery = Delivery(
            app_id=self.run_.application_id,
            channel=m.channel,
            address=m.address,
            key=delivery_key(self.run_, m.treatment.id, m.endpoint_id),
            content=content,
            endpoint_id=m.endpoint_id,
            context={
                "campaign_id": self.run_.campaign_id,
                "campaign_activity_id": self.activity(m.treatment.id),
                "treatment_id": m.treatment.id,
            },
        )

    def dispatch(self, members: list[_Member]) -> None:
        """One dispatch for the batch; the channels' send events for what was attempted."""
        if not members:
            return
        deliveries = [m.delivery for m in members if m.delivery is not None]
        try:
            results = self.svc._dispatcher.send_all(deliveries)
        except Exception:  # some may have gone: the retried batch finds them in the ledger
            logger.exception("campaign dispatch failed", extra={"campaign_id": self.run_.campaign_id})
            results = [OUTCOME_UNKNOWN] * len(deliveries)
        for m, result in zip(members, results, strict=True):
            m.status = cs.send_status(result)
            assert m.delivery is not None
            record = engagement_record(
                m.delivery,
                result,
                request_id=self.run_.run_id,
                now_ms=self.now_ms,
                account_id=self.svc._account_id,
                country=m.country,
            )
            if record is not None:
                self.put(m.endpoint_id, cs.with_campaign(record, m.delivery.context))

    # -- what is reported --------------------------------------------------------------------------

    def activity(self, treatment_id: str) -> str:
        activities = self.run_.activities
        return activities.get(treatment_id) or activities.get("0", "")

    def attributes(self, treatment_id: str, channel: str, status: str | None = None) -> dict[str, str]:
        return cs.campaign_attributes(self.run_.campaign_id, self.activity(treatment_id), treatment_id, channel, status)

    def record(self, m: _Member) -> None:
        if not m.status:  # filtered out by the hook
            return
        tally: TreatmentTally = self.tally.of(m.tally_key)
        tally.statuses[m.status] += 1
        if m.status == cs.SUCCESS:
            tally.successful += 1
        treatment = m.treatment if m.tally_key != HOLDOUT else self.version.treatments[0]
        self.event(m.endpoint_id, treatment, m.channel, m.status, m.endpoint)

    def event(
        self, endpoint_id: str, treatment: _Treatment, channel: str, status: str, endpoint: Endpoint | None
    ) -> None:
        try:
            shaped = cs.event_endpoint(endpoint) if endpoint is not None else None
        except Exception:
            shaped = None
        record = cs.campaign_send_record(
            app_id=self.run_.application_id,
            endpoint_id=endpoint_id,
            event_id=f"{delivery_key(self.run_, treatment.id, endpoint_id)}:_campaign.send",
            attributes=self.attributes(treatment.id, channel, status),
            endpoint=shaped,
            now_ms=self.now_ms,
            account_id=self.svc._account_id,
        )
        self.put(endpoint_id, record)

    def put(self, endpoint_id: str, record: dict[str, Any]) -> None:
        data = fit_record(record)
        if data is None:
            logger.warning("campaign event too large for the stream", extra={"campaign_id": self.run_.campaign_id})
            return
        self.events.append((partition_key(endpoint_id), data))

    def publish(self) -> None:
        """The batch's events; a failure is logged, never the batch's (its messages went out)."""
        if not self.events:
            return
        try:
            stored = self.svc._publisher().publish(self.events)
        except Exception:
            logger.exception("campaign events not stored", extra={"campaign_id": self.run_.campaign_id})
            return
        if not all(stored):
            logger.warning(
                "campaign events not stored",
                extra={"campaign_id": self.run_.campaign_id, "missing": stored.count(False)},
            )

    # -- messages ----------------------------------------------------------------------------------

    def message(self, treatment: _Treatment, channel: str) -> ChannelMessage | None:
        """The treatment's message for ``channel`` (its MessageConfiguration over its template), resolved
        once per batch (a template's active version may change between batches); None when a template
        it names cannot be read."""
        key = (treatment.index, channel)
        if key not in self.messages:
            try:
                self.messages[key] = self._resolve(treatment, channel)
            except _TemplateMissing:
                self.messages[key] = None
        return self.messages[key]

    def _resolve(self, treatment: _Treatment, channel: str) -> ChannelMessage:
        template: TemplateContent | None = None
        ref = cs.template_ref(treatment.templates, channel)
        if ref is not None:
            template_type = TEMPLATE_TYPES[template_field(channel)]
            try:
                record = self.svc._templates.resolve(ref.name or "", template_type, ref.version)
            except NotFound:
                logger.warning("campaign template not found", extra={"campaign_id": self.run_.campaign_id})
                raise _TemplateMissing() from None
            template = template_content(template_type, record)
        return resolve_message(channel, cs.direct_configuration(treatment.messages), template)


class _TemplateMissing(Exception):
    """A template the treatment names cannot be read (deleted since the campaign was written)."""
