"""send_batch (CampaignSending), synthesized in a stack of the test's own beside the real Data stack.

The delivery workflow's part wires the construct into the Api stack; until then this proves its
environment (exactly the tables it is granted), its least privilege (read Apps, Campaigns, Templates,
Channels; read/write Caps; the ledger and carriers through ``grant_sending``; PutRecord(s) on the
events stream; pages read under ``audiences/``, tallies under ``campaign-runs/``; Invoke on the
allowed hook functions only), and that cdk-nag (which fails synth on an error) passes with the
acknowledgements of ``stacks.nag.acknowledge_campaign_sending``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.conftest import TEST_CONTEXT, Synthesized
from tests.infrastructure.test_events_stack import _actions_by_resource, _key

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

pytestmark = pytest.mark.xdist_group("infrastructure")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthesized, Any]:
    from aws_cdk import App, RemovalPolicy, Stack
    from aws_cdk import aws_logs as logs

    import app as cdk_app
    from stacks.config import EnvConfig
    from stacks.constructs.campaign_sending import CampaignSending
    from stacks.constructs.senders import Senders
    from stacks.data_stack import DataStack
    from stacks.nag import (
        _ack,
        _ack_tracing,
        _acknowledge_data,
        _acknowledge_sending,
        acknowledge_campaign_sending,
        apply_checks,
    )

    outdir: Path = tmp_path_factory.mktemp("sending.out")
    context = {**cdk_app.cdk_json_context(), **TEST_CONTEXT, "campaign_hook_functions": ["hooks-*", "audit"]}
    application = App(outdir=str(outdir), context=context)
    config = EnvConfig.from_context(application.node)
    data = DataStack(application, config.stack_id("Data"), config=config)
    stack = Stack(application, "Sending")
    retention, removal = logs.RetentionDays.ONE_WEEK, RemovalPolicy.DESTROY
    senders = Senders(
        stack,
        "Senders",
        data=data.resources,
        custom_functions=("homing-custom-*",),
        carrier="end-user-messaging",
        log_retention=retention,
        removal_policy=removal,
    )
    sending = CampaignSending(
        stack, "CampaignSending", data=data.resources, senders=senders, log_retention=retention, removal_policy=removal
    )
    _acknowledge_data(data)
    role = senders.send_messages.role
    _ack_tracing(role)
    _acknowledge_sending(role, senders.carrier, senders.custom_functions)
    for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
        _ack(role, f"IAM5[Action::{action}]", "the ledger's key (as in the Api stack)")
    acknowledge_campaign_sending(sending, data)
    apply_checks(application)
    application.synth()  # cdk-nag errors fail it
    result = Synthesized(outdir=outdir, app=application, data=data, api=None, events=None, error=None)
    for path in outdir.glob("*.template.json"):
        result.templates[path.name.removesuffix(".template.json")] = json.loads(path.read_text())
    return result, sending


def _table(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(synth.data.node.find_child(construct_id)), "Arn"]}


def test_send_batch_is_given_exactly_the_tables_it_uses(built: tuple[Synthesized, Any]) -> None:
    synth, sending = built
    function = synth.resource(sending.function)["Properties"]
    assert function["Handler"] == "send_batch.handler.lambda_handler"
    assert (function["MemorySize"], function["Timeout"]) == (1024, 300)
    env = synth.resolve_import(function["Environment"]["Variables"])
    tables = {
        "APPS_TABLE",
        "CAMPAIGNS_TABLE",
        "TEMPLATES_TABLE",
        "CHANNELS_TABLE",
        "CAPS_TABLE",
        "DELIVERY_LEDGER_TABLE",
        "ENDPOINTS_TABLE",  # event-triggered sends: the endpoint, its segment, its active days
        "SEGMENTS_TABLE",
        "ANALYTICS_TABLE",
    }
    assert set(env) == tables | {
        "RESOURCE_ARN_PREFIX",
        "EVENT_STREAM_NAME",
        "AUDIENCE_BUCKET",
        "SMS_CARRIER",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    assert env["CAPS_TABLE"] == {"Ref": synth.logical_id(synth.data.node.find_child("Caps"))}
    assert env["SMS_CARRIER"] == "end-user-messaging"


def test_send_batch_role_is_least_privilege(built: tuple[Synthesized, Any]) -> None:
    synth, sending = built
    granted = _actions_by_resource(synth.role_statements(sending.role))
    for name in ("Apps", "Templates", "Channels"):
        actions = granted[_key(_table(synth, name))]
        assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions
        assert not any(a in actions for a in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"))
    # event-triggered sends: the day's activity and its counts (a conditional put, a transaction)
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"} <= granted[
        _key(_table(synth, "Campaigns"))
    ]
    assert granted[_key(_table(synth, "Endpoints"))] == {"dynamodb:BatchGetItem"}  # the table only, no index
    assert granted[_key(_table(synth, "Segments"))] == {"dynamodb:GetItem"}
    assert granted[_key(_table(synth, "Analytics"))] == {"dynamodb:BatchGetItem"}
    caps = granted[_key(_table(synth, "Caps"))]
    assert {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"} <= caps
    assert granted[_key(_table(synth, "DeliveryLedger"))] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    for table in ("Otp", "Jobs", "Catalog"):
        assert _key(_table(synth, table)) not in granted
    stream = granted[_key(_table(synth, "Events"))]
    assert {"kinesis:PutRecord", "kinesis:PutRecords"} <= stream
    assert not any(a.startswith("kinesis:Get") for a in stream)
    bucket = {"Fn::GetAtt": [synth.logical_id(synth.data.node.find_child("Audiences")), "Arn"]}
    pages = _key({"Fn::Join": ["", [bucket, "/audiences/*"]]})
    runs = _key({"Fn::Join": ["", [bucket, "/campaign-runs/*"]]})
    assert granted[pages] == {"s3:GetObject"}
    assert granted[runs] == {"s3:GetObject", "s3:PutObject"}
    invoke = {k: v for k, v in granted.items() if "lambda:InvokeFunction" in v}
    shown = " ".join(invoke)
    for name in ("function:hooks-*", "function:audit", "function:homing-custom-*"):
        assert name in shown
    assert all(v == {"lambda:InvokeFunction"} for v in invoke.values())


def test_event_triggered_sends_are_dropped_after_5_minutes_as_pinpoint_drops_them(
    built: tuple[Synthesized, Any],
) -> None:
    synth, sending = built
    stack = sending.node.scope
    [config] = synth.resources(stack, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["FunctionName"] == {"Ref": synth.logical_id(sending.function)}
    assert (config["Properties"]["MaximumEventAgeInSeconds"], config["Properties"]["MaximumRetryAttempts"]) == (300, 2)
