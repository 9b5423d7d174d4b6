"""Amazon SNS: SMS by ``Publish`` to a phone number, and mobile push through platform endpoints.

SMS through SNS is the alternative for a customer without an End User Messaging origination
identity (the deployment's ``sms_carrier`` setting picks it; bootstrap.py). Push: each device token
gets a platform endpoint under the channel's platform application (created idempotently,
re-enabled if SNS disabled it), then one ``Publish`` carrying the platform's own payload built from
``PushContent`` (or its raw content as it is). An endpoint SNS reports disabled, or a token it
refuses, is a PERMANENT_FAILURE: the device is gone.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from homing.adapters.senders.common import (
    CLIENT_CONFIG,
    Backoff,
    ErrorTable,
    attempt,
    delivered,
    permanent,
    temporary,
    throttled,
)
from homing.adapters.senders.common import call as call_carrier
from homing.domain.messages import (
    ADM,
    APNS,
    APNS_SANDBOX,
    APNS_VOIP,
    APNS_VOIP_SANDBOX,
    BAIDU,
    GCM,
    PERMANENT_FAILURE,
    Delivery,
    DeliveryResult,
    PushContent,
    SmsContent,
    carrier_tags,
)

# What each Publish / CreatePlatformEndpoint error comes to (codes as botocore's sns model spells them).
SNS_ERRORS: ErrorTable = {
    "Throttled": throttled(),
    "Throttling": throttled(),
    "KMSThrottling": throttled(),
    "EndpointDisabled": permanent(),  # the platform rejected the token: the device is gone
    "InvalidParameter": permanent(),  # a bad phone number or token
    "ParameterValueInvalid": permanent(),
    "ValidationException": permanent(),
    "NotFound": permanent(),  # the platform application or endpoint does not exist
    "PlatformApplicationDisabled": permanent(),
    "AuthorizationError": permanent(403),
    "KMSAccessDenied": permanent(403),
    "InvalidSecurity": permanent(403),
    "KMSDisabled": permanent(),
    "KMSInvalidState": permanent(),
    "KMSNotFound": permanent(),
    "KMSOptInRequired": permanent(),
    "InternalError": temporary(500),
}
TAGGED_CONTEXT = ("campaign_id", "treatment_id", "journey_id")
# The key of each push channel's payload in a MessageStructure=json message.
PLATFORM_KEYS = {
    APNS: "APNS",
    APNS_SANDBOX: "APNS_SANDBOX",
    APNS_VOIP: "APNS_VOIP",
    APNS_VOIP_SANDBOX: "APNS_VOIP_SANDBOX",
    GCM: "GCM",
    ADM: "ADM",
    BAIDU: "BAIDU",
}
APNS_FAMILY = frozenset({APNS, APNS_SANDBOX, APNS_VOIP, APNS_VOIP_SANDBOX})


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


class SnsSmsSender:
    """SMS by SNS ``Publish(PhoneNumber=…)``: sender id, origination number and DLT ids as SNS's attributes."""

    def __init__(self, client: Any = None, backoff: Backoff | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sns", config=CLIENT_CONFIG)
        self.client = client
        self.backoff = backoff or Backoff()

    def send(self, delivery: Delivery) -> DeliveryResult:
        content = delivery.content
        if not isinstance(content, SmsContent):
            return DeliveryResult(PERMANENT_FAILURE, 400, f"{delivery.channel} content cannot go by SMS")
        request = self.request(delivery, content)
        return call_carrier(
            lambda: self.client.publish(**request),
            SNS_ERRORS,
            self.backoff,
            delivery,
            lambda response: delivered(response.get("MessageId")),
        )

    @staticmethod
    def request(delivery: Delivery, content: SmsContent) -> dict[str, Any]:
        attributes = {
            "AWS.SNS.SMS.SMSType": _string("Promotional" if content.message_type == "PROMOTIONAL" else "Transactional")
        }
        if content.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = _string(content.sender_id)
        if content.origination_number:
            attributes["AWS.MM.SMS.OriginationNumber"] = _string(content.origination_number)
        if content.entity_id:
            attributes["AWS.MM.SMS.EntityId"] = _string(content.entity_id)
        if content.template_id:
            attributes["AWS.MM.SMS.TemplateId"] = _string(content.template_id)
        for name, value in carrier_tags(delivery, TAGGED_CONTEXT).items():
            attributes[name] = _string(value)
        return {"PhoneNumber": delivery.address, "Message": content.body, "MessageAttributes": attributes}


class SnsPushSender:
    """Push to one device token through SNS mobile push (APNs, FCM, ADM, Baidu platform applications).

    Endpoint ARNs are remembered per (application, token) for the life of the process, so a warm
    function makes one Publish per message; a disabled endpoint is forgotten and re-enabled next time.
    """

    def __init__(self, client: Any = None, backoff: Backoff | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sns", config=CLIENT_CONFIG)
        self.client = client
        self.backoff = backoff or Backoff()
        self._endpoints: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> DeliveryResult:
        content = delivery.content
        if not isinstance(content, PushContent) or delivery.channel not in PLATFORM_KEYS:
            return DeliveryResult(PERMANENT_FAILURE, 400, f"{delivery.channel} content cannot go by push")
        key = (content.platform_application_arn, delivery.address)
        with self._lock:
            endpoint_arn = self._endpoints.get(key)
        if endpoint_arn is None:
            answer = attempt(
                lambda: self._enabled_endpoint(content.platform_application_arn, delivery.address),
                SNS_ERRORS,
                self.backoff,
                delivery,
            )
            if isinstance(answer, DeliveryResult):
                return answer
            endpoint_arn = answer
            with self._lock:
                self._endpoints[key] = endpoint_arn
        request = self.request(delivery, content, endpoint_arn)
        result = call_carrier(
            lambda: self.client.publish(**request),
            SNS_ERRORS,
            self.backoff,
            delivery,
            lambda response: delivered(response.get("MessageId")),
        )
        if result.status == PERMANENT_FAILURE:
            with self._lock:
                self._endpoints.pop(key, None)
        return result

    def _enabled_endpoint(self, application_arn: str, token: str) -> str:
        """The platform endpoint of ``token`` (created if new), enabled (SNS disables refused tokens)."""
        arn = str(
            self.client.create_platform_endpoint(PlatformApplicationArn=application_arn, Token=token)["EndpointArn"]
        )
        attributes = self.client.get_endpoint_attributes(EndpointArn=arn).get("Attributes", {})
        if attributes.get("Enabled", "true").lower() != "true" or attributes.get("Token", token) != token:
            self.client.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "true", "Token": token})
        return arn

    @staticmethod
    def request(delivery: Delivery, content: PushContent, endpoint_arn: str) -> dict[str, Any]:
        platform = PLATFORM_KEYS[delivery.channel]
        payload = (
            content.raw_content if content.raw_content is not None else json.dumps(_payload(delivery.channel, content))
        )
        attributes: dict[str, dict[str, str]] = {}
        if delivery.channel in APNS_FAMILY:
            push_type = "voip" if "VOIP" in delivery.channel else "background" if content.silent else "alert"
            attributes["AWS.SNS.MOBILE.APNS.PUSH_TYPE"] = _string(push_type)
            if content.priority:
                attributes["AWS.SNS.MOBILE.APNS.PRIORITY"] = _string(
                    "10" if content.priority.lower() in ("high", "10") else "5"
                )
            if content.time_to_live is not None:
                attributes["AWS.SNS.MOBILE.APNS.TTL"] = _string(str(content.time_to_live))
        elif delivery.channel == GCM and content.time_to_live is not None:
            attributes["AWS.SNS.MOBILE.FCM.TTL"] = _string(str(content.time_to_live))
        elif delivery.channel == ADM and content.time_to_live is not None:
            attributes["AWS.SNS.MOBILE.ADM.TTL"] = _string(str(content.time_to_live))
        elif delivery.channel == BAIDU and content.time_to_live is not None:
            attributes["AWS.SNS.MOBILE.BAIDU.TTL"] = _string(str(content.time_to_live))
        request: dict[str, Any] = {
            "TargetArn": endpoint_arn,
            "MessageStructure": "json",
            "Message": json.dumps({"default": content.body or "", platform: payload}),
        }
        if attributes:
            request["MessageAttributes"] = attributes
        return request


