"""Homing's two-way SMS configuration JSON (an extension; PascalCase like Pinpoint's own shapes)."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import optional_string, parse_body, string_map
from homing.domain.errors import BadRequest
from homing.domain.two_way_sms import TwoWayConfig, normalize_keyword


def write_two_way_sms_request(raw: str | None, app_id: str) -> TwoWayConfig:
    """{"Numbers": [...], "Keywords": {KEYWORD: reply}, "HelpReply", "StopReply", "ForwardTopicArn"}."""
    body = parse_body(raw)
    numbers = body.get("Numbers") or []
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise BadRequest("Numbers must be a list of phone numbers")
    keywords = string_map(body.get("Keywords"), "Keywords")
    return TwoWayConfig(
        application_id=app_id,
        numbers=tuple(numbers),
        keywords={normalize_keyword(k): v for k, v in keywords.items()},
        help_reply=optional_string(body, "HelpReply"),
        stop_reply=optional_string(body, "StopReply"),
        forward_topic_arn=optional_string(body, "ForwardTopicArn"),
    )


def two_way_sms_response(c: TwoWayConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ApplicationId": c.application_id,
        "Numbers": list(c.numbers),
        "Keywords": dict(c.keywords),
        "LastModifiedDate": c.last_modified_date,
        "Version": c.version,
    }
    for name, value in (
        ("HelpReply", c.help_reply),
        ("StopReply", c.stop_reply),
        ("ForwardTopicArn", c.forward_topic_arn),
    ):
        if value is not None:
            out[name] = value
    return out
