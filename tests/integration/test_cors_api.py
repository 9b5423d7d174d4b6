"""The api function's own responses carry CORS headers (errors included) for the origins it is configured with."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import LambdaContext, api_event

LISTED = "https://shop.example"


def _invoke(monkeypatch: pytest.MonkeyPatch, origins: str, method: str, path: str, origin: str | None) -> Any:
    import api.handler as handler_module

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", origins)
    from homing.bootstrap import services

    services.cache_clear()
    handler_module._resolver = None
    event = api_event(method, path, {"Name": "web"} if method == "POST" else None)
    if origin:
        event["headers"]["Origin"] = origin
        event["multiValueHeaders"]["Origin"] = [origin]
    out = handler_module.lambda_handler(event, LambdaContext())
    headers = {**(out.get("headers") or {}), **{k: v[-1] for k, v in (out.get("multiValueHeaders") or {}).items()}}
    return out["statusCode"], headers, json.loads(out["body"]) if out.get("body") else None


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/apps", 201),  # success
        ("GET", "/v1/apps/0123456789abcdef0123456789abcdef", 404),  # domain error
        ("GET", "/v1/nothing-here", 404),  # no route
    ],
)
def test_listed_origin_gets_cors_headers_on_every_answer(
    aws: None, monkeypatch: pytest.MonkeyPatch, method: str, path: str, status: int
) -> None:
    code, headers, _ = _invoke(monkeypatch, f"{LISTED},https://admin.example", method, path, LISTED)

    assert code == status
    assert headers["Access-Control-Allow-Origin"] == LISTED
    assert "x-amzn-ErrorType" in headers["Access-Control-Expose-Headers"].split(",")
    assert "amz-sdk-invocation-id" in headers["Access-Control-Allow-Headers"].split(",")


def test_unlisted_origin_and_no_origin_get_none(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _, unlisted, _ = _invoke(monkeypatch, LISTED, "GET", "/v1/apps", "https://evil.example")
    _, without, _ = _invoke(monkeypatch, LISTED, "GET", "/v1/apps", None)

    assert not any(h.startswith("Access-Control-") for h in unlisted)
    assert not any(h.startswith("Access-Control-") for h in without)


def test_wildcard_and_cors_off(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    _, anyone, _ = _invoke(monkeypatch, "*", "GET", "/v1/apps", "https://anyone.example")
    _, off, body = _invoke(monkeypatch, "", "GET", "/v1/apps", "https://anyone.example")

    assert anyone["Access-Control-Allow-Origin"] == "*"
    assert not any(h.startswith("Access-Control-") for h in off)
    assert body == {"Item": []}
