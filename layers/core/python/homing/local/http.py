"""The local data plane of API Gateway (REST API, Lambda proxy integration, IAM auth).

moto stores the REST API (resources, methods, integrations) but does not execute proxy
integrations, so this WSGI app does what API Gateway would: match the request to a resource
(most specific first, ``{x+}`` greedy), verify SigV4 over the raw request URI, build the REST
(v1) proxy event, invoke the integration's function through moto's Lambda API (which runs the
real handler, runner.py) and map the proxy response back to HTTP. The API is served both at
``/`` and under its stage prefix (``/prod/``), so an endpoint URL with or without the stage works.

Clients sign either for ``execute-api`` (what API Gateway requires, homing.client) or for
``mobiletargeting`` (what a stock boto3 ``pinpoint`` client or the AWS CLI sends): locally both
are accepted so unchanged Pinpoint tooling works.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from homing.local.gateway_responses import (
    GatewayResponse,
    MockIntegration,
    apply_gateway_response,
    load_gateway_responses,
    mock_integration,
    render_mock,
)

log = logging.getLogger("homing.local")

ACCEPTED_SERVICES = ("execute-api", "mobiletargeting")
MAX_BODY_BYTES = 10 * 1024 * 1024
SIGNATURE_WINDOW = dt.timedelta(minutes=5)
_AUTH_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")
INTERNAL_ERROR = {"message": "Internal server error"}
_HOP_BY_HOP = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive"})
# What a REST API's ANY method stands for; any other method (TRACE, PROPFIND, FOO, lower-case get)
# matches no method, so API Gateway answers 403 Missing Authentication Token, as for an unknown path.
ANY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})


# -- routes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """One method on one resource of a REST API, integrated with a Lambda function."""

    path: str  # resource path template, e.g. /v1/apps/{application-id} or /{proxy+}
    method: str  # GET, POST, ... or ANY
    function_arn: str
    resource_id: str = ""
    authorization: str = "AWS_IAM"
    mock: MockIntegration | None = None  # a MOCK integration (e.g. CORS preflight) instead of a function

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.path.split("/") if s)

    def specificity(self) -> tuple[tuple[int, ...], int]:
        """Sort key: literal segments before {x} before {x+}; a named method before ANY."""
        kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments)
        return kinds, 1 if self.method == "ANY" else 0


def match_segments(template: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    """Path parameters if ``segments`` (raw, still percent-encoded) fit ``template``, else None."""
    params: dict[str, str] = {}
    for index, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest:
                return None
            params[part[1:-2]] = unquote("/".join(rest))
            return params
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = unquote(segments[index])
        elif part != unquote(segments[index]):
            return None
    return params if len(segments) == len(template) else None


def method_matches(route_method: str, method: str) -> bool:
    """HTTP methods are case-sensitive; ANY covers API Gateway's seven methods only."""
    return route_method == method or (route_method == "ANY" and method in ANY_METHODS)


def find_route(routes: Iterable[Route], method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | None:
    """The most specific route for ``method`` and the path ``segments``, with its parameters."""
    candidates = []
    for route in routes:
        if not method_matches(route.method, method):
            continue
        params = match_segments(route.segments, segments)
        if params is not None:
            candidates.append((route.specificity(), route, params))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0])
    return candidates[0][1], candidates[0][2]


@dataclass
class RestApi:
    """What the adapter serves: one REST API's routes and stages, read back from moto."""

    api_id: str
    name: str
    routes: list[Route]
    stages: dict[str, dict[str, str]] = field(default_factory=dict)  # stage -> stage variables
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)  # by response type

    @property
    def default_stage(self) -> str:
        return next(iter(self.stages), "prod")


_FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+)/invocations")


