"""SMS and voice through AWS End User Messaging SMS and Voice v2 (``pinpoint-sms-voice-v2``).

SMS: ``SendTextMessage`` from the content's origination number (a phone number, pool or their
ARN) or else its sender id; without either End User Messaging picks an identity of the account.
Voice: ``SendVoiceMessage`` (TEXT or SSML, a voice id); it needs an origination number.
``Context`` carries the carrier tags, so delivery receipts (SMS status events) find their app,
endpoint and campaign again. The India DLT entity and template ids go in
``DestinationCountryParameters`` (``IN_ENTITY_ID``, ``IN_TEMPLATE_ID``).
"""

from __future__ import annotations

from typing import Any

from homing.adapters.senders.common import (
    CLIENT_CONFIG,
    Backoff,
    ErrorTable,
    Outcome,
    delivered,
    permanent,
    temporary,
    throttled,
)
from homing.adapters.senders.common import call as call_carrier
from homing.domain.messages import (
    OPT_OUT,
    PERMANENT_FAILURE,
    Delivery,
    DeliveryResult,
    SmsContent,
    VoiceContent,
    carrier_tags,
)

# What each SendTextMessage / SendVoiceMessage error comes to (botocore's model names them all).
SMS_VOICE_ERRORS: ErrorTable = {
    "ThrottlingException": throttled(),
    "ServiceQuotaExceededException": Outcome("THROTTLED", 429),  # spend limit, monthly quota: not retried
    "ValidationException": permanent(),  # invalid number, unsupported country, bad body
    "ResourceNotFoundException": permanent(),  # origination identity or configuration set unknown
    "ConflictException": permanent(),
    # a number that replied STOP: OPT_OUT, as Pinpoint answers
    "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT": Outcome(OPT_OUT, 400),
    "AccessDeniedException": permanent(403),
    "InternalServerException": temporary(500),
}
TAGGED_CONTEXT = ("campaign_id", "treatment_id", "journey_id")


class EndUserMessagingSender:
    """Sends SMS and VOICE deliveries with one ``pinpoint-sms-voice-v2`` client (thread-safe)."""

    def __init__(self, client: Any = None, backoff: Backoff | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("pinpoint-sms-voice-v2", config=CLIENT_CONFIG)
        self.client = client
        self.backoff = backoff or Backoff()

    def send(self, delivery: Delivery) -> DeliveryResult:
        content = delivery.content
        if isinstance(content, SmsContent):
            request = self.text_request(delivery, content)
            operation = self.client.send_text_message
        elif isinstance(content, VoiceContent):
            if not content.origination_number:
                return DeliveryResult(PERMANENT_FAILURE, 400, "A voice message needs an OriginationNumber")
            request = self.voice_request(delivery, content)
            operation = self.client.send_voice_message
        else:
            return DeliveryResult(PERMANENT_FAILURE, 400, f"{delivery.channel} content cannot go by SMS or voice")
        return call_carrier(
            lambda: operation(**request),
            SMS_VOICE_ERRORS,
            self.backoff,
            delivery,
            lambda response: delivered(response.get("MessageId")),
        )

    @staticmethod
    def text_request(delivery: Delivery, content: SmsContent) -> dict[str, Any]:
        request: dict[str, Any] = {
            "DestinationPhoneNumber": delivery.address,
            "MessageBody": content.body,
            "MessageType": content.message_type,
            "Context": carrier_tags(delivery, TAGGED_CONTEXT),
        }
        identity = content.origination_number or content.sender_id
        if identity:
            request["OriginationIdentity"] = identity
        if content.keyword:
            request["Keyword"] = content.keyword
        if content.configuration_set:
            request["ConfigurationSetName"] = content.configuration_set
        country: dict[str, str] = {}
        if content.entity_id:
            country["IN_ENTITY_ID"] = content.entity_id
        if content.template_id:
            country["IN_TEMPLATE_ID"] = content.template_id
        if country:
            request["DestinationCountryParameters"] = country
        return request

    @staticmethod
    def voice_request(delivery: Delivery, content: VoiceContent) -> dict[str, Any]:
        # SendVoiceMessage has no language parameter: the voice id names the language (Joanna: en-US).
        request: dict[str, Any] = {
            "DestinationPhoneNumber": delivery.address,
            "OriginationIdentity": content.origination_number,
            "MessageBody": content.body,
            "MessageBodyTextType": "SSML" if content.ssml else "TEXT",
            "Context": carrier_tags(delivery, TAGGED_CONTEXT),
        }
        if content.voice_id:
            request["VoiceId"] = content.voice_id.upper()  # Pinpoint says "Joanna", the model "JOANNA"
        return request
