"""Pinpoint's JSON for OTP: SendOTPMessageRequestParameters → MessageResponse, and
VerifyOTPMessageRequestParameters → VerificationResponse."""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.domain.otp import OtpRequest, OtpSent, Verification, otp_request, verification


def send_otp_request(raw: str | None) -> OtpRequest:
    body = parse_body(raw)
    return otp_request(
        brand_name=body.get("BrandName"),
        channel=body.get("Channel"),
        destination=body.get("DestinationIdentity"),
        origination=body.get("OriginationIdentity"),
        reference_id=body.get("ReferenceId"),
        code_length=body.get("CodeLength"),
        validity_period=body.get("ValidityPeriod"),
        allowed_attempts=body.get("AllowedAttempts"),
        language=body.get("Language"),
        entity_id=body.get("EntityId"),
        template_id=body.get("TemplateId"),
    )


def message_response(sent: OtpSent, request_id: str) -> dict[str, Any]:
    """MessageResponse: the one destination's MessageResult, keyed by its address."""
    result: dict[str, Any] = {
        "DeliveryStatus": sent.result.status,
        "StatusCode": sent.result.status_code,
        "StatusMessage": sent.result.status_message,
    }
    if sent.result.message_id:
        result["MessageId"] = sent.result.message_id
    return {"ApplicationId": sent.application_id, "RequestId": request_id, "Result": {sent.destination: result}}


def verify_otp_request(raw: str | None) -> Verification:
    body = parse_body(raw)
    return verification(
        destination=body.get("DestinationIdentity"), otp=body.get("Otp"), reference_id=body.get("ReferenceId")
    )


def verification_response(valid: bool) -> dict[str, Any]:
    return {"Valid": valid}
