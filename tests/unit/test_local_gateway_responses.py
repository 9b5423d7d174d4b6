"""Local mode's MOCK integrations and gateway responses, as the synthesized template declares them."""

from __future__ import annotations

import json
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers

from homing.local.gateway_responses import (
    GatewayResponse,
    apply_gateway_response,
    evaluate_header_overrides,
    mock_integration,
    render_mock,
    response_type,
)

# What CDK synthesizes for a preflight with two allowed origins (default_cors_preflight_options).
CDK_TEMPLATE = (
    '#set($origin = $input.params().header.get("Origin"))\n'
    '#if($origin == "")\n'
    '  #set($origin = $input.params().header.get("origin"))\n'
    "#end\n"
    '#if($origin == "https://b.example" || $origin == "https://c.example")\n'
    "  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n"
    "#end"
)
PREFLIGHT = {
    "type": "MOCK",
    "requestTemplates": {"application/json": "{ statusCode: 200 }"},
    "integrationResponses": {
        "204": {
            "statusCode": "204",
            "responseParameters": {
                "method.response.header.Access-Control-Allow-Origin": "'https://a.example'",
                "method.response.header.Access-Control-Allow-Methods": "'GET,POST'",
                "method.response.header.Vary": "'Origin'",
            },
            "responseTemplates": {"application/json": CDK_TEMPLATE},
        }
    },
}


def test_non_mock_integrations_are_not_mocks() -> None:
    assert mock_integration({"type": "AWS_PROXY", "uri": "arn:..."}) is None


def test_preflight_answers_with_the_declared_status_and_headers() -> None:
    mock = mock_integration(PREFLIGHT)
    assert mock is not None

    status, headers, body = render_mock(mock, Headers({"Origin": "https://a.example"}))

    assert status == 204
    assert body == b""
    assert dict(headers)["Access-Control-Allow-Origin"] == "https://a.example"
    assert dict(headers)["Access-Control-Allow-Methods"] == "GET,POST"
    assert dict(headers)["Vary"] == "Origin"


def test_response_template_echoes_only_listed_origins() -> None:
    mock = mock_integration(PREFLIGHT)
    assert mock is not None

    _, listed, _ = render_mock(mock, Headers({"Origin": "https://c.example"}))
    _, unlisted, _ = render_mock(mock, Headers({"Origin": "https://evil.example"}))

    assert dict(listed)["Access-Control-Allow-Origin"] == "https://c.example"
    assert dict(unlisted)["Access-Control-Allow-Origin"] == "https://a.example"  # the browser then refuses


def test_template_subset_ignores_what_it_does_not_know() -> None:
    template = "\n".join(
        [
            '#set($x = $input.params().header.get("Origin"))',
            "#foreach($a in $b)",
            '#if($x != "y")',
            "#set($context.responseOverride.header.H = $x)",
            "#end",
        ]
    )

    assert evaluate_header_overrides(template, Headers({"Origin": "o"})) == {}


def test_mock_without_a_matching_integration_response_is_a_500() -> None:
    mock = mock_integration(
        {**PREFLIGHT, "integrationResponses": {"204": {"statusCode": "204", "selectionPattern": "4\\d\\d"}}}
    )
    assert mock is not None

    status, _, _ = render_mock(mock, Headers())

    assert status == 500


CORS = {
    "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
    "gatewayresponse.header.Access-Control-Expose-Headers": "'x-amzn-ErrorType'",
}


