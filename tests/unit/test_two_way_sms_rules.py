"""Two-way SMS rules: the inbound payload, keyword matching, the configuration's 400s."""

from __future__ import annotations

from typing import Any

import pytest

from homing.domain.errors import BadRequest
from homing.domain.two_way_sms import (
    HELP,
    KEYWORD,
    NONE,
    OPTOUT_EVENT,
    RECEIVED_EVENT,
    STOP,
    TwoWayConfig,
    classify,
    inbound_record,
    normalize_keyword,
    parse_inbound,
    validate_config,
)

# The payload End User Messaging publishes (two-way-sms-payload.html).
PAYLOAD = {
    "originationNumber": "+14255550182",
    "destinationNumber": "+12125550101",
    "messageKeyword": "JOIN",
    "messageBody": "EXAMPLE",
    "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
    "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
CONFIG = TwoWayConfig("app", ("+12125550101",), {"JOIN": "Welcome!", "HOURS": "9-5"}, help_reply="Reply STOP to stop")


def inbound(body: str, **extra: Any) -> Any:
    return parse_inbound({**PAYLOAD, "messageBody": body, **extra})


def test_the_documented_payload_parses() -> None:
    m = parse_inbound(PAYLOAD)
    assert (m.origination_number, m.destination_number, m.body) == ("+14255550182", "+12125550101", "EXAMPLE")
    assert m.inbound_message_id == "cae173d2-66b9-564c-8309-21f858e9fb84"
    assert m.message_keyword == "JOIN"
    assert m.previous_published_message_id == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("missing", ["originationNumber", "destinationNumber", "inboundMessageId", "messageBody"])
def test_a_payload_missing_a_field_is_a_value_error(missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        parse_inbound({k: v for k, v in PAYLOAD.items() if k != missing})


@pytest.mark.parametrize(
    ("body", "action", "reply"),
    [
        ("STOP", STOP, None),
        (" stop ", STOP, None),
        ("Stop.", STOP, None),
        ("unsubscribe", STOP, None),
        ("opt   out", STOP, None),
        ("QUIT!", STOP, None),
        ("help", HELP, "Reply STOP to stop"),
        ("join", KEYWORD, "Welcome!"),
        ("Hours?", KEYWORD, "9-5"),
        ("stop sending me ads", NONE, None),
        ("please help me", NONE, None),
        ("", NONE, None),
    ],
)
def test_keywords_match_the_whole_message_case_insensitively(body: str, action: str, reply: str | None) -> None:
    assert classify(inbound(body), CONFIG) == (action, reply)


def test_the_payloads_registered_keyword_alone_never_opts_out() -> None:
    assert classify(inbound("hello", messageKeyword="STOP"), CONFIG) == (NONE, None)


def test_a_stop_reply_is_sent_only_when_configured() -> None:
    assert classify(inbound("STOP"), TwoWayConfig("app", stop_reply="Bye"))[1] == "Bye"


def test_normalize_keyword() -> None:
    assert normalize_keyword("  opt \t out ! ") == "OPT OUT"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (TwoWayConfig("a", ("2125550101",)), "Numbers[0]"),
        (TwoWayConfig("a", ("+12125550101", "+12125550101")), "Numbers"),
        (TwoWayConfig("a", keywords={"STOP": "x"}), "Keywords.STOP"),
        (TwoWayConfig("a", keywords={"HELP": "x"}), "Keywords.HELP"),
        (TwoWayConfig("a", keywords={"JO!N": "x"}), "Keywords.JO!N"),
        (TwoWayConfig("a", keywords={"JOIN": " "}), "Keywords.JOIN"),
        (TwoWayConfig("a", help_reply="x" * 1601), "HelpReply"),
        (TwoWayConfig("a", stop_reply=""), "StopReply"),
        (TwoWayConfig("a", forward_topic_arn="arn:aws:sqs:us-east-1:123456789012:q"), "ForwardTopicArn"),
        (TwoWayConfig("a", tuple(f"+1212555{i:04d}" for i in range(21))), "Numbers"),
    ],
)
def test_a_bad_configuration_is_a_400_naming_the_field(config: TwoWayConfig, field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        validate_config(config)


def test_a_good_configuration_passes() -> None:
    validate_config(
        TwoWayConfig(
            "a",
            ("+12125550101",),
            {"JOIN": "Welcome", "OPT IN": "Yes"},
            help_reply="Help",
            stop_reply="Bye",
            forward_topic_arn="arn:aws:sns:us-east-1:123456789012:inbound",
        )
    )


def test_inbound_records_carry_the_keyword_but_not_the_body() -> None:
    m = inbound("STOP")
    received = inbound_record(m, STOP, event_type=RECEIVED_EVENT, app_id="app", client_id="ep", timestamp_ms=5)
    optout = inbound_record(m, STOP, event_type=OPTOUT_EVENT, app_id="app", client_id="ep", timestamp_ms=5)
    assert received["event_type"] == "_SMS.RECEIVED"
    assert optout["event_type"] == "_SMS.OPTOUT"
    assert received["attributes"] == {
        "inbound_message_id": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "origination_phone_number": "+14255550182",
        "destination_phone_number": "+12125550101",
        "keyword_action": "STOP",
        "message_keyword": "STOP",
        "previous_published_message_id": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    }
    assert received["event_id"] != optout["event_id"]
    chat = inbound_record(
        inbound("my secret"), NONE, event_type=RECEIVED_EVENT, app_id="a", client_id="c", timestamp_ms=1
    )
    assert "my secret" not in str(chat).lower()
    assert "MY SECRET" not in str(chat)
