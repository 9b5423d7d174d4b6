"""The API resolver: one Powertools router per resource family, errors mapped in one place."""

from __future__ import annotations

from collections.abc import Mapping
from re import Match
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from homing.api import errors
from homing.api.cors import cors_config
from homing.api.routers import apps, endpoints, events, tags
from homing.bootstrap import Services

_TAGS_PREFIX = "/v1/tags/"


class PinpointResolver(APIGatewayRestResolver):
    """APIGatewayRestResolver that decodes path parameters and keeps a tagged resource's ARN in one segment.

    Clients percent-encode the ARN (``apps%2Fid``); API Gateway may hand it over decoded, with a
    real ``/`` in it. Re-encoding it lets a plain ``<resource_arn>`` route match either way.
    """

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        """Path parameters arrive percent-encoded (``ep%201``); handlers get them decoded, as Pinpoint does."""
        return {name: unquote(value) for name, value in match.groupdict().items()}

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        path = event.get("path") or ""
        if path.startswith(_TAGS_PREFIX):
            event = {**event, "path": _TAGS_PREFIX + quote(unquote(path[len(_TAGS_PREFIX) :]), safe="")}
        return super().resolve(event, context)


def build_resolver(svc: Services) -> PinpointResolver:
    resolver = PinpointResolver(cors=cors_config(svc.settings.cors_allow_origins))
    errors.register(resolver)
    resolver.include_router(apps.router(svc))
    resolver.include_router(endpoints.router(svc))
    resolver.include_router(tags.router(svc))
    resolver.include_router(events.router(svc))
    return resolver
