"""The local API Gateway data plane: route matching, proxy events, SigV4 checks, response mapping."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers

from homing.local.http import (
    AuthError,
    Caller,
    LocalApiGateway,
    RestApi,
    Route,
    build_proxy_event,
    find_route,
    map_proxy_response,
    verify_sigv4,
)

FN = "arn:aws:lambda:us-east-1:123456789012:function:api"
KEYS = {"homing": "homing"}


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


# -- routes -----------------------------------------------------------------------------------
ROUTES = [
    Route("/", "ANY", FN),
    Route("/{proxy+}", "ANY", FN),
    Route("/v1/apps/{application-id}", "GET", FN),
    Route("/v1/apps/{application-id}/endpoints/{endpoint-id}", "ANY", FN),
    Route("/v1/apps/export", "GET", FN),
]


@pytest.mark.parametrize(
    ("method", "path", "expected", "params"),
    [
        ("GET", "/", "/", {}),
        ("GET", "/v1/apps/export", "/v1/apps/export", {}),
        ("GET", "/v1/apps/a1", "/v1/apps/{application-id}", {"application-id": "a1"}),
        ("POST", "/v1/apps/a1", "/{proxy+}", {"proxy": "v1/apps/a1"}),
        (
            "PUT",
            "/v1/apps/a1/endpoints/ep%201%2Fx",
            "/v1/apps/{application-id}/endpoints/{endpoint-id}",
            {"application-id": "a1", "endpoint-id": "ep 1/x"},
        ),
        ("GET", "/v1/apps/a1/endpoints/e/extra", "/{proxy+}", {"proxy": "v1/apps/a1/endpoints/e/extra"}),
    ],
)
def test_most_specific_route_wins(method: str, path: str, expected: str, params: dict[str, str]) -> None:
    found = find_route(ROUTES, method, _segments(path))

    assert found is not None
    route, path_parameters = found
    assert route.path == expected
    assert path_parameters == params


def test_greedy_parameter_needs_at_least_one_segment() -> None:
    assert find_route([Route("/{proxy+}", "ANY", FN)], "GET", []) is None


def test_method_must_match_unless_any() -> None:
    assert find_route([Route("/v1/apps", "GET", FN)], "POST", ["v1", "apps"]) is None


# -- proxy event ------------------------------------------------------------------------------
def test_proxy_event_has_rest_api_v1_fields() -> None:
    api = RestApi(api_id="abc123", name="homing", routes=ROUTES, stages={"prod": {"v": "1"}})
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    event = build_proxy_event(
        api=api,
        route=ROUTES[3],
        stage="prod",
        method="PUT",
        raw_path="/v1/apps/a1/endpoints/ep%201",
        query_string="a=1&a=2&b=",
        headers=[("Content-Type", "application/json"), ("User-Agent", "ua"), ("X-Multi", "1"), ("X-Multi", "2")],
        body=b'{"ChannelType": "EMAIL"}',
        path_parameters={"application-id": "a1", "endpoint-id": "ep 1"},
        caller=Caller("homing", "execute-api"),
        source_ip="127.0.0.1",
        account_id="123456789012",
        domain_name="127.0.0.1:8740",
        request_id="req-1",
        now=now,
    )

    assert event["resource"] == "/v1/apps/{application-id}/endpoints/{endpoint-id}"
    assert event["path"] == "/v1/apps/a1/endpoints/ep%201"
    assert event["httpMethod"] == "PUT"
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["pathParameters"] == {"application-id": "a1", "endpoint-id": "ep 1"}
    assert event["stageVariables"] == {"v": "1"}
    assert event["body"] == '{"ChannelType": "EMAIL"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == event["resource"]
    assert context["stage"] == "prod"
    assert context["path"] == "/prod/v1/apps/a1/endpoints/ep%201"
    assert context["requestId"] == "req-1"
    assert context["apiId"] == "abc123"
    assert context["accountId"] == "123456789012"
    assert context["requestTimeEpoch"] == int(now.timestamp() * 1000)
    identity = context["identity"]
    assert identity["accessKey"] == "homing"
    assert identity["userArn"] == "arn:aws:iam::123456789012:user/homing"
    assert identity["caller"] == "homing"
    assert identity["sourceIp"] == "127.0.0.1"
    assert identity["userAgent"] == "ua"


def test_proxy_event_without_query_headers_or_body_uses_nulls() -> None:
    api = RestApi(api_id="abc", name="homing", routes=ROUTES)
    event = build_proxy_event(
        api=api,
        route=ROUTES[0],
        stage="prod",
        method="GET",
        raw_path="/",
        query_string="",
        headers=[],
        body=b"",
        path_parameters={},
        caller=None,
        source_ip="127.0.0.1",
        account_id="123456789012",
        domain_name="localhost",
    )

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["requestContext"]["identity"]["accessKey"] is None


def test_binary_body_is_base64() -> None:
    api = RestApi(api_id="abc", name="homing", routes=ROUTES)
    event = build_proxy_event(
        api=api,
        route=ROUTES[0],
        stage="prod",
        method="POST",
        raw_path="/",
        query_string="",
        headers=[],
        body=b"\xff\x00",
        path_parameters={},
        caller=None,
        source_ip="127.0.0.1",
        account_id="1",
        domain_name="localhost",
    )

    assert event["isBase64Encoded"] is True
    assert event["body"] == "/wA="


# -- SigV4 ------------------------------------------------------------------------------------
def _signed(
    method: str = "PUT",
    uri: str = "/prod/v1/apps/a1/endpoints/ep%201%2Fx?x=1",
    body: bytes = b'{"a": 1}',
    service: str = "execute-api",
    key: str = "homing",
    secret: str = "homing",
) -> tuple[Headers, bytes]:
    request = AWSRequest(method=method, url=f"http://127.0.0.1:8740{uri}", data=body, headers={"X-Extra": "1"})
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    headers = Headers(list(request.headers.items()))
    headers["Host"] = "127.0.0.1:8740"
    return headers, body


@pytest.mark.parametrize("service", ["execute-api", "mobiletargeting"])
def test_botocore_signature_verifies_over_the_raw_uri(service: str) -> None:
    headers, body = _signed(service=service)

    caller = verify_sigv4("PUT", "/prod/v1/apps/a1/endpoints/ep%201%2Fx?x=1", headers, body, KEYS)

    assert caller == Caller("homing", service)


def _error(**kwargs: Any) -> AuthError:
    headers, body = _signed()
    args: dict[str, Any] = {
        "method": "PUT",
        "raw_uri": "/prod/v1/apps/a1/endpoints/ep%201%2Fx?x=1",
        "headers": headers,
        "body": body,
        "key_pairs": KEYS,
    }
    args.update(kwargs)
    with pytest.raises(AuthError) as caught:
        verify_sigv4(**args)
    return caught.value


def test_tampered_body_fails() -> None:
    error = _error(body=b'{"a": 2}')
    assert error.error_type == "InvalidSignatureException"
    assert error.message.startswith("The request signature we calculated does not match")


def test_decoded_uri_fails() -> None:
    assert _error(raw_uri="/prod/v1/apps/a1/endpoints/ep 1/x?x=1").error_type == "InvalidSignatureException"


def test_wrong_secret_fails() -> None:
    assert _error(key_pairs={"homing": "other"}).error_type == "InvalidSignatureException"


def test_unknown_key_fails() -> None:
    error = _error(key_pairs={"someone-else": "x"})
    assert error.error_type == "UnrecognizedClientException"
    assert error.message == "The security token included in the request is invalid."


def test_missing_authorization_is_missing_token() -> None:
    error = _error(headers=Headers([("Host", "127.0.0.1:8740")]))
    assert error.error_type == "MissingAuthenticationTokenException"
    assert error.message == "Missing Authentication Token"


def test_other_service_scope_fails() -> None:
    headers, body = _signed(service="s3")
    error = _error(headers=headers, body=body)
    assert error.error_type == "InvalidSignatureException"
    assert "execute-api" in error.message


def test_expired_signature_fails() -> None:
    error = _error(now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6))
    assert error.error_type == "InvalidSignatureException"
    assert error.message.startswith("Signature expired")


# -- responses --------------------------------------------------------------------------------
def test_proxy_response_is_mapped() -> None:
    payload = json.dumps(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "Content-Type": "text/plain"},
            "multiValueHeaders": {"Set-Thing": ["a", "b"]},
            "body": "hello",
        }
    ).encode()

    response = map_proxy_response(payload, function_error=False)

    assert response.status == 201
    assert ("Set-Thing", "a") in response.headers
    assert ("Set-Thing", "b") in response.headers
    assert ("X-One", "1") in response.headers
    assert response.body == b"hello"


def test_base64_response_body_is_decoded() -> None:
    payload = json.dumps({"statusCode": 200, "body": "/wA=", "isBase64Encoded": True}).encode()
    assert map_proxy_response(payload, function_error=False).body == b"\xff\x00"


@pytest.mark.parametrize(
    ("payload", "function_error"),
    [(b'{"errorMessage": "boom", "errorType": "RuntimeError"}', True), (b'{"body": "no status"}', False), (b"", False)],
)
def test_function_errors_and_malformed_results_are_502(payload: bytes, function_error: bool) -> None:
    response = map_proxy_response(payload, function_error)

    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


# -- the WSGI app -----------------------------------------------------------------------------
class _FakeLambda:
    def __init__(self, payload: bytes, function_error: bool = False) -> None:
        self.payload = payload
        self.function_error = function_error
        self.events: list[dict[str, Any]] = []

    def __call__(self, function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        self.events.append(event)
        return self.payload, self.function_error


def _client(fake: _FakeLambda) -> Any:
    from werkzeug.test import Client

    api = RestApi(api_id="abc", name="homing", routes=[Route("/{proxy+}", "ANY", FN)], stages={"prod": {}})
    return Client(LocalApiGateway(api, fake, KEYS, "123456789012"))


def _auth_headers(method: str, uri: str, body: bytes = b"") -> dict[str, str]:
    request = AWSRequest(method=method, url=f"http://localhost{uri}", data=body)
    SigV4Auth(Credentials("homing", "homing"), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("uri", ["/v1/apps/a%201", "/prod/v1/apps/a%201"])
def test_signed_request_reaches_the_function_with_or_without_stage(uri: str) -> None:
    fake = _FakeLambda(json.dumps({"statusCode": 200, "body": '{"ok": true}'}).encode())

    response = _client(fake).get(uri, headers=_auth_headers("GET", uri))

    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert response.headers["x-amzn-RequestId"] == fake.events[0]["requestContext"]["requestId"]
    assert fake.events[0]["path"] == "/v1/apps/a%201"
    assert fake.events[0]["pathParameters"] == {"proxy": "v1/apps/a 1"}
    assert fake.events[0]["requestContext"]["stage"] == "prod"


def test_unsigned_request_never_reaches_the_function() -> None:
    fake = _FakeLambda(b"{}")

    response = _client(fake).get("/v1/apps")

    assert response.status_code == 403
    assert response.get_json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert fake.events == []


def test_function_error_is_502() -> None:
    fake = _FakeLambda(b'{"errorMessage": "boom", "errorType": "RuntimeError"}', function_error=True)

    response = _client(fake).post("/v1/apps", data=b"{}", headers=_auth_headers("POST", "/v1/apps", b"{}"))

    assert response.status_code == 502
    assert response.get_json() == {"message": "Internal server error"}


# -- strict as API Gateway (issue 6) ----------------------------------------------------------
def _signed_with_payload_hash(body: bytes, claimed: bytes) -> Headers:
    """A client that signs ``X-Amz-Content-SHA256`` of ``claimed`` (botocore takes the header as the hash)."""
    import hashlib

    request = AWSRequest(
        method="PUT",
        url="http://127.0.0.1:8740/prod/v1/apps/a1/endpoints/ep%201%2Fx?x=1",
        data=claimed,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(claimed).hexdigest()},
    )
    SigV4Auth(Credentials("homing", "homing"), "execute-api", "us-east-1").add_auth(request)
    headers = Headers(list(request.headers.items()))
    headers["Host"] = "127.0.0.1:8740"
    return headers


def test_signed_payload_hash_verifies_with_the_body_it_hashes() -> None:
    headers = _signed_with_payload_hash(b'{"a": 1}', b'{"a": 1}')
    caller = verify_sigv4("PUT", "/prod/v1/apps/a1/endpoints/ep%201%2Fx?x=1", headers, b'{"a": 1}', KEYS)
    assert caller == Caller("homing", "execute-api")


def test_body_changed_after_signing_its_hash_fails() -> None:
    headers = _signed_with_payload_hash(b'{"a": 1}', b'{"a": 1}')
    error = _error(headers=headers, body=b'{"a": 2}')
    assert error.error_type == "InvalidSignatureException"
    assert error.message.startswith("The request signature we calculated does not match")


def test_unsigned_payload_hash_header_must_match_the_body() -> None:
    headers, body = _signed()
    headers["X-Amz-Content-SHA256"] = "0" * 64
    assert _error(headers=headers, body=body).error_type == "InvalidSignatureException"


def test_canonical_request_uses_the_received_body_hash() -> None:
    """Even a hash the signer vouched for is replaced by the hash of what arrived."""
    from homing.local.http import body_sha256, with_body_hash

    head = "PUT\n/\n\nhost:x\n\nhost"
    assert with_body_hash(f"{head}\nCLAIMED", b"abc") == f"{head}\n{body_sha256(b'abc')}"


def test_signature_for_another_region_fails() -> None:
    headers, body = _signed()
    error = _error(headers=headers, body=body, region="eu-west-1")
    assert error.error_type == "InvalidSignatureException"
    assert error.message == "Credential should be scoped to a valid region. "


def test_signature_for_the_deployment_region_verifies() -> None:
    headers, body = _signed()
    uri = "/prod/v1/apps/a1/endpoints/ep%201%2Fx?x=1"
    assert verify_sigv4("PUT", uri, headers, body, KEYS, region="us-east-1") == Caller("homing", "execute-api")


def test_gateway_checks_the_region_it_was_given() -> None:
    from werkzeug.test import Client

    fake = _FakeLambda(json.dumps({"statusCode": 200, "body": "{}"}).encode())
    api = RestApi(api_id="abc", name="homing", routes=[Route("/{proxy+}", "ANY", FN)], stages={"prod": {}})
    client = Client(LocalApiGateway(api, fake, KEYS, "123456789012", region="eu-west-1"))

    response = client.get("/v1/apps", headers=_auth_headers("GET", "/v1/apps"))  # signed for us-east-1

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert fake.events == []


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO", "get", "M-SEARCH"])
def test_methods_outside_any_are_missing_authentication_token(method: str) -> None:
    fake = _FakeLambda(json.dumps({"statusCode": 200, "body": "{}"}).encode())

    response = _client(fake).open("/v1/apps", method=method, headers=_auth_headers(method, "/v1/apps"))

    assert response.status_code == 403
    assert response.get_json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert fake.events == []


@pytest.mark.parametrize("method", ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"])
def test_any_covers_api_gateways_seven_methods(method: str) -> None:
    assert find_route([Route("/{proxy+}", "ANY", FN)], method, ["v1", "apps"]) is not None


@pytest.mark.parametrize(
    ("uri", "path", "stage"),
    [
        ("/prod//v1/apps", "//v1/apps", "prod"),
        ("/v1/./apps", "/v1/./apps", "prod"),
        ("/%70rod/v1/apps", "/%70rod/v1/apps", "prod"),  # not the stage: passed on, for the function to refuse
        ("/prod/v1/apps/", "/v1/apps/", "prod"),
    ],
)
def test_path_reaches_the_function_as_sent(uri: str, path: str, stage: str) -> None:
    """The local gateway does not normalise the path: the function sees every spelling and refuses it."""
    fake = _FakeLambda(json.dumps({"statusCode": 200, "body": "{}"}).encode())

    _client(fake).get(uri, headers=_auth_headers("GET", uri))

    assert fake.events[0]["path"] == path
    assert fake.events[0]["requestContext"]["stage"] == stage
