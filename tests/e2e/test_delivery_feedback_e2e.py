"""Delivery feedback in local mode, read back with stock boto3: an inbound STOP, published to the inbound
SMS topic as End User Messaging publishes it, opts the app's SMS and VOICE endpoints of that number out;
an SES hard bounce published to the receipts topic deactivates the endpoint and reaches the KPIs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

from homing.domain.messages import EMAIL, Delivery, EmailContent, carrier_tags
from tests.e2e.conftest import REGION, settle
from tests.e2e.test_apps_e2e import new_app
from tests.e2e.test_events_e2e import kpi_rows, signed_request, single_value

NUMBER = "+12125550199"


def inbound_topic(moto_url: str) -> tuple[Any, str]:
    sns = boto3.client(
        "sns", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"] if "InboundSmsTopic" in t["TopicArn"]]
    assert len(arns) == 1, arns
    return sns, arns[0]


def test_an_inbound_stop_opts_the_numbers_endpoints_out(api_url: str, moto_url: str, pinpoint: Any) -> None:
    customer = f"+1425555{uuid.uuid4().int % 10000:04d}"
    with new_app(pinpoint, "two-way") as app:
        app_id = app["Id"]
        config = signed_request(api_url, "PUT", f"/v1/apps/{app_id}/two-way-sms", body={"Numbers": [NUMBER]})
        assert config["Numbers"] == [NUMBER]
        for endpoint, channel in (("phone", "SMS"), ("call", "VOICE"), ("mail", "EMAIL")):
            address = "a@example.org" if channel == "EMAIL" else customer
            pinpoint.update_endpoint(
                ApplicationId=app_id,
                EndpointId=endpoint,
                EndpointRequest={"ChannelType": channel, "Address": address},
            )
        sns, topic = inbound_topic(moto_url)
        payload = {
            "originationNumber": customer,
            "destinationNumber": NUMBER,
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": "STOP",
            "inboundMessageId": str(uuid.uuid4()),
        }
        sns.publish(TopicArn=topic, Message=json.dumps(payload))  # delivered to receive_sms inside Publish

        def opt_out(endpoint: str) -> str:
            got = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint)["EndpointResponse"]
            return str(got["OptOut"])

        assert opt_out("phone") == "ALL"
        assert opt_out("call") == "ALL"
        assert opt_out("mail") == "NONE"
        signed_request(api_url, "DELETE", f"/v1/apps/{app_id}/two-way-sms")  # the number is free for the next run


def test_a_hard_bounce_receipt_reaches_the_kpis_and_deactivates_the_endpoint(
    api_url: str, moto_url: str, pinpoint: Any
) -> None:
    sns, _ = inbound_topic(moto_url)
    (receipts,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if "ReceiptsTopic" in t["TopicArn"]]
    with new_app(pinpoint, "receipts") as app:
        app_id = app["Id"]
        pinpoint.update_endpoint(
            ApplicationId=app_id,
            EndpointId="mail",
            EndpointRequest={"ChannelType": "EMAIL", "Address": "b@example.org"},
        )
        tags = carrier_tags(Delivery(app_id, EMAIL, "b@example.org", "k", EmailContent("news@example.com"), "mail"))
        bounce = {
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "b@example.org"}]},
            "mail": {
                "timestamp": datetime.now(UTC).isoformat(),
                "source": "news@example.com",
                "messageId": str(uuid.uuid4()),
                "destination": ["b@example.org"],
                "tags": {k: [v] for k, v in tags.items()},
            },
        }
        sns.publish(TopicArn=receipts, Message=json.dumps(bounce))  # as SES's event destination publishes it

        endpoint = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="mail")["EndpointResponse"]
        assert endpoint["EndpointStatus"] == "INACTIVE"
        settle(api_url)
        assert single_value(kpi_rows(pinpoint, app_id, "txn-emails-hard-bounced")) == 1
