"""SendMessages and SendUsersMessages through the real api handler on moto, with in-memory doubles for
the templates, channels, rendering and the dispatcher (their parts are built on other branches):
per-recipient results, OPT_OUT and INACTIVE without a send, users fan-out, requests refused before any
send, and the send events reaching the transactional KPIs."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.domain.endpoints import Endpoint
from homing.domain.errors import NotFound
from homing.domain.messages import SUCCESSFUL, THROTTLED, Delivery, DeliveryResult, EmailContent, SmsContent
from tests.conftest import drain_stream
from tests.integration.test_apps_api import create

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class FakeChannel:
    channel_type: str
    enabled: bool = True
    from_address: str | None = None
    identity: str | None = None
    configuration_set: str | None = None
    sender_id: str | None = None
    short_code: str | None = None
    platform_application_arn: str | None = None


@dataclass
class FakeChannels:
    by_app: dict[str, dict[str, FakeChannel]] = field(default_factory=dict)

    def enabled(self, app_id: str) -> dict[str, FakeChannel]:
        return {k: c for k, c in self.by_app.get(app_id, {}).items() if c.enabled}


@dataclass
class EmailTemplate:
    subject: str | None = None
    html_part: str | None = None
    text_part: str | None = None
    headers: list[Any] = field(default_factory=list)
    default_substitutions: dict[str, str] = field(default_factory=dict)


@dataclass
class SmsTemplate:
    body: str | None = None
    default_substitutions: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeTemplates:
    records: dict[tuple[str, str], Any] = field(default_factory=dict)

    def resolve(self, name: str, template_type: str, version: str | None = None) -> Any:
        try:
            return self.records[(name, template_type)]
        except KeyError:
            raise NotFound(f"Template {name} ({template_type}) not found") from None


class FakeRendering:
    """``{{Name}}`` from substitutions (first value), template defaults, and the endpoint's attributes."""

    def render(self, source: str, values: Mapping[str, Any]) -> str:
        return re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: str(values.get(m[1], "")), source)

    def variables(
        self,
        endpoint: Endpoint | None,
        endpoint_id: str | None,
        substitutions: Mapping[str, Sequence[str]],
        defaults: Mapping[str, str],
    ) -> dict[str, Any]:
        values: dict[str, Any] = dict(defaults)
        if endpoint is not None:
            values.update({f"Attributes.{k}": v[0] for k, v in endpoint.attributes.items() if v})
            values["Address"] = endpoint.address
        values.update({k: v[0] for k, v in substitutions.items() if v})
        return values


@dataclass
class FakeDispatcher:
    """Accepts every delivery (or answers ``refuse`` for an address); idempotent by key, as the real one is."""

    sent: list[Delivery] = field(default_factory=list)
    refuse: dict[str, DeliveryResult] = field(default_factory=dict)
    by_key: dict[str, DeliveryResult] = field(default_factory=dict)

    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]:
        out = []
        for d in deliveries:
            if d.key not in self.by_key:
                self.sent.append(d)
                self.by_key[d.key] = self.refuse.get(d.address) or DeliveryResult(
                    SUCCESSFUL, 200, "Message sent", f"msg-{len(self.sent)}"
                )
            out.append(self.by_key[d.key])
        return out


@dataclass
class Doubles:
    channels: FakeChannels
    templates: FakeTemplates
    dispatcher: FakeDispatcher


@pytest.fixture
def doubles(call: Any) -> Doubles:
    return install_doubles()


def install_doubles() -> Doubles:
    """The api's messaging service, built on the doubles (the lead wires the real parts in bootstrap)."""
    from homing.bootstrap import _utc_now, services
    from homing.domain import messages
    from homing.services.messaging import MessagingService

    svc = services()
    d = Doubles(FakeChannels(), FakeTemplates(), FakeDispatcher())
    svc.__dict__["messaging"] = MessagingService(
        svc.apps,
        svc.endpoints,
        templates=d.templates,
        channels=d.channels,
        rendering=FakeRendering(),
        dispatcher=d.dispatcher,
        publisher=lambda: svc.events_publisher,
        clock=_utc_now,
        account_id="123456789012",
    )
    assert messages.EMAIL == "EMAIL"
    return d