def load_rest_apis(apigateway: Any) -> list[RestApi]:
    """Read every REST API with Lambda proxy integrations back from moto's API Gateway."""
    apis = []
    for item in apigateway.get_rest_apis().get("items", []):
        api_id = item["id"]
        routes = []
        resources = apigateway.get_resources(restApiId=api_id, limit=500).get("items", [])
        for resource in resources:
            for http_method in resource.get("resourceMethods", {}):
                method = apigateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod=http_method)
                uri = method.get("methodIntegration", {}).get("uri", "")
                found = _FUNCTION_IN_URI.search(uri)
                mock = mock_integration(method.get("methodIntegration", {}))
                if mock is not None:
                    routes.append(
                        Route(
                            path=resource["path"],
                            method=http_method,
                            function_arn="",
                            resource_id=resource["id"],
                            authorization=method.get("authorizationType", "NONE"),
                            mock=mock,
                        )
                    )
                    continue
                if not found:
                    log.warning(
                        "%s %s %s: not a Lambda integration (not served)", item["name"], http_method, resource["path"]
                    )
                    continue
                routes.append(
                    Route(
                        path=resource["path"],
                        method=http_method,
                        function_arn=found.group(1),
                        resource_id=resource["id"],
                        authorization=method.get("authorizationType", "NONE"),
                    )
                )
        stages = {
            s["stageName"]: dict(s.get("variables") or {}) for s in apigateway.get_stages(restApiId=api_id)["item"]
        }
        responses = load_gateway_responses(apigateway, api_id)
        apis.append(
            RestApi(api_id=api_id, name=item["name"], routes=routes, stages=stages, gateway_responses=responses)
        )
    return apis


# -- SigV4 ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    access_key: str
    service: str


