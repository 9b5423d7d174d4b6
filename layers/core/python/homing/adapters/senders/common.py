"""What every sender shares: one error-mapping shape, the bounded throttling retry, masked addresses.

Only throttling is retried inside a sender: a throttled request was refused before it was
processed, so sending it again cannot deliver twice. A timeout or a dropped connection may have
happened after the carrier accepted the message, so it is never retried (at most once); it answers
UNKNOWN_FAILURE. The boto3 clients are built with botocore's own retries off (``CLIENT_CONFIG``) so
that this is the only retry loop and its bounds are the ones written here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, EndpointConnectionError

from homing.domain.messages import (
    PERMANENT_FAILURE,
    SUCCESSFUL,
    TEMPORARY_FAILURE,
    THROTTLED,
    UNKNOWN_FAILURE,
    Delivery,
    DeliveryResult,
)
from homing.observability import logger as log

T = TypeVar("T")

# botocore's retries off: the sender retries throttling itself and nothing else (see the docstring).
# ``total_max_attempts`` counts the first attempt; ``max_attempts`` would count retries (1 = two sends).
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=15)


@dataclass(frozen=True)
class Outcome:
    """One row of a carrier's error table: what a carrier error code comes to."""

    status: str
    status_code: int
    retry: bool = False  # throttling: retried with backoff, then ``status``


def throttled(code: int = 429) -> Outcome:
    return Outcome(THROTTLED, code, retry=True)


def permanent(code: int = 400) -> Outcome:
    return Outcome(PERMANENT_FAILURE, code)


def temporary(code: int = 503) -> Outcome:
    return Outcome(TEMPORARY_FAILURE, code)


# Error code -> outcome; "<code>:<Reason>" refines a code by its modeled Reason field.
ErrorTable = Mapping[str, Outcome]
UNEXPECTED = Outcome(UNKNOWN_FAILURE, 500)


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff with full jitter for throttled calls (AWS's advice)."""

    attempts: int = 4  # the first call and three retries
    base_seconds: float = 0.1
    cap_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))


class CarrierRefusal(Exception):
    """A carrier's answer that is not a botocore ClientError (a webhook's status, a function error)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def outcome_of(error: Exception, table: ErrorTable) -> tuple[Outcome, str]:
    """(outcome, status message) for an exception raised by a carrier call."""
    if isinstance(error, ClientError):
        code = error_code(error)
        message = str(error.response.get("Error", {}).get("Message", "")) or code
        reason = error.response.get("Reason")  # a modeled field of some errors (End User Messaging)
        if reason and f"{code}:{reason}" in table:
            return table[f"{code}:{reason}"], message
        if code in table:
            return table[code], message
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500:
            return temporary(status), message
        return UNEXPECTED, message
    if isinstance(error, CarrierRefusal):
        return table.get(error.code, UNEXPECTED), error.message
    if isinstance(error, EndpointConnectionError):  # nothing reached the carrier
        return temporary(), "could not connect to the carrier"
    if isinstance(error, ConnectionError | BotoCoreError | OSError):  # maybe sent: never retried
        return UNEXPECTED, f"the carrier's answer was lost ({type(error).__name__})"
    raise error  # a programming error, not a carrier's answer


def attempt(operation: Callable[[], T], table: ErrorTable, backoff: Backoff, delivery: Delivery) -> T | DeliveryResult:
    """Run one carrier call: its answer, or the result its refusal comes to (throttling retried within
    ``backoff``). A carrier answer is never a DeliveryResult, so callers tell the two apart by type."""
    for number in range(backoff.attempts):
        try:
            return operation()
        except (ClientError, CarrierRefusal, BotoCoreError, OSError) as error:
            outcome, message = outcome_of(error, table)
            if outcome.retry and number + 1 < backoff.attempts:
                backoff.sleep(backoff.delay(number))
                continue
            log.info(
                "send refused",
                extra={
                    "channel": delivery.channel,
                    "to": mask(delivery.address),  # never a full address in logs
                    "delivery_status": outcome.status,
                    "carrier_error": _code_of(error),
                },
            )
            return DeliveryResult(outcome.status, outcome.status_code, message[:1000])
    raise AssertionError("unreachable: backoff.attempts must be at least 1")


def call(
    operation: Callable[[], T],
    table: ErrorTable,
    backoff: Backoff,
    delivery: Delivery,
    on_success: Callable[[T], DeliveryResult],
) -> DeliveryResult:
    """``attempt`` for a call that is the send itself: its answer becomes the result."""
    answer = attempt(operation, table, backoff, delivery)
    return answer if isinstance(answer, DeliveryResult) else on_success(answer)


def _code_of(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error_code(error)
    if isinstance(error, CarrierRefusal):
        return error.code
    return type(error).__name__


def delivered(message_id: str | None, status_message: str = "Message accepted", **extra: Any) -> DeliveryResult:
    return DeliveryResult(SUCCESSFUL, 200, status_message, message_id=message_id, **extra)


def mask_phone(number: str) -> str:
    """``+15551234567`` -> ``+1******4567``: enough to tell messages apart in logs, not to dial."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 6) + number[-4:]


def mask_email(address: str) -> str:
    """``jane@example.com`` -> ``j***@example.com``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return mask_phone(address)
    return f"{local[:1]}***@{domain}"


def mask(address: str) -> str:
    return mask_email(address) if "@" in address else mask_phone(address)
