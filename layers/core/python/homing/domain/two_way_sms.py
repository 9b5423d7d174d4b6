"""Two-way SMS, pure: an app's two-way configuration (a Homing extension; Pinpoint kept it on the
SMS channel's phone number), the inbound message End User Messaging publishes, and what to do with
it (opt out, answer HELP or a keyword, or only record and forward it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homing.domain.errors import BadRequest

# End User Messaging's default opt-out keywords (and Pinpoint's): any of them opts the sender out.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT-OUT", "OPT OUT", "ARRET", "REVOKE"}
)
HELP_KEYWORDS = frozenset({"HELP", "AIDE"})
STOP, HELP, KEYWORD, NONE = "STOP", "HELP", "KEYWORD", "NONE"
RECEIVED_EVENT = "_SMS.RECEIVED"  # Homing's: Pinpoint streamed no event for an inbound message
OPTOUT_EVENT = "_SMS.OPTOUT"

MAX_NUMBERS = 20
MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 30
MAX_REPLY_LENGTH = 1600  # ten SMS parts
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_KEYWORD = re.compile(r"^[A-Z0-9][A-Z0-9 _-]*$")
_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


@dataclass(frozen=True)
class TwoWayConfig:
    """An app's two-way SMS settings: its numbers, keyword replies and where inbound messages go."""

    application_id: str
    numbers: tuple[str, ...] = ()
    keywords: dict[str, str] = field(default_factory=dict)  # KEYWORD -> reply
    help_reply: str | None = None
    stop_reply: str | None = None
    forward_topic_arn: str | None = None
    last_modified_date: str = ""
    version: int = 0


@dataclass(frozen=True)
class InboundMessage:
    """One inbound SMS as End User Messaging publishes it to the two-way SNS topic
    (https://docs.aws.amazon.com/sms-voice/latest/userguide/two-way-sms-payload.html)."""

    origination_number: str  # the customer
    destination_number: str  # the app's number
    body: str
    inbound_message_id: str
    message_keyword: str | None = None
    previous_published_message_id: str | None = None


def normalize_keyword(text: str) -> str:
    """Keywords match the whole message, trimmed, case-insensitively, inner spaces collapsed,
    trailing punctuation ignored ("Stop." is STOP); "stop sending me ads" is not a keyword."""
    return " ".join(text.strip().rstrip(".!?").split()).upper()


def validate_config(config: TwoWayConfig) -> None:
    """400s naming the field (wire names, PascalCase)."""
    if len(config.numbers) > MAX_NUMBERS:
        raise BadRequest(f"Numbers can contain at most {MAX_NUMBERS} phone numbers")
    for i, number in enumerate(config.numbers):
        if not _E164.match(number):
            raise BadRequest(f"Numbers[{i}] must be a phone number in E.164 format (+ and 7 to 15 digits)")
    if len(set(config.numbers)) != len(config.numbers):
        raise BadRequest("Numbers must not repeat a phone number")
    if len(config.keywords) > MAX_KEYWORDS:
        raise BadRequest(f"Keywords can contain at most {MAX_KEYWORDS} keywords")
    for keyword, reply in config.keywords.items():
        if len(keyword) > MAX_KEYWORD_LENGTH or not _KEYWORD.match(keyword):
            raise BadRequest(
                f"Keywords.{keyword[:40]} must be 1 to {MAX_KEYWORD_LENGTH} upper-case letters, digits, spaces, - or _"
            )
        if keyword in OPT_OUT_KEYWORDS or keyword in HELP_KEYWORDS:
            raise BadRequest(f"Keywords.{keyword} is reserved: use StopReply or HelpReply")
        _check_reply(reply, f"Keywords.{keyword}")
    if config.help_reply is not None:
        _check_reply(config.help_reply, "HelpReply")
    if config.stop_reply is not None:
        _check_reply(config.stop_reply, "StopReply")
    if config.forward_topic_arn is not None and not _TOPIC.match(config.forward_topic_arn):
        raise BadRequest("ForwardTopicArn must be an Amazon SNS topic ARN")


def _check_reply(reply: str, name: str) -> None:
    if not reply.strip() or len(reply) > MAX_REPLY_LENGTH:
        raise BadRequest(f"{name} must be 1 to {MAX_REPLY_LENGTH} characters")


def parse_inbound(raw: Mapping[str, Any]) -> InboundMessage:
    """ValueError for a payload that is not an inbound message (reported, never retried forever)."""
    values: dict[str, str] = {}
    for name in ("originationNumber", "destinationNumber", "inboundMessageId"):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string")
        values[name] = value.strip()
    body = raw.get("messageBody")
    if not isinstance(body, str):
        raise ValueError("messageBody must be a string")
    keyword, previous = raw.get("messageKeyword"), raw.get("previousPublishedMessageId")
    return InboundMessage(
        origination_number=values["originationNumber"],
        destination_number=values["destinationNumber"],
        body=body,
        inbound_message_id=values["inboundMessageId"],
        message_keyword=keyword if isinstance(keyword, str) and keyword else None,
        previous_published_message_id=previous if isinstance(previous, str) and previous else None,
    )


def classify(message: InboundMessage, config: TwoWayConfig) -> tuple[str, str | None]:
    """(STOP | HELP | KEYWORD | NONE, the reply to send or None). Only the body decides: the payload's
    ``messageKeyword`` names the number's registered keyword, not what this customer wrote."""
    said = normalize_keyword(message.body)
    if said in OPT_OUT_KEYWORDS:
        return STOP, config.stop_reply
    if said in HELP_KEYWORDS:
        return HELP, config.help_reply
    if said in config.keywords:
        return KEYWORD, config.keywords[said]
    return NONE, None


def inbound_record(
    message: InboundMessage,
    action: str,
    *,
    event_type: str,
    app_id: str,
    client_id: str,
    timestamp_ms: int,
) -> dict[str, object]:
    """The stream record of an inbound message (``_SMS.RECEIVED``) or of the opt-out it caused
    (``_SMS.OPTOUT``), in the shape of Pinpoint's SMS records (§1.7). The body is not in it: it goes
    to the app's own topic, and analytics needs only the keyword."""
    attributes = {
        "inbound_message_id": message.inbound_message_id,
        "origination_phone_number": message.origination_number,
        "destination_phone_number": message.destination_number,
        "keyword_action": action,
    }
    if action != NONE:
        attributes["message_keyword"] = normalize_keyword(message.body)
    if message.previous_published_message_id:
        attributes["previous_published_message_id"] = message.previous_published_message_id
    return {
        "event_type": event_type,
        "event_timestamp": timestamp_ms,
        "arrival_timestamp": timestamp_ms,
        "event_version": "3.1",
        "event_id": f"{message.inbound_message_id}:{event_type}",
        "application": {"app_id": app_id, "sdk": {}},
        "client": {"client_id": client_id},
        "device": {"platform": {}},
        "session": {},
        "attributes": attributes,
        "metrics": {},
    }