def all_channels(d: Doubles, app: str) -> None:
    d.channels.by_app[app] = {
        "EMAIL": FakeChannel("EMAIL", from_address="shop@example.com", configuration_set="tracking"),
        "SMS": FakeChannel("SMS", sender_id="SHOP", short_code="12345"),
        "VOICE": FakeChannel("VOICE"),
        "GCM": FakeChannel("GCM", platform_application_arn="arn:aws:sns:us-east-1:123456789012:app/GCM/shop"),
    }


def stream_records() -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in drain_stream()]


EMAIL_MESSAGE = {
    "EmailMessage": {
        "SimpleEmail": {"Subject": {"Data": "Hi {{name}}"}, "TextPart": {"Data": "Order {{order}} shipped"}}
    },
    "SMSMessage": {"Body": "Order {{order}} shipped", "MessageType": "TRANSACTIONAL"},
}


def test_send_to_addresses_renders_per_recipient_and_copies_the_channel_settings(call: Any, doubles: Doubles) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    body = {
        "Addresses": {
            "ana@example.com": {"ChannelType": "EMAIL", "Substitutions": {"name": ["Ana"]}},
            "+1 206-555-0100": {"ChannelType": "SMS", "Context": {"shipment": "s1"}},
        },
        "MessageConfiguration": {**EMAIL_MESSAGE, "DefaultMessage": {"Substitutions": {"order": ["42"]}}},
        "Context": {"source": "test"},
        "TraceId": "t-1",
    }
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == 200, r.body
    assert r.body["ApplicationId"] == app
    assert r.body["RequestId"]
    assert "EndpointResult" not in r.body
    results = r.body["Result"]
    assert set(results) == {"ana@example.com", "+1 206-555-0100"}  # keyed as the caller wrote them
    for result in results.values():
        assert result["DeliveryStatus"] == "SUCCESSFUL"
        assert result["StatusCode"] == 200
        assert result["MessageId"].startswith("msg-")
    by_channel = {d.channel: d for d in doubles.dispatcher.sent}
    email, sms = by_channel["EMAIL"], by_channel["SMS"]
    assert email.content == EmailContent(
        from_address="shop@example.com",
        subject="Hi Ana",
        text_body="Order 42 shipped",
        configuration_set="tracking",
    )
    assert email.context == {"source": "test"}
    assert email.trace_id == "t-1"
    assert email.endpoint_id is None
    assert sms.address == "+12065550100"  # sent in E.164
    assert sms.content == SmsContent(body="Order 42 shipped", origination_number="12345", sender_id="SHOP")
    assert sms.context == {"source": "test", "shipment": "s1"}
    assert email.key != sms.key


def test_endpoints_get_their_status_and_only_reachable_ones_are_sent(call: Any, doubles: Doubles) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    endpoints = {
        "active": {"ChannelType": "EMAIL", "Address": "a@example.com", "Attributes": {"name": ["Bea"]}},
        "opted-out": {"ChannelType": "EMAIL", "Address": "o@example.com", "OptOut": "ALL"},
        "inactive": {"ChannelType": "EMAIL", "Address": "i@example.com", "EndpointStatus": "INACTIVE"},
        "push": {"ChannelType": "GCM", "Address": "device-token"},
        "no-channel": {"ChannelType": "ADM", "Address": "adm-token"},
    }
    for endpoint_id, endpoint in endpoints.items():
        assert call("PUT", f"/v1/apps/{app}/endpoints/{endpoint_id}", endpoint).status == 202
    body = {
        "Endpoints": {**{e: {} for e in [*endpoints, "missing"]}, "push": {"TitleOverride": "Yo {{Address}}"}},
        "MessageConfiguration": {
            "EmailMessage": {"SimpleEmail": {"Subject": {"Data": "Hello {{Attributes.name}}"}}},
            "DefaultPushNotificationMessage": {"Body": "push body", "Title": "push title"},
        },
    }
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == 200, r.body
    res = r.body["EndpointResult"]
    assert "Result" not in r.body
    assert res["active"]["DeliveryStatus"] == "SUCCESSFUL"
    assert res["active"]["Address"] == "a@example.com"
    assert (res["opted-out"]["DeliveryStatus"], res["opted-out"]["Address"]) == ("OPT_OUT", "o@example.com")
    assert res["inactive"]["DeliveryStatus"] == "PERMANENT_FAILURE"
    assert "INACTIVE" in res["inactive"]["StatusMessage"]
    assert (res["missing"]["DeliveryStatus"], res["missing"]["StatusCode"]) == ("PERMANENT_FAILURE", 404)
    assert "Address" not in res["missing"]
    assert res["no-channel"]["DeliveryStatus"] == "PERMANENT_FAILURE"
    assert "ADM channel is not enabled" in res["no-channel"]["StatusMessage"]
    assert res["push"]["DeliveryStatus"] == "SUCCESSFUL"
    sent = {d.endpoint_id: d for d in doubles.dispatcher.sent}
    assert set(sent) == {"active", "push"}  # opted-out, inactive, missing and channel-less endpoints are not sent
    assert isinstance(sent["active"].content, EmailContent)
    assert sent["active"].content.subject == "Hello Bea"
    push = sent["push"].content
    assert getattr(push, "title", None) == "Yo device-token"
    assert getattr(push, "platform_application_arn", None) == "arn:aws:sns:us-east-1:123456789012:app/GCM/shop"