class AuthError(Exception):
    """An API Gateway auth rejection: 403 with its message and x-amzn-ErrorType."""

    def __init__(self, error_type: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


class HeaderLookup(Protocol):
    """Case-insensitive header access (werkzeug's Headers)."""

    def get(self, key: str, default: str) -> str: ...


MISSING_TOKEN = AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")


def verify_sigv4(
    method: str,
    raw_uri: str,
    headers: HeaderLookup,
    body: bytes,
    key_pairs: Mapping[str, str],
    host_url: str = "http://localhost",
    now: dt.datetime | None = None,
    region: str | None = None,
) -> Caller:
    """Check an ``Authorization: AWS4-HMAC-SHA256`` header as API Gateway would.

    ``raw_uri`` is the path and query exactly as received (still percent-encoded): SigV4
    signs the encoded form, and botocore-based clients encode the path once more when signing.
    ``region`` is the deployment's: a signature scoped to another region is refused, as API Gateway
    does. The payload hash is the received body's (with_body_hash, payload_hash_matches). Raises AuthError.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = headers.get("Authorization", "")
    if not authorization:
        raise MISSING_TOKEN
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise AuthError(
            "IncompleteSignatureException",
            f"Authorization header requires 'Credential' parameter. "
            f"Authorization header requires 'Signature' parameter. Authorization={authorization[:40]}",
        )
    fields = dict(_AUTH_FIELD.findall(rest))
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            raise AuthError(
                "IncompleteSignatureException",
                f"Authorization header requires '{required}' parameter. Authorization={authorization[:40]}",
            )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthError("IncompleteSignatureException", "Credential should be scoped to a valid region. ")
    access_key, date, scope_region, service, _ = scope
    if region is not None and scope_region != region:
        raise AuthError("InvalidSignatureException", "Credential should be scoped to a valid region. ")
    if service not in ACCEPTED_SERVICES:
        raise AuthError("InvalidSignatureException", "Credential should be scoped to correct service: 'execute-api'. ")
    secret = key_pairs.get(access_key)
    if secret is None:
        raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
    timestamp = headers.get("X-Amz-Date", "")
    if not timestamp:
        raise AuthError(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            f"Authorization={authorization[:40]}",
        )
    try:
        signed_at = dt.datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise AuthError(
            "IncompleteSignatureException",
            f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. See http://en.wikipedia.org/wiki/ISO_8601",
        ) from None
    current = now or dt.datetime.now(dt.UTC)
    if abs(current - signed_at) > SIGNATURE_WINDOW:
        stamp = "%Y%m%dT%H%M%SZ"
        bound = current - SIGNATURE_WINDOW if signed_at < current else current + SIGNATURE_WINDOW
        relation = "earlier" if signed_at < current else "later"
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {timestamp} is now {relation} than {bound.strftime(stamp)} "
            f"({current.strftime(stamp)} {'-' if relation == 'earlier' else '+'} 5 min.)",
        )
    if date != timestamp[:8]:
        raise AuthError(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
            f"version of date from HTTP: '{date}' != '{timestamp[:8]}', from '{timestamp}'.",
        )

    signed_names = [n for n in fields["SignedHeaders"].split(";") if n]
    signed_headers = {name: headers.get(name, "") for name in signed_names}
    request = AWSRequest(method=method, url=host_url.rstrip("/") + raw_uri, headers=signed_headers, data=body)
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(access_key, secret), service, scope_region)
    canonical_request = with_body_hash(signer.canonical_request(request), body)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, fields["Signature"]) or not payload_hash_matches(headers, body):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n",
        )
    return Caller(access_key=access_key, service=service)


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def with_body_hash(canonical_request: str, body: bytes) -> str:
    """The canonical request with its last line (the payload hash) computed from the body received.

    botocore's signer takes that line from an ``X-Amz-Content-SHA256`` header when there is one, so
    a client could sign a claimed hash and send another body; API Gateway hashes what it received.
    """
    head, _, _ = canonical_request.rpartition("\n")
    return f"{head}\n{body_sha256(body)}"


def payload_hash_matches(headers: HeaderLookup, body: bytes) -> bool:
    """An ``X-Amz-Content-SHA256`` header, signed or not, must be the body's hash."""
    claimed = headers.get("X-Amz-Content-SHA256", "")
    return not claimed or hmac.compare_digest(claimed.strip().lower().encode(), body_sha256(body).encode())


# -- proxy event and response ---------------------------------------------------------------
def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def build_proxy_event(
    *,
    api: RestApi,
    route: Route,
    stage: str,
    method: str,
    raw_path: str,
    query_string: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    caller: Caller | None,
    source_ip: str,
    account_id: str,
    domain_name: str,
    request_id: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The API Gateway REST (v1) Lambda proxy event for one request.

    ``raw_path`` is the path without the stage prefix, still percent-encoded (as API Gateway
    passes it); ``pathParameters`` and query values are decoded.
    """
    now = now or dt.datetime.now(dt.UTC)
    request_id = request_id or str(uuid.uuid4())
    single_headers, multi_headers = _single_and_multi(headers)
    query = parse_qsl(query_string, keep_blank_values=True)
    single_query, multi_query = _single_and_multi(query)
    try:
        text_body: str | None = body.decode("utf-8") if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode(), True
    header_lookup = {k.lower(): v for k, v in headers}
    identity: dict[str, Any] = {
        "cognitoIdentityPoolId": None,
        "cognitoIdentityId": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "principalOrgId": None,
        "apiKey": None,
        "apiKeyId": None,
        "accountId": account_id if caller else None,
        "caller": caller.access_key if caller else None,
        "user": caller.access_key if caller else None,
        "accessKey": caller.access_key if caller else None,
        "userArn": f"arn:aws:iam::{account_id}:user/{caller.access_key}" if caller else None,
        "sourceIp": source_ip,
        "userAgent": header_lookup.get("user-agent"),
    }
    return {
        "resource": route.path,
        "path": raw_path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": api.stages.get(stage) or None,
        "requestContext": {
            "resourceId": route.resource_id,
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{raw_path}",
            "accountId": account_id,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": domain_name.split(".")[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": identity,
            "domainName": domain_name,
            "apiId": api.api_id,
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    from_gateway: bool = False  # made by API Gateway itself (its gateway responses apply), not the function


def json_response(status: int, payload: Any, error_type: str | None = None) -> HttpResponse:
    """An error API Gateway itself answers (auth, limits, integration failures)."""
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return HttpResponse(status, headers, json.dumps(payload).encode(), from_gateway=True)


def map_proxy_response(payload: bytes, function_error: bool) -> HttpResponse:
    """HTTP response for a Lambda proxy result; 502 as API Gateway for errors or bad shapes."""
    if function_error:
        return json_response(502, INTERNAL_ERROR)
    try:
        result = json.loads(payload or b"null")
        status = int(result["statusCode"])
    except (ValueError, TypeError, KeyError):
        log.warning("malformed Lambda proxy response (expected an object with statusCode)")
        return json_response(502, INTERNAL_ERROR)
    headers: list[tuple[str, str]] = []
    seen = set(_HOP_BY_HOP)  # the gateway sets these itself
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if name.lower() not in seen:
            headers.extend((name, str(v)) for v in values)
            seen.add(name.lower())
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in seen:
            headers.append((name, str(value)))
    if "content-type" not in {n.lower() for n, _ in headers}:
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = str(body).encode("utf-8")
    return HttpResponse(status, headers, data)


# -- WSGI app ---------------------------------------------------------------------------------
Invoke = Callable[[str, dict[str, Any]], tuple[bytes, bool]]


class LocalApiGateway:
    """WSGI app serving one REST API (at ``/`` and ``/<stage>/``)."""

    def __init__(
        self,
        api: RestApi,
        invoke: Invoke,
        key_pairs: Mapping[str, str],
        account_id: str,
        region: str = "us-east-1",
    ) -> None:
        self.api = api
        self.invoke = invoke
        self.key_pairs = dict(key_pairs)
        self.account_id = account_id
        self.region = region

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request

        started = time.perf_counter()
        request = Request(environ)
        request_id = str(uuid.uuid4())
        response = self.handle(request, request_id)
        if response.from_gateway:
            response.status, response.headers = apply_gateway_response(
                self.api.gateway_responses, response.status, response.headers, request.headers
            )
        response.headers.append(("Content-Length", str(len(response.body))))
        response.headers.append(("x-amzn-RequestId", request_id))
        response.headers.append(("x-amz-apigw-id", request_id[:16]))
        start_response(f"{response.status} {_reason(response.status)}", response.headers)
        log.debug(
            "%s %s -> %d (%.0f ms)",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return [response.body]

    def handle(self, request: Any, request_id: str) -> HttpResponse:
        raw_uri = _raw_uri(request.environ)
        raw_path, _, query_string = raw_uri.partition("?")
        method = str(request.environ.get("REQUEST_METHOD") or request.method)  # as sent: methods are case-sensitive
        stage, api_path = self.split_stage(raw_path)
        segments = [s for s in api_path.split("/") if s]
        found = find_route(self.api.routes, method, segments)
        if found is None:
            return json_response(403, {"message": MISSING_TOKEN.message}, MISSING_TOKEN.error_type)
        route, params = found
        length = request.content_length or 0
        if length > MAX_BODY_BYTES:
            return json_response(413, {"message": "Request Too Long"})
        body = request.get_data(cache=False)
        caller = None
        if route.authorization == "AWS_IAM":
            try:
                caller = verify_sigv4(
                    method,
                    raw_uri,
                    request.headers,
                    body,
                    self.key_pairs,
                    host_url=request.host_url,
                    region=self.region,
                )
            except AuthError as error:
                return json_response(error.status, {"message": error.message}, error.error_type)
        if route.mock is not None:
            status, headers, data = render_mock(route.mock, request.headers)
            return HttpResponse(status, headers, data)
        event = build_proxy_event(
            api=self.api,
            route=route,
            stage=stage,
            method=method,
            raw_path=api_path,
            query_string=query_string,
            headers=list(request.headers.items()),
            body=body,
            path_parameters=params,
            caller=caller,
            source_ip=request.remote_addr or "127.0.0.1",
            account_id=self.account_id,
            domain_name=request.host,
            request_id=request_id,
        )
        payload, function_error = self.invoke(route.function_arn, event)
        return map_proxy_response(payload, function_error)

    def split_stage(self, raw_path: str) -> tuple[str, str]:
        """(stage, path after it): a first segment spelled exactly as a stage is the stage, else the default.

        The rest of the path is passed on as sent (empty and dot segments included), so the function
        sees, and refuses, every spelling API Gateway would have passed it.
        """
        first, _, rest = raw_path[1:].partition("/")
        if raw_path.startswith("/") and first in self.api.stages:
            return first, "/" + rest
        return self.api.default_stage, raw_path


def _raw_uri(environ: Mapping[str, Any]) -> str:
    """The request target as sent (werkzeug keeps it in REQUEST_URI/RAW_URI)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        if raw.startswith(("http://", "https://")):  # absolute-form target
            raw = "/" + raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
        return str(raw)
    from urllib.parse import quote

    path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/%:@!$&'()*+,;=-._~")
    query = environ.get("QUERY_STRING", "")
    return path + (f"?{query}" if query else "")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class Server:
    """A threaded werkzeug server running ``app`` in a background thread."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class KeepAliveHandler(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: SDK clients reuse connections, as with API Gateway

        self._server = make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="homing-api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
