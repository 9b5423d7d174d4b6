"""Hostile input at the API edge: every bad request a 4xx in Pinpoint's shape, one spelling per resource."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.test_apps_api import create


@pytest.fixture
def app_id(call: Any) -> str:
    return str(create(call)["Id"])


def _bad(r: Any, status: int = 400, error_type: str = "BadRequestException") -> None:
    assert (r.status, r.error_type) == (status, error_type), r.body
    assert set(r.body) == {"Message", "RequestID"}


# -- numbers, strings, depth --------------------------------------------------------------------
@pytest.mark.parametrize(
    "metric",
    ["NaN", "Infinity", "-Infinity", "1e999", "1e200", "-1e127", "1e-200", "1" * 5000],
)
def test_metrics_that_no_number_type_holds_are_400(call: Any, app_id: str, metric: str) -> None:
    raw = '{"ChannelType": "EMAIL", "Address": "a@example.com", "Metrics": {"m": ' + metric + "}}"
    _bad(call("PUT", f"/v1/apps/{app_id}/endpoints/e1", raw))
    assert call("GET", f"/v1/apps/{app_id}/endpoints/e1").status == 404


def test_integer_settings_out_of_range_are_400(call: Any, app_id: str) -> None:
    for value in (2**31, -(2**31) - 1, 10**40, 1.5):
        r = call("PUT", f"/v1/apps/{app_id}/settings", {"Limits": {"Daily": value}})
        _bad(r)
        assert "Limits.Daily must be an integer" in r.body["Message"]


@pytest.mark.parametrize("where", ["value", "key", "user"])
def test_lone_surrogates_are_400(call: Any, app_id: str, where: str) -> None:
    body = {
        "value": '{"ChannelType": "EMAIL", "Address": "a\\ud800b"}',
        "key": '{"ChannelType": "EMAIL", "Attributes": {"\\udfff": ["x"]}}',
        "user": '{"ChannelType": "EMAIL", "User": {"UserId": "\\ud83d"}}',
    }[where]
    _bad(call("PUT", f"/v1/apps/{app_id}/endpoints/e1", body))
    assert call("GET", f"/v1/apps/{app_id}/endpoints/e1").status == 404


def test_control_characters_are_stored_as_sent(call: Any, app_id: str) -> None:
    """DynamoDB stores any valid Unicode, NUL and other control characters included."""
    address = "a\x00b\x1f\x7f@example.com"
    assert call("PUT", f"/v1/apps/{app_id}/endpoints/e1", {"ChannelType": "EMAIL", "Address": address}).status == 202
    assert call("GET", f"/v1/apps/{app_id}/endpoints/e1").body["Address"] == address


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_json_is_400(call: Any, app_id: str, depth: int) -> None:
    raw = '{"ChannelType": "EMAIL", "Attributes": ' + "[" * depth + "]" * depth + "}"
    _bad(call("PUT", f"/v1/apps/{app_id}/endpoints/e1", raw))
    _bad(call("POST", f"/v1/apps/{app_id}/events", '{"BatchItem": ' + "{" + '"a":{' * depth + "}" * depth + "}"))


# -- DynamoDB key and item sizes ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("User.UserId", {"ChannelType": "EMAIL", "User": {"UserId": "u" * 2100}}),
        ("Address", {"ChannelType": "EMAIL", "Address": "a" * 2040}),
    ],
)
def test_values_too_long_for_a_key_are_400_naming_the_field(
    call: Any, app_id: str, field: str, body: dict[str, Any]
) -> None:
    r = call("PUT", f"/v1/apps/{app_id}/endpoints/e1", body)
    _bad(r)
    assert field in r.body["Message"]


def test_batch_with_one_item_too_long_for_a_key_writes_nothing(call: Any, app_id: str) -> None:
    items = [{"Id": f"e{i}", "ChannelType": "SMS", "Address": f"+1555000{i:04d}"} for i in range(30)]
    items[29]["Address"] = "9" * 2040
    r = call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": items})
    _bad(r)
    assert "Item[29].Address" in r.body["Message"]
    assert call("GET", f"/v1/apps/{app_id}/endpoints").body["Item"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/apps/{app}/users/" + "u" * 2100,
        "/v1/apps/{app}/endpoints/" + "e" * 1100,
        "/v1/apps/{app}/campaigns/" + "c" * 1100 + "/kpis/daterange/email-open-rate",
        "/v1/apps/{app}/events/" + "t" * 1100 + "/stats",
    ],
)
def test_path_parameters_too_long_for_a_key_are_400(call: Any, app_id: str, path: str) -> None:
    _bad(call("GET", path.format(app=app_id)))


def test_user_id_filter_too_long_for_a_key_is_400(call: Any, app_id: str) -> None:
    _bad(call("GET", f"/v1/apps/{app_id}/endpoints", query={"user-id": ["u" * 2100]}))


def test_oversized_settings_and_names_are_400(call: Any, app_id: str) -> None:
    _bad(call("PUT", f"/v1/apps/{app_id}/settings", {"CampaignHook": {"WebUrl": "h" * 500_000}}))
    _bad(call("POST", "/v1/apps", {"Name": "n" * 500_000}))


# -- paging tokens ------------------------------------------------------------------------------
def _first_token(call: Any, path: str, query: dict[str, list[str]] | None = None) -> str:
    token = call("GET", path, query={"page-size": ["1"], **(query or {})}).body["NextToken"]
    assert isinstance(token, str)
    return token


def _forged(last_key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode()


def test_forged_and_altered_tokens_are_400(call: Any) -> None:
    for i in range(3):
        create(call, f"app{i}")
    token = _first_token(call, "/v1/apps")
    version, payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["k"]["application_id"] = {"S": "x" * 5000}
    altered = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    for bad in (
        _forged({"application_id": {"S": "x"}}),  # the unsigned format of issue 2
        f"{version}.{altered}.{mac}",
        f"{version}.{payload}.{mac[:-2]}AA",
        "v1..",
        "\udc80",
        "x" * 10_000,
    ):
        _bad(call("GET", "/v1/apps", query={"token": [bad]}))
    assert call("GET", "/v1/apps", query={"token": [token]}).status == 200


def test_a_token_only_pages_the_listing_it_was_issued_for(call: Any) -> None:
    app_a, app_b = create(call, "a")["Id"], create(call, "b")["Id"]
    for app in (app_a, app_b):
        items = [{"Id": f"e{i}", "ChannelType": "EMAIL" if i % 2 else "SMS", "Address": f"a{i}"} for i in range(4)]
        assert call("PUT", f"/v1/apps/{app}/endpoints", {"Item": items}).status == 202
    apps_token = _first_token(call, "/v1/apps")
    a_token = _first_token(call, f"/v1/apps/{app_a}/endpoints")
    a_email_token = _first_token(call, f"/v1/apps/{app_a}/endpoints", {"channel-type": ["EMAIL"]})

    _bad(call("GET", f"/v1/apps/{app_b}/endpoints", query={"token": [a_token]}))  # another app
    _bad(call("GET", f"/v1/apps/{app_a}/endpoints", query={"token": [apps_token]}))  # another operation
    _bad(call("GET", "/v1/apps", query={"token": [a_token]}))
    _bad(call("GET", f"/v1/apps/{app_a}/endpoints", query={"token": [a_email_token], "channel-type": ["SMS"]}))
    assert call("GET", f"/v1/apps/{app_a}/endpoints", query={"token": [a_token]}).status == 200


def test_the_signing_key_is_created_once_and_kept(call: Any) -> None:
    from homing.adapters.dynamodb import paging

    paging._keys.clear()
    first = paging.signing_key()
    paging._keys.clear()  # a new process reads the stored key back
    assert paging.signing_key() == first
    assert len(first) == 32


# -- one spelling per resource ------------------------------------------------------------------
def test_canonical_paths_work(call: Any, app_id: str) -> None:
    assert call("PUT", f"/v1/apps/{app_id}/endpoints/ep%201", {"ChannelType": "SMS"}).status == 202
    assert call("GET", f"/v1/apps/{app_id}/endpoints/ep%201").body["Id"] == "ep 1"
    assert call("GET", f"/v1/apps/{app_id}").status == 200


@pytest.mark.parametrize(
    "spelling",
    [
        "/v1/apps/{app}/",
        "/v1/apps//{app}",
        "//v1/apps/{app}",
        "/v1/./apps/{app}",
        "/v1/apps/{app}/../{app}",
        "/v1/apps/{app}/%2E",
        "/v1/apps/{encoded}",
        "/v1/%61pps/{app}",
        "/v1/apps/{app}/endpoints/ep%2f1",  # lower-case hex
        "/v1/apps/{app}/endpoints/%65p1",  # needless encoding
        "/v1/apps/{app}/endpoints/ep 1",  # unencoded space
        "/v1/apps/{app}/endpoints/ep%FF",  # not UTF-8
        "/v1/apps/{app}/endpoints/a:b",
    ],
)
def test_other_spellings_are_400_and_write_nothing(call: Any, app_id: str, spelling: str) -> None:
    path = spelling.format(app=app_id, encoded="".join(f"%{ord(c):02X}" for c in app_id))
    for method in ("GET", "PUT", "DELETE"):
        _bad(call(method, path, {"ChannelType": "SMS"} if method == "PUT" else None))
    assert call("GET", f"/v1/apps/{app_id}/endpoints").body["Item"] == []


@pytest.mark.parametrize("spelling", ["{upper}", "{app}00", "{app}".replace("{app}", "not-an-app-id")])
def test_app_ids_not_as_issued_are_not_found(call: Any, app_id: str, spelling: str) -> None:
    path = "/v1/apps/" + spelling.format(app=app_id, upper=app_id.upper())
    _bad(call("GET", path), 404, "NotFoundException")
    _bad(call("PUT", path + "/endpoints/e1", {"ChannelType": "SMS"}), 404, "NotFoundException")
    _bad(call("DELETE", path), 404, "NotFoundException")
    assert call("GET", f"/v1/apps/{app_id}").status == 200


def test_endpoint_ids_stay_case_insensitive(call: Any, app_id: str) -> None:
    """Pinpoint's rule: one endpoint whatever the case of its id (docs/decisions.md says what this means for IAM)."""
    assert call("PUT", f"/v1/apps/{app_id}/endpoints/EP-1", {"ChannelType": "SMS"}).status == 202
    assert call("GET", f"/v1/apps/{app_id}/endpoints/ep-1").body["Id"] == "EP-1"


@pytest.mark.parametrize("method", ["FOO", "TRACE", "PATCH"])
def test_other_methods_are_4xx(call: Any, app_id: str, method: str) -> None:
    r = call(method, f"/v1/apps/{app_id}")
    assert 400 <= r.status < 500
    assert r.error_type


def test_query_values_with_lone_surrogates_are_400(call: Any, app_id: str) -> None:
    _bad(call("GET", f"/v1/apps/{app_id}/endpoints", query={"user-id": ["\ud800"]}))
