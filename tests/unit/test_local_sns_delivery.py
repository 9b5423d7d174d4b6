"""Local mode: the stacks' SNS -> Lambda subscriptions are found in the synthesized template and resolved."""

from __future__ import annotations

from typing import Any

from homing.local.archive import resolver
from homing.local.sns_delivery import LambdaSubscription, lambda_subscriptions

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Topic1": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Fn1": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Sub1": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "lambda",
                "TopicArn": {"Ref": "Topic1"},
                "Endpoint": {"Fn::GetAtt": ["Fn1", "Arn"]},
            },
        },
        "Mail": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"Protocol": "email", "TopicArn": {"Ref": "Topic1"}, "Endpoint": "ops@example.com"},
        },
        "Elsewhere": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "lambda",
                "TopicArn": {"Ref": "Missing"},
                "Endpoint": {"Fn::GetAtt": ["Fn1", "Arn"]},
            },
        },
    }
}


def test_lambda_subscriptions_are_resolved_and_others_left_alone() -> None:
    physical = {"Topic1": "arn:aws:sns:us-east-1:123456789012:Homing-Topic1", "Fn1": "Homing-Fn1"}
    found = lambda_subscriptions("Events", TEMPLATE, resolver(physical, {}))
    assert found == [
        LambdaSubscription("Events", "Sub1", "arn:aws:sns:us-east-1:123456789012:Homing-Topic1", "Homing-Fn1")
    ]
