"""PhoneNumberValidate through the api handler."""

from __future__ import annotations

from typing import Any

import pytest


def test_a_number_is_validated_in_pinpoints_shape(call: Any) -> None:
    r = call("POST", "/v1/phone/number/validate", {"PhoneNumber": "+33142685300", "IsoCountryCode": "FR"})

    assert r.status == 200
    assert r.body == {
        "CleansedPhoneNumberE164": "+33142685300",
        "CleansedPhoneNumberNational": "0142685300",
        "Country": "France",
        "CountryCodeIso2": "FR",
        "CountryCodeNumeric": "33",
        "OriginalCountryCodeIso2": "FR",
        "OriginalPhoneNumber": "+33142685300",
        "PhoneType": "LANDLINE",
        "PhoneTypeCode": 1,
        "Timezone": "Europe/Paris",
    }


def test_an_impossible_number_is_invalid_with_a_200(call: Any) -> None:
    r = call("POST", "/v1/phone/number/validate", {"PhoneNumber": "+1 555"})

    assert r.status == 200
    assert r.body == {"OriginalPhoneNumber": "+1 555", "PhoneType": "INVALID", "PhoneTypeCode": 3}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "PhoneNumber"),
        ({"PhoneNumber": 14155552671}, "PhoneNumber"),
        ({"PhoneNumber": "+14155552671", "IsoCountryCode": "United States"}, "IsoCountryCode"),
        ({"PhoneNumber": "+14155552671", "IsoCountryCode": ["US"]}, "IsoCountryCode"),
        ("[]", "JSON object"),
        ("{", "JSON"),
    ],
)
def test_hostile_requests_are_400s_naming_the_field(call: Any, body: Any, named: str) -> None:
    r = call("POST", "/v1/phone/number/validate", body)

    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert named in r.body["Message"]
