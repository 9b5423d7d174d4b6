"""PhoneNumberValidate: what is known of a phone number (no app, no table: the number plan's data)."""

from __future__ import annotations

from homing.domain.phone_numbers import NumberInfo, validate_number


class PhoneNumberService:
    def validate(self, phone_number: str | None, iso_country_code: str | None) -> NumberInfo:
        return validate_number(phone_number, iso_country_code)
