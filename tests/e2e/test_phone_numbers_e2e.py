"""PhoneNumberValidate through the stock boto3 client against the local stack."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import error_of


def test_a_number_is_validated(pinpoint: Any) -> None:
    response = pinpoint.phone_number_validate(
        NumberValidateRequest={"PhoneNumber": "+81 90-1234-5678", "IsoCountryCode": "JP"}
    )

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["NumberValidateResponse"] == {
        "Carrier": "KDDI",
        "CleansedPhoneNumberE164": "+819012345678",
        "CleansedPhoneNumberNational": "09012345678",
        "Country": "Japan",
        "CountryCodeIso2": "JP",
        "CountryCodeNumeric": "81",
        "OriginalCountryCodeIso2": "JP",
        "OriginalPhoneNumber": "+81 90-1234-5678",
        "PhoneType": "MOBILE",
        "PhoneTypeCode": 0,
        "Timezone": "Asia/Tokyo",
    }


def test_a_national_number_without_its_country_is_invalid(pinpoint: Any) -> None:
    response = pinpoint.phone_number_validate(NumberValidateRequest={"PhoneNumber": "090-1234-5678"})

    info = response["NumberValidateResponse"]
    assert (info["PhoneType"], info["PhoneTypeCode"]) == ("INVALID", 3)
    assert "CleansedPhoneNumberE164" not in info


def test_a_malformed_country_code_is_a_bad_request(pinpoint: Any) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.phone_number_validate(NumberValidateRequest={"PhoneNumber": "+14155552671", "IsoCountryCode": "USA"})

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "IsoCountryCode" in message
