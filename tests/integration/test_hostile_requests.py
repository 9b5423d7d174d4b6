"""Property-based: hostile requests built from botocore's pinpoint model never 5xx; a rejected one writes nothing.

Each example is one request to an operation Homing serves, its members generated from the
operation's input shape (valid values, and hostile ones: NaN/Infinity, huge numbers, lone
surrogates, long strings, control characters, wrong types, deep nesting, forged tokens), its path
spelled canonically or not, sometimes with an odd method. It drives the real api handler in-process
against moto. Examples are derandomized (same inputs every run) and bounded, so CI is reproducible.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import boto3
import botocore.session
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from tests.conftest import API_ENV, app_arn
from tests.integration.test_apps_api import create

OPERATIONS = (
    "CreateApp", "GetApp", "GetApps", "DeleteApp", "GetApplicationSettings", "UpdateApplicationSettings",
    "UpdateEndpoint", "UpdateEndpointsBatch", "GetEndpoint", "DeleteEndpoint", "GetUserEndpoints",
    "DeleteUserEndpoints", "RemoveAttributes", "TagResource", "UntagResource", "ListTagsForResource",
    "PutEvents", "PutEventStream", "GetEventStream", "DeleteEventStream", "GetApplicationDateRangeKpi",
    "GetCampaignDateRangeKpi", "GetJourneyDateRangeKpi",
    "CreateImportJob", "GetImportJob", "GetImportJobs", "GetSegmentImportJobs",
    "CreateExportJob", "GetExportJob", "GetExportJobs", "GetSegmentExportJobs",
    "PhoneNumberValidate",
    "CreateCampaign", "GetCampaign", "GetCampaigns", "UpdateCampaign", "DeleteCampaign", "GetCampaignVersion",
    "GetCampaignVersions", "GetCampaignActivities",
)  # fmt: skip
MODEL = botocore.session.get_session().get_service_model("pinpoint")
TABLES = [v for k, v in API_ENV.items() if k.endswith("_TABLE")]
MAX_DEPTH = 5

HOSTILE_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\ud800",
        "a\udfffb",
        "x\x00y",
        "\x1b[31m",
        "é" * 700,
        "u" * 2100,
        "e" * 1100,
        "../..",
        "%2F",
        "${x}",
        "a#b",
        "*",
        "ABCDEF0123456789ABCDEF0123456789",
    ]
)
HOSTILE_NUMBERS = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, 1e-300, 2**31, 2**63, 10**40])
WRONG_TYPES = st.sampled_from([None, True, "s", 1, 1.5, [], {}, [1], {"a": 1}])


def _forged_tokens() -> SearchStrategy[str]:
    return st.sampled_from(
        [
            base64.urlsafe_b64encode(b'{"application_id": {"S": "x"}}').decode(),
            base64.urlsafe_b64encode(b'{"offset": "abc"}').decode(),
            "v1.e30.AAAA",
            "v1..",
            "not base64 !",
            "\ud800",
        ]
    )


def value_for(shape: Any, depth: int = 0, hostile: bool = True) -> SearchStrategy[Any]:
    """JSON values for one botocore shape: well-typed ones, and with ``hostile`` also wrong and extreme ones."""
    kind = shape.type_name
    strings = HOSTILE_STRINGS if hostile else st.text(max_size=12)
    numbers = HOSTILE_NUMBERS if hostile else st.integers(0, 100)
    if kind == "structure":
        if depth >= MAX_DEPTH:
            return st.just({})
        members = {name: value_for(m, depth + 1, hostile) for name, m in shape.members.items()}
        base: SearchStrategy[Any] = st.fixed_dictionaries({}, optional=members)
    elif kind == "list":
        base = st.lists(value_for(shape.member, depth + 1, hostile), max_size=3)
    elif kind == "map":
        keys = st.one_of(st.text(min_size=1, max_size=8), strings)
        base = st.dictionaries(keys, value_for(shape.value, depth + 1, hostile), max_size=3)
    elif kind == "string":
        valid = st.sampled_from(shape.enum) if shape.enum else st.text(max_size=12)
        base = st.one_of(valid, valid, strings)
    elif kind in ("integer", "long"):
        base = st.one_of(st.integers(-5, 200), numbers)
    elif kind in ("double", "float"):
        base = st.one_of(st.floats(allow_nan=hostile, allow_infinity=hostile), numbers)
    elif kind == "boolean":
        base = st.booleans()
    elif kind == "timestamp":
        base = st.one_of(
            st.sampled_from(["2026-11-29T10:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01", "yesterday"]),
            strings,
        )
    else:
        base = st.text(max_size=8)
    return st.one_of(base, base, base, WRONG_TYPES) if hostile else base


ENDPOINT = {
    "ChannelType": "EMAIL",
    "Address": "ana@example.com",
    "Attributes": {"interests": ["shoes"]},
    "Metrics": {"score": 4.5},
    "Demographic": {"Platform": "ios", "Timezone": "Europe/Paris"},
    "Location": {"Country": "FRA", "Latitude": 48.8, "Longitude": 2.3},
    "User": {"UserId": "user-1", "UserAttributes": {"tier": ["gold"]}},
    "EffectiveDate": "2026-11-29T10:00:00Z",
    "OptOut": "NONE",
}
EVENT = {
    "EventType": "level.up",
    "Timestamp": "2026-11-29T10:00:00Z",
    "Attributes": {"level": "2"},
    "Metrics": {"score": 10.0},
    "Session": {"Id": "s1", "StartTimestamp": "2026-11-29T09:00:00Z"},
}
# Requests that pass validation, so that one hostile value is the only thing wrong with them.
VALID_BODIES: dict[str, Any] = {
    "PhoneNumberValidate": {"PhoneNumber": "+14155552671", "IsoCountryCode": "US"},
    "CreateApp": {"Name": "shop", "tags": {"team": "growth"}},
    "UpdateApplicationSettings": {
        "Limits": {"Daily": 10, "Total": 20},
        "QuietTime": {"Start": "22:00", "End": "07:00"},
    },
    "UpdateEndpoint": ENDPOINT,
    "UpdateEndpointsBatch": {"Item": [{**ENDPOINT, "Id": "b1"}, {**ENDPOINT, "Id": "b2", "Address": "b@example.com"}]},
    "PutEvents": {"BatchItem": {"e1": {"Endpoint": ENDPOINT, "Events": {"ev1": EVENT}}}},
    "TagResource": {"tags": {"a": "1"}},
    "RemoveAttributes": {"Blacklist": ["interests"]},
}
HOSTILE_VALUES = st.one_of(HOSTILE_STRINGS, HOSTILE_NUMBERS, WRONG_TYPES)


def _positions(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in a JSON document, so one value can be replaced."""
    out, stack = [], [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            out.append((node, key))
            stack.append(child)
    return out


@st.composite
def one_hostile_value(draw: DrawFn, body: Any) -> Any:
    """``body`` with one value, or one map key, replaced by a hostile one (or, now and then, as it is)."""
    body = copy.deepcopy(body)
    spots = _positions(body)
    if not spots or draw(st.integers(0, 4)) == 0:
        return body
    container, key = draw(st.sampled_from(spots))
    if isinstance(container, dict) and draw(st.booleans()):
        container[draw(HOSTILE_STRINGS)] = container.pop(key)
    else:
        container[key] = draw(HOSTILE_VALUES)
    return body


@st.composite
def requests(draw: DrawFn, app_id: str) -> tuple[str, str, str | None, dict[str, list[str]]]:
    """(method, raw path, body, query) for one generated call."""
    op = MODEL.operation_model(draw(st.sampled_from(OPERATIONS)))
    method, path = op.http["method"], op.http["requestUri"].split("?")[0]
    query: dict[str, list[str]] = {}
    body: Any = None
    shape = op.input_shape
    assert shape is not None
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire == "application-id":
                value = draw(st.one_of(*[st.just(app_id)] * 7, HOSTILE_STRINGS))
            elif wire == "resource-arn":
                value = draw(st.one_of(st.just(app_arn(app_id)), HOSTILE_STRINGS, st.text(max_size=12)))
            else:
                value = draw(st.one_of(st.text(min_size=1, max_size=12), HOSTILE_STRINGS))
            encoded = quote(value, safe="-._~", errors="surrogatepass")
            path = path.replace("{" + wire + "}", encoded)
        elif location == "querystring":
            if "token" in wire:
                value = draw(st.one_of(st.none(), _forged_tokens()))
            else:
                value = draw(st.one_of(st.none(), st.text(max_size=10), HOSTILE_STRINGS))
            if value is not None:
                query[wire] = [value]
        elif name == payload:
            if op.name in VALID_BODIES and draw(st.integers(0, 3)) > 0:
                body = draw(one_hostile_value(VALID_BODIES[op.name]))
            else:
                body = draw(value_for(member, hostile=draw(st.booleans())))
    # Other spellings of the same path, other methods, hostile bodies.
    mutation = draw(st.sampled_from(["none"] * 12 + ["upper", "double-slash", "dot", "trailing", "encode", "method"]))
    if mutation == "upper":
        path = path.replace(app_id, app_id.upper())
    elif mutation == "double-slash":
        path = path.replace("/apps/", "/apps//")
    elif mutation == "dot":
        path = path.replace("/v1/", "/v1/./")
    elif mutation == "trailing":
        path += "/"
    elif mutation == "encode":
        path = path.replace(app_id, "%" + f"{ord(app_id[0]):02x}" + app_id[1:])
    elif mutation == "method":
        method = draw(st.sampled_from(["PATCH", "HEAD", "OPTIONS", "FOO", "TRACE"]))
    raw = None if body is None else json.dumps(body, allow_nan=True)
    if body is not None and draw(st.integers(0, 9)) == 0:  # nested deeper than any Pinpoint shape
        depth = draw(st.sampled_from([70, 5000]))
        raw = '{"Deep": ' + "[" * depth + "]" * depth + "}"
    return method, path, raw, query


def _snapshot() -> dict[str, list[Any]]:
    """Every item of every table (sorted), to compare before and after a rejected request."""
    client = boto3.client("dynamodb")
    out = {}
    for table in TABLES:
        items = client.scan(TableName=table)["Items"]
        out[table] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return out


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} stored")


