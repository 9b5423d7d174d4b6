"""The SES and SNS senders, and the send_messages handler, against moto's SES v2 and SNS backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from homing.adapters.senders.ses import SesEmailSender
from homing.adapters.senders.sns import SnsPushSender, SnsSmsSender
from homing.domain.dispatch import delivery_to_json, result_from_json
from homing.domain.messages import (
    EMAIL,
    GCM,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    Delivery,
    EmailContent,
    PushContent,
    SmsContent,
)
from tests.conftest import LambdaContext

ACCOUNT, REGION = "123456789012", "us-east-1"


def backends() -> tuple[Any, Any]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][REGION], sns_backends[DEFAULT_ACCOUNT_ID][REGION]


def email(key: str, sender: str = "shop@example.com") -> Delivery:
    return Delivery(
        "app", EMAIL, "jane@example.com", key, EmailContent(sender, "Hello", "<p>Hello Jane</p>", "Hello Jane")
    )


@pytest.fixture
def dispatcher(aws: None) -> Iterator[None]:
    from homing.bootstrap import dispatcher as composition

    composition.cache_clear()
    yield
    composition.cache_clear()


def test_ses_sends_from_a_verified_identity_and_refuses_an_unverified_one(aws: None) -> None:
    boto3.client("sesv2").create_email_identity(EmailIdentity="example.com")
    sender = SesEmailSender()
    sent = sender.send(email("e1"))
    assert (sent.status, bool(sent.message_id)) == (SUCCESSFUL, True)
    (message,) = backends()[0].sent_messages
    assert (message.source, message.subject, message.destinations["ToAddresses"]) == (
        "shop@example.com",
        "Hello",
        ["jane@example.com"],
    )
    refused = sender.send(email("e2", "someone@unverified.example"))
    assert (refused.status, refused.status_code) == (PERMANENT_FAILURE, 400)  # moto: MessageRejected


def test_sns_sms_and_push_reach_moto(aws: None) -> None:
    sns = boto3.client("sns")
    sms = SnsSmsSender().send(Delivery("app", SMS, "+15551234567", "s1", SmsContent("Code 1234")))
    assert sms.status == SUCCESSFUL
    application = sns.create_platform_application(Name="shop", Platform="GCM", Attributes={"PlatformCredential": "k"})
    push = SnsPushSender()
    content = PushContent(application["PlatformApplicationArn"], title="Sale", body="50% off")
    first = push.send(Delivery("app", GCM, "device-token", "p1", content))
    again = SnsPushSender().send(Delivery("app", GCM, "device-token", "p2", content))  # a new process: same endpoint
    assert (first.status, again.status) == (SUCCESSFUL, SUCCESSFUL)
    _, sns_backend = backends()
    assert list(sns_backend.sms_messages.values()) == [("+15551234567", "Code 1234")]
    (endpoint,) = sns_backend.platform_endpoints.values()
    assert len(endpoint.messages) == 2


def test_sns_push_to_a_missing_application_is_a_permanent_failure(aws: None) -> None:
    content = PushContent(f"arn:aws:sns:{REGION}:{ACCOUNT}:app/GCM/missing", body="hi")
    result = SnsPushSender().send(Delivery("app", GCM, "token", "p3", content))
    assert result.status == PERMANENT_FAILURE


def test_the_send_messages_handler_sends_a_batch_once(dispatcher: None) -> None:
    from send_messages.handler import lambda_handler

    boto3.client("sesv2").create_email_identity(EmailIdentity="shop@example.com")
    batch = {"deliveries": [delivery_to_json(email("h1")), delivery_to_json(email("h2"))]}
    first = lambda_handler(batch, LambdaContext(function_name="send_messages"))
    retried = lambda_handler(batch, LambdaContext(function_name="send_messages"))
    results = [result_from_json(r) for r in first["results"]]
    assert [r.status for r in results] == [SUCCESSFUL, SUCCESSFUL]
    assert retried == first  # the retried task answers the recorded results
    assert len(backends()[0].sent_messages) == 2


def test_the_handler_refuses_a_batch_over_the_limit(dispatcher: None) -> None:
    from send_messages.handler import lambda_handler

    batch = {"deliveries": [delivery_to_json(email(f"x{i}")) for i in range(51)]}
    with pytest.raises(ValueError, match="at most 50"):
        lambda_handler(batch, LambdaContext(function_name="send_messages"))
