"""Pinpoint's JSON for channels: <Type>ChannelRequest in, <Type>ChannelResponse and ChannelsResponse out.

A response never carries a credential, sealed or not, nor the SNS platform application's ARN: only
HasCredential / HasTokenKey / HasFcmServiceCredentials say what is stored.
"""

from __future__ import annotations

from typing import Any

from homing.api.schemas import parse_body
from homing.domain.channels import APNS_TYPES, Channel, ChannelChange, parse_change
from homing.domain.messages import EMAIL, GCM, SMS

# The response members of each channel type beyond the common ones (ChannelResponse); ADM, Baidu
# and voice answer only those.
_EXTRA: dict[str, tuple[str, ...]] = {
    EMAIL: (
        "ConfigurationSet",
        "FromAddress",
        "Identity",
        "MessagesPerSecond",
        "RoleArn",
        "OrchestrationSendingRoleArn",
    ),
    SMS: ("PromotionalMessagesPerSecond", "SenderId", "ShortCode", "TransactionalMessagesPerSecond"),
    GCM: ("DefaultAuthenticationMethod",),
    **dict.fromkeys(APNS_TYPES, ("DefaultAuthenticationMethod",)),
}
_ATTRIBUTE = {
    "ConfigurationSet": "configuration_set",
    "FromAddress": "from_address",
    "Identity": "identity",
    "MessagesPerSecond": "messages_per_second",
    "RoleArn": "role_arn",
    "OrchestrationSendingRoleArn": "orchestration_sending_role_arn",
    "PromotionalMessagesPerSecond": "promotional_messages_per_second",
    "SenderId": "sender_id",
    "ShortCode": "short_code",
    "TransactionalMessagesPerSecond": "transactional_messages_per_second",
    "DefaultAuthenticationMethod": "default_authentication_method",
}


def channel_request(channel_type: str, raw: str | None) -> ChannelChange:
    """The members of the <Type>ChannelRequest body that this channel type takes (400 naming a bad one)."""
    return parse_change(channel_type, parse_body(raw))


def channel_response(c: Channel) -> dict[str, Any]:
    """<Type>ChannelResponse: the common members, the type's own, and no credential."""
    body: dict[str, Any] = {
        "ApplicationId": c.application_id,
        "CreationDate": c.creation_date,
        "Enabled": c.enabled,
        "HasCredential": c.has_credential,
        "Id": c.channel_type.lower(),
        "IsArchived": c.is_archived,
        "LastModifiedDate": c.last_modified_date,
        "Platform": c.channel_type,
        "Version": c.version,
    }
    if c.last_modified_by:
        body["LastModifiedBy"] = c.last_modified_by
    if c.channel_type in APNS_TYPES:
        body["HasTokenKey"] = c.has_token_key
    if c.channel_type == GCM:
        body["HasFcmServiceCredentials"] = c.has_fcm_service_credentials
    for member in _EXTRA.get(c.channel_type, ()):
        value = getattr(c, _ATTRIBUTE[member])
        if value is not None:
            body[member] = value
    return body


def channels_response(channels: list[Channel]) -> dict[str, Any]:
    """ChannelsResponse: ChannelType -> ChannelResponse (the common members only)."""
    common = {
        "ApplicationId",
        "CreationDate",
        "Enabled",
        "HasCredential",
        "Id",
        "IsArchived",
        "LastModifiedBy",
        "LastModifiedDate",
        "Version",
    }
    return {
        "Channels": {c.channel_type: {k: v for k, v in channel_response(c).items() if k in common} for c in channels}
    }
