"""ISO 8601 timestamps, the one parser and formatter every operation uses."""

from __future__ import annotations

from datetime import UTC, datetime

from homing.domain.errors import BadRequest


def parse_timestamp(value: str, field: str) -> datetime:
    """Parse an ISO 8601 timestamp; one without a zone is UTC, so every result can be compared."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise BadRequest(f"{field} must be an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_now(now: datetime) -> str:
    """Pinpoint's timestamp format: ISO 8601, UTC, milliseconds, ``Z``."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