def test_users_messages_fan_out_to_every_endpoint_of_each_user(call: Any, doubles: Doubles) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    for endpoint_id, endpoint in {
        "u1-mail": {"ChannelType": "EMAIL", "Address": "u1@example.com", "User": {"UserId": "u1"}},
        "u1-sms": {"ChannelType": "SMS", "Address": "+447700900123", "User": {"UserId": "u1"}},
        "u2-mail": {"ChannelType": "EMAIL", "Address": "u2@example.com", "User": {"UserId": "u2"}, "OptOut": "ALL"},
    }.items():
        assert call("PUT", f"/v1/apps/{app}/endpoints/{endpoint_id}", endpoint).status == 202
    body = {
        "Users": {"u1": {"Substitutions": {"order": ["7"]}}, "u2": {}, "nobody": {}},
        "MessageConfiguration": {**EMAIL_MESSAGE},
    }
    r = call("POST", f"/v1/apps/{app}/users-messages", body)
    assert r.status == 200, r.body
    assert r.body["ApplicationId"] == app
    result = r.body["Result"]
    assert set(result) == {"u1", "u2", "nobody"}
    assert {e: v["DeliveryStatus"] for e, v in result["u1"].items()} == {
        "u1-mail": "SUCCESSFUL",
        "u1-sms": "SUCCESSFUL",
    }
    assert result["u1"]["u1-sms"]["Address"] == "+447700900123"
    assert result["u2"]["u2-mail"]["DeliveryStatus"] == "OPT_OUT"
    assert result["nobody"] == {}
    assert sorted(d.endpoint_id or "" for d in doubles.dispatcher.sent) == ["u1-mail", "u1-sms"]
    assert {
        getattr(d.content, "body", None) or getattr(d.content, "text_body", None) for d in doubles.dispatcher.sent
    } == {"Order 7 shipped"}


