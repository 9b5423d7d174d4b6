"""Event-triggered campaigns on moto: PutEvents -> the events stream -> the real process_events handler
starts one send per matching event (an asynchronous invocation of send_batch), and send_batch's trigger
run sends only to endpoints of the campaign's segment, counting each trigger once in the day's activity."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from homing.domain.campaign_runs import BatchTally, CampaignRun, delivery_key, run_id
from tests.conftest import drain_stream
from tests.integration.test_apps_api import create
from tests.integration.test_segments_api import new_segment

EMAIL = {"EmailMessage": {"Title": "Thanks", "HtmlBody": "<p>Thanks</p>", "FromAddress": "shop@example.com"}}
GOLD = {"UserAttributes": {"plan": {"AttributeType": "INCLUSIVE", "Values": ["gold"]}}}


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RecordingSender:
    """A stand-in for the campaign sender at its contract: records what it was asked to send, by delivery key."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.runs: list[CampaignRun] = []

    def send(self, run: CampaignRun, members: list[dict[str, Any]], *, now: datetime | None = None) -> BatchTally:
        self.runs.append(run)
        tally = BatchTally()
        for m in members:
            key = delivery_key(run, "0", m["id"])
            part = tally.of("0")
            part.produced += 1
            if key not in self.sent:  # the delivery ledger's job in the real sender
                self.sent.append(key)
            part.successful += 1
            part.statuses["SUCCESS"] += 1
        return tally


