"""SendOTPMessage / VerifyOTPMessage through the api handler, on moto (DynamoDB, KMS HMAC key), with
in-memory doubles for the other families' channels and dispatcher."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homing.domain.messages import SUCCESSFUL, Delivery, DeliveryResult, EmailContent, SmsContent, VoiceContent
from tests.integration.test_apps_api import create
from tests.integration.test_hostile_requests import MODEL, one_hostile_value, value_for

PHONE = "+14255550142"


@dataclass(frozen=True)
class FakeChannel:
    channel_type: str
    enabled: bool = True
    from_address: str | None = None
    sender_id: str | None = None
    short_code: str | None = None


@dataclass
class FakeChannels:
    by_app: dict[str, dict[str, FakeChannel]] = field(default_factory=dict)

    def enabled(self, app_id: str) -> Mapping[str, FakeChannel]:
        return {k: c for k, c in self.by_app.get(app_id, {}).items() if c.enabled}


@dataclass
class RecordingDispatcher:
    sent: list[Delivery] = field(default_factory=list)

    def send_all(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult]:
        self.sent.extend(deliveries)
        return [DeliveryResult(SUCCESSFUL, 200, "Sent", message_id=f"m-{len(self.sent)}") for _ in deliveries]

    def last_code(self) -> str:
        content = self.sent[-1].content
        assert isinstance(content, SmsContent | VoiceContent | EmailContent)
        text = content.text_body if isinstance(content, EmailContent) else content.body
        found = re.search(r"Password: ([\d ]+) from", text or "")
        assert found is not None
        return found.group(1).replace(" ", "")


@dataclass
class Otp:
    call: Any
    channels: FakeChannels
    dispatcher: RecordingDispatcher
    app: str

    def send(self, **overrides: Any) -> Any:
        body = {
            "BrandName": "ExampleCorp",
            "Channel": "SMS",
            "DestinationIdentity": PHONE,
            "OriginationIdentity": "+12065550100",
            "ReferenceId": "login",
            **overrides,
        }
        return self.call("POST", f"/v1/apps/{self.app}/otp", {k: v for k, v in body.items() if v is not None})

    def verify(self, otp: str, reference: str = "login", destination: str = PHONE) -> Any:
        body = {"DestinationIdentity": destination, "Otp": otp, "ReferenceId": reference}
        return self.call("POST", f"/v1/apps/{self.app}/verify-otp", body)

    def valid(self, otp: str, reference: str = "login", destination: str = PHONE) -> bool:
        r = self.verify(otp, reference, destination)
        assert r.status == 200, r.body
        assert set(r.body) == {"Valid"}
        return bool(r.body["Valid"])


@pytest.fixture
def otp(call: Any, monkeypatch: pytest.MonkeyPatch) -> Otp:
    import boto3

    from homing.bootstrap import services

    key = boto3.client("kms").create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("OTP_KEY_ID", key)
    services.cache_clear()
    channels, dispatcher = FakeChannels(), RecordingDispatcher()
    svc = services()
    svc.__dict__.update(channels=channels, dispatcher=dispatcher)  # the cached collaborators, replaced
    app = create(call)["Id"]
    channels.by_app[app] = {t: FakeChannel(t, sender_id="Example") for t in ("SMS", "VOICE", "EMAIL")}
    return Otp(call, channels, dispatcher, app)


def stored_items() -> list[dict[str, Any]]:
    import boto3

    from homing.adapters.dynamodb.otp import OtpItem

    return list(boto3.client("dynamodb").scan(TableName=OtpItem.Meta.table_name)["Items"])


def test_send_then_verify_once(otp: Otp) -> None:
    r = otp.send()

    assert r.status == 200, r.body
    assert r.body["ApplicationId"] == otp.app
    assert r.body["RequestId"]
    assert r.body["Result"] == {
        PHONE: {"DeliveryStatus": "SUCCESSFUL", "StatusCode": 200, "StatusMessage": "Sent", "MessageId": "m-1"}
    }
    (delivery,) = otp.dispatcher.sent
    assert (delivery.app_id, delivery.channel, delivery.address) == (otp.app, "SMS", PHONE)
    assert isinstance(delivery.content, SmsContent)
    assert re.fullmatch(r"This is your One Time Password: \d{6} from ExampleCorp", delivery.content.body)
    assert (delivery.content.origination_number, delivery.content.sender_id) == ("+12065550100", "Example")
    assert delivery.content.message_type == "TRANSACTIONAL"
    code = otp.dispatcher.last_code()

    assert otp.valid(code)
    assert not otp.valid(code)  # a verified code cannot be used again


def test_the_code_is_stored_only_as_a_mac_and_the_address_not_at_all(otp: Otp) -> None:
    otp.send(CodeLength=8)
    code = otp.dispatcher.last_code()

    (item,) = stored_items()
    text = repr(item)
    assert code not in text
    assert PHONE.lstrip("+") not in text
    assert "login" not in text
    assert int(item["expires"]["N"]) > datetime.now(UTC).timestamp()


def test_attempts_are_counted_and_the_right_code_fails_once_they_are_spent(otp: Otp) -> None:
    otp.send(AllowedAttempts=2)
    code = otp.dispatcher.last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    assert not otp.valid(wrong)
    assert not otp.valid(wrong)
    assert not otp.valid(code)


def test_a_wrong_guess_leaves_the_remaining_attempts_usable(otp: Otp) -> None:
    otp.send(AllowedAttempts=2)
    code = otp.dispatcher.last_code()

    assert not otp.valid("000000" if code != "000000" else "111111")
    assert otp.valid(code)


def test_codes_are_scoped_by_reference_and_destination(otp: Otp) -> None:
    otp.send()
    code = otp.dispatcher.last_code()

    assert not otp.valid(code, reference="other")
    assert not otp.valid(code, destination="+14255550143")
    other_app = create(otp.call, "other")["Id"]
    r = otp.call(
        "POST", f"/v1/apps/{other_app}/verify-otp", {"DestinationIdentity": PHONE, "Otp": code, "ReferenceId": "login"}
    )
    assert r.body == {"Valid": False}
    assert otp.valid(code)


def test_a_new_send_replaces_the_previous_code(otp: Otp) -> None:
    otp.send()
    first = otp.dispatcher.last_code()
    otp.send()
    second = otp.dispatcher.last_code()

    assert len(stored_items()) == 1
    if first != second:
        assert not otp.valid(first)
    assert otp.valid(second)


def test_an_expired_code_is_refused(otp: Otp, monkeypatch: pytest.MonkeyPatch) -> None:
    import homing.bootstrap

    otp.send(ValidityPeriod=5)
    code = otp.dispatcher.last_code()
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    monkeypatch.setattr(homing.bootstrap.services().otp, "_clock", lambda: later)

    assert not otp.valid(code)


def test_voice_and_email_use_their_content(otp: Otp) -> None:
    otp.send(Channel="VOICE", Language="fr-FR", CodeLength=5)
    voice = otp.dispatcher.sent[-1].content
    assert isinstance(voice, VoiceContent)
    assert voice.language_code == "fr-FR"
    assert re.search(r"Password: \d \d \d \d \d from", voice.body)
    assert otp.valid(otp.dispatcher.last_code())

    otp.send(Channel="EMAIL", DestinationIdentity="a@example.com", OriginationIdentity="otp@example.com")
    email = otp.dispatcher.sent[-1].content
    assert isinstance(email, EmailContent)
    assert email.from_address == "otp@example.com"
    assert otp.valid(otp.dispatcher.last_code(), destination="a@example.com")


def test_a_disabled_channel_refuses_and_writes_nothing(otp: Otp) -> None:
    otp.channels.by_app[otp.app]["SMS"] = FakeChannel("SMS", enabled=False)

    r = otp.send()

    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert "SMS" in r.body["Message"]
    assert otp.dispatcher.sent == []
    assert stored_items() == []


def test_unknown_app_is_404(otp: Otp) -> None:
    unknown = Otp(otp.call, otp.channels, otp.dispatcher, "0" * 32)

    for r in (unknown.send(), unknown.verify("123456")):
        assert (r.status, r.error_type) == (404, "NotFoundException")
    assert otp.dispatcher.sent == []


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"BrandName": None}, "BrandName"),
        ({"BrandName": "B" * 21}, "BrandName"),
        ({"Channel": "PUSH"}, "Channel"),
        ({"DestinationIdentity": "4255550142"}, "DestinationIdentity"),
        ({"CodeLength": 4}, "CodeLength"),
        ({"ValidityPeriod": 61}, "ValidityPeriod"),
        ({"AllowedAttempts": 6}, "AllowedAttempts"),
        ({"AllowedAttempts": "3"}, "AllowedAttempts"),
        ({"Language": "tlh"}, "Language"),
        ({"ReferenceId": {"a": 1}}, "ReferenceId"),
        ({"ReferenceId": "\ud800"}, "request body"),
    ],
)
def test_hostile_send_requests_are_400s_and_write_nothing(otp: Otp, overrides: dict[str, Any], named: str) -> None:
    r = otp.send(**overrides)

    assert (r.status, r.error_type) == (400, "BadRequestException"), r.body
    assert named in r.body["Message"]
    assert otp.dispatcher.sent == []
    assert stored_items() == []


@pytest.mark.parametrize("body", [{}, {"DestinationIdentity": PHONE, "Otp": 123456, "ReferenceId": "login"}, "nope"])
def test_hostile_verify_requests_are_400s(otp: Otp, body: Any) -> None:
    r = otp.call("POST", f"/v1/apps/{otp.app}/verify-otp", body)

    assert (r.status, r.error_type) == (400, "BadRequestException")


def test_concurrent_verifies_cannot_both_use_the_last_attempt(otp: Otp) -> None:
    """Eight racing wrong guesses with three attempts: exactly three are counted, then the right code fails."""
    from homing.bootstrap import services

    otp.send(AllowedAttempts=3)
    code = otp.dispatcher.last_code()
    wrong = "1" * 6 if code != "1" * 6 else "2" * 6
    service = services().otp
    from homing.domain.otp import Verification

    start = threading.Barrier(8)

    def guess(_: int) -> bool:
        start.wait()
        return service.verify(otp.app, Verification(PHONE, wrong, "login"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert not any(pool.map(guess, range(8)))

    (item,) = stored_items()
    assert item["attempts_left"]["N"] == "0"
    assert not otp.valid(code)


def test_concurrent_right_codes_verify_exactly_once(otp: Otp) -> None:
    from homing.bootstrap import services
    from homing.domain.otp import Verification

    otp.send(AllowedAttempts=5)
    code = otp.dispatcher.last_code()
    service = services().otp
    start = threading.Barrier(6)

    def attempt(_: int) -> bool:
        start.wait()
        return service.verify(otp.app, Verification(PHONE, code, "login"))

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, range(6)))

    assert results.count(True) == 1


SEND_BODY = {
    "AllowedAttempts": 3,
    "BrandName": "ExampleCorp",
    "Channel": "SMS",
    "CodeLength": 6,
    "DestinationIdentity": PHONE,
    "EntityId": "1101",
    "Language": "en-US",
    "OriginationIdentity": "+12065550100",
    "ReferenceId": "login",
    "TemplateId": "1107",
    "ValidityPeriod": 15,
}
VERIFY_BODY = {"DestinationIdentity": PHONE, "Otp": "123456", "ReferenceId": "login"}


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_otp_requests_never_5xx_and_rejected_ones_write_and_send_nothing(otp: Otp, data: st.DataObject) -> None:
    """Each body is a valid one with one value made hostile, or a body generated from botocore's model."""
    operation, path, valid = data.draw(
        st.sampled_from([("SendOTPMessage", "otp", SEND_BODY), ("VerifyOTPMessage", "verify-otp", VERIFY_BODY)])
    )
    shape = MODEL.operation_model(operation).input_shape
    assert shape is not None
    payload = shape.members[shape.serialization["payload"]]
    body = data.draw(st.one_of(one_hostile_value(valid), value_for(payload, hostile=True)))
    before, sent = stored_items(), len(otp.dispatcher.sent)

    r = otp.call("POST", f"/v1/apps/{otp.app}/{path}", body)

    assert r.status < 500, (operation, body, r.status, r.body)
    if r.status >= 400:
        assert r.error_type
        assert set(r.body) == {"Message", "RequestID"}
        assert len(otp.dispatcher.sent) == sent
        if operation == "SendOTPMessage":
            assert stored_items() == before
