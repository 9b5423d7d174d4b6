"""Property-based: hostile SendMessages/SendUsersMessages requests, built from botocore's pinpoint model
(as tests/integration/test_hostile_requests.py builds the other operations'), never 5xx, and one that
is refused sends nothing and puts nothing on the events stream."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import drain_stream
from tests.integration.test_apps_api import create
from tests.integration.test_hostile_requests import MODEL, one_hostile_value, value_for
from tests.integration.test_messaging_api import Doubles, EmailTemplate, SmsTemplate, all_channels, install_doubles

RECIPIENT = {"BodyOverride": "b {{x}}", "TitleOverride": "t", "Substitutions": {"x": ["1"]}, "Context": {"k": "v"}}
MESSAGES = {
    "DefaultMessage": {"Body": "d {{x}}", "Substitutions": {"x": ["0"]}},
    "DefaultPushNotificationMessage": {"Title": "p", "Body": "p", "Action": "OPEN_APP", "Data": {"a": "1"}},
    "EmailMessage": {
        "FromAddress": "f@example.com",
        "SimpleEmail": {
            "Subject": {"Data": "s"},
            "HtmlPart": {"Data": "<p>h</p>"},
            "Headers": [{"Name": "X", "Value": "1"}],
        },
        "ReplyToAddresses": ["r@example.com"],
    },
    "SMSMessage": {"Body": "sms", "MessageType": "TRANSACTIONAL", "OriginationNumber": "+18005550100"},
    "VoiceMessage": {"Body": "<speak>v</speak>", "LanguageCode": "en-US", "VoiceId": "Joanna"},
    "GCMMessage": {"Title": "g", "TimeToLive": 60, "SilentPush": False, "RawContent": "{}"},
    "APNSMessage": {"Badge": 1, "Sound": "default"},
}
TEMPLATES = {"EmailTemplate": {"Name": "welcome"}, "SMSTemplate": {"Name": "code", "Version": "1"}}
VALID = {
    "SendMessages": {
        "Addresses": {
            "a@example.com": {**RECIPIENT, "ChannelType": "EMAIL"},
            "+12065550100": {**RECIPIENT, "ChannelType": "SMS"},
            "+12065550101": {"ChannelType": "VOICE"},
            "token": {**RECIPIENT, "ChannelType": "GCM", "RawContent": "{}"},
        },
        "Endpoints": {"e1": RECIPIENT, "e2": {}},
        "MessageConfiguration": MESSAGES,
        "TemplateConfiguration": TEMPLATES,
        "Context": {"c": "1"},
        "TraceId": "trace",
    },
    "SendUsersMessages": {
        "Users": {"u1": RECIPIENT, "u2": {}},
        "MessageConfiguration": MESSAGES,
        "TemplateConfiguration": TEMPLATES,
        "Context": {"c": "1"},
    },
}
PATHS = {"SendMessages": "messages", "SendUsersMessages": "users-messages"}


@pytest.fixture
def doubles(call: Any) -> Doubles:
    return install_doubles()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, Any]:
    op = draw(st.sampled_from(sorted(VALID)))
    if draw(st.integers(0, 3)) > 0:
        return op, draw(one_hostile_value(VALID[op]))
    shape = MODEL.operation_model(op).input_shape
    assert shape is not None
    payload = shape.members[shape.serialization["payload"]]
    return op, draw(value_for(payload, hostile=draw(st.booleans())))


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_messages_never_5xx_and_refused_ones_send_nothing(
    call: Any, doubles: Doubles, data: st.DataObject
) -> None:
    if not doubles.channels.by_app:
        app = create(call)["Id"]
        all_channels(doubles, app)
        doubles.templates.records[("welcome", "EMAIL")] = EmailTemplate(subject="w", html_part="<p>{{x}}</p>")
        doubles.templates.records[("code", "SMS")] = SmsTemplate(body="code {{x}}")
        for endpoint_id, endpoint in {
            "e1": {"ChannelType": "EMAIL", "Address": "e1@example.com", "User": {"UserId": "u1"}},
            "e2": {"ChannelType": "SMS", "Address": "+447700900123", "User": {"UserId": "u2"}, "OptOut": "ALL"},
        }.items():
            assert call("PUT", f"/v1/apps/{app}/endpoints/{endpoint_id}", endpoint).status == 202
    (app,) = doubles.channels.by_app
    op, body = data.draw(bodies(), label="body")
    sent_before, stream_before = len(doubles.dispatcher.sent), len(drain_stream())

    r = call("POST", f"/v1/apps/{app}/{PATHS[op]}", body)
    event(f"{op} {r.status} {r.error_type or ''}")

    assert r.status < 500, (op, body, r.status, r.body)
    if r.status >= 400:
        assert r.error_type, (op, body, r.body)
        assert set(r.body) == {"Message", "RequestID"}
        assert len(doubles.dispatcher.sent) == sent_before, (op, body, r.body)
        assert len(drain_stream()) == stream_before, (op, body, r.body)
    else:
        assert r.body["ApplicationId"] == app
