"""The campaign sender's pure rules: a campaign's message in direct messages' terms, the send status
of each result, and the ``_campaign.send`` record."""

from __future__ import annotations

import json

import pytest

from homing.domain import campaign_sending as cs
from homing.domain import campaigns as cmp
from homing.domain.endpoints import Demographic, Endpoint, EndpointUser
from homing.domain.messages import (
    DUPLICATE,
    EMAIL,
    GCM,
    OPT_OUT,
    PERMANENT_FAILURE,
    SMS,
    SUCCESSFUL,
    TEMPORARY_FAILURE,
    THROTTLED,
    UNKNOWN_FAILURE,
    DeliveryResult,
)
from homing.domain.messaging import EmailTemplateContent, resolve_message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (SUCCESSFUL, "SUCCESS"),
        (PERMANENT_FAILURE, "FAILURE_PERMANENT"),
        (OPT_OUT, "FAILURE_PERMANENT"),
        (TEMPORARY_FAILURE, "TRANSIENT_FAILURE"),
        (THROTTLED, "THROTTLED"),
        (UNKNOWN_FAILURE, "UNKNOWN"),
        (DUPLICATE, "DUPLICATE_ADDRESS"),
        ("SOMETHING_NEW", "UNKNOWN"),
    ],
)
def test_each_result_has_its_campaign_send_status(status: str, expected: str) -> None:
    assert cs.send_status(DeliveryResult(status, 200, "")) == expected


def test_an_email_message_maps_title_html_and_body_and_keeps_its_from_address() -> None:
    config = cmp.MessageConfiguration(
        email_message=cmp.CampaignEmailMessage(
            body="text", from_address="news@example.com", html_body="<p>x</p>", title="Subject",
            headers=[cmp.MessageHeader("X-Tag", "a")],
        )
    )  # fmt: skip
    message = resolve_message(EMAIL, cs.direct_configuration(config), None)
    assert (message.subject, message.html, message.body) == ("Subject", "<p>x</p>", "text")
    assert message.from_address == "news@example.com"
    assert message.headers == (("X-Tag", "a"),)


def test_the_message_overrides_its_template_field_by_field() -> None:
    config = cmp.MessageConfiguration(email_message=cmp.CampaignEmailMessage(title="Own subject"))
    template = EmailTemplateContent(subject="Template subject", html="<p>{{x}}</p>", defaults={"x": "1"})
    message = resolve_message(EMAIL, cs.direct_configuration(config), template)
    assert (message.subject, message.html, message.defaults) == ("Own subject", "<p>{{x}}</p>", {"x": "1"})
    assert resolve_message(EMAIL, cs.direct_configuration(None), template).subject == "Template subject"


def test_sms_and_push_messages_and_the_default_message() -> None:
    config = cmp.MessageConfiguration(
        sms_message=cmp.CampaignSmsMessage(body="sms", message_type="PROMOTIONAL", sender_id="Shop"),
        default_message=cmp.PushMessage(body="default body", title="default title"),
        gcm_message=cmp.PushMessage(title="gcm title", action="URL", url="https://example.com"),
    )
    direct = cs.direct_configuration(config)
    sms = resolve_message(SMS, direct, None)
    assert (sms.body, sms.message_type, sms.sender_id) == ("sms", "PROMOTIONAL", "Shop")
    push = resolve_message(GCM, direct, None)
    assert (push.subject, push.body, push.action, push.url) == (
        "gcm title",
        "default body",
        "URL",
        "https://example.com",
    )
    assert not resolve_message(SMS, cs.direct_configuration(cmp.MessageConfiguration()), None).has_content()


def test_the_template_of_a_channel() -> None:
    config = cmp.TemplateConfiguration(
        email_template=cmp.TemplateRef("welcome", "2"), sms_template=cmp.TemplateRef(None), push_template=None
    )
    assert cs.template_ref(config, EMAIL) == cmp.TemplateRef("welcome", "2")
    assert cs.template_ref(config, SMS) is None  # a reference without a name names nothing
    assert cs.template_ref(config, GCM) is None
    assert cs.template_ref(None, EMAIL) is None


def endpoint() -> Endpoint:
    return Endpoint(
        id="ep-1",
        application_id="app",
        creation_date="2026-11-01T00:00:00.000Z",
        cohort_id="7",
        effective_date="2026-11-02T00:00:00.000Z",
        channel_type=EMAIL,
        address="someone@example.com",
        demographic=Demographic(timezone="Europe/Paris"),
        user=EndpointUser(user_id="u1", user_attributes={"FirstName": ["Ann"]}),
    )


def test_the_event_endpoint_is_pinpoints_json_without_the_address_or_app() -> None:
    shaped = json.loads(cs.event_endpoint(endpoint()))
    assert shaped["ChannelType"] == "EMAIL"
    assert shaped["EndpointStatus"] == "ACTIVE"
    assert shaped["OptOut"] == "NONE"
    assert shaped["EffectiveDate"] == "2026-11-02T00:00:00.000Z"
    assert shaped["Demographic"] == {"Timezone": "Europe/Paris"}
    assert shaped["User"] == {"UserId": "u1", "UserAttributes": {"FirstName": ["Ann"]}}
    for omitted in ("Address", "ApplicationId", "Id", "CohortId", "CreationDate"):
        assert omitted not in shaped
    assert cs.endpoint_json(endpoint())["Address"] == "someone@example.com"  # what a hook receives


def test_the_campaign_send_record() -> None:
    attributes = cs.campaign_attributes("c1", "a1", "0", EMAIL, "QUIET_TIME")
    record = cs.campaign_send_record(
        app_id="app", endpoint_id="ep-1", event_id="k:_campaign.send", attributes=attributes,
        endpoint='{"ChannelType":"EMAIL"}', now_ms=1_700_000_000_000, account_id="123456789012",
    )  # fmt: skip
    assert record["event_type"] == "_campaign.send"
    assert record["attributes"] == {
        "campaign_id": "c1",
        "campaign_activity_id": "a1",
        "treatment_id": "0",
        "delivery_type": "EMAIL",
        "campaign_send_status": "QUIET_TIME",
    }
    assert record["client"] == {"client_id": "ep-1"}
    assert record["client_context"] == {"custom": {"endpoint": '{"ChannelType":"EMAIL"}'}}
    assert (record["event_version"], record["awsAccountId"], record["event_id"]) == (
        "3.1",
        "123456789012",
        "k:_campaign.send",
    )
    assert record["application"] == {"app_id": "app", "sdk": {}}


def test_a_channel_record_gets_the_campaign_attributes_on_top() -> None:
    record = {"event_type": "_SMS.BUFFERED", "attributes": {"message_id": "m"}}
    out = cs.with_campaign(record, cs.campaign_attributes("c1", "a1", "1", SMS))
    assert out["attributes"] == {
        "message_id": "m",
        "campaign_id": "c1",
        "campaign_activity_id": "a1",
        "treatment_id": "1",
        "delivery_type": "SMS",
    }