def test_templates_render_with_their_defaults_under_the_recipients_substitutions(call: Any, doubles: Doubles) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    doubles.templates.records[("welcome", "EMAIL")] = EmailTemplate(
        subject="Welcome {{name}}",
        html_part="<p>{{name}} / {{plan}}</p>",
        headers=[("X-Campaign", "welcome")],
        default_substitutions={"name": "friend", "plan": "free"},
    )
    body = {
        "Addresses": {
            "a@example.com": {"ChannelType": "EMAIL", "Substitutions": {"plan": ["pro"]}},
            "b@example.com": {"ChannelType": "EMAIL", "TitleOverride": "Custom {{name}}"},
        },
        "MessageConfiguration": {},
        "TemplateConfiguration": {"EmailTemplate": {"Name": "welcome"}},
    }
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == 200, r.body
    sent = {d.address: d.content for d in doubles.dispatcher.sent}
    a, b = sent["a@example.com"], sent["b@example.com"]
    assert isinstance(a, EmailContent)
    assert isinstance(b, EmailContent)
    assert (a.subject, a.html_body, a.headers) == ("Welcome friend", "<p>friend / pro</p>", {"X-Campaign": "welcome"})
    assert (b.subject, b.html_body) == ("Custom friend", "<p>friend / free</p>")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}},
          "MessageConfiguration": {"SMSMessage": {"Body": "x"}}}, 400, "Addresses.a@example.com.ChannelType"),
        ({"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}, "MessageConfiguration": {},
          "TemplateConfiguration": {"EmailTemplate": {"Name": "absent"}}}, 404, "absent"),
        ({"Addresses": {f"{i}@example.com": {"ChannelType": "EMAIL"} for i in range(101)},
          "MessageConfiguration": EMAIL_MESSAGE}, 400, "at most 100"),
        ({"Addresses": {"a@example.com": {"ChannelType": "CUSTOM"}}, "MessageConfiguration": EMAIL_MESSAGE},
         400, "ChannelType"),
        ("not json", 400, "JSON"),
    ],
)  # fmt: skip
def test_a_refused_request_sends_and_writes_nothing(
    call: Any, doubles: Doubles, body: Any, status: int, words: str
) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    endpoint = {"ChannelType": "EMAIL", "Address": "e@example.com"}
    assert call("PUT", f"/v1/apps/{app}/endpoints/e1", endpoint).status == 202
    if isinstance(body, dict):
        body = {**body, "Endpoints": {"e1": {}}}
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == status, r.body
    assert r.error_type == ("NotFoundException" if status == 404 else "BadRequestException")
    assert words in r.body["Message"]
    assert doubles.dispatcher.sent == []
    assert stream_records() == []


