"""What API Gateway answers by itself, served from the deployed template: MOCK methods and gateway responses.

Browsers depend on both: a CORS preflight is answered by the template's MOCK ``OPTIONS`` methods
(no auth, no function), and an error raised by the gateway (missing or bad signature, throttling,
a failed integration) carries the headers of the template's ``AWS::ApiGateway::GatewayResponse``
resources. Nothing here knows about CORS: it applies whatever the template says, so local mode
cannot drift from AWS.

moto keeps neither fully: its CloudFormation model of ``AWS::ApiGateway::Method`` drops request
templates, integration and method responses and fails on a MOCK integration (no ``Uri``), and it
has no model for gateway responses (cfn_shims.py has one). ``keep_method_integrations`` fixes the
former; the adapter then reads both back from moto's API Gateway, like its routes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("homing.local")


class HeaderLookup(Protocol):
    def get(self, key: str, default: str) -> str: ...


# -- moto: keep a Method's integration as CloudFormation declares it ----------------------------
def keep_method_integrations() -> None:
    """Patch moto's ``AWS::ApiGateway::Method`` model to store MOCK integrations and their responses."""
    from moto.apigateway import models

    if getattr(models.Method.create_from_cloudformation_json, "_homing_fix", False):
        return

    def create_from_cloudformation_json(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        props = cloudformation_json["Properties"]
        backend = models.apigateway_backends[account_id][region_name]
        api_id, resource_id, http_method = props["RestApiId"], props["ResourceId"], props["HttpMethod"]
        method = backend.put_method(
            function_id=api_id,
            resource_id=resource_id,
            method_type=http_method,
            authorization_type=props.get("AuthorizationType", "NONE"),
            api_key_required=props.get("ApiKeyRequired"),
        )
        for response in props.get("MethodResponses") or []:
            backend.put_method_response(
                api_id,
                resource_id,
                http_method,
                str(response["StatusCode"]),
                response.get("ResponseModels") or {},
                response.get("ResponseParameters") or {},
            )
        integration = props.get("Integration") or {}
        if integration:
            backend.put_integration(
                function_id=api_id,
                resource_id=resource_id,
                method_type=http_method,
                integration_type=integration["Type"],
                uri=integration.get("Uri", ""),
                integration_method=integration.get("IntegrationHttpMethod", ""),
                request_templates=integration.get("RequestTemplates"),
            )
            for response in integration.get("IntegrationResponses") or []:
                backend.put_integration_response(
                    api_id,
                    resource_id,
                    http_method,
                    str(response["StatusCode"]),
                    response.get("SelectionPattern"),
                    response.get("ResponseTemplates") or {},
                    response.get("ResponseParameters") or {},
                )
        return method

    create_from_cloudformation_json._homing_fix = True  # type: ignore[attr-defined]
    models.Method.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment,arg-type]


# -- MOCK integrations ----------------------------------------------------------------------------
@dataclass(frozen=True)
class IntegrationResponse:
    status: int
    selection_pattern: str | None
    parameters: dict[str, str]  # method.response.header.X -> 'literal' | method.request.header.Y
    templates: dict[str, str]


@dataclass(frozen=True)
class MockIntegration:
    """A MOCK integration: the request template picks a status, an integration response shapes the answer."""

    status: int
    responses: tuple[IntegrationResponse, ...]


_STATUS_IN_TEMPLATE = re.compile(r"statusCode\"?\s*:\s*(\d{3})")


def mock_integration(integration: Mapping[str, Any]) -> MockIntegration | None:
    """The MOCK integration of ``get_method(...)["methodIntegration"]``, or None for any other type."""
    if integration.get("type") != "MOCK":
        return None
    template = (integration.get("requestTemplates") or {}).get("application/json", "")
    found = _STATUS_IN_TEMPLATE.search(template or "")
    responses = tuple(
        IntegrationResponse(
            status=int(response.get("statusCode") or code),
            selection_pattern=response.get("selectionPattern") or None,
            parameters=dict(response.get("responseParameters") or {}),
            templates=dict(response.get("responseTemplates") or {}),
        )
        for code, response in (integration.get("integrationResponses") or {}).items()
    )
    return MockIntegration(status=int(found.group(1)) if found else 200, responses=responses)


def render_mock(mock: MockIntegration, headers: HeaderLookup) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body API Gateway returns for a MOCK method."""
    selected = next(
        (r for r in mock.responses if r.selection_pattern and re.fullmatch(r.selection_pattern, str(mock.status))),
        next((r for r in mock.responses if not r.selection_pattern), None),
    )
    if selected is None:  # API Gateway: no integration response for the status
        return 500, [("Content-Type", "application/json")], json.dumps({"message": "Internal server error"}).encode()
    values = {
        name.removeprefix("method.response.header."): _parameter_value(source, headers)
        for name, source in selected.parameters.items()
        if name.startswith("method.response.header.")
    }
    template = selected.templates.get("application/json", "")
    values.update(evaluate_header_overrides(template, headers))
    out = [(name, value) for name, value in values.items() if value is not None]
    out.append(("Content-Type", "application/json"))
    return selected.status, out, b""


def _parameter_value(source: str, headers: HeaderLookup) -> str | None:
    """A mapping expression: ``'literal'`` or ``method.request.header.<name>`` (absent header: omitted)."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("method.request.header."):
        value = headers.get(source.removeprefix("method.request.header."), "")
        return value or None
    log.warning("mapping expression %r is not supported locally (header left out)", source)
    return None