def _payload(channel: str, content: PushContent) -> dict[str, Any]:
    """The platform's payload: an alert (standard), or data only with the wake-up flag (silent)."""
    data = dict(content.data)
    if content.url:
        data.setdefault("url", content.url)
    if content.action:
        data.setdefault("action", content.action)
    if channel in APNS_FAMILY:
        aps: dict[str, Any] = {}
        if content.silent:
            aps["content-available"] = 1
        else:
            alert = {k: v for k, v in (("title", content.title), ("body", content.body)) if v is not None}
            if alert:
                aps["alert"] = alert
            if content.sound:
                aps["sound"] = content.sound
        if content.badge is not None:
            aps["badge"] = content.badge
        if content.image_url:
            aps["mutable-content"] = 1
            data.setdefault("image_url", content.image_url)
        return {"aps": aps, **data}
    if channel == GCM:
        message: dict[str, Any] = {"data": data} if data else {}
        if not content.silent:
            notification = {
                k: v
                for k, v in (
                    ("title", content.title),
                    ("body", content.body),
                    ("sound", content.sound),
                    ("image", content.image_url),
                )
                if v is not None
            }
            message["notification"] = notification
        if content.priority:
            message["priority"] = "high" if content.priority.lower() in ("high", "10") else "normal"
        if content.time_to_live is not None:
            message["time_to_live"] = content.time_to_live
        return message
    if channel == ADM:  # ADM carries data only; the app shows title and body itself
        adm = {
            k: v for k, v in (("title", content.title), ("body", content.body)) if v is not None and not content.silent
        }
        return {"data": {**adm, **data}}
    # Baidu
    baidu: dict[str, Any] = {"custom_content": data}
    if not content.silent:
        baidu.update({k: v for k, v in (("title", content.title), ("description", content.body)) if v is not None})
    return baidu
