"""Two-way SMS on moto: the configuration extension through the api handler, and inbound messages
through the real receive_sms handler (STOP opts out every SMS and VOICE endpoint of the number)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homing.domain.messages import SUCCESSFUL, Delivery, DeliveryResult, SmsContent
from tests.conftest import LambdaContext, drain_stream
from tests.integration.test_apps_api import create

NUMBER, CUSTOMER = "+12125550101", "+14255550182"


def inbound(body: str, message_id: str = "in-1", to: str = NUMBER) -> dict[str, Any]:
    return {
        "originationNumber": CUSTOMER,
        "destinationNumber": to,
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": body,
        "inboundMessageId": message_id,
        "previousPublishedMessageId": "prev-1",
    }


@pytest.fixture
def receive(aws: None) -> Iterator[Any]:
    """The real receive_sms handler, invoked as SNS invokes it."""
    import receive_sms.handler as handler_module

    from homing.bootstrap import inbound_sms

    inbound_sms.cache_clear()

    def _receive(message: dict[str, Any]) -> dict[str, Any]:
        event = {
            "Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(message)}}]
        }
        return handler_module.lambda_handler(event, LambdaContext(function_name="receive_sms"))

    yield _receive
    inbound_sms.cache_clear()


class RecordingDispatcher:
    """An in-memory double of the issue's Dispatcher: remembers each key, sends it once."""

    def __init__(self) -> None:
        self.sent: dict[str, Delivery] = {}

    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]:
        for d in deliveries:
            self.sent.setdefault(d.key, d)
        return [DeliveryResult(SUCCESSFUL, 200, "ok", message_id=d.key) for d in deliveries]


def configure(call: Any, app: str, **body: Any) -> Any:
    return call("PUT", f"/v1/apps/{app}/two-way-sms", {"Numbers": [NUMBER], **body})


def stream_events() -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in drain_stream()]


def test_configuration_round_trip_and_errors(call: Any) -> None:
    app, other = create(call)["Id"], create(call)["Id"]
    assert call("GET", f"/v1/apps/{app}/two-way-sms").status == 404
    r = configure(call, app, Keywords={"join": "Welcome"}, HelpReply="Text STOP to stop")
    assert r.status == 200, r.body
    assert r.body["Numbers"] == [NUMBER]
    assert r.body["Keywords"] == {"JOIN": "Welcome"}
    assert r.body["Version"] == 1
    assert call("GET", f"/v1/apps/{app}/two-way-sms").body == r.body
    taken = configure(call, other)
    assert taken.status == 400
    assert "Numbers[0]" in taken.body["Message"]
    assert call("GET", f"/v1/apps/{other}/two-way-sms").status == 404  # the rejected request wrote nothing
    bad = call("PUT", f"/v1/apps/{app}/two-way-sms", {"Numbers": ["555"]})
    assert bad.status == 400
    assert "Numbers[0]" in bad.body["Message"]
    assert call("PUT", f"/v1/apps/{app}/two-way-sms", {"Keywords": {"STOP": "no"}}).status == 400
    assert call("PUT", "/v1/apps/nope/two-way-sms", {"Numbers": [NUMBER]}).status == 404
    # the number is released by a change, then by a delete, and another app may claim it
    assert call("PUT", f"/v1/apps/{app}/two-way-sms", {"Numbers": ["+12125550102"]}).status == 200
    assert configure(call, other).status == 200
    assert call("DELETE", f"/v1/apps/{other}/two-way-sms").body["Numbers"] == [NUMBER]
    assert configure(call, app).body["Version"] == 3


def test_stop_opts_out_every_sms_and_voice_endpoint_of_the_number_once(call: Any, receive: Any) -> None:
    app = create(call)["Id"]
    assert configure(call, app).status == 200
    for endpoint, channel in (("sms-1", "SMS"), ("voice-1", "VOICE")):
        assert (
            call("PUT", f"/v1/apps/{app}/endpoints/{endpoint}", {"ChannelType": channel, "Address": CUSTOMER}).status
            == 202
        )
    assert (
        call("PUT", f"/v1/apps/{app}/endpoints/mail", {"ChannelType": "EMAIL", "Address": "a@example.org"}).status
        == 202
    )

    assert receive(inbound("Stop")) == {"actions": ["STOP"]}
    for endpoint in ("sms-1", "voice-1"):
        assert call("GET", f"/v1/apps/{app}/endpoints/{endpoint}").body["OptOut"] == "ALL"
    assert call("GET", f"/v1/apps/{app}/endpoints/mail").body["OptOut"] == "NONE"
    events = stream_events()
    assert sorted(e["event_type"] for e in events) == ["_SMS.OPTOUT", "_SMS.RECEIVED"]
    assert {e["application"]["app_id"] for e in events} == {app}
    assert all(e["attributes"]["keyword_action"] == "STOP" for e in events)

    assert receive(inbound("Stop")) == {"actions": ["replay"]}  # the same inboundMessageId
    assert len(stream_events()) == 2