_SET_FROM_HEADER = re.compile(r'#set\(\$(\w+)\s*=\s*\$input\.params\(\)\.header\.get\("([^"]+)"\)\)')
_IF = re.compile(r"#if\((.*)\)")
_EQUALS = re.compile(r'^\$(\w+)\s*==\s*"([^"]*)"$')
_OVERRIDE = re.compile(r"#set\(\$context\.responseOverride\.header\.([\w-]+)\s*=\s*\$(\w+)\)")


def evaluate_header_overrides(template: str, headers: HeaderLookup) -> dict[str, str]:
    """Header overrides set by a response template, for the VTL subset CDK's CORS preflight uses.

    Supported: ``#set($v = $input.params().header.get("Name"))``, ``#if($v == "x" || $v == "y")``
    (nested), ``#end`` and ``#set($context.responseOverride.header.Name = $v)``. Anything else is
    logged and ignored, never guessed.
    """
    variables: dict[str, str] = {}
    overrides: dict[str, str] = {}
    active: list[bool] = []
    for raw in template.splitlines():
        line = raw.strip()
        if not line:
            continue
        running = all(active)
        if line == "#end":
            if active:
                active.pop()
            continue
        if condition := _IF.fullmatch(line):
            active.append(running and _condition(condition.group(1), variables))
            continue
        if not running:
            continue
        if assignment := _SET_FROM_HEADER.fullmatch(line):
            variables[assignment.group(1)] = headers.get(assignment.group(2), "")
        elif override := _OVERRIDE.fullmatch(line):
            overrides[override.group(1)] = variables.get(override.group(2), "")
        else:
            log.warning("response template line not supported locally (ignored): %s", line[:80])
    return overrides


def _condition(text: str, variables: Mapping[str, str]) -> bool:
    for alternative in text.split("||"):
        found = _EQUALS.fullmatch(alternative.strip())
        if found is None:
            log.warning("response template condition not supported locally (false): %s", text[:80])
            return False
        if variables.get(found.group(1), "") == found.group(2):
            return True
    return False


# -- gateway responses ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GatewayResponse:
    response_type: str
    status: int | None
    parameters: dict[str, str] = field(default_factory=dict)  # gatewayresponse.header.X -> expression


def load_gateway_responses(apigateway: Any, api_id: str) -> dict[str, GatewayResponse]:
    """The API's customized gateway responses (``get_gateway_responses``), by type."""
    items = apigateway.get_gateway_responses(restApiId=api_id).get("items", [])
    return {
        item["responseType"]: GatewayResponse(
            response_type=item["responseType"],
            status=int(item["statusCode"]) if item.get("statusCode") else None,
            parameters=dict(item.get("responseParameters") or {}),
        )
        for item in items
    }


# x-amzn-ErrorType of a gateway-made error -> the gateway response type API Gateway uses for it.
RESPONSE_TYPES = {
    "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
    "IncompleteSignatureException": "INVALID_SIGNATURE",
    "InvalidSignatureException": "INVALID_SIGNATURE",
    "ExpiredTokenException": "EXPIRED_TOKEN",
    "AccessDeniedException": "ACCESS_DENIED",
    "ThrottlingException": "THROTTLED",
}
STATUS_TYPES = {413: "REQUEST_TOO_LARGE", 429: "THROTTLED"}


def response_type(status: int, error_type: str | None) -> str:
    """The gateway response type of an error the gateway itself produced (status and error type)."""
    if error_type in RESPONSE_TYPES:
        return RESPONSE_TYPES[error_type]
    if status in STATUS_TYPES:
        return STATUS_TYPES[status]
    return "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"


def apply_gateway_response(
    responses: Mapping[str, GatewayResponse],
    status: int,
    response_headers: list[tuple[str, str]],
    request_headers: HeaderLookup,
) -> tuple[int, list[tuple[str, str]]]:
    """Status and headers of a gateway-made error after its gateway response (specific type, else DEFAULT_4XX/5XX)."""
    error_type = next((v for n, v in response_headers if n.lower() == "x-amzn-errortype"), None)
    kind = response_type(status, error_type)
    spec = responses.get(kind) or responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")
    if spec is None:
        return status, response_headers
    headers = list(response_headers)
    for name, source in spec.parameters.items():
        if not name.startswith("gatewayresponse.header."):
            continue
        value = _parameter_value(source, request_headers)
        header = name.removeprefix("gatewayresponse.header.")
        headers = [(n, v) for n, v in headers if n.lower() != header.lower()]
        if value is not None:
            headers.append((header, value))
    return spec.status or status, headers
