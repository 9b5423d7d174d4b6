"""The idempotent dispatcher on the DeliveryLedger table in moto: each key sent at most once, results
in order, racing dispatchers sending each key exactly once, a crash mid-send never resent."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from homing.adapters.dynamodb.deliveries import DeliveryLedger
from homing.domain.messages import (
    EMAIL,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    UNKNOWN_FAILURE,
    Delivery,
    DeliveryResult,
    EmailContent,
    SmsContent,
)
from homing.services.delivery import Dispatcher


class CountingSender:
    """Records every send (thread-safe) and answers SUCCESSFUL with a message id per key."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()
        self.fail_on = fail_on

    def send(self, delivery: Delivery) -> DeliveryResult:
        with self.lock:
            self.sent.append(delivery.key)
        if delivery.key == self.fail_on:
            raise RuntimeError("a bug in a sender")
        return DeliveryResult(SUCCESSFUL, 200, "ok", message_id=f"m-{delivery.key}")


def now() -> datetime:
    return datetime(2026, 11, 30, tzinfo=UTC)


def email(key: str) -> Delivery:
    return Delivery("app", EMAIL, f"{key}@example.com", key, EmailContent("shop@example.com", "s", text_body="t"))


def sms(key: str) -> Delivery:
    return Delivery("app", SMS, "+15551234567", key, SmsContent("hi"))


@pytest.fixture
def ledger(aws: None) -> DeliveryLedger:
    return DeliveryLedger()


def test_results_come_back_in_order_from_each_channels_sender(ledger: DeliveryLedger) -> None:
    mail, text = CountingSender(), CountingSender()
    dispatcher = Dispatcher({EMAIL: mail, SMS: text}, ledger, now)
    batch = [email("e1"), sms("s1"), email("e2"), sms("s2"), email("e3")]
    results = dispatcher.send_all(batch)
    assert [r.message_id for r in results] == ["m-e1", "m-s1", "m-e2", "m-s2", "m-e3"]
    assert (sorted(mail.sent), sorted(text.sent)) == (["e1", "e2", "e3"], ["s1", "s2"])


def test_a_completed_key_answers_its_recorded_result_without_sending(ledger: DeliveryLedger) -> None:
    first, second = CountingSender(), CountingSender()
    Dispatcher({EMAIL: first}, ledger, now).send_all([email("k1")])
    results = Dispatcher({EMAIL: second}, ledger, now).send_all([email("k1"), email("k2")])
    assert [(r.status, r.message_id) for r in results] == [(SUCCESSFUL, "m-k1"), (SUCCESSFUL, "m-k2")]
    assert second.sent == ["k2"]


def test_a_key_claimed_and_never_completed_is_not_sent_again(ledger: DeliveryLedger) -> None:
    ledger.claim("crashed", now())  # a dispatcher died between claim and record
    sender = CountingSender()
    (result,) = Dispatcher({EMAIL: sender}, ledger, now).send_all([email("crashed")])
    assert (result.status, sender.sent) == (UNKNOWN_FAILURE, [])


def test_a_key_repeated_in_a_batch_is_sent_once(ledger: DeliveryLedger) -> None:
    sender = CountingSender()
    results = Dispatcher({EMAIL: sender}, ledger, now).send_all([email("d"), email("x"), email("d")])
    assert sender.sent.count("d") == 1
    assert results[0] == results[2]


def test_a_sender_bug_is_unknown_failure_recorded_once(ledger: DeliveryLedger) -> None:
    sender = CountingSender(fail_on="bug")
    dispatcher = Dispatcher({EMAIL: sender}, ledger, now)
    (first,) = dispatcher.send_all([email("bug")])
    (again,) = dispatcher.send_all([email("bug")])
    assert (first.status, again.status, sender.sent) == (UNKNOWN_FAILURE, UNKNOWN_FAILURE, ["bug"])


def test_a_channel_without_a_sender_is_refused_without_a_claim(ledger: DeliveryLedger) -> None:
    (result,) = Dispatcher({}, ledger, now).send_all([email("nosender")])
    assert (result.status, result.status_code) == (PERMANENT_FAILURE, 400)
    assert ledger.claim("nosender", now()).won


def test_racing_dispatchers_send_each_key_exactly_once(ledger: DeliveryLedger) -> None:
    sender = CountingSender()  # shared: counts the sends of every dispatcher
    keys = [f"race-{i}" for i in range(40)]
    racers = 4
    start = threading.Barrier(racers)

    def run(offset: int) -> list[DeliveryResult]:
        dispatcher = Dispatcher({EMAIL: sender}, DeliveryLedger(), now, threads=5)
        start.wait()
        rotated = keys[offset * 10 :] + keys[: offset * 10]  # each starts at a different key
        return dispatcher.send_all([email(k) for k in rotated])

    with ThreadPoolExecutor(max_workers=racers) as pool:
        outcomes: list[Any] = list(pool.map(run, range(racers)))
    assert sorted(sender.sent) == sorted(keys)  # exactly one send per key, whoever won it
    for results in outcomes:
        assert len(results) == len(keys)
        assert {r.status for r in results} <= {SUCCESSFUL, UNKNOWN_FAILURE}
