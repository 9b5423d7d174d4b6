"""Phone number rules, pure: what PhoneNumberValidate says about a number, from Google's libphonenumber data.

Pinpoint asked a commercial data provider; Homing asks the ``phonenumbers`` library, which knows the
number plan of every country but not who holds a number today. So: the E.164 and national forms,
the country, the type where the plan tells it, the time zone and the carrier a number range was
allocated to. It cannot know City, County or ZipCode (never returned), nor whether a North American
number is mobile or fixed (``OTHER``), nor PREPAID. docs/decisions.md (OTP and phone number
validation) has the details.

The carrier and time-zone data are imported on the first validation, not with this module. The
library's geocoder (place names) is never imported: its data is 40 MB, which costs ~1.6 s and ~100 MB
of the api function's memory when loaded; the country's name comes from its small locale table.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from homing.domain.errors import BadRequest

# Pinpoint's PhoneType values and their PhoneTypeCode.
MOBILE, LANDLINE, VOIP, INVALID, OTHER, PREPAID = "MOBILE", "LANDLINE", "VOIP", "INVALID", "OTHER", "PREPAID"
PHONE_TYPE_CODES = {MOBILE: 0, LANDLINE: 1, VOIP: 2, INVALID: 3, OTHER: 4, PREPAID: 5}

_TYPES = {
    PhoneNumberType.MOBILE: MOBILE,
    PhoneNumberType.FIXED_LINE: LANDLINE,
    PhoneNumberType.VOIP: VOIP,
    # The plan does not tell (North America): neither MOBILE nor LANDLINE would be honest.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: OTHER,
}
ISO_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
LOCALE = "en"  # Pinpoint answered in English


@dataclass(frozen=True)
class NumberInfo:
    """PhoneNumberValidate's answer (NumberValidateResponse); None where nothing is known."""

    original_phone_number: str
    original_country_code_iso2: str | None
    phone_type: str
    cleansed_phone_number_e164: str | None = None
    cleansed_phone_number_national: str | None = None
    country: str | None = None
    country_code_iso2: str | None = None
    country_code_numeric: str | None = None
    carrier: str | None = None
    timezone: str | None = None

    @property
    def phone_type_code(self) -> int:
        return PHONE_TYPE_CODES[self.phone_type]


def check_country(iso_country_code: str | None) -> str | None:
    if iso_country_code is None or iso_country_code == "":
        return None
    if not ISO_COUNTRY.match(iso_country_code):
        raise BadRequest("IsoCountryCode must be a two-letter ISO 3166-1 alpha-2 code")
    return iso_country_code.upper()


def validate_number(phone_number: str | None, iso_country_code: str | None) -> NumberInfo:
    """What is known of ``phone_number`` (read as dialled in ``iso_country_code`` when it has no +code).

    A number that cannot be read, or that no country's plan allows, is ``INVALID`` (a 200, as in
    Pinpoint); only a missing number or a malformed country code is a 400.
    """
    if not phone_number:
        raise BadRequest("PhoneNumber is required")
    region = check_country(iso_country_code)
    invalid = NumberInfo(phone_number, iso_country_code or None, INVALID)
    try:
        number = phonenumbers.parse(phone_number, region)
    except phonenumbers.NumberParseException:
        return invalid
    if not phonenumbers.is_valid_number(number):
        return invalid
    from phonenumbers import carrier, timezone  # a few megabytes of data: loaded on first use

    kind = _TYPES.get(phonenumbers.number_type(number), OTHER)
    zones = timezone.time_zones_for_number(number)
    region = phonenumbers.region_code_for_number(number)
    return NumberInfo(
        original_phone_number=phone_number,
        original_country_code_iso2=iso_country_code or None,
        phone_type=kind,
        cleansed_phone_number_e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        cleansed_phone_number_national=re.sub(
            r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        ),
        country=country_name(region),
        country_code_iso2=region,
        country_code_numeric=str(number.country_code),
        carrier=carrier.name_for_number(number, LOCALE) or None,
        # One zone only: a range spanning several (UK mobiles: London, Jersey, Guernsey, Man) names none.
        timezone=zones[0] if len(zones) == 1 and zones[0] != timezone.UNKNOWN_TIMEZONE else None,
    )


def country_name(region: str | None) -> str | None:
    """The English name of an ISO 3166-1 region ("FR" -> "France"), as the library's geocoder names it."""
    if not region:
        return None
    names = _country_names().get(region, {})
    name = names.get(LOCALE, "")
    if name.startswith("*"):  # "*<language>": the name is the one held under that language
        name = names.get(name[1:], "")
    return name or None


@cache
def _country_names() -> dict[str, dict[str, str]]:
    """The geocoder's locale table (0.6 MB), read on its own: importing it as ``phonenumbers.geodata.locale``
    would run the package's ``__init__``, which loads the 40 MB of place names first."""
    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"phonenumbers' locale table is not at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: dict[str, dict[str, str]] = module.LOCALE_DATA
    return names
