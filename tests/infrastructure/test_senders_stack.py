"""Senders: the send_messages function, its environment and its least privilege (senders, ledger, custom functions)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.conftest import Synthesized
from tests.infrastructure.test_events_stack import _actions_by_resource, _arn, _key, _table_arn

pytestmark = pytest.mark.xdist_group("infrastructure")


def _account_arn(service: str, resource: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":{service}:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{resource}",
            ],
        ]
    }


def test_send_messages_is_given_the_ledger_and_the_sms_carrier(synth: Synthesized) -> None:
    function = synth.resource(synth.api.senders.send_messages.function)["Properties"]
    assert function["Handler"] == "send_messages.handler.lambda_handler"
    env = synth.resolve_import(function["Environment"]["Variables"])
    assert set(env) == {
        "DELIVERY_LEDGER_TABLE",
        "SMS_CARRIER",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    assert env["DELIVERY_LEDGER_TABLE"] == {"Ref": synth.logical_id(synth.data.node.find_child("DeliveryLedger"))}
    assert env["SMS_CARRIER"] == "end-user-messaging"


def test_send_messages_role_is_least_privilege(synth: Synthesized) -> None:
    statements = synth.role_statements(synth.api.senders.send_messages.role)
    granted = _actions_by_resource(statements)
    granted.pop(_key("*"))  # X-Ray only (checked below)
    granted = {k: v for k, v in granted.items() if not any(a.startswith("logs:") for a in v)}
    sms_voice = {"sms-voice:SendTextMessage", "sms-voice:SendVoiceMessage"}
    expected = {
        _key(_account_arn("ses", "identity/*")): {"ses:SendEmail", "ses:SendRawEmail"},
        _key(_account_arn("ses", "configuration-set/*")): {"ses:SendEmail", "ses:SendRawEmail"},
        **{
            _key(_account_arn("sms-voice", f"{kind}/*")): sms_voice
            for kind in ("phone-number", "pool", "sender-id", "configuration-set", "opt-out-list")
        },
        _key(_account_arn("sns", "app/*")): {"sns:CreatePlatformEndpoint"},
        _key(_account_arn("sns", "endpoint/*")): {
            "sns:Publish",
            "sns:GetEndpointAttributes",
            "sns:SetEndpointAttributes",
        },
        _key(_account_arn("lambda", "function:homing-custom-*")): {"lambda:InvokeFunction"},
        _key(_table_arn(synth, "DeliveryLedger")): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        _key(_arn(synth, synth.data.key)): {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"},
    }
    assert granted == expected
    star = [s for s in statements if s["Resource"] == "*"]
    assert {a for s in star for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }  # no sns:Publish on "*" unless SMS goes through SNS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("homing-custom-*",)),
        (
            "shop-channel, arn:aws:lambda:us-east-1:123456789012:function:x",
            ("shop-channel", "arn:aws:lambda:us-east-1:123456789012:function:x"),
        ),
        ('["a"]', ("a",)),
        ([], ()),
    ],
)
def test_custom_channel_functions_come_from_the_context(value: object, expected: tuple[str, ...]) -> None:
    from aws_cdk import App, Stack

    from stacks.constructs.senders import custom_channel_functions

    context = {} if value is None else {"custom_channel_functions": value}
    assert custom_channel_functions(Stack(App(context=context), "S")) == expected


def test_the_sms_carrier_comes_from_the_context() -> None:
    from aws_cdk import App, Stack

    from stacks.constructs.senders import sms_carrier

    assert sms_carrier(Stack(App(), "S")) == "end-user-messaging"
    assert sms_carrier(Stack(App(context={"sms_carrier": "SNS"}), "S")) == "sns"
    with pytest.raises(ValueError, match="sms_carrier"):
        sms_carrier(Stack(App(context={"sms_carrier": "pigeon"}), "S"))


def _sending_grants(synth: Synthesized, role: Any) -> dict[str, set[str]]:
    """A role's grants on what ``grant_sending`` covers: SES, End User Messaging, SNS push, Lambda, the ledger."""
    carriers = ("ses:", "sms-voice:", "lambda:", "sns:CreatePlatformEndpoint", "sns:Publish", "sns:GetEndpoint")
    ledger = _key(_table_arn(synth, "DeliveryLedger"))
    allowed = [s for s in synth.role_statements(role) if s["Effect"] == "Allow"]  # the api's one Deny: channels
    return {
        resource: actions
        for resource, actions in _actions_by_resource(allowed).items()
        if resource == ledger or any(a.startswith(carriers) for a in actions)
    }


def test_in_process_senders_get_exactly_the_send_functions_grants(synth: Synthesized) -> None:
    """SendMessages/OTP (the api) and keyword replies (receive_sms) send in-process through the same senders."""
    sending = _sending_grants(synth, synth.api.senders.send_messages.role)
    assert _sending_grants(synth, synth.api.api_function.role) == sending
    custom = _key(_account_arn("lambda", "function:homing-custom-*"))
    replies = {k: v for k, v in sending.items() if k != custom}  # replies are SMS: no custom channel
    inbound = _sending_grants(synth, synth.events.feedback.receive_sms.role)
    forwarding = {k for k in inbound if '":sns:*:"' in k}  # its own grant: Publish to the apps' forwarding topics
    assert len(forwarding) == 1
    assert {k: v for k, v in inbound.items() if k not in forwarding} == replies
    for function in (synth.api.api_function, synth.events.feedback.receive_sms):
        env = synth.resolve_import(synth.resource(function.function)["Properties"]["Environment"]["Variables"])
        assert env["SMS_CARRIER"] == "end-user-messaging"
        assert env["DELIVERY_LEDGER_TABLE"] == {"Ref": synth.logical_id(synth.data.node.find_child("DeliveryLedger"))}
