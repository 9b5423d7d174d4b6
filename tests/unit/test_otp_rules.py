"""SendOTPMessage / VerifyOTPMessage rules (homing.domain.otp): ranges, defaults, the code and its message."""

from __future__ import annotations

from typing import Any

import pytest

from homing.domain.errors import BadRequest
from homing.domain.otp import (
    StoredCode,
    entry_key,
    mac_input,
    message_text,
    new_code,
    otp_request,
    spoken_text,
    verification,
)

VALID: dict[str, Any] = {
    "brand_name": "ExampleCorp",
    "channel": "SMS",
    "destination": "+14255550142",
    "origination": "+12065550100",
    "reference_id": "login-42",
}


def test_defaults() -> None:
    request = otp_request(**VALID)

    assert (request.code_length, request.validity_minutes, request.allowed_attempts) == (6, 15, 3)
    assert request.language == "en-US"
    assert (request.entity_id, request.template_id) == (None, None)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("brand_name", None, "BrandName"),
        ("brand_name", "x" * 21, "BrandName"),
        ("brand_name", 7, "BrandName"),
        ("channel", "PUSH", "Channel"),
        ("channel", "sms", "Channel"),
        ("destination", None, "DestinationIdentity"),
        ("destination", "4255550142", "DestinationIdentity"),
        ("destination", "+0425", "DestinationIdentity"),
        ("origination", "", "OriginationIdentity"),
        ("reference_id", None, "ReferenceId"),
        ("reference_id", "r" * 49, "ReferenceId"),
        ("code_length", 4, "CodeLength"),
        ("code_length", 9, "CodeLength"),
        ("code_length", "6", "CodeLength"),
        ("code_length", True, "CodeLength"),
        ("validity_period", 4, "ValidityPeriod"),
        ("validity_period", 61, "ValidityPeriod"),
        ("validity_period", 5.5, "ValidityPeriod"),
        ("allowed_attempts", 0, "AllowedAttempts"),
        ("allowed_attempts", 6, "AllowedAttempts"),
        ("language", "en", "Language"),
        ("language", "xx-XX", "Language"),
        ("entity_id", ["1"], "EntityId"),
    ],
)
def test_each_bad_parameter_is_named(field: str, value: Any, named: str) -> None:
    with pytest.raises(BadRequest) as caught:
        otp_request(**{**VALID, field: value})

    assert named in caught.value.message


@pytest.mark.parametrize(("field", "value"), [("code_length", 5), ("code_length", 8), ("validity_period", 60)])
def test_the_range_ends_are_allowed(field: str, value: int) -> None:
    otp_request(**{**VALID, field: value, "allowed_attempts": 5, "language": "ja-JP"})


def test_email_destinations_are_addresses() -> None:
    email = {**VALID, "channel": "EMAIL", "destination": "a@example.com", "origination": "otp@example.com"}
    assert otp_request(**email).destination == "a@example.com"
    with pytest.raises(BadRequest, match="DestinationIdentity"):
        otp_request(**{**VALID, "channel": "EMAIL", "origination": "otp@example.com"})
    with pytest.raises(BadRequest, match="OriginationIdentity"):
        otp_request(**{**VALID, "channel": "EMAIL", "destination": "a@example.com"})


def test_codes_are_digits_of_the_length_asked() -> None:
    codes = [new_code(length) for length in (5, 6, 7, 8) for _ in range(50)]

    assert all(code.isdigit() and code.isascii() for code in codes)
    assert {len(c) for c in codes} == {5, 6, 7, 8}
    assert len(set(codes)) > 150  # not one code over and over


def test_pinpoints_message_text() -> None:
    request = otp_request(**VALID)

    assert message_text(request, "123456") == "This is your One Time Password: 123456 from ExampleCorp"
    assert spoken_text(request, "123456") == "This is your One Time Password: 1 2 3 4 5 6 from ExampleCorp"


def test_the_scope_is_bound_into_the_mac_input_and_the_key_holds_no_address() -> None:
    assert mac_input("a", "r", "+1", "123456") != mac_input("a", "r", "+1", "123457")
    assert mac_input("a", "r", "+1", "1") != mac_input("b", "r", "+1", "1")
    assert mac_input("a", "r1", "+1", "1") != mac_input("a", "r", "1+1", "1")
    key = entry_key("login-42", "+14255550142")
    assert "4255550142" not in key
    assert key != entry_key("login-4", "2+14255550142")


def test_a_stored_code_is_usable_while_unverified_unexpired_and_with_attempts() -> None:
    code = StoredCode(mac="00", attempts_left=1, expires_at=100, send_id="s")

    assert code.usable(99)
    assert not code.usable(100)
    assert not StoredCode("00", 0, 100, "s").usable(0)
    assert not StoredCode("00", 3, 100, "s", verified=True).usable(0)


def test_verification_parameters() -> None:
    assert verification(destination="+14255550142", otp="123456", reference_id="r").otp == "123456"
    for missing in ("destination", "otp", "reference_id"):
        args: dict[str, Any] = {"destination": "+14255550142", "otp": "123456", "reference_id": "r", missing: None}
        with pytest.raises(BadRequest):
            verification(**args)
