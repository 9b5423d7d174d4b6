"""The API edge over HTTP: local SigV4 as strict as API Gateway, one spelling per resource, signed tokens."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY


def _send(
    api_url: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    region: str = REGION,
    signed_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Sign ``signed_body`` (default: ``body``) for execute-api, then send ``body``."""
    request = AWSRequest(
        method=method, url=api_url + path, data=body if signed_body is None else signed_body, headers=headers or {}
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", region).add_auth(request)
    sent = urllib.request.Request(api_url + path, data=body or None, method=method, headers=dict(request.headers))
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def app_id(pinpoint: Any) -> str:
    return str(pinpoint.create_app(CreateApplicationRequest={"Name": "edge"})["ApplicationResponse"]["Id"])


def test_body_changed_after_signing_its_hash_is_refused(api_url: str, app_id: str) -> None:
    signed = json.dumps({"ChannelType": "SMS", "Address": "+15550100"}).encode()
    swapped = json.dumps({"ChannelType": "SMS", "Address": "+15550199"}).encode()
    hash_header = {"X-Amz-Content-SHA256": hashlib.sha256(signed).hexdigest()}
    path = f"/v1/apps/{app_id}/endpoints/e1"

    status, headers, body = _send(api_url, "PUT", path, swapped, signed_body=signed, headers=hash_header)

    assert status == 403
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert body["message"].startswith("The request signature we calculated does not match")
    assert _send(api_url, "GET", path)[0] == 404  # nothing was written
    assert _send(api_url, "PUT", path, signed, headers=hash_header)[0] == 202


def test_signature_for_another_region_is_refused(api_url: str) -> None:
    client = boto3.client(
        "pinpoint",
        endpoint_url=api_url,
        region_name="eu-west-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    with pytest.raises(ClientError) as caught:
        client.get_apps()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "FOO"])
def test_unknown_methods_are_missing_authentication_token(api_url: str, app_id: str, method: str) -> None:
    status, headers, body = _send(api_url, method, f"/v1/apps/{app_id}")

    assert status == 403
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert body == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("/v1/apps/{upper}", 404),
        ("/v1/apps/%{first:02X}{rest}", 400),
        ("/v1/apps//{app}", 400),
        ("/v1/apps/{app}/", 400),
        ("/prod/v1/apps/{app}/endpoints/%65p", 400),
    ],
)
def test_other_spellings_of_an_app_are_refused(api_url: str, app_id: str, spelling: str, status: int) -> None:
    path = spelling.format(app=app_id, upper=app_id.upper(), first=ord(app_id[0]), rest=app_id[1:])

    got, headers, body = _send(api_url, "GET", path)

    assert got == status
    assert headers["X-Amzn-ErrorType"] in ("BadRequestException", "NotFoundException")
    assert set(body) == {"Message", "RequestID"}


def test_forged_page_token_is_bad_request(pinpoint: Any) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.get_apps(Token="eyJhcHBsaWNhdGlvbl9pZCI6IHsiUyI6ICJ4In19")
    assert caught.value.response["Error"]["Code"] == "BadRequestException"
