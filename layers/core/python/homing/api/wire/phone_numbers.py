"""Pinpoint's JSON for PhoneNumberValidate: NumberValidateRequest in, NumberValidateResponse out."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import optional_string, parse_body
from homing.domain.phone_numbers import NumberInfo


def number_validate_request(raw: str | None) -> tuple[str | None, str | None]:
    """(PhoneNumber, IsoCountryCode) as sent; the domain says which is missing or wrong."""
    body = parse_body(raw)
    return optional_string(body, "PhoneNumber"), optional_string(body, "IsoCountryCode")


def number_validate_response(info: NumberInfo) -> dict[str, Any]:
    """Fields nothing is known of (always City, County and ZipCode) are left out, as Pinpoint leaves them out."""
    body: dict[str, Any] = {
        "Carrier": info.carrier,
        "CleansedPhoneNumberE164": info.cleansed_phone_number_e164,
        "CleansedPhoneNumberNational": info.cleansed_phone_number_national,
        "Country": info.country,
        "CountryCodeIso2": info.country_code_iso2,
        "CountryCodeNumeric": info.country_code_numeric,
        "OriginalCountryCodeIso2": info.original_country_code_iso2,
        "OriginalPhoneNumber": info.original_phone_number,
        "PhoneType": info.phone_type,
        "PhoneTypeCode": info.phone_type_code,
        "Timezone": info.timezone,
    }
    return {k: v for k, v in body.items() if v is not None}
