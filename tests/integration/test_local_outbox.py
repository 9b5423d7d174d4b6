"""Local mode's carriers: the End User Messaging stand-in with the real adapter, SES accepting the From
address a send names, and the outbox reading every channel (moto's SES and SNS, the stand-in, custom calls)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.request import urlopen

import boto3
import pytest

from homing.adapters.senders.ses import SesEmailSender
from homing.adapters.senders.sms_voice import EndUserMessagingSender
from homing.adapters.senders.sns import SnsPushSender
from homing.domain.messages import (
    EMAIL,
    GCM,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    VOICE,
    Delivery,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
    carrier_tags,
)
from homing.local.http import Server
from homing.local.outbox import Outbox, OutboxPages, render_html, verify_ses_identities_on_use
from homing.local.sms_voice import SmsVoiceStandIn, start_stand_in


@pytest.fixture
def local_ses(aws: None) -> Iterator[None]:
    undo = verify_ses_identities_on_use()
    yield
    undo()


@pytest.fixture
def stand_in() -> Iterator[tuple[SmsVoiceStandIn, str]]:
    app, server, url = start_stand_in()
    yield app, url
    server.stop()


def eum_client(url: str) -> Any:
    return boto3.client("pinpoint-sms-voice-v2", endpoint_url=url, region_name="us-east-1")


def test_the_real_adapter_sends_through_the_stand_in(stand_in: tuple[SmsVoiceStandIn, str]) -> None:
    app, url = stand_in
    sender = EndUserMessagingSender(eum_client(url))
    text = Delivery(
        "app-1", SMS, "+15551234567", "k1", SmsContent("Code 1234", origination_number="+15550000000"), endpoint_id="ep"
    )
    call = Delivery(
        "app-1",
        VOICE,
        "+15551234567",
        "k2",
        VoiceContent("<speak>Hi</speak>", voice_id="Joanna", origination_number="+15550000000", ssml=True),
    )
    sent_text, sent_call = sender.send(text), sender.send(call)
    assert (sent_text.status, sent_call.status) == (SUCCESSFUL, SUCCESSFUL)
    first, second = app.records()
    assert (first["Channel"], first["To"], first["From"], first["Body"]) == (
        "SMS",
        "+15551234567",
        "+15550000000",
        "Code 1234",
    )
    assert first["MessageId"] == sent_text.message_id
    assert first["Details"]["Context"] == carrier_tags(text)
    assert (second["Channel"], second["Details"]["MessageBodyTextType"], second["Details"]["VoiceId"]) == (
        "VOICE",
        "SSML",
        "JOANNA",
    )


def test_the_stand_in_refuses_what_the_model_refuses(stand_in: tuple[SmsVoiceStandIn, str]) -> None:
    app, url = stand_in
    client = eum_client(url)
    with pytest.raises(client.exceptions.ValidationException):
        client.send_text_message(DestinationPhoneNumber="+15551234567")  # no body
    with pytest.raises(client.exceptions.ClientError, match="UnknownOperation"):
        client.describe_phone_numbers()
    assert app.records() == []


def test_ses_accepts_the_from_address_a_send_names_locally(local_ses: None) -> None:
    sender = SesEmailSender()
    delivery = Delivery(
        "app", EMAIL, "jane@example.com", "e", EmailContent("New Shop <new@shop.example>", "Hi", "<b>Hi</b>")
    )
    assert sender.send(delivery).status == SUCCESSFUL
    identities = boto3.client("sesv2").list_email_identities()["EmailIdentities"]
    assert [i["IdentityName"] for i in identities] == ["new@shop.example"]
    not_an_address = Delivery("app", EMAIL, "jane@example.com", "f", EmailContent("nobody", "Hi", "<b>Hi</b>"))
    assert sender.send(not_an_address).status == PERMANENT_FAILURE


def test_the_outbox_reads_every_channel_and_filters(local_ses: None, stand_in: tuple[SmsVoiceStandIn, str]) -> None:
    app, url = stand_in
    SesEmailSender().send(
        Delivery(
            "app",
            EMAIL,
            "jane@example.com",
            "e",
            EmailContent("shop@example.com", "Welcome", "<h1>Hi Jane</h1>", "Hi Jane"),
        )
    )
    EndUserMessagingSender(eum_client(url)).send(Delivery("app", SMS, "+15551234567", "s", SmsContent("Code 1234")))
    sns = boto3.client("sns")
    application = sns.create_platform_application(Name="shop", Platform="GCM", Attributes={"PlatformCredential": "k"})
    mime = (
        "From: shop@example.com\r\nTo: raw@example.com\r\nSubject: Raw one\r\n"
        "Content-Type: text/plain\r\n\r\nPlain body\r\n"
    )
    raw = EmailContent("shop@example.com", raw_message=base64.b64encode(mime.encode()).decode())
    SesEmailSender().send(Delivery("app", EMAIL, "raw@example.com", "r", raw))
    SnsPushSender().send(
        Delivery(
            "app", GCM, "token-1", "p", PushContent(application["PlatformApplicationArn"], title="Sale", body="50% off")
        )
    )
    outbox = Outbox(app)
    outbox.record_custom_call(
        "arn:aws:lambda:us-east-1:123456789012:function:homing-custom-x",
        {"ApplicationId": "app", "Message": {}, "Data": "d", "Endpoints": {"ep": {}}},
        True,
    )

    rows = outbox.rows()
    assert sorted(r["Channel"] for r in rows) == ["CUSTOM", "EMAIL", "EMAIL", "GCM", "SMS"]
    (raw_mail,) = outbox.rows("EMAIL", "raw@example.com")
    assert (raw_mail["Subject"], raw_mail["Body"].strip()) == ("Raw one", "Plain body")
    (mail,) = outbox.rows("email", "jane@example.com")
    assert (mail["From"], mail["To"], mail["Subject"], mail["Body"]) == (
        "shop@example.com",
        ["jane@example.com"],
        "Welcome",
        "<h1>Hi Jane</h1>",
    )
    (push,) = outbox.rows("PUSH")
    assert (push["To"], push["Subject"], push["Body"]) == ("token-1", "Sale", "50% off")
    assert [r["Channel"] for r in outbox.rows(address="+15551234567")] == ["SMS"]
    assert [r["Channel"] for r in outbox.rows(address="JANE@example.com")] == ["EMAIL"]

    page = render_html(rows)
    assert "Welcome" in page
    assert "srcdoc='&lt;h1&gt;Hi Jane&lt;/h1&gt;'" in page
    assert "50% off" in page


def test_the_outbox_is_served_as_json_and_html(aws: None, stand_in: tuple[SmsVoiceStandIn, str]) -> None:
    app, url = stand_in
    EndUserMessagingSender(eum_client(url)).send(
        Delivery("app", SMS, "+15551234567", "s", SmsContent("<script>x</script>"))
    )

    def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [])
        return [b"api"]

    server = Server(OutboxPages(api, Outbox(app)), "127.0.0.1", 0)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with urlopen(f"{base}/_local/outbox?channel=SMS&address=%2B15551234567") as response:
            items = json.load(response)["Items"]
        with urlopen(f"{base}/_local/outbox?channel=EMAIL") as response:
            assert json.load(response)["Items"] == []
        with urlopen(f"{base}/_local/outbox.html") as response:
            page = response.read().decode()
            assert response.headers["Content-Type"].startswith("text/html")
    finally:
        server.stop()
    assert [i["Body"] for i in items] == ["<script>x</script>"]
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x" not in page