def test_a_number_no_app_claims_is_reported_and_skipped(call: Any, receive: Any) -> None:
    assert receive(inbound("STOP", to="+19995550100")) == {"actions": ["unclaimed"]}
    assert drain_stream() == []


def test_a_malformed_inbound_fails_its_invocation(receive: Any) -> None:
    with pytest.raises(ValueError, match="inboundMessageId"):
        receive({"originationNumber": CUSTOMER, "destinationNumber": NUMBER, "messageBody": "hi"})


def test_help_and_keywords_reply_through_the_dispatcher_once_and_everything_is_forwarded(call: Any) -> None:
    from homing.bootstrap import build_inbound_sms
    from homing.settings import ReceiptSettings

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="inbound")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbound-copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    app = create(call)["Id"]
    assert (
        configure(call, app, Keywords={"JOIN": "Welcome!"}, HelpReply="Help text", ForwardTopicArn=topic).status == 200
    )
    dispatcher = RecordingDispatcher()
    service = build_inbound_sms(ReceiptSettings.from_env(), replies=lambda: dispatcher)

    assert service.receive(inbound("help", "in-help")) == "HELP"
    assert service.receive(inbound(" Join ", "in-join")) == "KEYWORD"
    assert service.receive(inbound("what time do you open?", "in-chat")) == "NONE"
    assert service.receive(inbound("help", "in-help")) == "replay"
    replies = {k: (d.address, d.content) for k, d in dispatcher.sent.items()}
    assert replies == {
        "two-way-sms:in-help": (CUSTOMER, SmsContent(body="Help text", origination_number=NUMBER)),
        "two-way-sms:in-join": (CUSTOMER, SmsContent(body="Welcome!", origination_number=NUMBER)),
    }
    forwarded = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = sorted(json.loads(m["Body"])["inboundMessageId"] for m in forwarded)
    assert bodies == ["in-chat", "in-help", "in-join"]
    assert sorted(e["attributes"]["keyword_action"] for e in stream_events()) == ["HELP", "KEYWORD", "NONE"]


def test_a_failed_handling_releases_the_message_for_the_retry(call: Any) -> None:
    from homing.bootstrap import build_inbound_sms
    from homing.settings import ReceiptSettings

    app = create(call)["Id"]
    assert configure(call, app, HelpReply="Help text").status == 200
    attempts: list[int] = []
    dispatcher = RecordingDispatcher()

    def flaky() -> RecordingDispatcher:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("the sender is down")
        return dispatcher

    service = build_inbound_sms(ReceiptSettings.from_env(), replies=flaky)
    with pytest.raises(ConnectionError):
        service.receive(inbound("HELP", "in-x"))
    assert service.receive(inbound("HELP", "in-x")) == "HELP"  # Lambda's retry handles it
    assert list(dispatcher.sent) == ["two-way-sms:in-x"]


def test_delete_app_clean_up_removes_the_configuration_and_frees_the_number(call: Any, clean_up: Any) -> None:
    from homing.adapters.dynamodb.two_way_sms import TwoWaySmsRepository

    app, other = create(call)["Id"], create(call)["Id"]
    assert configure(call, app, Keywords={"JOIN": "Welcome"}).status == 200
    assert call("DELETE", f"/v1/apps/{app}").status == 200
    assert clean_up() >= 2
    repo = TwoWaySmsRepository()
    assert repo.get(app) is None
    assert repo.owner(NUMBER) is None
    assert configure(call, other).status == 200  # the number can be claimed again


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(["Numbers", "Keywords", "HelpReply", "StopReply", "ForwardTopicArn", "Other"])


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(FIELDS, JSONISH | st.just(["+12125550101"]) | st.just({"JOIN": "hi"}), max_size=4))
def test_hostile_configurations_never_5xx_and_a_rejected_one_writes_nothing(call: Any, body: dict[str, Any]) -> None:
    from homing.adapters.dynamodb.two_way_sms import TwoWaySmsRepository

    app = create(call)["Id"]
    r = call("PUT", f"/v1/apps/{app}/two-way-sms", body)
    assert r.status in (200, 400), r.body
    if r.status == 400:
        assert r.error_type == "BadRequestException"
        assert TwoWaySmsRepository().get(app) is None
    else:
        call("DELETE", f"/v1/apps/{app}/two-way-sms")  # release the number for the next example
