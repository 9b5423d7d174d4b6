"""DeliveryFeedback (Events stack): receipt and inbound-SMS topics -> record_receipts / receive_sms."""

from __future__ import annotations

from typing import Any

from homing.adapters.dynamodb.tables import APPS, CATALOG, DELIVERY_LEDGER, ENDPOINTS, TWO_WAY_SMS
from tests.infrastructure.conftest import Synthesized


def _functions(synth: Synthesized) -> dict[str, Any]:
    feedback = synth.events.feedback
    return {"record_receipts": feedback.record_receipts, "receive_sms": feedback.receive_sms}


def test_topics_are_encrypted_with_the_messaging_key_and_only_ses_and_sms_voice_may_publish(synth: Synthesized) -> None:
    feedback = synth.events.feedback
    key_arn = synth.resolve_import(
        synth.resource(feedback.receipts_topic)["Properties"]["KmsMasterKeyId"]
    )  # the Data stack's messaging key, exported
    assert key_arn == {"Fn::GetAtt": [synth.logical_id(synth.data.messaging_key), "Arn"]}
    for topic in (feedback.receipts_topic, feedback.inbound_topic):
        props = synth.resource(topic)["Properties"]
        assert synth.resolve_import(props["KmsMasterKeyId"]) == key_arn
    policies = synth.resources(synth.events, "AWS::SNS::TopicPolicy").values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    publishers = [s for s in statements if s.get("Sid") == "AllowMessagingServicesToPublish"]
    assert len(publishers) == 2
    for statement in publishers:
        assert statement["Principal"] == {"Service": ["ses.amazonaws.com", "sms-voice.amazonaws.com"]}
        assert statement["Action"] == "sns:Publish"
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    tls = [s for s in statements if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool")]
    assert len(tls) == 2  # enforce_ssl on both topics


def test_each_function_is_subscribed_to_its_topic(synth: Synthesized) -> None:
    feedback = synth.events.feedback
    subscriptions = {
        s["Properties"]["TopicArn"]["Ref"]: s["Properties"]["Endpoint"]["Fn::GetAtt"][0]
        for s in synth.resources(synth.events, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
    }
    assert subscriptions == {
        synth.logical_id(feedback.receipts_topic): synth.logical_id(feedback.record_receipts.function),
        synth.logical_id(feedback.inbound_topic): synth.logical_id(feedback.receive_sms.function),
    }


def test_failed_notifications_are_retried_twice_then_dead_lettered_and_alarm(synth: Synthesized) -> None:
    feedback = synth.events.feedback
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in synth.resources(synth.events, "AWS::Lambda::EventInvokeConfig").values()
    }
    for function, queue in (
        (feedback.record_receipts, feedback.receipts_dead_letters),
        (feedback.receive_sms, feedback.inbound_dead_letters),
    ):
        config = configs[synth.logical_id(function.function)]
        assert config["MaximumRetryAttempts"] == 2
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": [synth.logical_id(queue), "Arn"]
        }
        assert synth.resource(queue)["Properties"]["KmsMasterKeyId"]  # encrypted with the data key
        alarms = [
            a
            for a in synth.resources(synth.events, "AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("Dimensions", [{}])[0].get("Value")
            == {"Fn::GetAtt": [synth.logical_id(queue), "QueueName"]}
        ]
        assert len(alarms) == 1


def test_environments_name_exactly_the_tables_and_the_stream(synth: Synthesized) -> None:
    expected = {
        "record_receipts": {APPS, ENDPOINTS, CATALOG},
        "receive_sms": {APPS, ENDPOINTS, CATALOG, TWO_WAY_SMS, DELIVERY_LEDGER},  # replies: the senders' ledger
    }
    for name, function in _functions(synth).items():
        env = synth.resource(function.function)["Properties"]["Environment"]["Variables"]
        tables = {t.env for t in expected[name]}
        assert {k for k in env if k.endswith("_TABLE")} == tables
        assert "EVENT_STREAM_NAME" in env


def test_only_receive_sms_touches_two_way_sms_and_may_publish_to_topics(synth: Synthesized) -> None:
    two_way_arn = {"Fn::GetAtt": [synth.logical_id(synth.data.tables[TWO_WAY_SMS]), "Arn"]}
    for name, function in _functions(synth).items():
        statements = synth.role_statements(function.role)
        two_way = {
            a
            for s in statements
            if two_way_arn in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }
        publish = [s for s in statements if s["Action"] == "sns:Publish"]
        if name == "receive_sms":
            assert two_way == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
            assert len(publish) == 1
        else:
            assert two_way == set()
            assert publish == []


def test_the_ses_configuration_set_publishes_every_recorded_event_type_to_the_receipts_topic(
    synth: Synthesized,
) -> None:
    feedback = synth.events.feedback
    (destination,) = synth.resources(synth.events, "AWS::SES::ConfigurationSetEventDestination").values()
    props = destination["Properties"]["EventDestination"]
    assert props["SnsDestination"] == {"TopicARN": {"Ref": synth.logical_id(feedback.receipts_topic)}}
    assert set(props["MatchingEventTypes"]) == {
        "send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure",
    }  # fmt: skip
    assert (
        synth.resource(feedback.configuration_set)["Properties"]["Name"] == "homing-dev"
    )  # the environment's, or context ses_configuration_set
