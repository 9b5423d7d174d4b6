"""Direct messages through the stock boto3 client, as a new user sends them, read back in the local outbox.

Channels configured with the Update*Channel operations, an email template with helpers and default
substitutions, endpoints with user and endpoint attributes; SendMessages and SendUsersMessages on every
channel; an opted-out endpoint answered OPT_OUT without a send; the send events reaching the KPIs; an
OTP round trip whose code is read from the outbox; an inbound STOP making the next send OPT_OUT.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import settle
from tests.e2e.test_apps_e2e import new_app
from tests.e2e.test_delivery_feedback_e2e import NUMBER, inbound_topic
from tests.e2e.test_events_e2e import kpi_rows, signed_request, single_value

pytestmark = pytest.mark.e2e

ORIGINATION = "+12065550100"


def outbox(api_url: str, **filters: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{api_url}/_local/outbox?{urllib.parse.urlencode(filters)}", timeout=60) as page:
        rows: list[dict[str, Any]] = json.load(page)["Items"]
    return rows


def phone_number() -> str:
    return f"+1206555{uuid.uuid4().int % 10000:04d}"


def configure_channels(pinpoint: Any, app_id: str, sender: str) -> None:
    pinpoint.update_email_channel(
        ApplicationId=app_id,
        EmailChannelRequest={
            "Enabled": True,
            "FromAddress": sender,
            "Identity": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        },
    )
    pinpoint.update_sms_channel(ApplicationId=app_id, SMSChannelRequest={"Enabled": True, "SenderId": "SHOP"})
    pinpoint.update_voice_channel(ApplicationId=app_id, VoiceChannelRequest={"Enabled": True})
    pinpoint.update_gcm_channel(ApplicationId=app_id, GCMChannelRequest={"Enabled": True, "ApiKey": "fcm-key"})


def test_messages_on_every_channel_arrive_rendered(api_url: str, pinpoint: Any) -> None:
    run = uuid.uuid4().hex[:8]
    sender, mail, phone, caller, token = (
        f"shop-{run}@example.com",
        f"jane-{run}@example.com",
        *(phone_number() for _ in range(2)),
        f"token-{run}",
    )
    template = f"welcome-{run}"
    pinpoint.create_email_template(
        TemplateName=template,
        EmailTemplateRequest={
            "Subject": "Hi {{User.UserAttributes.FirstName}}",
            "HtmlPart": "<p>Plan: {{upper Attributes.Plan}}, since {{Attributes.Since}}</p>",
            "TextPart": "Plan {{Attributes.Plan}}{{Attributes.Missing}}",
            "DefaultSubstitutions": json.dumps({"Attributes.Since": "today"}),
        },
    )
    try:
        with new_app(pinpoint, "messaging") as app:
            app_id = app["Id"]
            configure_channels(pinpoint, app_id, sender)
            user = {"UserId": f"jane-{run}", "UserAttributes": {"FirstName": ["Jane"]}}
            pinpoint.update_endpoint(
                ApplicationId=app_id,
                EndpointId="jane-mail",
                EndpointRequest={
                    "ChannelType": "EMAIL",
                    "Address": mail,
                    "Attributes": {"Plan": ["gold"]},
                    "User": user,
                },
            )
            pinpoint.update_endpoint(
                ApplicationId=app_id,
                EndpointId="jane-phone",
                EndpointRequest={"ChannelType": "SMS", "Address": phone, "User": user},
            )
            response = pinpoint.send_messages(
                ApplicationId=app_id,
                MessageRequest={
                    "Endpoints": {"jane-mail": {}, "jane-phone": {}},
                    "Addresses": {caller: {"ChannelType": "VOICE"}, token: {"ChannelType": "GCM"}},
                    "MessageConfiguration": {
                        "SMSMessage": {
                            "Body": "Hello {{User.UserAttributes.FirstName}}",
                            "MessageType": "TRANSACTIONAL",
                        },
                        "VoiceMessage": {
                            "Body": "Your table is ready",
                            "OriginationNumber": ORIGINATION,
                            "VoiceId": "Joanna",
                            "LanguageCode": "en-US",
                        },
                        "GCMMessage": {"Title": "Sale", "Body": "Half price today", "Action": "OPEN_APP"},
                    },
                    "TemplateConfiguration": {"EmailTemplate": {"Name": template}},
                },
            )["MessageResponse"]

            endpoints, addresses = response["EndpointResult"], response["Result"]
            assert {k: v["DeliveryStatus"] for k, v in endpoints.items()} == {
                "jane-mail": "SUCCESSFUL",
                "jane-phone": "SUCCESSFUL",
            }, endpoints
            assert {k: v["DeliveryStatus"] for k, v in addresses.items()} == {caller: "SUCCESSFUL", token: "SUCCESSFUL"}
            assert all(r["StatusCode"] == 200 and r["MessageId"] for r in [*endpoints.values(), *addresses.values()])

            (email,) = outbox(api_url, channel="EMAIL", address=mail)
            assert (email["Subject"], email["From"]) == ("Hi Jane", sender)
            assert "<p>Plan: GOLD, since today</p>" in email["Body"]
            (text,) = outbox(api_url, channel="SMS", address=phone)
            assert text["Body"] == "Hello Jane"
            (call,) = outbox(api_url, channel="VOICE", address=caller)
            assert call["Body"] == "Your table is ready"
            (push,) = outbox(api_url, channel="PUSH", address=token)
            assert (push["Channel"], push["Subject"], push["Body"]) == ("GCM", "Sale", "Half price today")

            settle(api_url)  # the send events, through process_events, into the transactional KPIs
            assert single_value(kpi_rows(pinpoint, app_id, "txn-emails-sent")) == 1
            assert single_value(kpi_rows(pinpoint, app_id, "txn-sms-sent")) == 1
    finally:
        pinpoint.delete_email_template(TemplateName=template)


def test_users_messages_skip_opted_out_endpoints(api_url: str, pinpoint: Any) -> None:
    run = uuid.uuid4().hex[:8]
    user_id, mail, quiet = f"sam-{run}", f"sam-{run}@example.com", f"sam-quiet-{run}@example.com"
    with new_app(pinpoint, "users-messages") as app:
        app_id = app["Id"]
        configure_channels(pinpoint, app_id, f"shop-{run}@example.com")
        for endpoint_id, address, opt_out in (("work", mail, "NONE"), ("home", quiet, "ALL")):
            pinpoint.update_endpoint(
                ApplicationId=app_id,
                EndpointId=endpoint_id,
                EndpointRequest={
                    "ChannelType": "EMAIL",
                    "Address": address,
                    "OptOut": opt_out,
                    "User": {"UserId": user_id},
                },
            )
        response = pinpoint.send_users_messages(
            ApplicationId=app_id,
            SendUsersMessageRequest={
                "Users": {user_id: {"Substitutions": {"Name": ["Sam"]}}},
                "MessageConfiguration": {
                    "EmailMessage": {
                        "SimpleEmail": {
                            "Subject": {"Data": "Receipt for {{Name}}"},
                            "HtmlPart": {"Data": "<p>Thanks, {{Name}}</p>"},
                        }
                    }
                },
            },
        )["SendUsersMessageResponse"]

        results = response["Result"][user_id]
        assert results["work"]["DeliveryStatus"] == "SUCCESSFUL"
        assert results["home"]["DeliveryStatus"] == "OPT_OUT"
        (email,) = outbox(api_url, channel="EMAIL", address=mail)
        assert (email["Subject"], email["Body"]) == ("Receipt for Sam", "<p>Thanks, Sam</p>")
        assert outbox(api_url, channel="EMAIL", address=quiet) == []


def test_an_otp_sent_by_sms_verifies_once(api_url: str, pinpoint: Any) -> None:
    phone, reference = phone_number(), f"login-{uuid.uuid4().hex[:8]}"
    with new_app(pinpoint, "otp") as app:
        app_id = app["Id"]
        configure_channels(pinpoint, app_id, "shop@example.com")
        sent = pinpoint.send_otp_message(
            ApplicationId=app_id,
            SendOTPMessageRequestParameters={
                "BrandName": "Shop",
                "Channel": "SMS",
                "DestinationIdentity": phone,
                "OriginationIdentity": ORIGINATION,
                "ReferenceId": reference,
            },
        )["MessageResponse"]
        assert [r["DeliveryStatus"] for r in sent["Result"].values()] == ["SUCCESSFUL"]
        (text,) = outbox(api_url, channel="SMS", address=phone)
        code = re.search(r"Password: (\d+) from Shop", text["Body"])
        assert code, "the SMS carries the code"

        def verify(otp: str) -> bool:
            answer = pinpoint.verify_otp_message(
                ApplicationId=app_id,
                VerifyOTPMessageRequestParameters={"DestinationIdentity": phone, "Otp": otp, "ReferenceId": reference},
            )
            return bool(answer["VerificationResponse"]["Valid"])

        wrong = "0" * len(code.group(1)) if code.group(1) != "0" * len(code.group(1)) else "1" * len(code.group(1))
        assert verify(wrong) is False
        assert verify(code.group(1)) is True
        assert verify(code.group(1)) is False  # a code verifies once


def test_an_inbound_stop_makes_the_next_send_opt_out(api_url: str, moto_url: str, pinpoint: Any) -> None:
    customer = phone_number()
    with new_app(pinpoint, "stop") as app:
        app_id = app["Id"]
        configure_channels(pinpoint, app_id, "shop@example.com")
        signed_request(api_url, "PUT", f"/v1/apps/{app_id}/two-way-sms", body={"Numbers": [NUMBER]})
        pinpoint.update_endpoint(
            ApplicationId=app_id, EndpointId="phone", EndpointRequest={"ChannelType": "SMS", "Address": customer}
        )
        request = {"Endpoints": {"phone": {}}, "MessageConfiguration": {"SMSMessage": {"Body": "Deals today"}}}
        first = pinpoint.send_messages(ApplicationId=app_id, MessageRequest=request)["MessageResponse"]
        assert first["EndpointResult"]["phone"]["DeliveryStatus"] == "SUCCESSFUL"

        sns, topic = inbound_topic(moto_url)
        inbound = {
            "originationNumber": customer,
            "destinationNumber": NUMBER,
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": "STOP",
            "inboundMessageId": str(uuid.uuid4()),
        }
        sns.publish(TopicArn=topic, Message=json.dumps(inbound))  # as End User Messaging's two-way channel does

        again = pinpoint.send_messages(ApplicationId=app_id, MessageRequest=request)["MessageResponse"]
        assert again["EndpointResult"]["phone"]["DeliveryStatus"] == "OPT_OUT"
        assert [row["Body"] for row in outbox(api_url, channel="SMS", address=customer)] == ["Deals today"]


def test_bad_direct_messages_and_otp_requests_are_pinpoint_errors_naming_the_field(pinpoint: Any) -> None:
    with new_app(pinpoint, "messaging-errors") as app:
        app_id = app["Id"]
        too_many = {f"+1206555{i:04d}": {"ChannelType": "SMS"} for i in range(101)}
        with pytest.raises(pinpoint.exceptions.BadRequestException) as error:
            pinpoint.send_messages(
                ApplicationId=app_id,
                MessageRequest={"Addresses": too_many, "MessageConfiguration": {"SMSMessage": {"Body": "hi"}}},
            )
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "Addresses" in error.value.response["Error"]["Message"]
        with pytest.raises(pinpoint.exceptions.BadRequestException) as error:
            pinpoint.send_otp_message(
                ApplicationId=app_id,
                SendOTPMessageRequestParameters={
                    "BrandName": "Shop",
                    "Channel": "SMS",
                    "DestinationIdentity": phone_number(),
                    "OriginationIdentity": ORIGINATION,
                    "ReferenceId": "r",
                    "CodeLength": 99,
                },
            )
        assert "CodeLength" in error.value.response["Error"]["Message"]
    with pytest.raises(pinpoint.exceptions.NotFoundException):
        pinpoint.send_users_messages(
            ApplicationId="0" * 32,
            SendUsersMessageRequest={"Users": {"u": {}}, "MessageConfiguration": {"SMSMessage": {"Body": "hi"}}},
        )
