"""The one place operation families register: their router modules, in the order the resolver adds them.

A route exists only if its family's router module is listed here (docs/architecture.md, "Where
families register"); tests/unit/test_architecture.py checks that no route comes from anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from homing.api.routers import (
    analytics,
    apps,
    audiences,
    campaigns,
    channels,
    endpoints,
    event_streams,
    events,
    jobs,
    messaging,
    otp,
    phone_numbers,
    segments,
    tags,
    two_way_sms,
)
from homing.api.routers import templates as templates_router

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.router import APIGatewayRouter

    from homing.bootstrap import Services


class FamilyRouter(Protocol):
    """What a family router module provides: its routes, bound to the services."""

    def router(self, svc: Services) -> APIGatewayRouter: ...


FAMILY_ROUTERS: tuple[FamilyRouter, ...] = (
    apps,
    endpoints,
    tags,
    events,
    event_streams,
    analytics,
    segments,
    audiences,
    jobs,
    channels,
    otp,
    phone_numbers,
    templates_router,
    two_way_sms,
    messaging,
    campaigns,
)
