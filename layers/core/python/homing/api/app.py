"""The API resolver: the routers of the families listed in homing.api.families, errors mapped in one place."""

from __future__ import annotations

from re import Match
from typing import Any, NoReturn
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, ResponseBuilder, Route

from homing.api import errors
from homing.api.cors import cors_config
from homing.api.families import FAMILY_ROUTERS
from homing.api.paths import path_problem
from homing.bootstrap import Services
from homing.codec import check_text
from homing.domain.errors import HomingError


class PinpointResolver(APIGatewayRestResolver):
    """APIGatewayRestResolver that refuses non-canonical paths (homing.api.paths) and decodes path parameters.

    A tagged resource's ARN is one percent-encoded segment (``arn%3Aaws%3A…%3Aapps%2F<id>``), as the
    AWS SDKs send it; REST APIs pass the path on still encoded.
    """

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        """Path parameters arrive percent-encoded (``ep%201``); handlers get them decoded, as Pinpoint does."""
        return {name: unquote(value) for name, value in match.groupdict().items()}

    def _resolve(self) -> ResponseBuilder[Any]:
        """Route canonical requests; answer any other spelling with its error, through the exception handlers."""
        event = self.current_event
        problem = None if event.http_method == "OPTIONS" else path_problem(event.path or "")
        if problem is None:
            try:
                for name, values in (event.multi_value_query_string_parameters or {}).items():
                    check_text(name, "The query string")
                    for value in values or []:
                        check_text(value, f"The query parameter {name}")
            except HomingError as error:
                problem = error
        if problem is None:
            return super()._resolve()

        def reject() -> NoReturn:
            raise problem

        # The shape of Powertools' own not-found route, so CORS and the exception handlers apply alike.
        route = Route(
            rule=self._compile_regex(r".*"),
            method=event.http_method,
            path=event.path,
            func=reject,
            cors=self._cors_enabled,
            compress=False,
        )
        self.append_context(_route=route, _path=event.path)  # type: ignore[no-untyped-call]
        return self._call_route(route, {})


def build_resolver(svc: Services) -> PinpointResolver:
    resolver = PinpointResolver(cors=cors_config(svc.settings.cors_allow_origins))
    errors.register(resolver)
    for family in FAMILY_ROUTERS:
        resolver.include_router(family.router(svc))
    return resolver