@pytest.fixture
def invoked(aws: None, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """process_events with a send_batch to start: the payloads it invoked asynchronously."""
    from homing.adapters.functions import AsyncInvoker
    from homing.bootstrap import processing

    calls: list[dict[str, Any]] = []

    def invoke(self: AsyncInvoker, payload: dict[str, Any]) -> None:
        assert self.function_name == "homing-send-batch"
        calls.append(json.loads(json.dumps(payload)))

    monkeypatch.setenv("CAMPAIGN_SENDER_FUNCTION", "homing-send-batch")
    monkeypatch.setattr(AsyncInvoker, "invoke", invoke)
    processing.cache_clear()
    return calls


def trigger_runner(sender: RecordingSender) -> Any:
    from homing.adapters.dynamodb.audiences import AudienceSource
    from homing.adapters.dynamodb.campaigns import CampaignRepository
    from homing.adapters.dynamodb.endpoints import EndpointRepository
    from homing.bootstrap import build_services
    from homing.services.campaign_triggers import CampaignTriggers
    from homing.settings import ApiSettings

    services = build_services(ApiSettings.from_env())
    return CampaignTriggers(
        CampaignRepository(),
        clock=lambda: datetime.now(UTC),
        activities=services.campaigns,
        endpoints=EndpointRepository(),
        segments=services.segments.resolver,
        activity_days=AudienceSource(),
        sender=sender,
    )


def put_events(call: Any, app: str, events: dict[str, tuple[str, str, dict[str, str]]]) -> None:
    """event id -> (endpoint id, event type, attributes), one PutEvents."""
    now = iso(datetime.now(UTC))
    batch: dict[str, Any] = {}
    for event_id, (endpoint, event_type, attributes) in events.items():
        item = batch.setdefault(endpoint, {"Endpoint": {}, "Events": {}})
        item["Events"][event_id] = {"EventType": event_type, "Timestamp": now, "Attributes": attributes}
    r = call("POST", f"/v1/apps/{app}/events", {"BatchItem": batch})
    assert r.status == 202, r.body


def event_campaign(call: Any, app: str, segment: str, **event_filter: Any) -> str:
    body = {
        "Name": "thanks",
        "SegmentId": segment,
        "MessageConfiguration": EMAIL,
        "Schedule": {
            "StartTime": "IMMEDIATE",
            "Frequency": "EVENT",
            "EventFilter": {
                "FilterType": "ENDPOINT",
                "Dimensions": {"EventType": {"DimensionType": "INCLUSIVE", "Values": ["purchase"]}},
                **event_filter,
            },
        },
    }
    r = call("POST", f"/v1/apps/{app}/campaigns", body)
    assert r.status == 201, r.body
    return str(r.body["Id"])


@pytest.fixture
def shop(call: Any) -> tuple[str, str]:
    """An app with a "gold" segment, a gold endpoint and a free one, and an EVENT campaign on purchases."""
    app = create(call)["Id"]
    segment = new_segment(call, app, Dimensions={"UserAttributes": GOLD["UserAttributes"]})["Id"]
    for endpoint, plan in (("ep-gold", "gold"), ("ep-free", "free")):
        body = {
            "ChannelType": "EMAIL",
            "Address": f"{endpoint}@example.com",
            "User": {"UserAttributes": {"plan": [plan]}},
        }
        assert call("PUT", f"/v1/apps/{app}/endpoints/{endpoint}", body).status == 202
    return app, event_campaign(call, app, segment)


def test_a_matching_event_starts_one_send_and_only_segment_members_get_it(
    call: Any, process: Callable[[list[dict[str, Any]]], dict[str, Any]], invoked: list[dict[str, Any]], shop: Any
) -> None:
    app, cid = shop
    put_events(
        call,
        app,
        {
            "e-gold": ("ep-gold", "purchase", {}),
            "e-free": ("ep-free", "purchase", {}),
            "e-view": ("ep-gold", "page.view", {}),
        },
    )
    assert process(drain_stream()) == {"batchItemFailures": []}
    assert sorted(p["run"]["trigger"]["event_id"] for p in invoked) == ["e-free", "e-gold"]  # one per matching event
    assert all(p["action"] == "trigger" for p in invoked)
    runs = {p["run"]["trigger"]["endpoint_id"]: CampaignRun.from_json(p["run"]) for p in invoked}
    assert runs["ep-gold"].run_id == run_id(cid, "e-gold")

    sender = RecordingSender()
    runner = trigger_runner(sender)
    gold = runner.run(runs["ep-gold"])
    assert gold.of("0").successful == 1
    assert runner.run(runs["ep-free"]).treatments == {}  # not in the segment: nothing sent, nothing counted
    assert sender.sent == [delivery_key(sender.runs[0], "0", "ep-gold")]
    assert sender.runs[0].activities.keys() == {"0"}  # the day's activity, opened for the send

    [activity] = call("GET", f"/v1/apps/{app}/campaigns/{cid}/activities").body["Item"]
    assert activity["ScheduledStart"] == iso(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    assert (activity["TotalEndpointCount"], activity["SuccessfulEndpointCount"]) == (1, 1)
    assert activity["ExecutionMetrics"] == {"ENDPOINT_PRODUCED": "1"}


def test_a_replayed_record_starts_the_same_run_and_is_counted_once(
    call: Any, process: Callable[[list[dict[str, Any]]], dict[str, Any]], invoked: list[dict[str, Any]], shop: Any
) -> None:
    app, cid = shop
    put_events(call, app, {"e1": ("ep-gold", "purchase", {}), "e2": ("ep-gold", "purchase", {})})
    records = drain_stream()
    process(records)
    process(records)  # the stream delivers the batch again
    assert len(invoked) == 4
    first, second = invoked[:2], invoked[2:]
    assert first == second  # the same runs: the same delivery keys

    sender = RecordingSender()
    runner = trigger_runner(sender)
    for payload in invoked:
        runner.run(CampaignRun.from_json(payload["run"]))
    assert len(sender.sent) == 2  # two events, two sends, whatever the replays
    [activity] = call("GET", f"/v1/apps/{app}/campaigns/{cid}/activities").body["Item"]
    assert activity["TotalEndpointCount"] == 2  # each trigger counted once


def test_a_trigger_that_cannot_be_started_fails_its_record_for_a_retry(
    call: Any,
    process: Callable[[list[dict[str, Any]]], dict[str, Any]],
    invoked: list[dict[str, Any]],
    shop: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from homing.adapters.functions import AsyncInvoker

    app, _ = shop
    put_events(call, app, {"e1": ("ep-gold", "purchase", {}), "e2": ("ep-free", "page.view", {})})
    records = drain_stream()

    def refuse(self: AsyncInvoker, payload: dict[str, Any]) -> None:
        raise RuntimeError("TooManyRequestsException")

    monkeypatch.setattr(AsyncInvoker, "invoke", refuse)
    out = process(records)
    purchase = next(
        r for r in records if json.loads(base64.b64decode(r["kinesis"]["data"]))["event_type"] == "purchase"
    )
    assert out == {"batchItemFailures": [{"itemIdentifier": purchase["kinesis"]["sequenceNumber"]}]}


def test_paused_deleted_or_unknown_campaigns_and_late_triggers_send_nothing(
    call: Any, process: Callable[[list[dict[str, Any]]], dict[str, Any]], invoked: list[dict[str, Any]], shop: Any
) -> None:
    import dataclasses

    app, cid = shop
    put_events(call, app, {"e1": ("ep-gold", "purchase", {})})
    process(drain_stream())
    run = CampaignRun.from_json(invoked[0]["run"])
    sender = RecordingSender()
    runner = trigger_runner(sender)
    assert runner.run(dataclasses.replace(run, deadline="2020-01-01T00:00:00.000Z")).treatments == {}
    assert call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"IsPaused": True}).status == 200
    assert runner.run(run).treatments == {}
    assert call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"IsPaused": False}).status == 200
    assert runner.run(dataclasses.replace(run, trigger={"endpoint_id": "nobody"})).treatments == {}
    assert call("DELETE", f"/v1/apps/{app}/campaigns/{cid}").status == 200
    assert runner.run(run).treatments == {}
    assert sender.sent == []


