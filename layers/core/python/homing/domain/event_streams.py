"""Event stream rules, pure: an app's PutEventStream destination and which ARNs it may name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from homing.domain.errors import BadRequest

STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:(kinesis:[a-z0-9-]+:\d{12}:stream|firehose:[a-z0-9-]+:\d{12}:deliverystream)/[\w.-]+$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


@dataclass(frozen=True)
class EventStream:
    """An app's PutEventStream destination: a Kinesis stream or Firehose, written with the app's role."""

    application_id: str
    destination_stream_arn: str
    role_arn: str
    last_modified_date: str
    last_updated_by: str | None = None


def arn_account(arn: str) -> str:
    return arn.split(":")[4]


def in_allowed_accounts(stream: EventStream, allowed: frozenset[str]) -> bool:
    """Both the destination and the role must be in an allowed account (no confused deputy)."""
    return arn_account(stream.destination_stream_arn) in allowed and arn_account(stream.role_arn) in allowed


def check_destination(destination: str | None, role: str | None, allowed: frozenset[str]) -> tuple[str, str]:
    """(destination, role) of a PutEventStream request, or the 400 naming the field that is wrong."""
    if not destination or not STREAM_ARN.match(destination):
        raise BadRequest("DestinationStreamArn must be the ARN of a Kinesis data stream or a Firehose delivery stream")
    if not role or not ROLE_ARN.match(role):
        raise BadRequest("RoleArn must be the ARN of an IAM role")
    accounts = ", ".join(sorted(allowed))
    if arn_account(destination) not in allowed:
        raise BadRequest(f"DestinationStreamArn must be in an allowed account ({accounts})")
    if arn_account(role) not in allowed:
        raise BadRequest(f"RoleArn must be in an allowed account ({accounts})")
    return destination, role
