"""Phone number rules, pure: what PhoneNumberValidate says about a number, from Google's libphonenumber data.

Pinpoint asked a commercial data provider; Homing asks the ``phonenumbers`` library, which knows the
number plan of every country but not who holds a number today. So: the E.164 and national forms,
the country, the type where the plan tells it, the time zone, the carrier a number range was
allocated to and the place a fixed-line range belongs to. It cannot know County or ZipCode (never
returned), nor whether a North American number is mobile or fixed (``OTHER``), nor PREPAID.
docs/decisions.md ("PhoneNumberValidate from phonenumbers") has the details.

The carrier, geocoder and time-zone modules hold megabytes of data: they are imported on the first
validation that needs them, not with this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    city: str | None = None
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
    from phonenumbers import carrier, geocoder, timezone  # megabytes of data: loaded on first use

    kind = _TYPES.get(phonenumbers.number_type(number), OTHER)
    zones = timezone.time_zones_for_number(number)
    country = geocoder.country_name_for_number(number, LOCALE) or None
    place = geocoder.description_for_number(number, LOCALE) or None
    return NumberInfo(
        original_phone_number=phone_number,
        original_country_code_iso2=iso_country_code or None,
        phone_type=kind,
        cleansed_phone_number_e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        cleansed_phone_number_national=re.sub(
            r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        ),
        country=country,
        country_code_iso2=phonenumbers.region_code_for_number(number),
        country_code_numeric=str(number.country_code),
        carrier=carrier.name_for_number(number, LOCALE) or None,
        # The geocoder names a place ("Seattle, WA") only for ranges tied to one; else the country.
        city=place.split(",")[0].strip() if place and place != country else None,
        # One zone only: a range spanning several (UK mobiles: London, Jersey, Guernsey, Man) names none.
        timezone=zones[0] if len(zones) == 1 and zones[0] != timezone.UNKNOWN_TIMEZONE else None,
    )
