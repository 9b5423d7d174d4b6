"""Two-way SMS in local mode: an inbound STOP, published to the inbound SMS topic as End User Messaging
publishes it, opts the app's SMS and VOICE endpoints of that number out (read back with stock boto3)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from tests.e2e.conftest import REGION
from tests.e2e.test_apps_e2e import new_app
from tests.e2e.test_events_e2e import signed_request

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
