"""Direct messaging rules, pure: request checks, Pinpoint's message precedence, recipient overrides,
the content built for the senders, delivery keys and the send events' records."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from homing.domain.analytics import parse_record
from homing.domain.errors import BadRequest
from homing.domain.messages import (
    APNS_SANDBOX,
    EMAIL,
    GCM,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    VOICE,
    Delivery,
    DeliveryResult,
    EmailContent,
    PushContent,
    SmsContent,
    VoiceContent,
)
from homing.domain.messaging import (
    DirectMessageConfiguration,
    EmailTemplateContent,
    MessageRequest,
    Origination,
    PushPart,
    PushTemplateContent,
    SendConfiguration,
    TextTemplateContent,
    build_content,
    delivery_key,
    engagement_record,
    for_recipient,
    merged_context,
    parse_message_request,
    phone_number,
    resolve_message,
    sms_parts,
)


def config(raw: dict[str, Any]) -> DirectMessageConfiguration:
    request = parse_message_request(
        {"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}, "MessageConfiguration": raw}, users=False
    )
    assert request.message_configuration is not None
    return request.message_configuration


def same(source: str | None) -> str | None:
    return source


# --- request checks ---------------------------------------------------------------------------------


def test_a_message_request_is_read_with_pinpoints_member_names() -> None:
    request = parse_message_request(
        {
            "Addresses": {"+12065550100": {"ChannelType": "SMS", "BodyOverride": "hi", "Substitutions": {"n": ["1"]}}},
            "Endpoints": {"ep-1": {"TitleOverride": "t", "Context": {"k": "v"}}},
            "MessageConfiguration": {
                "SMSMessage": {"Body": "b", "MessageType": "PROMOTIONAL"},
                "APNSMessage": {"Title": "x", "SilentPush": True},
                "GCMMessage": {"TimeToLive": 60},
            },
            "TemplateConfiguration": {"SMSTemplate": {"Name": "t1", "Version": "2"}},
            "Context": {"c": "1"},
            "TraceId": "trace",
        },
        users=False,
    )
    assert request.addresses is not None
    assert request.endpoints is not None
    assert request.addresses["+12065550100"].body_override == "hi"
    assert request.endpoints["ep-1"].context == {"k": "v"}
    mc = request.message_configuration
    assert mc is not None
    assert mc.sms_message is not None
    assert mc.apns_message is not None
    assert mc.gcm_message is not None
    assert (mc.sms_message.message_type, mc.apns_message.silent_push, mc.gcm_message.time_to_live) == (
        "PROMOTIONAL",
        True,
        60,
    )
    assert request.template_configuration is not None
    assert request.template_configuration.sms_template is not None
    assert request.template_configuration.sms_template.name == "t1"
    assert request.trace_id == "trace"


def to_endpoint(message_configuration: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Endpoints": {"e": {}}, "MessageConfiguration": message_configuration, **extra}


def to_address(config: dict[str, Any], address: str = "a") -> dict[str, Any]:
    return {"Addresses": {address: config}, "MessageConfiguration": {}}


@pytest.mark.parametrize(
    ("body", "users", "field"),
    [
        ({"Addresses": {"a": {"ChannelType": "EMAIL"}}}, False, "MessageConfiguration"),
        ({"MessageConfiguration": {}}, False, "Addresses or Endpoints"),
        ({"Addresses": {}, "Endpoints": {}, "MessageConfiguration": {}}, False, "Addresses or Endpoints"),
        (to_address({}), False, "Addresses.a.ChannelType"),
        (to_address({"ChannelType": "CUSTOM"}), False, "Addresses.a.ChannelType"),
        (to_address({"ChannelType": "NOPE"}), False, "Addresses.a.ChannelType"),
        (to_address({"ChannelType": "SMS"}, " "), False, "Addresses"),
        (to_address({"ChannelType": 3}), False, "Addresses.a.ChannelType"),
        ({"Endpoints": {"e": {"Substitutions": {"x": "y"}}}, "MessageConfiguration": {}}, False, "Endpoints.e.Subst"),
        (to_endpoint({"SMSMessage": {"MessageType": "X"}}), False, "SMSMessage.MessageType"),
        (to_endpoint({"GCMMessage": {"Action": "JUMP"}}), False, "GCMMessage.Action"),
        (to_endpoint({"EmailMessage": {"RawEmail": {"Data": "!!"}}}), False, "RawEmail.Data"),
        (to_endpoint({}, TemplateConfiguration={"EmailTemplate": {}}), False, "EmailTemplate.Name"),
        (to_endpoint({}, TemplateConfiguration={"InAppTemplate": {"Name": "x"}}), False, "InAppTemplate"),
        ({"Users": {"u": {}}}, True, "MessageConfiguration"),
        ({"MessageConfiguration": {}}, True, "Users"),
        ({"Users": {"": {}}, "MessageConfiguration": {}}, True, "Users"),
    ],
)  # fmt: skip
def test_a_malformed_request_is_a_400_naming_the_field(body: dict[str, Any], users: bool, field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace(".", r"\.")):
        parse_message_request(body, users=users)


def test_at_most_100_recipients() -> None:
    fifty = {f"a{i}@example.com": {"ChannelType": "EMAIL"} for i in range(50)}
    endpoints: dict[str, Any] = {f"e{i}": {} for i in range(50)}
    parse_message_request({"Addresses": fifty, "Endpoints": endpoints, "MessageConfiguration": {}}, users=False)
    endpoints["one-more"] = {}
    with pytest.raises(BadRequest, match="Addresses, Endpoints: at most 100 recipients"):
        parse_message_request({"Addresses": fifty, "Endpoints": endpoints, "MessageConfiguration": {}}, users=False)
    users: dict[str, Any] = {f"u{i}": {} for i in range(101)}
    with pytest.raises(BadRequest, match="Users: at most 100"):
        parse_message_request({"Users": users, "MessageConfiguration": {}}, users=True)


def test_the_other_operations_recipients_are_not_read() -> None:
    request = parse_message_request({"Users": {"u": {}}, "Endpoints": "junk", "MessageConfiguration": {}}, users=True)
    assert request.endpoints is None
    assert request.users is not None


# --- precedence -------------------------------------------------------------------------------------


def test_channel_message_beats_template_which_beats_default_message() -> None:
    template = TextTemplateContent(body="template body", defaults={"x": "1"})
    only_default = config({"DefaultMessage": {"Body": "default"}})
    assert resolve_message(SMS, only_default, None).body == "default"
    assert resolve_message(SMS, only_default, template).body == "template body"
    both = config({"DefaultMessage": {"Body": "default"}, "SMSMessage": {"Body": "own"}})
    resolved = resolve_message(SMS, both, template)
    assert resolved.body == "own"
    assert resolved.defaults == {"x": "1"}


def test_substitutions_merge_default_then_channel_then_recipient() -> None:
    mc = config(
        {
            "DefaultMessage": {"Body": "b", "Substitutions": {"a": ["default"], "b": ["default"]}},
            "SMSMessage": {"Substitutions": {"b": ["sms"], "c": ["sms"]}},
        }
    )
    message = for_recipient(resolve_message(SMS, mc, None), SendConfiguration(substitutions={"c": ["mine"]}))
    assert message.substitutions == {"a": ["default"], "b": ["sms"], "c": ["mine"]}


def test_email_parts_come_from_simple_email_then_template() -> None:
    template = EmailTemplateContent(subject="T subject", html="<p>T</p>", text="T text", headers=(("X-T", "1"),))
    mc = config(
        {
            "EmailMessage": {
                "FromAddress": "from@example.com",
                "SimpleEmail": {"Subject": {"Data": "own subject"}, "Headers": [{"Name": "X-Own", "Value": "2"}]},
                "ReplyToAddresses": ["r@example.com"],
            }
        }
    )
    message = resolve_message(EMAIL, mc, template)
    assert (message.subject, message.html, message.body) == ("own subject", "<p>T</p>", "T text")
    content = build_content(message, Origination(from_address="channel@example.com", configuration_set="cs"), same)
    assert content == EmailContent(
        from_address="from@example.com",
        subject="own subject",
        html_body="<p>T</p>",
        text_body="T text",
        reply_to=["r@example.com"],
        headers={"X-T": "1", "X-Own": "2"},
        configuration_set="cs",
    )


def test_email_from_address_falls_back_to_the_channels() -> None:
    message = resolve_message(EMAIL, config({"EmailMessage": {"SimpleEmail": {"TextPart": {"Data": "t"}}}}), None)
    content = build_content(message, Origination(from_address="channel@example.com"), same)
    assert isinstance(content, EmailContent)
    assert content.from_address == "channel@example.com"


def test_push_layers_platform_message_over_default_push_over_template_over_default_message() -> None:
    template = PushTemplateContent(
        default=PushPart(title="tpl default title", body="tpl default body", sound="tpl"),
        platforms={"gcm": PushPart(body="tpl gcm body"), "apns": PushPart(title="tpl apns title")},
    )
    mc = config(
        {
            "DefaultMessage": {"Body": "plain"},
            "DefaultPushNotificationMessage": {"Title": "push title", "Data": {"a": "1", "b": "1"}},
            "GCMMessage": {"Action": "URL", "Url": "https://x.example", "Data": {"b": "2"}},
        }
    )
    gcm = resolve_message(GCM, mc, template)
    assert (gcm.subject, gcm.body, gcm.sound, gcm.action, gcm.url) == (
        "push title",
        "tpl gcm body",
        "tpl",
        "URL",
        "https://x.example",
    )
    assert gcm.data == {"a": "1", "b": "2"}
    apns = resolve_message(APNS_SANDBOX, config({"DefaultMessage": {"Body": "plain"}}), template)
    assert (apns.subject, apns.body) == ("tpl apns title", "tpl default body")
    assert resolve_message(GCM, config({"DefaultMessage": {"Body": "plain"}}), None).body == "plain"


def test_voice_takes_language_and_voice_from_message_then_template() -> None:
    template = TextTemplateContent(body="<speak>hi</speak>", language_code="fr-FR", voice_id="Celine")
    message = resolve_message(VOICE, config({"VoiceMessage": {"VoiceId": "Mathieu"}}), template)
    content = build_content(message, Origination(), same)
    assert content == VoiceContent(body="<speak>hi</speak>", language_code="fr-FR", voice_id="Mathieu", ssml=True)


def test_sms_origination_falls_back_to_the_channels_settings() -> None:
    message = resolve_message(SMS, config({"SMSMessage": {"Body": "b", "Keyword": "K"}}), None)
    content = build_content(message, Origination(sender_id="HOMING", short_code="12345"), same)
    assert content == SmsContent(body="b", origination_number="12345", sender_id="HOMING", keyword="K")
    own = resolve_message(
        SMS, config({"SMSMessage": {"Body": "b", "OriginationNumber": "+1555", "SenderId": "ME"}}), None
    )
    content = build_content(own, Origination(sender_id="HOMING", short_code="12345"), same)
    assert isinstance(content, SmsContent)
    assert (content.origination_number, content.sender_id) == ("+1555", "ME")


def test_recipient_overrides_come_last() -> None:
    mc = config({"EmailMessage": {"SimpleEmail": {"Subject": {"Data": "s"}, "HtmlPart": {"Data": "<b>h</b>"}}}})
    email = for_recipient(resolve_message(EMAIL, mc, None), SendConfiguration(body_override="o", title_override="t"))
    assert (email.subject, email.html, email.body) == ("t", "o", "o")
    push = resolve_message(GCM, config({"GCMMessage": {"Body": "b", "RawContent": "{}"}}), None)
    push = for_recipient(push, SendConfiguration(raw_content='{"data":{}}', title_override="t"))
    assert (push.raw, push.subject, push.body) == ('{"data":{}}', "t", "b")
    sms = for_recipient(
        resolve_message(SMS, config({"SMSMessage": {"Body": "b"}}), None), SendConfiguration(raw_content="x")
    )
    assert sms.raw is None  # RawContent is a push payload


def test_nothing_to_send_is_seen() -> None:
    assert not resolve_message(EMAIL, config({"SMSMessage": {"Body": "b"}}), None).has_content()
    assert not resolve_message(VOICE, config({"SMSMessage": {"Body": "b"}}), None).has_content()
    assert resolve_message(VOICE, config({"DefaultMessage": {"Body": "b"}}), None).has_content()


def test_render_fills_every_text_part() -> None:
    mc = config({"GCMMessage": {"Title": "T {{x}}", "Body": "B {{x}}", "Url": "https://e/{{x}}"}})
    content = build_content(
        resolve_message(GCM, mc, None),
        Origination(platform_application_arn="arn:aws:sns:us-east-1:1:app/GCM/a"),
        lambda s: None if s is None else s.replace("{{x}}", "1"),
    )
    assert isinstance(content, PushContent)
    assert (content.title, content.body, content.url) == ("T 1", "B 1", "https://e/1")
    assert content.platform_application_arn == "arn:aws:sns:us-east-1:1:app/GCM/a"


def test_context_merges_request_then_recipient() -> None:
    request = MessageRequest(context={"a": "1", "b": "1"})
    assert merged_context(request, SendConfiguration(context={"b": "2"})) == {"a": "1", "b": "2"}


def test_delivery_keys_are_stable_per_request_and_recipient() -> None:
    assert delivery_key("r1", "endpoint", "e") == delivery_key("r1", "endpoint", "e")
    assert (
        len(
            {
                delivery_key("r1", "endpoint", "e"),
                delivery_key("r2", "endpoint", "e"),
                delivery_key("r1", "address", "e"),
            }
        )
        == 3
    )


def test_phone_numbers_are_read_in_international_form_only() -> None:
    assert phone_number("+1 (206) 555-0100") == ("+12065550100", "US")
    assert phone_number("+33 6 12 34 56 78") == ("+33612345678", "FR")
    assert phone_number("2065550100") is None
    assert phone_number("not a number") is None
    assert phone_number("+1" + "9" * 300) is None


def test_sms_parts_follow_gsm_and_ucs2_limits() -> None:
    assert [sms_parts("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert sms_parts("€" * 80) == 1
    assert sms_parts("€" * 81) == 2
    assert [sms_parts("é" * 160), sms_parts("ж" * 70), sms_parts("ж" * 71)] == [1, 1, 2]


# --- send events --------------------------------------------------------------------------------------


def delivery(content: Any, endpoint_id: str | None = "ep-1", context: dict[str, str] | None = None) -> Delivery:
    channel = EMAIL if isinstance(content, EmailContent) else SMS if isinstance(content, SmsContent) else GCM
    return Delivery("app1", channel, "to@example.com" if channel == EMAIL else "+12065550100", "key-1", content,
                    endpoint_id, context or {})  # fmt: skip


def test_an_accepted_email_is_an_email_send_record_counted_as_a_transactional_send() -> None:
    content = EmailContent("from@example.com", subject="Hi", text_body="t")
    record = engagement_record(
        delivery(content, context={"order": "7"}),
        DeliveryResult(SUCCESSFUL, 200, "ok", "msg-1"),
        request_id="r1",
        now_ms=1_700_000_000_000,
        account_id="123456789012",
    )
    assert record is not None
    assert record["event_type"] == "_email.send"
    assert record["attributes"] == {"order": "7", "feedback": "received"}
    mail = record["facets"]["email_channel"]["mail_event"]["mail"]
    assert mail["message_id"] == "msg-1"
    assert mail["destination"] == ["to@example.com"]
    assert mail["common_headers"] == {"from": "from@example.com", "to": ["to@example.com"], "subject": "Hi"}
    assert record["client"] == {"client_id": "ep-1"}
    assert record["awsAccountId"] == "123456789012"
    parsed = parse_record(json.loads(json.dumps(record)))
    assert (parsed.app_id, parsed.endpoint_id, parsed.event_type) == ("app1", "ep-1", "_email.send")


def test_a_failed_email_is_not_a_send() -> None:
    content = EmailContent("from@example.com", subject="Hi")
    failed = DeliveryResult(PERMANENT_FAILURE, 400, "rejected")
    assert engagement_record(delivery(content), failed, request_id="r", now_ms=1) is None


def test_sms_records_say_buffered_or_failure_with_pinpoints_attributes() -> None:
    content = SmsContent("hello", origination_number="+18005550100")
    ok = engagement_record(
        delivery(content, endpoint_id=None, context={"k": "v"}),
        DeliveryResult(SUCCESSFUL, 200, "ok", "m-1"),
        request_id="r1",
        now_ms=1_700_000_000_000,
        country="US",
    )
    assert ok is not None
    assert ok["event_type"] == "_SMS.BUFFERED"
    assert ok["client"] == {"client_id": "key-1"}  # an address send has no endpoint: the delivery's key (a UUID)
    assert ok["attributes"] == {
        "sender_request_id": "r1",
        "message_id": "m-1",
        "destination_phone_number": "+12065550100",
        "origination_phone_number": "+18005550100",
        "record_status": "SUCCESSFUL",
        "iso_country_code": "US",
        "number_of_message_parts": "1",
        "message_type": "Transactional",
        "customer_context": '{"k":"v"}',
    }
    failed = engagement_record(
        delivery(content), DeliveryResult(PERMANENT_FAILURE, 400, "no"), request_id="r1", now_ms=1
    )
    assert failed is not None
    assert (failed["event_type"], failed["attributes"]["record_status"]) == ("_SMS.FAILURE", "UNKNOWN")


def test_an_sms_of_unknown_outcome_is_not_streamed() -> None:
    unknown = DeliveryResult("UNKNOWN_FAILURE", 500, "not known")
    assert engagement_record(delivery(SmsContent("hi")), unknown, request_id="r", now_ms=1) is None


def test_push_and_voice_sends_are_not_streamed() -> None:
    ok = DeliveryResult(SUCCESSFUL, 200, "ok", "m")
    push = Delivery("a", GCM, "tok", "k", PushContent("arn"))
    voice = Delivery("a", VOICE, "+12065550100", "k", VoiceContent("hi"))
    assert engagement_record(push, ok, request_id="r", now_ms=1) is None
    assert engagement_record(voice, ok, request_id="r", now_ms=1) is None


def test_raw_email_data_is_checked_as_base64() -> None:
    data = base64.b64encode(b"From: a@example.com\r\n\r\nhi").decode()
    mc = config({"EmailMessage": {"RawEmail": {"Data": data}}})
    message = resolve_message(EMAIL, mc, None)
    assert message.has_content()
    assert message.raw == data


def test_a_record_too_large_for_kinesis_drops_the_email_headers_or_is_left_out() -> None:
    from homing.domain.messaging import fit_record

    ok = DeliveryResult(SUCCESSFUL, 200, "ok", "m")
    long_subject = EmailContent("f@example.com", subject="s" * 2000)
    record = engagement_record(delivery(long_subject), ok, request_id="r", now_ms=1)
    assert record is not None
    small = fit_record(record, limit=3000)
    assert small is not None
    mail = json.loads(small)["facets"]["email_channel"]["mail_event"]["mail"]
    assert (mail["headers"], mail["headers_truncated"], "subject" in mail["common_headers"]) == ([], True, False)
    big_context = engagement_record(delivery(long_subject, context={"k": "v" * 5000}), ok, request_id="r", now_ms=1)
    assert big_context is not None
    assert fit_record(big_context, limit=3000) is None
    assert fit_record(dict(record)) is not None