def test_gateway_error_gets_its_type_headers_or_the_default_ones() -> None:
    responses = {
        "DEFAULT_4XX": GatewayResponse("DEFAULT_4XX", None, CORS),
        "INVALID_SIGNATURE": GatewayResponse("INVALID_SIGNATURE", None, {"gatewayresponse.header.X-Kind": "'sig'"}),
    }
    request = Headers({"Origin": "https://a.example"})

    status, missing = apply_gateway_response(
        responses, 403, [("x-amzn-ErrorType", "MissingAuthenticationTokenException")], request
    )
    _, bad_signature = apply_gateway_response(
        responses, 403, [("x-amzn-ErrorType", "InvalidSignatureException")], request
    )

    assert status == 403
    assert dict(missing)["Access-Control-Allow-Origin"] == "https://a.example"
    assert dict(missing)["Access-Control-Expose-Headers"] == "x-amzn-ErrorType"
    assert dict(bad_signature) == {"x-amzn-ErrorType": "InvalidSignatureException", "X-Kind": "sig"}


def test_5xx_uses_default_5xx_and_no_customization_changes_nothing() -> None:
    responses = {"DEFAULT_5XX": GatewayResponse("DEFAULT_5XX", None, CORS)}

    _, server_error = apply_gateway_response(responses, 502, [], Headers({"Origin": "https://a.example"}))
    untouched = apply_gateway_response({}, 403, [("A", "b")], Headers())

    assert dict(server_error)["Access-Control-Allow-Origin"] == "https://a.example"
    assert untouched == (403, [("A", "b")])


def test_absent_request_header_leaves_the_header_out() -> None:
    responses = {"DEFAULT_4XX": GatewayResponse("DEFAULT_4XX", None, CORS)}

    _, headers = apply_gateway_response(responses, 403, [], Headers())

    assert dict(headers) == {"Access-Control-Expose-Headers": "x-amzn-ErrorType"}


def test_response_types() -> None:
    assert response_type(403, "MissingAuthenticationTokenException") == "MISSING_AUTHENTICATION_TOKEN"
    assert response_type(403, "InvalidSignatureException") == "INVALID_SIGNATURE"
    assert response_type(413, None) == "REQUEST_TOO_LARGE"
    assert response_type(403, "UnrecognizedClientException") == "DEFAULT_4XX"
    assert response_type(502, None) == "DEFAULT_5XX"


# -- the local gateway serves them --------------------------------------------------------------
def _gateway(invocations: list[dict[str, Any]]) -> Any:
    from werkzeug.test import Client

    from homing.local.http import LocalApiGateway, RestApi, Route

    def invoke(function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        invocations.append(event)
        answer = {"statusCode": 404, "headers": {"X-Amzn-ErrorType": "NotFoundException"}, "body": "{}"}
        return json.dumps(answer).encode(), False

    mock = mock_integration(PREFLIGHT)
    routes = [
        Route("/{proxy+}", "ANY", "arn:aws:lambda:us-east-1:123456789012:function:api"),
        Route("/{proxy+}", "OPTIONS", "", authorization="NONE", mock=mock),
    ]
    responses = {"DEFAULT_4XX": GatewayResponse("DEFAULT_4XX", None, CORS)}
    api = RestApi("abc", "homing", routes, {"prod": {}}, gateway_responses=responses)
    return Client(LocalApiGateway(api, invoke, {"homing": "homing"}, "123456789012"))


def test_local_gateway_answers_preflights_itself_without_auth() -> None:
    invocations: list[dict[str, Any]] = []

    response = _gateway(invocations).options("/prod/v1/apps", headers={"Origin": "https://b.example"})

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert invocations == []


def test_local_gateway_adds_gateway_response_headers_to_its_own_errors_only() -> None:
    invocations: list[dict[str, Any]] = []
    client = _gateway(invocations)

    unsigned = client.get("/v1/apps", headers={"Origin": "https://b.example"})
    request = AWSRequest(method="GET", url="http://localhost/v1/apps", headers={"Origin": "https://b.example"})
    SigV4Auth(Credentials("homing", "homing"), "execute-api", "us-east-1").add_auth(request)
    from_function = client.get("/v1/apps", headers=dict(request.headers.items()))

    assert unsigned.status_code == 403
    assert unsigned.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert from_function.status_code == 404
    assert "Access-Control-Allow-Origin" not in from_function.headers  # the function's answer is passed through
    assert len(invocations) == 1