def test_the_async_invoker_queues_the_event() -> None:
    from homing.adapters.functions import AsyncInvoker

    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam")
        role = iam.create_role(
            RoleName="r",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            ),
        )["Role"]["Arn"]
        import io
        import zipfile

        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
        boto3.client("lambda").create_function(
            FunctionName="send-batch",
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )
        AsyncInvoker("send-batch").invoke({"action": "trigger", "run": {}})  # queued: 202, no error


# --- through the real send_batch handler and sender ------------------------------------------------


@pytest.fixture
def send_batch(aws: None, call: Any) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """The real send_batch handler (sender, caps, ledger, SES on moto) with the app's email channel verified."""
    import send_batch.handler as handler_module

    from homing.bootstrap import campaign_sender, event_triggers
    from homing.local.outbox import verify_ses_identities_on_use
    from tests.conftest import LambdaContext

    undo = verify_ses_identities_on_use()
    campaign_sender.cache_clear()
    event_triggers.cache_clear()
    yield lambda event: handler_module.lambda_handler(event, LambdaContext(function_name="send_batch"))
    campaign_sender.cache_clear()
    event_triggers.cache_clear()
    undo()


def sent_emails() -> int:
    return int(boto3.client("ses").get_send_quota()["SentLast24Hours"])


def test_send_batch_sends_a_trigger_once_however_often_it_is_replayed(
    call: Any,
    process: Callable[[list[dict[str, Any]]], dict[str, Any]],
    invoked: list[dict[str, Any]],
    shop: Any,
    send_batch: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    app, cid = shop
    identity = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    channel = {"FromAddress": "team@example.com", "Identity": identity}
    assert call("PUT", f"/v1/apps/{app}/channels/email", channel).status == 200
    put_events(call, app, {"e-gold": ("ep-gold", "purchase", {}), "e-free": ("ep-free", "purchase", {})})
    records = drain_stream()
    process(records)
    process(records)  # replayed by the stream
    assert len(invoked) == 4
    answers = [send_batch(payload) for payload in invoked]
    answers += [send_batch(payload) for payload in invoked]  # and each async invocation retried by Lambda
    assert sorted(a["successful"] for a in answers) == [0] * 4 + [1] * 4  # the ledger's: the same answer again
    assert sent_emails() == 1  # the gold endpoint once; the free one is not in the segment
    [activity] = call("GET", f"/v1/apps/{app}/campaigns/{cid}/activities").body["Item"]
    assert (activity["TotalEndpointCount"], activity["SuccessfulEndpointCount"]) == (1, 1)
    # The send's own events (_campaign.send, _email.send) come back through the stream; a campaign never
    # triggers on its own sends, and an ENDPOINT filter never on system events.
    invoked.clear()
    records = drain_stream()  # the whole stream again: the purchases (replays) and the send events
    assert {json.loads(base64.b64decode(r["kinesis"]["data"]))["event_type"] for r in records} >= {
        "_campaign.send",
        "_email.send",
    }
    assert process(records) == {"batchItemFailures": []}
    assert sorted(p["run"]["trigger"]["event_id"] for p in invoked) == ["e-free", "e-gold"]


def test_campaigns_that_cannot_be_read_fail_the_apps_records_for_a_retry(
    call: Any,
    process: Callable[[list[dict[str, Any]]], dict[str, Any]],
    invoked: list[dict[str, Any]],
    shop: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from homing.adapters.dynamodb.campaigns import CampaignRepository

    app, _ = shop
    put_events(call, app, {"e1": ("ep-gold", "purchase", {}), "e2": ("ep-free", "page.view", {})})
    records = drain_stream()

    def unreadable(self: CampaignRepository, *args: Any) -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    readable = CampaignRepository.page
    monkeypatch.setattr(CampaignRepository, "page", unreadable)
    failed = {f["itemIdentifier"] for f in process(records)["batchItemFailures"]}
    assert failed == {r["kinesis"]["sequenceNumber"] for r in records}  # every record of the app: retried
    assert invoked == []
    monkeypatch.setattr(CampaignRepository, "page", readable)
    assert process(records) == {"batchItemFailures": []}  # the retry starts the send; analytics counted once
    assert [p["run"]["trigger"]["event_id"] for p in invoked] == ["e1"]
