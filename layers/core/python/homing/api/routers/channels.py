"""GetChannels and Get/Update/Delete for each channel type (email, sms, voice, apns, apns_sandbox,
apns_voip, apns_voip_sandbox, gcm, baidu, adm): one route per type and method, as Pinpoint names them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from homing.api.responses import ok
from homing.bootstrap import Services
from homing.lazy_package import LazyModule

if TYPE_CHECKING:
    from homing.api.wire import channels as wire
else:
    wire = LazyModule("homing.api.wire.channels")

# The path segment of each channel type (homing.domain.channels.PATHS, not imported: the router
# module must not load the domain before a channel route runs).
CHANNEL_PATHS = {
    "email": "EMAIL",
    "sms": "SMS",
    "voice": "VOICE",
    "apns": "APNS",
    "apns_sandbox": "APNS_SANDBOX",
    "apns_voip": "APNS_VOIP",
    "apns_voip_sandbox": "APNS_VOIP_SANDBOX",
    "gcm": "GCM",
    "baidu": "BAIDU",
    "adm": "ADM",
}


def router(svc: Services) -> APIGatewayRouter:
    r = APIGatewayRouter()

    @r.get("/v1/apps/<application_id>/channels")
    def get_channels(application_id: str) -> Response[str]:
        return ok(wire.channels_response(svc.channels.all(application_id)))

    for path, channel_type in CHANNEL_PATHS.items():
        _channel_routes(r, svc, f"/v1/apps/<application_id>/channels/{path}", channel_type)
    return r


def _channel_routes(r: APIGatewayRouter, svc: Services, path: str, channel_type: str) -> None:
    @r.get(path)
    def get_channel(application_id: str) -> Response[str]:
        return ok(wire.channel_response(svc.channels.get(application_id, channel_type)))

    @r.put(path)
    def update_channel(application_id: str) -> Response[str]:
        change = wire.channel_request(channel_type, r.current_event.body)
        caller = r.current_event.request_context.identity.user_arn
        return ok(wire.channel_response(svc.channels.update(application_id, change, caller)))

    @r.delete(path)
    def delete_channel(application_id: str) -> Response[str]:
        return ok(wire.channel_response(svc.channels.delete(application_id, channel_type)))
