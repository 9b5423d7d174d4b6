"""Delivery receipts through the real record_receipts handler, the events stream and process_events,
read back as Pinpoint's KPIs; a hard bounce deactivates the endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from homing.domain.messages import EMAIL, SMS, Delivery, EmailContent, SmsContent, carrier_tags
from tests.conftest import LambdaContext, drain_stream
from tests.integration.test_apps_api import create
from tests.integration.test_events_pipeline import NOW, kpi, value

SENT_MS = int(NOW.timestamp() * 1000)


@pytest.fixture
def receive(aws: None) -> Iterator[Any]:
    """Invoke the real record_receipts handler as SNS does: one record per invocation."""
    import record_receipts.handler as handler_module

    from homing.bootstrap import receipts

    receipts.cache_clear()

    def _receive(message: dict[str, Any]) -> dict[str, Any]:
        event = {
            "Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(message)}}]
        }
        return handler_module.lambda_handler(event, LambdaContext(function_name="record_receipts"))

    yield _receive
    receipts.cache_clear()


def ses_event(kind: str, app: str, endpoint: str, message_id: str, to: str, **detail: Any) -> dict[str, Any]:
    tags = carrier_tags(Delivery(app, EMAIL, to, "k", EmailContent("news@example.com"), endpoint))
    event: dict[str, Any] = {
        "eventType": kind,
        "mail": {
            "timestamp": NOW.isoformat().replace("+00:00", "Z"),
            "source": "news@example.com",
            "sendingAccountId": "123456789012",
            "messageId": message_id,
            "destination": [to],
            "headersTruncated": False,
            "headers": [],
            "commonHeaders": {"from": ["news@example.com"], "to": [to], "subject": "Hi"},
            "tags": {"ses:configuration-set": ["homing"], **{k: [v] for k, v in tags.items()}},
        },
    }
    event.update(detail)
    return event


def send_record(app: str, endpoint: str, message_id: str) -> dict[str, Any]:
    """The `_email.send` record the dispatcher emits when it sends (issue 9, part M), as a stand-in."""
    return {
        "event_type": "_email.send",
        "event_timestamp": SENT_MS,
        "arrival_timestamp": SENT_MS,
        "event_version": "3.1",
        "application": {"app_id": app, "sdk": {}},
        "client": {"client_id": endpoint},
        "device": {"platform": {}},
        "session": {},
        "attributes": {"feedback": "received", "message_id": message_id},
        "metrics": {},
    }


def test_receipts_fill_the_transactional_kpis_and_a_hard_bounce_deactivates(
    call: Any, receive: Any, process: Any
) -> None:
    app = create(call)["Id"]
    for endpoint, address in (("ep-1", "a@example.org"), ("ep-2", "b@example.org")):
        assert (
            call("PUT", f"/v1/apps/{app}/endpoints/{endpoint}", {"ChannelType": "EMAIL", "Address": address}).status
            == 202
        )
    from homing.adapters.streams import KinesisPublisher
    from homing.domain.events import encode_record

    KinesisPublisher("homing-events").publish(
        [
            ("ep-1", encode_record(send_record(app, "ep-1", "m1"))),
            ("ep-2", encode_record(send_record(app, "ep-2", "m2"))),
        ]
    )
    delivery = {
        "delivery": {"timestamp": "2026-11-30T12:00:01.000Z", "recipients": ["a@example.org"], "smtpResponse": "250 ok"}
    }
    assert receive(ses_event("Delivery", app, "ep-1", "m1", "a@example.org", **delivery)) == {"recorded": 1}
    for _ in range(2):
        assert receive(ses_event("Open", app, "ep-1", "m1", "a@example.org", open={"ipAddress": "192.0.2.1"})) == {
            "recorded": 1
        }
    bounce = {
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "b@example.org", "status": "5.1.1"}],
        }
    }
    assert receive(ses_event("Bounce", app, "ep-2", "m2", "b@example.org", **bounce)) == {"recorded": 1}
    assert receive(ses_event("Send", app, "ep-2", "m2", "b@example.org", send={})) == {"recorded": 0}
    sms = carrier_tags(Delivery(app, SMS, "+14255550156", "k", SmsContent("hi"), None))
    for kind, status in (("TEXT_DELIVERED", "DELIVERED"), ("TEXT_BLOCKED", "BLOCKED")):
        message = {
            "eventType": kind,
            "eventTimestamp": SENT_MS,
            "isFinal": True,
            "originationPhoneNumber": "+12065550152",
            "destinationPhoneNumber": "+14255550156",
            "isoCountryCode": "US",
            "messageId": f"sms-{kind}",
            "messageType": "TRANSACTIONAL",
            "messageStatus": status,
            "context": sms,
            "totalMessageParts": 1,
            "totalMessagePrice": 0.00645,
        }
        assert receive(message) == {"recorded": 1}

    records = drain_stream()
    kinds = sorted(json.loads(base64.b64decode(r["kinesis"]["data"]))["event_type"] for r in records)
    emails = ["_email.send", "_email.send", "_email.delivered", "_email.open", "_email.open", "_email.hardbounce"]
    assert kinds == sorted([*emails, "_SMS.SUCCESS", "_SMS.FAILURE"])
    assert process(records) == {"batchItemFailures": []}

    assert value(kpi(call, app, "txn-emails-sent")) == 2
    assert value(kpi(call, app, "txn-emails-hard-bounced")) == 1
    assert value(kpi(call, app, "txn-emails-delivered")) == 1  # Pinpoint's: sends - bounces - rejects
    assert value(kpi(call, app, "txn-emails-opened")) == 2
    assert value(kpi(call, app, "txn-emails-unique-opens")) == 1
    assert value(kpi(call, app, "txn-sms-delivered")) == 1
    errors = kpi(call, app, "txn-sms-error-distribution")
    assert [(r["GroupedBys"][0]["Value"], float(r["Values"][0]["Value"])) for r in errors] == [("BLOCKED", 1.0)]

    bounced = call("GET", f"/v1/apps/{app}/endpoints/ep-2").body
    assert bounced["EndpointStatus"] == "INACTIVE"
    assert call("GET", f"/v1/apps/{app}/endpoints/ep-1").body["EndpointStatus"] == "ACTIVE"


def test_a_replayed_hard_bounce_changes_nothing_more(call: Any, receive: Any) -> None:
    app = create(call)["Id"]
    assert (
        call("PUT", f"/v1/apps/{app}/endpoints/ep", {"ChannelType": "EMAIL", "Address": "b@example.org"}).status == 202
    )
    bounce = {"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "b@example.org"}]}}
    receive(ses_event("Bounce", app, "ep", "m", "b@example.org", **bounce))
    first = call("GET", f"/v1/apps/{app}/endpoints/ep").body
    receive(ses_event("Bounce", app, "ep", "m", "b@example.org", **bounce))
    assert call("GET", f"/v1/apps/{app}/endpoints/ep").body == first


def test_a_malformed_receipt_fails_its_invocation_and_writes_nothing(call: Any, receive: Any) -> None:
    """SNS invokes asynchronously: the error makes Lambda retry, then dead-letter the notification."""
    app = create(call)["Id"]
    broken = ses_event("Delivery", app, "ep", "m", "a@example.org")
    broken["mail"]["timestamp"] = "yesterday"
    with pytest.raises(ValueError, match="isoformat"):
        receive(broken)
    assert drain_stream() == []


def test_mark_address_replans_when_an_endpoint_changes_under_it(call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The concurrency model: the write is conditional on the versions read; a racing update is kept."""
    from homing.adapters.dynamodb.endpoints import EndpointRepository
    from homing.bootstrap import services

    app = create(call)["Id"]
    body = {"ChannelType": "EMAIL", "Address": "b@example.org", "Attributes": {"tier": ["gold"]}}
    assert call("PUT", f"/v1/apps/{app}/endpoints/ep", body).status == 202
    original = EndpointRepository.commit
    raced: list[int] = []

    def commit_after_a_racing_update(self: EndpointRepository, changes: Any) -> None:
        if not raced:
            raced.append(1)
            update = {"Attributes": {"tier": ["platinum"]}}
            assert call("PUT", f"/v1/apps/{app}/endpoints/ep", update).status == 202
        original(self, changes)

    monkeypatch.setattr(EndpointRepository, "commit", commit_after_a_racing_update)
    changed = services().endpoints.mark_address(app, ("EMAIL",), "b@example.org", status="INACTIVE")
    assert [e.id for e in changed] == ["ep"]
    stored = call("GET", f"/v1/apps/{app}/endpoints/ep").body
    assert stored["EndpointStatus"] == "INACTIVE"
    assert stored["Attributes"] == {"tier": ["platinum"]}  # the racing write was not lost
