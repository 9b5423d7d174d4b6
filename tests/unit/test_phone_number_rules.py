"""PhoneNumberValidate's rules (homing.domain.phone_numbers) on the phonenumbers data."""

from __future__ import annotations

import pytest

from homing.domain.errors import BadRequest
from homing.domain.phone_numbers import PHONE_TYPE_CODES, validate_number


def test_a_french_landline_in_e164_is_described_in_full() -> None:
    info = validate_number("+33 1 42 68 53 00", None)

    assert info.phone_type == "LANDLINE"
    assert info.phone_type_code == 1
    assert info.cleansed_phone_number_e164 == "+33142685300"
    assert info.cleansed_phone_number_national == "0142685300"
    assert (info.country, info.country_code_iso2, info.country_code_numeric) == ("France", "FR", "33")
    assert info.timezone == "Europe/Paris"
    assert info.original_phone_number == "+33 1 42 68 53 00"
    assert info.original_country_code_iso2 is None


def test_a_national_number_is_read_in_the_country_given() -> None:
    info = validate_number("(415) 555-2671", "us")

    assert info.cleansed_phone_number_e164 == "+14155552671"
    assert info.cleansed_phone_number_national == "4155552671"
    assert info.country_code_iso2 == "US"
    assert info.original_country_code_iso2 == "us"
    assert info.timezone == "America/Los_Angeles"


def test_a_north_american_number_is_neither_mobile_nor_landline() -> None:
    """The number plan cannot tell in North America: OTHER, not a guess."""
    assert validate_number("+14155552671", None).phone_type == "OTHER"


def test_a_mobile_number_has_its_carrier() -> None:
    info = validate_number("+819012345678", None)

    assert (info.phone_type, info.phone_type_code) == ("MOBILE", 0)
    assert info.carrier == "KDDI"


def test_a_range_spanning_several_time_zones_names_none() -> None:
    info = validate_number("+447400123456", None)

    assert info.country_code_iso2 == "GB"
    assert info.timezone is None


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("not a number", None),
        ("+999123", None),
        ("12345", None),  # no country code and no country to read it in
        ("+1 555", None),
        ("+33" + "1" * 300, None),
        ("\u0661\u0662\u0663", "EG"),
    ],
)
def test_an_unreadable_or_impossible_number_is_invalid_not_an_error(number: str, country: str | None) -> None:
    info = validate_number(number, country)

    assert (info.phone_type, info.phone_type_code) == ("INVALID", 3)
    assert info.cleansed_phone_number_e164 is None
    assert info.original_phone_number == number


@pytest.mark.parametrize(("number", "country"), [(None, "US"), ("", "US"), ("+14155552671", "USA"), ("1", "1A")])
def test_a_missing_number_or_malformed_country_is_a_bad_request(number: str | None, country: str) -> None:
    with pytest.raises(BadRequest):
        validate_number(number, country)


def test_country_names_come_without_the_place_name_data() -> None:
    """The 40 MB geocoder data is never loaded (docs/decisions.md): country names are read on their own."""
    import sys

    from homing.domain.phone_numbers import country_name

    assert validate_number("+4930123456", None).country == "Germany"
    assert (country_name("GB"), country_name("CI"), country_name("ZZ"), country_name(None)) == (
        "United Kingdom",
        "Côte d'Ivoire",
        None,
        None,
    )
    assert not [m for m in sys.modules if m.startswith(("phonenumbers.geodata", "phonenumbers.geocoder"))]


def test_the_type_codes_are_pinpoints() -> None:
    assert PHONE_TYPE_CODES == {"MOBILE": 0, "LANDLINE": 1, "VOIP": 2, "INVALID": 3, "OTHER": 4, "PREPAID": 5}
