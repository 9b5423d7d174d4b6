"""Senders: the send_messages function, the sender task of the campaign and journey workflows.

It takes ``{"deliveries": [...]}`` (at most ``homing.domain.dispatch.MAX_BATCH``) and answers the
results in order, each key sent at most once (the DeliveryLedger table). ``grant_sending`` is the one
list of what sending needs, for this function and any other that sends in-process (the api function,
if SendMessages sends directly): SES SendEmail on the account's identities and configuration sets,
End User Messaging SendTextMessage/SendVoiceMessage on its origination identities, SNS Publish and
the platform-endpoint actions, Invoke on the custom-channel functions the deployment allows (context
``custom_channel_functions``), and the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from homing.adapters.dynamodb.tables import DELIVERY_LEDGER
from homing.settings import SMS_CARRIERS, Env
from stacks.constructs.function import HomingFunction
from stacks.resources import DataResources, function_environment

# The tables send_messages uses: its environment names exactly these, and each has a grant below.
SEND_TABLES = (DELIVERY_LEDGER,)
# 50 deliveries at 10 concurrent sends; a throttled send backs off for at most a few seconds.
TIMEOUT = Duration.minutes(2)
# Functions (names or ARN patterns) a custom channel may invoke; context "custom_channel_functions".
CUSTOM_FUNCTIONS_CONTEXT_KEY = "custom_channel_functions"
DEFAULT_CUSTOM_FUNCTIONS = ("homing-custom-*",)
# Who carries SMS: "end-user-messaging" (default) or "sns"; context "sms_carrier".
SMS_CARRIER_CONTEXT_KEY = "sms_carrier"
LEDGER_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")


def custom_channel_functions(scope: Construct) -> tuple[str, ...]:
    """The context's ``custom_channel_functions`` (a list, JSON list text or comma-separated), else the default."""
    return context_functions(scope, CUSTOM_FUNCTIONS_CONTEXT_KEY, DEFAULT_CUSTOM_FUNCTIONS)


def context_functions(scope: Construct, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Function names or ARN patterns from the context ``key`` (a list, JSON list text or comma-separated)."""
    value = scope.node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().startswith("["):
        value = json.loads(value)
    names = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(n).strip() for n in names if str(n).strip())


def sms_carrier(scope: Construct) -> str:
    value = str(scope.node.try_get_context(SMS_CARRIER_CONTEXT_KEY) or SMS_CARRIERS[0]).strip().lower()
    if value not in SMS_CARRIERS:
        raise ValueError(f"context {SMS_CARRIER_CONTEXT_KEY} must be one of {', '.join(SMS_CARRIERS)}")
    return value


def function_arns(scope: Construct, names: Sequence[str]) -> list[str]:
    stack = Stack.of(scope)
    return [
        name
        if name.startswith("arn:")
        else stack.format_arn(
            service="lambda", resource="function", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        for name in names
    ]


def grant_sending(
    scope: Construct,
    grantee: iam.IGrantable,
    data: DataResources,
    *,
    custom_functions: Sequence[str],
    carrier: str,
) -> None:
    """What sending needs, and nothing more (see the module docstring); ``scope``: the grantee's stack."""
    stack = Stack.of(scope)

    def arn(service: str, resource: str) -> str:
        return stack.format_arn(service=service, resource=resource)

    statements = [
        iam.PolicyStatement(
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resources=[arn("ses", "identity/*"), arn("ses", "configuration-set/*")],
        ),
        iam.PolicyStatement(
            actions=["sms-voice:SendTextMessage", "sms-voice:SendVoiceMessage"],
            resources=[
                arn("sms-voice", f"{kind}/*")
                for kind in ("phone-number", "pool", "sender-id", "configuration-set", "opt-out-list")
            ],
        ),
        iam.PolicyStatement(actions=["sns:CreatePlatformEndpoint"], resources=[arn("sns", "app/*")]),
        iam.PolicyStatement(
            actions=["sns:GetEndpointAttributes", "sns:SetEndpointAttributes", "sns:Publish"],
            resources=[arn("sns", "endpoint/*")],
        ),
    ]
    if carrier == "sns":
        # Publish to a phone number names no resource: SMS through SNS needs Publish on "*".
        statements.append(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
    if custom_functions:
        statements.append(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=function_arns(stack, custom_functions))
        )
    for statement in statements:
        grantee.grant_principal.add_to_principal_policy(statement)
    data.tables[DELIVERY_LEDGER].grant(grantee, *LEDGER_ACTIONS)
    data.key.grant_encrypt_decrypt(grantee)  # the ledger's customer-managed key


class Senders(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataResources,
        custom_functions: Sequence[str],
        carrier: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.custom_functions = tuple(custom_functions)
        self.carrier = carrier
        self.send_messages = HomingFunction(
            self,
            "SendMessages",
            entry="send_messages",
            description="Homing: sends a batch of rendered messages through SES, End User Messaging, SNS or custom",
            env=function_environment(data, SEND_TABLES, {Env.SMS_CARRIER: carrier}),
            timeout=TIMEOUT,
            log_retention=log_retention,
            log_removal_policy=removal_policy,
        )
        grant_sending(self, self.send_messages.function, data, custom_functions=self.custom_functions, carrier=carrier)