def _assert_storable(snapshot: dict[str, list[Any]]) -> None:
    """What was accepted, DynamoDB stores: strict UTF-8 (moto takes lone surrogates) and finite JSON numbers."""
    for items in snapshot.values():
        for raw in items:
            stack: list[Any] = [json.loads(raw)]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    stack.extend(node.keys())
                    stack.extend(node.values())
                elif isinstance(node, list):
                    stack.extend(node)
                elif isinstance(node, str):
                    node.encode("utf-8")  # UnicodeEncodeError on a lone surrogate
                    if node[:1] in ("{", "["):
                        with contextlib.suppress(ValueError):  # plain text that starts with a bracket
                            stack.append(json.loads(node, parse_constant=_reject_constant))


@pytest.fixture
def live_app(call: Any) -> Callable[[], str]:
    """The app the examples target, re-created when an example deleted it."""
    from homing.adapters.dynamodb import paging

    paging._keys.clear()
    paging.signing_key()  # the token key exists before any example (its creation is not a request's write)
    holder = [str(create(call)["Id"])]

    def current() -> str:
        if call("GET", f"/v1/apps/{holder[0]}").status == 404:
            holder[0] = str(create(call)["Id"])
            call("PUT", f"/v1/apps/{holder[0]}/endpoints/e1", {"ChannelType": "SMS", "Address": "+15550001"})
        return holder[0]

    call("PUT", f"/v1/apps/{holder[0]}/endpoints/e1", {"ChannelType": "SMS", "Address": "+15550001"})
    return current


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_requests_never_5xx_and_rejected_ones_write_nothing(
    call: Any, live_app: Callable[[], str], data: st.DataObject
) -> None:
    app_id = live_app()
    method, path, body, query = data.draw(requests(app_id), label="request")
    before = _snapshot()

    r = call(method, path, body, query)
    event(f"{r.status} {r.error_type or ''}")  # the spread shows with --hypothesis-show-statistics

    assert r.status < 500, (method, path, r.status, r.body)
    after = _snapshot()
    _assert_storable(after)
    if r.status >= 400:
        assert r.error_type, (method, path, r.status, r.body)
        assert set(r.body) == {"Message", "RequestID"}
        assert after == before, (method, path, r.status, r.body)