def test_unknown_app_is_a_404(call: Any, doubles: Doubles) -> None:
    body = {"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}, "MessageConfiguration": EMAIL_MESSAGE}
    r = call("POST", "/v1/apps/0123456789abcdef0123456789abcdef/messages", body)
    assert (r.status, r.error_type) == (404, "NotFoundException")
    r = call("POST", "/v1/apps/0123456789abcdef0123456789abcdef/users-messages", {"Users": {"u": {}}, **body})
    assert (r.status, r.error_type) == (404, "NotFoundException")
    assert doubles.dispatcher.sent == []


def test_disabled_channels_and_bad_numbers_fail_per_recipient(call: Any, doubles: Doubles) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    doubles.channels.by_app[app]["VOICE"].enabled = False
    body = {
        "Addresses": {
            "+12065550100": {"ChannelType": "VOICE"},
            "2065550100": {"ChannelType": "SMS"},
            "+12065550199": {"ChannelType": "SMS"},
        },
        "MessageConfiguration": {"DefaultMessage": {"Body": "hello"}},
    }
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == 200, r.body
    res = r.body["Result"]
    assert res["+12065550100"]["DeliveryStatus"] == "PERMANENT_FAILURE"
    assert "VOICE channel is not enabled" in res["+12065550100"]["StatusMessage"]
    assert res["2065550100"]["DeliveryStatus"] == "PERMANENT_FAILURE"
    assert "E.164" in res["2065550100"]["StatusMessage"]
    assert res["+12065550199"]["DeliveryStatus"] == "SUCCESSFUL"
    assert [d.address for d in doubles.dispatcher.sent] == ["+12065550199"]


def test_a_carriers_answer_is_the_recipients_result(call: Any, doubles: Doubles) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    doubles.dispatcher.refuse["+12065550100"] = DeliveryResult(THROTTLED, 429, "Rate exceeded")
    body = {"Addresses": {"+12065550100": {"ChannelType": "SMS"}}, "MessageConfiguration": EMAIL_MESSAGE}
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.body["Result"]["+12065550100"] == {
        "DeliveryStatus": "THROTTLED",
        "StatusCode": 429,
        "StatusMessage": "Rate exceeded",
    }
    (record,) = stream_records()
    assert (record["event_type"], record["attributes"]["record_status"]) == ("_SMS.FAILURE", "UNKNOWN")


def test_a_retried_request_reuses_its_delivery_keys(call: Any, doubles: Doubles) -> None:
    from homing.bootstrap import services
    from homing.domain.messaging import parse_message_request

    app = create(call)["Id"]
    all_channels(doubles, app)
    request = parse_message_request(
        {"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}, "MessageConfiguration": EMAIL_MESSAGE}, users=False
    )
    first = services().messaging.send_messages(app, request, "req-1")
    again = services().messaging.send_messages(app, request, "req-1")
    other = services().messaging.send_messages(app, request, "req-2")
    assert first.addresses == again.addresses
    assert first.addresses != other.addresses  # a new request is a new message
    assert len(doubles.dispatcher.sent) == 2


def test_sends_are_answered_even_when_the_events_stream_fails(call: Any, doubles: Doubles, monkeypatch: Any) -> None:
    from homing.bootstrap import services

    class Broken:
        def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]:
            raise RuntimeError("stream unavailable")

    monkeypatch.setattr(services().messaging, "_publisher", lambda: Broken())
    app = create(call)["Id"]
    all_channels(doubles, app)
    body = {"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}, "MessageConfiguration": EMAIL_MESSAGE}
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == 200, r.body  # a 5xx would have the caller send the message again
    assert r.body["Result"]["a@example.com"]["DeliveryStatus"] == "SUCCESSFUL"
    assert len(doubles.dispatcher.sent) == 1


def test_a_dispatch_that_fails_midway_is_answered_unknown_not_5xx(
    call: Any, doubles: Doubles, monkeypatch: Any
) -> None:
    """A 5xx would have the SDK retry the request under a new request id, and send again what went."""

    def fail(deliveries: Sequence[Delivery]) -> list[DeliveryResult]:
        raise RuntimeError("ledger unreachable")

    monkeypatch.setattr(doubles.dispatcher, "send_all", fail)
    app = create(call)["Id"]
    all_channels(doubles, app)
    body = {"Addresses": {"a@example.com": {"ChannelType": "EMAIL"}}, "MessageConfiguration": EMAIL_MESSAGE}
    r = call("POST", f"/v1/apps/{app}/messages", body)
    assert r.status == 200, r.body
    assert r.body["Result"]["a@example.com"]["DeliveryStatus"] == "UNKNOWN_FAILURE"
    assert stream_records() == []


def kpi_total(call: Any, app: str, name: str) -> float:
    q = {"start-time": [(NOW - timedelta(days=1)).isoformat()], "end-time": [(NOW + timedelta(hours=1)).isoformat()]}
    r = call("GET", f"/v1/apps/{app}/kpis/daterange/{name}", query=q)
    assert r.status == 200, r.body
    rows = r.body["KpiResult"]["Rows"]
    return sum(float(row["Values"][0]["Value"]) for row in rows)


def test_send_events_fill_the_transactional_kpis(call: Any, doubles: Doubles, process: Any) -> None:
    app = create(call)["Id"]
    all_channels(doubles, app)
    assert call("PUT", f"/v1/apps/{app}/endpoints/e1", {"ChannelType": "EMAIL", "Address": "e@example.com"}).status
    body = {
        "Addresses": {
            "a@example.com": {"ChannelType": "EMAIL"},
            "+12065550100": {"ChannelType": "SMS"},
            "+447700900123": {"ChannelType": "SMS"},
            "device": {"ChannelType": "GCM"},
        },
        "Endpoints": {"e1": {}},
        "MessageConfiguration": {**EMAIL_MESSAGE, "GCMMessage": {"Body": "b"}},
        "Context": {"flow": "receipt"},
    }
    assert call("POST", f"/v1/apps/{app}/messages", body).status == 200
    records = drain_stream()
    decoded = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in records]
    assert sorted(r["event_type"] for r in decoded) == ["_SMS.BUFFERED", "_SMS.BUFFERED", "_email.send", "_email.send"]
    email = next(r for r in decoded if r["client"]["client_id"] == "e1")
    assert email["attributes"] == {"flow": "receipt", "feedback": "received"}
    assert email["application"]["app_id"] == app
    assert {r["attributes"].get("iso_country_code") for r in decoded if r["event_type"] == "_SMS.BUFFERED"} == {
        "US",
        "GB",
    }
    assert process(records) == {"batchItemFailures": []}
    assert kpi_total(call, app, "txn-emails-sent") == 2
    assert kpi_total(call, app, "txn-sms-sent") == 2
