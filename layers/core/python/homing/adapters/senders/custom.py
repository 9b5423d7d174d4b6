"""Custom channel: Pinpoint's custom-channel payload to a customer's Lambda function or HTTPS webhook.

The payload is Pinpoint's (pinpoint-formats.md §1.10): ``Message`` ``{}``, ``Data``, the app,
campaign, treatment and activity ids from the delivery's context, and ``Endpoints`` (endpoint id ->
endpoint). A Lambda is invoked synchronously (RequestResponse) with it; a webhook gets it as a JSON
POST. Webhooks must be ``https://`` and resolve only to public addresses (no SSRF into the VPC,
the instance metadata service or loopback); the address checked is the one connected to, so a DNS
answer cannot change between the check and the request. Redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from homing.adapters.senders.common import (
    CLIENT_CONFIG,
    UNEXPECTED,
    Backoff,
    CarrierRefusal,
    ErrorTable,
    delivered,
    permanent,
    temporary,
    throttled,
)
from homing.adapters.senders.common import call as call_carrier
from homing.domain.messages import CUSTOM, PERMANENT_FAILURE, CustomContent, Delivery, DeliveryResult

# Lambda Invoke's errors (5xx ones not listed here are TEMPORARY_FAILURE by their status), and the
# refusals of a function or webhook (CarrierRefusal codes).
CUSTOM_ERRORS: ErrorTable = {
    "TooManyRequestsException": throttled(),
    "ResourceNotFoundException": permanent(),  # no such function
    "AccessDeniedException": permanent(403),  # not a function the deployment may invoke
    "InvalidRequestContentException": permanent(),
    "RequestTooLargeException": permanent(413),
    "InvalidParameterValueException": permanent(),
    "RecursiveInvocationException": permanent(),
    "ResourceNotReadyException": temporary(),
    "ResourceConflictException": temporary(),
    "FunctionError": temporary(502),  # the customer's function raised: it may succeed later
    "InsecureUrl": permanent(),
    "PrivateAddress": permanent(403),
    "UnresolvableHost": permanent(),
    "Http429": throttled(),
    "Http4xx": permanent(),
    "Http5xx": temporary(502),
    "WebhookUnreachable": temporary(),  # no connection: nothing was sent
    "WebhookTls": permanent(),  # its certificate does not verify
    "WebhookLost": UNEXPECTED,  # the request went out and its answer was lost: never resent
}
WEBHOOK_TIMEOUT_SECONDS = 15.0  # Pinpoint gives a custom channel's function 15 s too

Resolver = Callable[[str, int], list[str]]
# (ip, port, host, path, body) -> HTTP status
Poster = Callable[[str, int, str, str, bytes], int]


def custom_payload(delivery: Delivery, content: CustomContent) -> dict[str, Any]:
    context = delivery.context
    endpoints = content.endpoints or (
        {delivery.endpoint_id: {"Address": delivery.address, "ChannelType": CUSTOM}} if delivery.endpoint_id else {}
    )
    return {
        "Message": {},
        "Data": content.data,
        "ApplicationId": delivery.app_id,
        "CampaignId": context.get("campaign_id"),
        "TreatmentId": context.get("treatment_id", "0"),
        "ActivityId": context.get("activity_id"),
        "ScheduledTime": context.get("scheduled_time"),
        "Endpoints": endpoints,
    }


def resolve(host: str, port: int) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})
    except (socket.gaierror, UnicodeError):
        return []


def post_json(ip: str, port: int, host: str, path: str, body: bytes) -> int:
    """POST to ``ip`` with TLS verified for ``host`` (urllib3, no redirects, no retries)."""
    import urllib3

    pool = urllib3.HTTPSConnectionPool(
        ip,
        port,
        server_hostname=host,
        assert_hostname=host,
        timeout=urllib3.Timeout(connect=5.0, read=WEBHOOK_TIMEOUT_SECONDS),
        retries=False,
        cert_reqs="CERT_REQUIRED",
    )
    try:
        with pool:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={"Host": host if port == 443 else f"{host}:{port}", "Content-Type": "application/json"},
                redirect=False,
                assert_same_host=False,
            )
            return int(response.status)
    except urllib3.exceptions.SSLError:
        raise CarrierRefusal("WebhookTls", "The webhook's TLS certificate does not verify") from None
    except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError):
        raise CarrierRefusal("WebhookUnreachable", "Could not connect to the webhook") from None
    except urllib3.exceptions.HTTPError as error:
        raise CarrierRefusal("WebhookLost", f"The webhook's answer was lost ({type(error).__name__})") from None


class CustomSender:
    """Sends CUSTOM deliveries to a Lambda function (by ARN) or an HTTPS webhook."""

    def __init__(
        self,
        lambda_client: Any = None,
        backoff: Backoff | None = None,
        resolver: Resolver = resolve,
        poster: Poster = post_json,
    ) -> None:
        self._lambda = lambda_client
        self.backoff = backoff or Backoff()
        self.resolver = resolver
        self.poster = poster

    @property
    def lambda_client(self) -> Any:
        if self._lambda is None:
            import boto3

            self._lambda = boto3.client("lambda", config=CLIENT_CONFIG)
        return self._lambda

    def send(self, delivery: Delivery) -> DeliveryResult:
        content = delivery.content
        if not isinstance(content, CustomContent):
            return DeliveryResult(PERMANENT_FAILURE, 400, f"{delivery.channel} content cannot go by the custom channel")
        body = json.dumps(custom_payload(delivery, content)).encode()
        if content.destination.startswith("arn:"):
            return call_carrier(
                lambda: self._invoke(content.destination, body),
                CUSTOM_ERRORS,
                self.backoff,
                delivery,
                lambda _: delivered(None, "Custom channel function invoked"),
            )
        return call_carrier(
            lambda: self._post(content.destination, body),
            CUSTOM_ERRORS,
            self.backoff,
            delivery,
            lambda status: delivered(None, f"Webhook answered {status}"),
        )

    def _invoke(self, function_arn: str, body: bytes) -> dict[str, Any]:
        response: dict[str, Any] = self.lambda_client.invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=body
        )
        if response.get("FunctionError"):
            raise CarrierRefusal("FunctionError", f"The custom channel function failed ({response['FunctionError']})")
        return response

    def _post(self, url: str, body: bytes) -> int:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise CarrierRefusal("InsecureUrl", "A custom channel webhook must be an https:// URL")
        try:
            port = parts.port or 443
        except ValueError:
            raise CarrierRefusal("InsecureUrl", "The webhook URL has an invalid port") from None
        addresses = self.resolver(parts.hostname, port)
        if not addresses:
            raise CarrierRefusal("UnresolvableHost", "The webhook's host name does not resolve")
        if not all(_public(address) for address in addresses):
            raise CarrierRefusal("PrivateAddress", "The webhook resolves to a private or reserved address")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        status = self.poster(addresses[0], port, parts.hostname, path, body)
        if 200 <= status < 300:
            return status
        code = "Http429" if status == 429 else "Http4xx" if status < 500 else "Http5xx"
        raise CarrierRefusal(code, f"The webhook answered HTTP {status}")


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
