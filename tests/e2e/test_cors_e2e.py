"""CORS in local mode, served from the synthesized template: MOCK preflights and gateway responses."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.conftest import REGION

ORIGIN = "https://shop.example"


def _send(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.mark.parametrize("path", ["/", "/v1/apps", "/prod/v1/apps/0123456789abcdef0123456789abcdef/endpoints/e-1"])
def test_preflight_is_answered_without_credentials(api_url: str, path: str) -> None:
    status, headers, body = _send(
        api_url + path,
        "OPTIONS",
        {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-security-token",
        },
    )

    assert status == 204
    assert body == b""
    assert headers["access-control-allow-origin"] == "*"
    assert "PUT" in headers["access-control-allow-methods"].split(",")
    allowed = {h.lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-amz-date", "x-amz-security-token"} <= allowed
    assert int(headers["access-control-max-age"]) > 0


def test_gateway_auth_errors_carry_cors_headers(api_url: str) -> None:
    unsigned = _send(api_url + "/v1/apps", headers={"Origin": ORIGIN})
    request = AWSRequest(method="GET", url=api_url + "/v1/apps", headers={"Origin": ORIGIN})
    SigV4Auth(Credentials("homing", "wrong-secret"), "execute-api", REGION).add_auth(request)
    bad_signature = _send(api_url + "/v1/apps", headers=dict(request.headers.items()))

    for (status, headers, _), error_type in (
        (unsigned, "MissingAuthenticationTokenException"),
        (bad_signature, "InvalidSignatureException"),
    ):
        assert status == 403
        assert headers["x-amzn-errortype"] == error_type
        assert headers["access-control-allow-origin"] == "*"
        assert "x-amzn-ErrorType" in headers["access-control-expose-headers"].split(",")
