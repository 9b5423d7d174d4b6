"""The JSON of deliveries and results that crosses Step Functions task boundaries (homing.domain.dispatch), and the
dispatcher when its ledger fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from homing.domain.dispatch import Claim, delivery_from_json, delivery_to_json, result_from_json, result_to_json
from homing.domain.errors import BadRequest
from homing.domain.messages import (
    APNS,
    CUSTOM,
    EMAIL,
    SMS,
    VOICE,
    CustomContent,
    Delivery,
    DeliveryResult,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
)
from homing.services.delivery import Dispatcher

DELIVERIES = [
    Delivery(
        "app",
        EMAIL,
        "a@example.com",
        "k1",
        EmailContent("s@example.com", "Hi", "<p>Hi</p>", "Hi", reply_to=["r@example.com"], headers={"X-A": "1"}),
        endpoint_id="ep",
        context={"campaign_id": "c"},
        trace_id="t",
    ),
    Delivery("app", SMS, "+15551234567", "k2", SmsContent("hi", origination_number="+15550000000", entity_id="e")),
    Delivery("app", VOICE, "+15551234567", "k3", VoiceContent("<speak/>", voice_id="Joanna", ssml=True)),
    Delivery("app", APNS, "tok", "k4", PushContent("arn:sns", title="T", silent=True, data={"k": "v"}, badge=2)),
    Delivery("app", CUSTOM, "ep", "k5", CustomContent("https://x.example.com", "d", {"ep": {"Address": "x"}})),
]


@pytest.mark.parametrize("delivery", DELIVERIES, ids=lambda d: d.channel)
def test_every_content_type_round_trips(delivery: Delivery) -> None:
    raw = delivery_to_json(delivery)
    assert raw["content"]["content_type"] in ("email", "sms", "voice", "push", "custom")
    assert delivery_from_json(raw) == delivery


def test_results_round_trip() -> None:
    result = DeliveryResult("SUCCESSFUL", 200, "ok", message_id="m")
    assert result_from_json(result_to_json(result)) == result


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ([], "deliveries[0] must be a JSON object"),
        ({"channel": "SMS", "address": "+1", "key": "k", "content": {}}, "deliveries[0].app_id"),
        ({"app_id": "a", "channel": "SMS", "address": "+1", "key": "k"}, "deliveries[0].content"),
        (
            {"app_id": "a", "channel": "SMS", "address": "+1", "key": "k", "content": {"content_type": "fax"}},
            "content_type",
        ),
        (
            {"app_id": "a", "channel": "SMS", "address": "+1", "key": "k", "content": {"content_type": "sms"}},
            "SmsContent",
        ),
        (
            {
                "app_id": "a",
                "channel": "SMS",
                "address": "+1",
                "key": "k",
                "content": {"content_type": "sms", "body": 5},
            },
            "deliveries[0].content.body",
        ),
    ],
)
def test_malformed_deliveries_name_the_field(raw: Any, named: str) -> None:
    with pytest.raises(BadRequest, match=named.replace("[", r"\[").replace("]", r"\]")):
        delivery_from_json(raw, "deliveries[0]")


class _FlakyLedger:
    """An in-memory ledger whose claim of one key fails as DynamoDB being unreachable would."""

    def __init__(self, broken: str) -> None:
        self.broken = broken
        self.completed: dict[str, DeliveryResult] = {}

    def claim(self, key: str, now: datetime) -> Claim:
        if key == self.broken:
            raise ConnectionError("DynamoDB unreachable")
        return Claim(won=key not in self.completed, result=self.completed.get(key))

    def complete(self, key: str, result: DeliveryResult) -> None:
        self.completed[key] = result


class _Sender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, delivery: Delivery) -> DeliveryResult:
        self.sent.append(delivery.key)
        return DeliveryResult("SUCCESSFUL", 200, "ok", message_id=delivery.key)


def test_a_ledger_failure_raises_after_the_other_sends_are_recorded() -> None:
    ledger, sender = _FlakyLedger("k3"), _Sender()
    batch = [Delivery("app", SMS, "+15551234567", f"k{i}", SmsContent("hi")) for i in range(6)]
    with pytest.raises(ConnectionError):
        Dispatcher({SMS: sender}, ledger, lambda: datetime(2026, 11, 30, tzinfo=UTC), threads=3).send_all(batch)
    assert sorted(sender.sent) == ["k0", "k1", "k2", "k4", "k5"]
    assert sorted(ledger.completed) == ["k0", "k1", "k2", "k4", "k5"]
    ledger.broken = ""  # the retried task sends only what is left
    results = Dispatcher({SMS: sender}, ledger, lambda: datetime(2026, 11, 30, tzinfo=UTC)).send_all(batch)
    assert [r.message_id for r in results] == [f"k{i}" for i in range(6)]
    assert sender.sent.count("k3") == 1
    assert len(sender.sent) == 6


def test_send_settings_read_the_ledger_and_the_sms_carrier() -> None:
    from homing.adapters.dynamodb.tables import DELIVERY_LEDGER
    from homing.settings import SendSettings

    settings = SendSettings.from_env(
        {"DELIVERY_LEDGER_TABLE": "ledger", "SMS_CARRIER": " SNS ", "AWS_REGION": "eu-west-1"}
    )
    assert (settings.tables, settings.sms_carrier, settings.region) == ({DELIVERY_LEDGER: "ledger"}, "sns", "eu-west-1")
    assert SendSettings.from_env({}).sms_carrier == "end-user-messaging"
    with pytest.raises(ValueError, match="SMS_CARRIER"):
        SendSettings.from_env({"SMS_CARRIER": "pigeon"})
