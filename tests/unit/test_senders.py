"""The channel senders against botocore's Stubber, which checks every request against the real service
model (sesv2, pinpoint-sms-voice-v2, sns, lambda): the requests they make and every mapped error."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from homing.adapters.senders.common import Backoff, mask
from homing.adapters.senders.custom import CUSTOM_ERRORS, CustomSender
from homing.adapters.senders.ses import SES_ERRORS, SesEmailSender
from homing.adapters.senders.sms_voice import SMS_VOICE_ERRORS, EndUserMessagingSender
from homing.adapters.senders.sns import SNS_ERRORS, SnsPushSender, SnsSmsSender
from homing.domain.messages import (
    ADM,
    APNS,
    APNS_VOIP,
    BAIDU,
    CUSTOM,
    EMAIL,
    GCM,
    OPT_OUT,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    TEMPORARY_FAILURE,
    THROTTLED,
    UNKNOWN_FAILURE,
    VOICE,
    CustomContent,
    Delivery,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
    carrier_tags,
    from_carrier_tags,
)

SLEEPS: list[float] = []
NO_WAIT = Backoff(attempts=3, sleep=SLEEPS.append)


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


@pytest.fixture
def stubbed() -> Iterator[Any]:
    stubbers: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        c = client(service)
        stubber = Stubber(c)
        stubber.activate()
        stubbers.append(stubber)
        return c, stubber

    SLEEPS.clear()
    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def delivery(channel: str, address: str, content: Any, **kwargs: Any) -> Delivery:
    return Delivery(app_id="app-1", channel=channel, address=address, key="k1", content=content, **kwargs)


EMAIL_DELIVERY = delivery(
    EMAIL,
    "jane@example.com",
    EmailContent(
        from_address="Shop <shop@example.com>",
        subject="Hi",
        html_body="<p>Hi Jane</p>",
        text_body="Hi Jane",
        reply_to=["help@example.com"],
        headers={"List-Unsubscribe": "<https://example.com/u>"},
        configuration_set="homing-events",
    ),
    endpoint_id="ep-1",
    context={"campaign_id": "c-1"},
)


# ---------------------------------------------------------------------------------------------- SES


def test_ses_sends_simple_content_with_tags_and_configuration_set(stubbed: Any) -> None:
    ses, stub = stubbed("sesv2")
    tags = carrier_tags(EMAIL_DELIVERY, ("campaign_id", "treatment_id", "journey_id"))
    stub.add_response(
        "send_email",
        {"MessageId": "m-1"},
        {
            "FromEmailAddress": "Shop <shop@example.com>",
            "Destination": {"ToAddresses": ["jane@example.com"]},
            "ReplyToAddresses": ["help@example.com"],
            "ConfigurationSetName": "homing-events",
            "EmailTags": [{"Name": k, "Value": v} for k, v in tags.items()],
            "Content": {
                "Simple": {
                    "Subject": {"Data": "Hi", "Charset": "UTF-8"},
                    "Body": {
                        "Html": {"Data": "<p>Hi Jane</p>", "Charset": "UTF-8"},
                        "Text": {"Data": "Hi Jane", "Charset": "UTF-8"},
                    },
                    "Headers": [{"Name": "List-Unsubscribe", "Value": "<https://example.com/u>"}],
                }
            },
        },
    )
    result = SesEmailSender(ses, NO_WAIT).send(EMAIL_DELIVERY)
    assert (result.status, result.status_code, result.message_id) == (SUCCESSFUL, 200, "m-1")
    assert from_carrier_tags(tags) == ("app-1", "ep-1", {"campaign_id": "c-1"})


def test_ses_sends_raw_mime_decoded_from_base64(stubbed: Any) -> None:
    ses, stub = stubbed("sesv2")
    mime = b"From: shop@example.com\r\nSubject: Hi\r\n\r\nHi"
    raw = delivery(
        EMAIL, "jane@example.com", EmailContent("shop@example.com", raw_message=base64.b64encode(mime).decode())
    )
    stub.add_response(
        "send_email",
        {"MessageId": "m-2"},
        {
            "FromEmailAddress": "shop@example.com",
            "Destination": ANY,
            "EmailTags": ANY,
            "Content": {"Raw": {"Data": mime}},
        },
    )
    assert SesEmailSender(ses, NO_WAIT).send(raw).status == SUCCESSFUL


def test_ses_refuses_content_it_cannot_send_without_calling(stubbed: Any) -> None:
    ses, _ = stubbed("sesv2")
    empty = delivery(EMAIL, "jane@example.com", EmailContent("shop@example.com", subject="no body"))
    assert SesEmailSender(ses, NO_WAIT).send(empty).status == PERMANENT_FAILURE
    bad_raw = delivery(EMAIL, "jane@example.com", EmailContent("shop@example.com", raw_message="not base64!"))
    assert SesEmailSender(ses, NO_WAIT).send(bad_raw).status_code == 400
    assert (
        SesEmailSender(ses, NO_WAIT).send(delivery(SMS, "+15551234567", SmsContent("hi"))).status == PERMANENT_FAILURE
    )


@pytest.mark.parametrize("code", sorted(SES_ERRORS))
def test_ses_maps_every_error(stubbed: Any, code: str) -> None:
    ses, stub = stubbed("sesv2")
    outcome = SES_ERRORS[code]
    tries = NO_WAIT.attempts if outcome.retry else 1
    for _ in range(tries):
        stub.add_client_error("send_email", service_error_code=code, service_message="no", http_status_code=400)
    result = SesEmailSender(ses, NO_WAIT).send(EMAIL_DELIVERY)
    assert (result.status, result.status_code) == (outcome.status, outcome.status_code)
    assert len(SLEEPS) == tries - 1


def test_ses_throttling_is_retried_then_succeeds(stubbed: Any) -> None:
    ses, stub = stubbed("sesv2")
    stub.add_client_error("send_email", service_error_code="TooManyRequestsException", http_status_code=429)
    stub.add_response("send_email", {"MessageId": "m-3"})
    result = SesEmailSender(ses, NO_WAIT).send(EMAIL_DELIVERY)
    assert (result.status, result.message_id, len(SLEEPS)) == (SUCCESSFUL, "m-3", 1)


def test_unmodelled_errors_are_temporary_when_5xx_and_unknown_otherwise(stubbed: Any) -> None:
    ses, stub = stubbed("sesv2")
    stub.add_client_error("send_email", service_error_code="ServiceUnavailable", http_status_code=503)
    stub.add_client_error("send_email", service_error_code="SomethingNew", http_status_code=400)
    sender = SesEmailSender(ses, NO_WAIT)
    assert sender.send(EMAIL_DELIVERY).status == TEMPORARY_FAILURE
    assert sender.send(EMAIL_DELIVERY).status == UNKNOWN_FAILURE


# ------------------------------------------------------------------------------ End User Messaging

SMS_DELIVERY = delivery(
    SMS,
    "+15551234567",
    SmsContent(
        "Your code is 1234",
        origination_number="+15550000000",
        keyword="SHOP",
        configuration_set="homing-sms",
        entity_id="e-1",
        template_id="t-1",
    ),
    endpoint_id="ep-2",
)


def test_sms_sends_text_message_with_context_and_dlt_ids(stubbed: Any) -> None:
    sms, stub = stubbed("pinpoint-sms-voice-v2")
    stub.add_response(
        "send_text_message",
        {"MessageId": "s-1"},
        {
            "DestinationPhoneNumber": "+15551234567",
            "OriginationIdentity": "+15550000000",
            "MessageBody": "Your code is 1234",
            "MessageType": "TRANSACTIONAL",
            "Keyword": "SHOP",
            "ConfigurationSetName": "homing-sms",
            "Context": carrier_tags(SMS_DELIVERY),
            "DestinationCountryParameters": {"IN_ENTITY_ID": "e-1", "IN_TEMPLATE_ID": "t-1"},
        },
    )
    result = EndUserMessagingSender(sms, NO_WAIT).send(SMS_DELIVERY)
    assert (result.status, result.message_id) == (SUCCESSFUL, "s-1")


def test_sms_uses_the_sender_id_when_there_is_no_number(stubbed: Any) -> None:
    sms, stub = stubbed("pinpoint-sms-voice-v2")
    d = delivery(SMS, "+447700900123", SmsContent("hi", message_type="PROMOTIONAL", sender_id="SHOP"))
    stub.add_response(
        "send_text_message",
        {"MessageId": "s-2"},
        {
            "DestinationPhoneNumber": "+447700900123",
            "OriginationIdentity": "SHOP",
            "MessageBody": "hi",
            "MessageType": "PROMOTIONAL",
            "Context": ANY,
        },
    )
    assert EndUserMessagingSender(sms, NO_WAIT).send(d).status == SUCCESSFUL


def test_voice_sends_ssml_with_the_model_voice_id(stubbed: Any) -> None:
    sms, stub = stubbed("pinpoint-sms-voice-v2")
    d = delivery(
        VOICE,
        "+15551234567",
        VoiceContent("<speak>Hi</speak>", voice_id="Joanna", origination_number="+15550000000", ssml=True),
    )
    stub.add_response(
        "send_voice_message",
        {"MessageId": "v-1"},
        {
            "DestinationPhoneNumber": "+15551234567",
            "OriginationIdentity": "+15550000000",
            "MessageBody": "<speak>Hi</speak>",
            "MessageBodyTextType": "SSML",
            "VoiceId": "JOANNA",
            "Context": ANY,
        },
    )
    assert EndUserMessagingSender(sms, NO_WAIT).send(d).message_id == "v-1"


def test_voice_without_an_origination_number_is_refused_without_a_call(stubbed: Any) -> None:
    sms, _ = stubbed("pinpoint-sms-voice-v2")
    result = EndUserMessagingSender(sms, NO_WAIT).send(delivery(VOICE, "+15551234567", VoiceContent("Hi")))
    assert (result.status, result.status_code) == (PERMANENT_FAILURE, 400)


@pytest.mark.parametrize("code", sorted(SMS_VOICE_ERRORS))
def test_sms_maps_every_error(stubbed: Any, code: str) -> None:
    sms, stub = stubbed("pinpoint-sms-voice-v2")
    outcome = SMS_VOICE_ERRORS[code]
    error, _, reason = code.partition(":")
    fields = {"Reason": reason} if reason else None
    for _ in range(NO_WAIT.attempts if outcome.retry else 1):
        stub.add_client_error(
            "send_text_message", service_error_code=error, http_status_code=400, modeled_fields=fields
        )
    result = EndUserMessagingSender(sms, NO_WAIT).send(SMS_DELIVERY)
    assert (result.status, result.status_code) == (outcome.status, outcome.status_code)


def test_an_opted_out_number_is_opt_out(stubbed: Any) -> None:
    sms, stub = stubbed("pinpoint-sms-voice-v2")
    stub.add_client_error(
        "send_text_message",
        service_error_code="ConflictException",
        http_status_code=400,
        modeled_fields={
            "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
            "ResourceType": "opt-out-list",
            "ResourceId": "Default",
        },
    )
    assert EndUserMessagingSender(sms, NO_WAIT).send(SMS_DELIVERY).status == OPT_OUT


# --------------------------------------------------------------------------------------------- SNS


def test_sns_sms_publishes_to_the_number_with_sms_attributes(stubbed: Any) -> None:
    sns, stub = stubbed("sns")
    stub.add_response(
        "publish",
        {"MessageId": "p-1"},
        {
            "PhoneNumber": "+15551234567",
            "Message": "Your code is 1234",
            "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.MM.SMS.OriginationNumber": {"DataType": "String", "StringValue": "+15550000000"},
                "AWS.MM.SMS.EntityId": {"DataType": "String", "StringValue": "e-1"},
                "AWS.MM.SMS.TemplateId": {"DataType": "String", "StringValue": "t-1"},
                **{k: {"DataType": "String", "StringValue": v} for k, v in carrier_tags(SMS_DELIVERY).items()},
            },
        },
    )
    assert SnsSmsSender(sns, NO_WAIT).send(SMS_DELIVERY).message_id == "p-1"


@pytest.mark.parametrize("code", sorted(SNS_ERRORS))
def test_sns_maps_every_error(stubbed: Any, code: str) -> None:
    sns, stub = stubbed("sns")
    outcome = SNS_ERRORS[code]
    for _ in range(NO_WAIT.attempts if outcome.retry else 1):
        stub.add_client_error("publish", service_error_code=code, http_status_code=400)
    result = SnsSmsSender(sns, NO_WAIT).send(SMS_DELIVERY)
    assert (result.status, result.status_code) == (outcome.status, outcome.status_code)


APP_ARN = "arn:aws:sns:us-east-1:123456789012:app/GCM/shop"
ENDPOINT_ARN = "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/shop/abc"


def push(channel: str = GCM, **content: Any) -> Delivery:
    return delivery(channel, "token-1", PushContent(APP_ARN, **content))


def test_push_creates_the_endpoint_once_then_publishes_the_platform_payload(stubbed: Any) -> None:
    sns, stub = stubbed("sns")
    stub.add_response(
        "create_platform_endpoint",
        {"EndpointArn": ENDPOINT_ARN},
        {"PlatformApplicationArn": APP_ARN, "Token": "token-1"},
    )
    stub.add_response(
        "get_endpoint_attributes",
        {"Attributes": {"Enabled": "true", "Token": "token-1"}},
        {"EndpointArn": ENDPOINT_ARN},
    )
    stub.add_response(
        "publish",
        {"MessageId": "n-1"},
        {"TargetArn": ENDPOINT_ARN, "MessageStructure": "json", "Message": ANY, "MessageAttributes": ANY},
    )
    stub.add_response(
        "publish",
        {"MessageId": "n-2"},
        {"TargetArn": ENDPOINT_ARN, "MessageStructure": "json", "Message": ANY, "MessageAttributes": ANY},
    )
    sender = SnsPushSender(sns, NO_WAIT)
    d = push(title="Sale", body="50% off", data={"sku": "42"}, time_to_live=60)
    assert sender.send(d).message_id == "n-1"
    assert sender.send(d).message_id == "n-2"  # the endpoint is remembered


def test_push_re_enables_a_disabled_endpoint(stubbed: Any) -> None:
    sns, stub = stubbed("sns")
    stub.add_response("create_platform_endpoint", {"EndpointArn": ENDPOINT_ARN})
    stub.add_response("get_endpoint_attributes", {"Attributes": {"Enabled": "false", "Token": "token-1"}})
    stub.add_response(
        "set_endpoint_attributes",
        {},
        {"EndpointArn": ENDPOINT_ARN, "Attributes": {"Enabled": "true", "Token": "token-1"}},
    )
    stub.add_response("publish", {"MessageId": "n-3"})
    assert SnsPushSender(sns, NO_WAIT).send(push(body="hi")).status == SUCCESSFUL


def test_a_disabled_endpoint_is_a_permanent_failure_and_forgotten(stubbed: Any) -> None:
    sns, stub = stubbed("sns")
    stub.add_response("create_platform_endpoint", {"EndpointArn": ENDPOINT_ARN})
    stub.add_response("get_endpoint_attributes", {"Attributes": {"Enabled": "true", "Token": "token-1"}})
    stub.add_client_error("publish", service_error_code="EndpointDisabled", http_status_code=400)
    stub.add_response("create_platform_endpoint", {"EndpointArn": ENDPOINT_ARN})
    stub.add_response("get_endpoint_attributes", {"Attributes": {"Enabled": "true"}})
    stub.add_response("publish", {"MessageId": "n-4"})
    sender = SnsPushSender(sns, NO_WAIT)
    assert (sender.send(push(body="hi")).status, sender.send(push(body="hi")).status) == (PERMANENT_FAILURE, SUCCESSFUL)


def test_push_endpoint_errors_are_mapped(stubbed: Any) -> None:
    sns, stub = stubbed("sns")
    stub.add_client_error("create_platform_endpoint", service_error_code="InvalidParameter", http_status_code=400)
    assert SnsPushSender(sns, NO_WAIT).send(push(body="hi")).status == PERMANENT_FAILURE


def payload_of(channel: str, **content: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    request = SnsPushSender.request(push(channel, **content), push(channel, **content).content, ENDPOINT_ARN)  # type: ignore[arg-type]
    message = json.loads(request["Message"])
    platform = next(k for k in message if k != "default")
    return json.loads(message[platform]), request.get("MessageAttributes", {})


def test_apns_standard_silent_and_raw_payloads() -> None:
    standard, attributes = payload_of(APNS, title="T", body="B", sound="ding", badge=3, data={"k": "v"})
    assert standard == {"aps": {"alert": {"title": "T", "body": "B"}, "sound": "ding", "badge": 3}, "k": "v"}
    assert attributes["AWS.SNS.MOBILE.APNS.PUSH_TYPE"]["StringValue"] == "alert"
    silent, attributes = payload_of(APNS, silent=True, data={"k": "v"})
    assert silent == {"aps": {"content-available": 1}, "k": "v"}
    assert attributes["AWS.SNS.MOBILE.APNS.PUSH_TYPE"]["StringValue"] == "background"
    request = SnsPushSender.request(
        push(APNS, raw_content='{"aps":{"alert":"raw"}}'),
        PushContent(APP_ARN, raw_content='{"aps":{"alert":"raw"}}'),
        ENDPOINT_ARN,
    )
    assert json.loads(request["Message"])["APNS"] == '{"aps":{"alert":"raw"}}'


def test_fcm_notification_and_data_messages() -> None:
    standard, _ = payload_of(GCM, title="T", body="B", data={"k": "v"}, priority="high")
    assert standard == {"notification": {"title": "T", "body": "B"}, "data": {"k": "v"}, "priority": "high"}
    data_only, _ = payload_of(GCM, silent=True, data={"k": "v"})
    assert data_only == {"data": {"k": "v"}}


def test_adm_and_baidu_payloads() -> None:
    adm, attributes = payload_of(ADM, title="T", body="B", data={"k": "v"}, time_to_live=30)
    assert adm == {"data": {"title": "T", "body": "B", "k": "v"}}
    assert attributes == {"AWS.SNS.MOBILE.ADM.TTL": {"DataType": "String", "StringValue": "30"}}
    baidu, _ = payload_of(BAIDU, title="T", body="B", data={"k": "v"})
    assert baidu == {"title": "T", "description": "B", "custom_content": {"k": "v"}}
    _, attributes = payload_of(APNS_VOIP, body="call")
    assert attributes["AWS.SNS.MOBILE.APNS.PUSH_TYPE"]["StringValue"] == "voip"


# ------------------------------------------------------------------------------------------ custom

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:customer-channel"


def custom(destination: str) -> Delivery:
    return delivery(
        CUSTOM,
        "ep-9",
        CustomContent(destination, data="hello", endpoints={"ep-9": {"ChannelType": "CUSTOM", "Address": "x"}}),
        endpoint_id="ep-9",
        context={"campaign_id": "c-1"},
    )


def test_custom_invokes_the_lambda_with_pinpoints_payload(stubbed: Any) -> None:
    lam, stub = stubbed("lambda")
    stub.add_response(
        "invoke",
        {"StatusCode": 200},
        {"FunctionName": FUNCTION_ARN, "InvocationType": "RequestResponse", "Payload": ANY},
    )
    assert CustomSender(lam, NO_WAIT).send(custom(FUNCTION_ARN)).status == SUCCESSFUL


def test_a_failing_function_is_a_temporary_failure(stubbed: Any) -> None:
    lam, stub = stubbed("lambda")
    stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled"})
    assert CustomSender(lam, NO_WAIT).send(custom(FUNCTION_ARN)).status == TEMPORARY_FAILURE


LAMBDA_CODES = sorted(code for code in CUSTOM_ERRORS if code.endswith("Exception"))


@pytest.mark.parametrize("code", LAMBDA_CODES)
def test_every_lambda_error_is_mapped(stubbed: Any, code: str) -> None:
    lam, stub = stubbed("lambda")
    outcome = CUSTOM_ERRORS[code]
    for _ in range(NO_WAIT.attempts if outcome.retry else 1):
        stub.add_client_error("invoke", service_error_code=code, http_status_code=400)
    result = CustomSender(lam, NO_WAIT).send(custom(FUNCTION_ARN))
    assert (result.status, result.status_code) == (outcome.status, outcome.status_code)


def test_an_unlisted_lambda_5xx_is_a_temporary_failure(stubbed: Any) -> None:
    lam, stub = stubbed("lambda")
    stub.add_client_error("invoke", service_error_code="ServiceException", http_status_code=500)
    assert CustomSender(lam, NO_WAIT).send(custom(FUNCTION_ARN)).status == TEMPORARY_FAILURE


def webhook(addresses: list[str], statuses: list[int]) -> tuple[CustomSender, list[tuple[Any, ...]]]:
    posts: list[tuple[Any, ...]] = []

    def post(ip: str, port: int, host: str, path: str, body: bytes) -> int:
        posts.append((ip, port, host, path, json.loads(body)))
        return statuses.pop(0)

    return CustomSender(None, NO_WAIT, resolver=lambda host, port: addresses, poster=post), posts


def test_a_webhook_gets_the_payload_posted_to_the_checked_address() -> None:
    sender, posts = webhook(["93.184.216.34"], [200])
    assert sender.send(custom("https://hooks.example.com/pinpoint?x=1")).status == SUCCESSFUL
    ((ip, port, host, path, body),) = posts
    assert (ip, port, host, path) == ("93.184.216.34", 443, "hooks.example.com", "/pinpoint?x=1")
    assert body["Data"] == "hello"
    assert body["ApplicationId"] == "app-1"
    assert body["CampaignId"] == "c-1"
    assert body["Message"] == {}
    assert body["Endpoints"] == {"ep-9": {"ChannelType": "CUSTOM", "Address": "x"}}


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://hooks.example.com/", ["93.184.216.34"]),
        ("https://localhost/", ["127.0.0.1"]),
        ("https://metadata/", ["169.254.169.254"]),
        ("https://internal.example.com/", ["93.184.216.34", "10.0.0.7"]),  # one private answer is enough
        ("https://v6.example.com/", ["::ffff:192.168.1.1"]),
        ("https://v6.example.com/", ["fd00::1"]),
        ("https://nowhere.example.com/", []),
    ],
)
def test_webhooks_refuse_plain_http_and_private_addresses(url: str, addresses: list[str]) -> None:
    sender, posts = webhook(addresses, [200])
    result = sender.send(custom(url))
    assert (result.status, posts) == (PERMANENT_FAILURE, [])
    assert result.status_message


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        ([204], SUCCESSFUL),
        ([404], PERMANENT_FAILURE),
        ([500], TEMPORARY_FAILURE),
        ([429, 429, 429], THROTTLED),
        ([429, 202], SUCCESSFUL),
    ],
)
def test_webhook_statuses_are_mapped(statuses: list[int], status: str) -> None:
    sender, _ = webhook(["93.184.216.34"], statuses)
    assert sender.send(custom("https://hooks.example.com/")).status == status


def test_addresses_are_masked_for_logs() -> None:
    assert mask("+15551234567") == "+1******4567"
    assert mask("jane@example.com") == "j***@example.com"
    assert mask("123") == "***"


def test_a_refusal_is_logged_with_the_address_masked_and_no_body(
    stubbed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ses, stub = stubbed("sesv2")
    stub.add_client_error(
        "send_email", service_error_code="MessageRejected", service_message="rejected", http_status_code=400
    )
    with caplog.at_level("INFO"):
        SesEmailSender(ses, NO_WAIT).send(EMAIL_DELIVERY)
    (record,) = [r for r in caplog.records if r.getMessage() == "send refused"]
    assert (record.to, record.channel, record.carrier_error) == ("j***@example.com", EMAIL, "MessageRejected")  # type: ignore[attr-defined]
    logged = " ".join(str(v) for r in caplog.records for v in vars(r).values())
    assert "jane@example.com" not in logged
    assert "Hi Jane" not in logged
