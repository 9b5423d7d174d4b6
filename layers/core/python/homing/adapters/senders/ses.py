"""Email through Amazon SES v2 ``SendEmail``: simple content (subject, HTML and text parts, headers) or raw MIME.

The From address, reply-to addresses and configuration set come from the delivery's content (copied
from the email channel by whoever built it); the configuration set's event destinations are how SES
reports deliveries, opens, clicks and bounces back (``EmailTags`` find the app and endpoint again).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from homing.adapters.senders.common import (
    CLIENT_CONFIG,
    Backoff,
    ErrorTable,
    delivered,
    permanent,
    temporary,
    throttled,
)
from homing.adapters.senders.common import call as call_carrier
from homing.domain.messages import (
    PERMANENT_FAILURE,
    Delivery,
    DeliveryResult,
    EmailContent,
    carrier_tags,
)

# What each SendEmail error comes to (botocore's sesv2 model names them all).
SES_ERRORS: ErrorTable = {
    "TooManyRequestsException": throttled(),  # the per-second rate: retried, then THROTTLED
    "LimitExceededException": throttled(),  # the daily quota: retried briefly, then THROTTLED
    "MessageRejected": permanent(),
    "MailFromDomainNotVerifiedException": permanent(),
    "NotFoundException": permanent(),  # identity or configuration set unknown
    "BadRequestException": permanent(),  # not verified in the sandbox, bad address, bad header
    "AccountSuspendedException": permanent(403),
    "SendingPausedException": temporary(),  # the account or configuration set paused sending
}
TAGGED_CONTEXT = ("campaign_id", "treatment_id", "journey_id")
CHARSET = "UTF-8"


class SesEmailSender:
    """Sends EMAIL deliveries with one SES v2 client (thread-safe, shared by the dispatcher's threads)."""

    def __init__(self, client: Any = None, backoff: Backoff | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sesv2", config=CLIENT_CONFIG)
        self.client = client
        self.backoff = backoff or Backoff()

    def send(self, delivery: Delivery) -> DeliveryResult:
        content = delivery.content
        if not isinstance(content, EmailContent):
            return DeliveryResult(PERMANENT_FAILURE, 400, f"{delivery.channel} content cannot go by email")
        try:
            request = self.request(delivery, content)
        except ValueError as error:
            return DeliveryResult(PERMANENT_FAILURE, 400, str(error))
        return call_carrier(
            lambda: self.client.send_email(**request),
            SES_ERRORS,
            self.backoff,
            delivery,
            lambda response: delivered(response.get("MessageId")),
        )

    @staticmethod
    def request(delivery: Delivery, content: EmailContent) -> dict[str, Any]:
        """SendEmail's parameters for one delivery."""
        request: dict[str, Any] = {
            "FromEmailAddress": content.from_address,
            "Destination": {"ToAddresses": [delivery.address]},
            "EmailTags": [
                {"Name": name, "Value": value} for name, value in carrier_tags(delivery, TAGGED_CONTEXT).items()
            ],
        }
        if content.raw_message is not None:
            try:
                data = base64.b64decode(content.raw_message, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("RawEmail.Data is not base64") from None
            request["Content"] = {"Raw": {"Data": data}}
        else:
            body: dict[str, Any] = {}
            if content.html_body is not None:
                body["Html"] = {"Data": content.html_body, "Charset": CHARSET}
            if content.text_body is not None:
                body["Text"] = {"Data": content.text_body, "Charset": CHARSET}
            if not body:
                raise ValueError("the email has neither an HTML nor a text body")
            simple: dict[str, Any] = {"Subject": {"Data": content.subject or "", "Charset": CHARSET}, "Body": body}
            if content.headers:
                simple["Headers"] = [{"Name": k, "Value": v} for k, v in content.headers.items()]
            request["Content"] = {"Simple": simple}
        if content.reply_to:
            request["ReplyToAddresses"] = list(content.reply_to)
        if content.configuration_set:
            request["ConfigurationSetName"] = content.configuration_set
        if content.feedback_forwarding_address:
            request["FeedbackForwardingEmailAddress"] = content.feedback_forwarding_address
        return request
