"""A real JavaScript client: Node with @aws-sdk/client-pinpoint (clients/js-e2e, from its lockfile).

The script does what a web page does: a CORS preflight, then UpdateEndpoint, PutEvents and
GetEndpoint signed for execute-api, each request carrying the page's Origin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.e2e.conftest import ACCESS_KEY, REGION, ROOT, SECRET_KEY

CLIENT_DIR = ROOT / "clients" / "js-e2e"
ORIGIN = "https://shop.example"


@pytest.fixture(scope="module")
def js_run(api_url: str, pinpoint: Any) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js 20+ is required (see README)"
    assert (CLIENT_DIR / "node_modules" / "@aws-sdk" / "client-pinpoint").is_dir(), (
        "clients/js-e2e has no node_modules: run `make dev` (npm ci from the committed lockfile)"
    )
    app_id = pinpoint.create_app(CreateApplicationRequest={"Name": "js-client"})["ApplicationResponse"]["Id"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "HOMING_API_URL": api_url,
        "HOMING_APP_ID": app_id,
        "HOMING_ORIGIN": ORIGIN,
        "HOMING_ENDPOINT_ID": "js-web-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
    }
    try:
        result = subprocess.run(
            [node, "pinpoint-e2e.mjs"],
            cwd=CLIENT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        output: dict[str, Any] = json.loads(result.stdout)
    finally:
        pinpoint.delete_app(ApplicationId=app_id)
    return output


def test_preflight_is_answered_without_auth(js_run: dict[str, Any]) -> None:
    preflight = js_run["preflight"]
    allowed = {h.lower() for h in preflight["headers"]["access-control-allow-headers"].split(",")}

    assert preflight["status"] == 204
    assert preflight["headers"]["access-control-allow-origin"] == "*"
    assert "POST" in preflight["headers"]["access-control-allow-methods"].split(",")
    assert {"authorization", "content-type", "x-amz-date", "x-amz-user-agent"} <= allowed
    assert {"amz-sdk-invocation-id", "amz-sdk-request"} <= allowed


def test_sdk_calls_succeed_signed_for_execute_api(js_run: dict[str, Any]) -> None:
    assert js_run["updateEndpoint"] == {"message": "Accepted"}
    assert js_run["putEvents"] == {"endpointStatus": 202, "events": {"page-1": 202, "session-1": 202}}
    assert js_run["getEndpoint"] == {
        "channelType": "EMAIL",
        "address": "web-visitor@example.com",
        "userId": "web-user-1",
        "attributes": {"plan": ["free"]},
    }
    assert [(r["method"], r["status"]) for r in js_run["responses"]] == [("PUT", 202), ("POST", 202), ("GET", 200)]
    assert {(r["signedService"], r["signedRegion"]) for r in js_run["responses"]} == {("execute-api", REGION)}


def test_every_answer_carries_cors_headers_errors_included(js_run: dict[str, Any]) -> None:
    answers = [r["headers"] for r in js_run["responses"]] + [js_run["unknownEndpoint"]["headers"]]

    assert js_run["unknownEndpoint"]["error"] == "NotFoundException"
    assert js_run["unknownEndpoint"]["status"] == 404
    for headers in answers:
        assert headers["access-control-allow-origin"] == "*"
        exposed = {h.lower() for h in headers["access-control-expose-headers"].split(",")}
        assert {"x-amzn-errortype", "x-amzn-requestid"} <= exposed
