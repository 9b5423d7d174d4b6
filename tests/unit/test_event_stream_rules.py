"""Pure event stream rules: which destinations and roles PutEventStream accepts, and from which accounts."""

from __future__ import annotations

import pytest

from homing.domain.errors import BadRequest
from homing.domain.event_streams import EventStream, check_destination, in_allowed_accounts

OWN = "123456789012"
STREAM = f"arn:aws:kinesis:us-east-1:{OWN}:stream/events"
FIREHOSE = f"arn:aws:firehose:us-east-1:{OWN}:deliverystream/events"
ROLE = f"arn:aws:iam::{OWN}:role/pinpoint-events"
OTHER = "999999999999"


@pytest.mark.parametrize("destination", [STREAM, FIREHOSE])
def test_a_kinesis_stream_or_firehose_with_a_role_in_an_allowed_account_passes(destination: str) -> None:
    assert check_destination(destination, ROLE, frozenset({OWN})) == (destination, ROLE)


@pytest.mark.parametrize(
    ("destination", "role", "message"),
    [
        (None, ROLE, "DestinationStreamArn must be the ARN of a Kinesis"),
        (f"arn:aws:sqs:us-east-1:{OWN}:queue", ROLE, "DestinationStreamArn must be the ARN of a Kinesis"),
        (STREAM, None, "RoleArn must be the ARN of an IAM role"),
        (STREAM, f"arn:aws:iam::{OWN}:user/someone", "RoleArn must be the ARN of an IAM role"),
        (STREAM.replace(OWN, OTHER), ROLE, f"DestinationStreamArn must be in an allowed account \\({OWN}\\)"),
        (STREAM, ROLE.replace(OWN, OTHER), f"RoleArn must be in an allowed account \\({OWN}\\)"),
    ],
)
def test_anything_else_is_a_400_naming_the_field(destination: str | None, role: str | None, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        check_destination(destination, role, frozenset({OWN}))


def test_a_stored_stream_is_used_only_while_both_its_accounts_are_allowed() -> None:
    stream = EventStream("app", STREAM, ROLE, "2026-11-30T00:00:00Z")
    assert in_allowed_accounts(stream, frozenset({OWN}))
    assert not in_allowed_accounts(stream, frozenset({OTHER}))
    assert not in_allowed_accounts(EventStream("app", STREAM, ROLE.replace(OWN, OTHER), ""), frozenset({OWN}))
