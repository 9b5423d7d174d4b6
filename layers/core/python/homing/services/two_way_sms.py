"""Two-way SMS: each app's configuration (Homing's REST extension) and the handling of inbound
messages (End User Messaging -> SNS -> receive_sms): opt-outs, keyword replies, events, forwarding.

An inbound message is handled once: a marker keyed by its ``inboundMessageId`` is claimed first
(conditional put) and released again if handling fails, so SNS's and Lambda's retries do the work
again while a replay of a message already handled does nothing. Each step is idempotent besides:
the opt-out is a conditional write that changes nothing the second time, and a reply's delivery
key is derived from the inbound message id (the dispatcher never sends one key twice).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from homing.adapters.dynamodb.common import WriteConflict
from homing.adapters.dynamodb.two_way_sms import TwoWaySmsRepository
from homing.domain.errors import BadRequest, Conflict, NotFound
from homing.domain.events import encode_record, partition_key
from homing.domain.messages import SMS, VOICE, Delivery, DeliveryResult, SmsContent
from homing.domain.timestamps import iso_now
from homing.domain.two_way_sms import (
    OPTOUT_EVENT,
    RECEIVED_EVENT,
    STOP,
    InboundMessage,
    TwoWayConfig,
    classify,
    inbound_record,
    parse_inbound,
    validate_config,
)
from homing.observability import logger
from homing.services.apps import AppService
from homing.services.receipts import AddressMarker, NotStored, Publisher
from homing.services.retry import WRITE_ATTEMPTS

INBOUND_MARKER_DAYS = 7  # SNS and Lambda retry for hours at most; replays older than this are new
OPT_OUT_ALL = "ALL"


class Dispatcher(Protocol):
    """The idempotent dispatcher (issue 9 part S): sends each delivery once per key."""

    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]: ...


class Topics(Protocol):
    def publish(self, topic_arn: str, message: str, attributes: dict[str, str]) -> None: ...


class TwoWaySmsService:
    """GET/PUT/DELETE /v1/apps/{app}/two-way-sms: the app's numbers, keywords and forwarding topic."""

    def __init__(self, apps: AppService, repo: TwoWaySmsRepository, *, clock: Callable[[], datetime]) -> None:
        self._apps, self._repo, self._clock = apps, repo, clock

    def get(self, app_id: str) -> TwoWayConfig:
        self._apps.require(app_id)
        config = self._repo.get(app_id)
        if config is None:
            raise NotFound(f"Application {app_id} has no two-way SMS configuration")
        return config

    def put(self, app_id: str, wanted: TwoWayConfig) -> TwoWayConfig:
        """Replace the configuration: conditional on the version read, each new number claimed only if
        no other app holds it (400 naming it otherwise); re-planned on a race, then 409."""
        validate_config(wanted)
        self._apps.require(app_id)
        for _ in range(WRITE_ATTEMPTS):
            before = self._repo.get(app_id)
            held = set(before.numbers) if before else set()
            for i, number in enumerate(wanted.numbers):
                if number not in held and self._repo.owner(number) not in (None, app_id):
                    raise BadRequest(f"Numbers[{i}] belongs to another application")
            config = replace(
                wanted,
                application_id=app_id,
                last_modified_date=iso_now(self._clock()),
                version=(before.version if before else 0) + 1,
            )
            try:
                self._repo.put(config, before)
            except WriteConflict:
                continue
            return config
        raise Conflict("The two-way SMS configuration changed concurrently; nothing was written, retry the request")

    def delete(self, app_id: str) -> TwoWayConfig:
        self._apps.require(app_id)
        for _ in range(WRITE_ATTEMPTS):
            before = self.get(app_id)
            try:
                self._repo.delete(before)
            except WriteConflict:
                continue
            return before
        raise Conflict("The two-way SMS configuration changed concurrently; nothing was deleted, retry the request")


class InboundSmsService:
    """receive_sms: one inbound message (the SNS notification's payload)."""

    def __init__(
        self,
        repo: TwoWaySmsRepository,
        endpoints: AddressMarker,
        publisher: Publisher,
        topics: Topics,
        dispatcher: Callable[[], Dispatcher],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._repo, self._endpoints, self._publisher, self._topics = repo, endpoints, publisher, topics
        self._dispatcher, self._clock = dispatcher, clock

    def receive(self, raw: Mapping[str, Any]) -> str:
        """Returns what was done: STOP, HELP, KEYWORD, NONE, ``replay`` or ``unclaimed`` (a number no
        app configured). ValueError for a payload that is not an inbound message."""
        message = parse_inbound(raw)
        app_id = self._repo.owner(message.destination_number)
        if app_id is None:
            logger.warning("inbound SMS to a number no application claims")
            return "unclaimed"
        config = self._repo.get(app_id) or TwoWayConfig(app_id)
        now = self._clock()
        if not self._repo.claim_inbound(message.inbound_message_id, app_id, now + timedelta(days=INBOUND_MARKER_DAYS)):
            return "replay"
        try:
            return self._handle(app_id, config, message, raw, now)
        except Exception:
            self._repo.release_inbound(message.inbound_message_id)
            raise

    def _handle(
        self, app_id: str, config: TwoWayConfig, message: InboundMessage, raw: Mapping[str, Any], now: datetime
    ) -> str:
        action, reply = classify(message, config)
        opted = []
        if action == STOP:
            opted = self._endpoints.mark_address(app_id, (SMS, VOICE), message.origination_number, opt_out=OPT_OUT_ALL)
        client_id = opted[0].id if opted else self._sender_id(app_id, message.origination_number)
        ms = int(now.timestamp() * 1000)
        events = [RECEIVED_EVENT] + ([OPTOUT_EVENT] if action == STOP else [])
        records = [
            inbound_record(message, action, event_type=e, app_id=app_id, client_id=client_id, timestamp_ms=ms)
            for e in events
        ]
        if not all(self._publisher.publish([(partition_key(client_id), encode_record(r)) for r in records])):
            raise NotStored("the events stream did not take the inbound message's records")
        if reply:
            delivery = Delivery(
                app_id=app_id,
                channel=SMS,
                address=message.origination_number,
                key=f"two-way-sms:{message.inbound_message_id}",
                content=SmsContent(body=reply, origination_number=message.destination_number),
                endpoint_id=opted[0].id if opted else None,
            )
            result = self._dispatcher().send_all([delivery])[0]
            logger.info("keyword reply sent", extra={"application_id": app_id, "status": result.status})
        if config.forward_topic_arn:
            self._topics.publish(
                config.forward_topic_arn,
                json.dumps(dict(raw)),
                {"homing_application_id": app_id, "homing_keyword_action": action},
            )
        logger.info(
            "inbound SMS handled",
            extra={"application_id": app_id, "action": action, "opted_out": len(opted), "replied": bool(reply)},
        )
        return action

    @staticmethod
    def _sender_id(app_id: str, number: str) -> str:
        """A stable client id for a sender with no endpoint, without putting the number in it."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"homing:{app_id}:{number}"))
