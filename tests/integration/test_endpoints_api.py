"""Endpoints, users and attributes through the real api handler against moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_apps_api import create


@pytest.fixture
def app_id(call: Any) -> str:
    return str(create(call)["Id"])


def put(call: Any, app_id: str, endpoint_id: str, body: dict[str, Any]) -> Any:
    return call("PUT", f"/v1/apps/{app_id}/endpoints/{endpoint_id}", body)


def get(call: Any, app_id: str, endpoint_id: str) -> dict[str, Any]:
    r = call("GET", f"/v1/apps/{app_id}/endpoints/{endpoint_id}")
    assert r.status == 200, r.body
    return r.body


FULL = {
    "ChannelType": "APNS",
    "Address": "token-1",
    "Attributes": {"interests": ["shoes", "hats"]},
    "Metrics": {"score": 4.5},
    "Demographic": {"Platform": "ios", "AppVersion": "1.2", "Timezone": "Europe/Paris"},
    "Location": {"City": "Paris", "Country": "FRA", "Latitude": 48.8566, "Longitude": 2.3522},
    "User": {"UserId": "user-1", "UserAttributes": {"tier": ["gold"]}},
    "OptOut": "NONE",
}


def test_update_endpoint_creates_then_get_returns_pinpoint_shape(call: Any, app_id: str) -> None:
    r = put(call, app_id, "EP-1", FULL)
    assert r.status == 202
    assert r.body["Message"] == "Accepted"
    assert r.body["RequestID"]
    e = get(call, app_id, "EP-1")
    assert e["Id"] == "EP-1"
    assert e["ApplicationId"] == app_id
    assert e["ChannelType"] == "APNS"
    assert e["Address"] == "token-1"
    assert e["Attributes"] == {"interests": ["shoes", "hats"]}
    assert e["Metrics"] == {"score": 4.5}
    assert e["Demographic"] == FULL["Demographic"]
    assert e["Location"] == {"City": "Paris", "Country": "FRA", "Latitude": 48.9, "Longitude": 2.4}
    assert e["User"] == FULL["User"]
    assert e["EndpointStatus"] == "ACTIVE"
    assert e["OptOut"] == "NONE"
    assert 0 <= int(e["CohortId"]) <= 99
    assert e["CreationDate"] == e["EffectiveDate"]
    assert e["RequestId"] == r.body["RequestID"]


def test_encoded_endpoint_ids_are_decoded(call: Any, app_id: str) -> None:
    """boto3 percent-encodes path parameters (``ep 1/x`` -> ``ep%201%2Fx``); the id stored is the real one."""
    assert put(call, app_id, "ep%201%2Fx", {"ChannelType": "SMS", "Address": "+15550100"}).status == 202
    assert get(call, app_id, "ep%201%2Fx")["Id"] == "ep 1/x"


def test_endpoint_ids_are_case_insensitive(call: Any, app_id: str) -> None:
    put(call, app_id, "Mixed-Case", {"ChannelType": "SMS", "Address": "+15550100"})
    assert get(call, app_id, "mixed-case")["Id"] == "Mixed-Case"


def test_update_merges_per_key_and_keeps_what_is_absent(call: Any, app_id: str) -> None:
    put(call, app_id, "e1", FULL)
    first = get(call, app_id, "e1")
    r = put(
        call,
        app_id,
        "e1",
        {
            "Attributes": {"interests": ["bags"], "size": ["M"]},
            "Metrics": {"visits": 3},
            "Demographic": {"AppVersion": "1.3"},
            "User": {"UserAttributes": {"tier": []}},
            "EffectiveDate": "2026-01-02T03:04:05.000Z",
        },
    )
    assert r.status == 202
    e = get(call, app_id, "e1")
    assert e["Attributes"] == {"interests": ["bags"], "size": ["M"]}
    assert e["Metrics"] == {"score": 4.5, "visits": 3}
    assert e["Demographic"]["AppVersion"] == "1.3"
    assert e["Demographic"]["Platform"] == "ios"
    assert e["User"] == {"UserId": "user-1", "UserAttributes": {"tier": []}}
    assert e["Address"] == "token-1"
    assert e["CohortId"] == first["CohortId"]
    assert e["CreationDate"] == first["CreationDate"]
    assert e["EffectiveDate"] == "2026-01-02T03:04:05.000Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ChannelType": "PIGEON", "Address": "x"}, "ChannelType"),
        ({"ChannelType": "SMS", "OptOut": "SOME"}, "OptOut"),
        ({"ChannelType": "SMS", "EndpointStatus": "GONE"}, "EndpointStatus"),
        ({"ChannelType": "SMS", "EffectiveDate": "yesterday"}, "EffectiveDate"),
        ({"ChannelType": "SMS", "Attributes": {"a" * 51: ["x"]}}, "Attributes"),
        ({"ChannelType": "SMS", "Attributes": {"a": ["x" * 101]}}, "Attributes.a"),
        ({"ChannelType": "SMS", "Attributes": {"a": [str(i) for i in range(51)]}}, "Attributes.a"),
        ({"ChannelType": "SMS", "Attributes": {"a": "not-a-list"}}, "Attributes.a"),
        ({"ChannelType": "SMS", "User": {"UserAttributes": {"b": ["y" * 101]}}}, "User.UserAttributes.b"),
        ({"ChannelType": "SMS", "Metrics": {"m": "high"}}, "Metrics.m"),
        ({"ChannelType": "SMS", "Location": {"Latitude": 91}}, "Location.Latitude"),
        ({"ChannelType": "SMS", "Demographic": {"Platform": 7}}, "Demographic.Platform"),
        ({"ChannelType": "SMS", "Attributes": {f"k{i}": ["v" * 100] * 50 for i in range(4)}}, "15 KB"),
    ],
)
def test_invalid_endpoint_is_rejected_naming_the_field(
    call: Any, app_id: str, body: dict[str, Any], field: str
) -> None:
    r = put(call, app_id, "bad", body)
    assert (r.status, r.error_type) == (400, "BadRequestException"), r.body
    assert field in r.body["Message"]
    assert call("GET", f"/v1/apps/{app_id}/endpoints/bad").status == 404


def test_rejected_update_keeps_the_stored_endpoint(call: Any, app_id: str) -> None:
    put(call, app_id, "e1", FULL)
    before = get(call, app_id, "e1")
    assert put(call, app_id, "e1", {"Attributes": {"x": ["y" * 200]}, "Address": "changed"}).status == 400
    assert get(call, app_id, "e1") == before


def test_endpoint_id_with_forbidden_characters_is_rejected(call: Any, app_id: str) -> None:
    r = put(call, app_id, "a%24b", {"ChannelType": "SMS"})
    assert r.status == 400
    assert "EndpointId" in r.body["Message"]


def test_unknown_app_or_endpoint_is_not_found(call: Any, app_id: str) -> None:
    assert put(call, "nope", "e1", {"ChannelType": "SMS"}).error_type == "NotFoundException"
    assert call("GET", f"/v1/apps/{app_id}/endpoints/none").error_type == "NotFoundException"
    assert call("DELETE", f"/v1/apps/{app_id}/endpoints/none").error_type == "NotFoundException"
    assert call("GET", f"/v1/apps/{app_id}/users/nobody").error_type == "NotFoundException"
    assert call("DELETE", f"/v1/apps/{app_id}/users/nobody").error_type == "NotFoundException"


def test_delete_endpoint_returns_it_with_202(call: Any, app_id: str) -> None:
    put(call, app_id, "e1", FULL)
    stored = get(call, app_id, "e1")
    r = call("DELETE", f"/v1/apps/{app_id}/endpoints/e1")
    assert r.status == 202
    assert r.body == stored
    assert call("GET", f"/v1/apps/{app_id}/endpoints/e1").status == 404


def test_newest_writer_of_an_address_stays_active(call: Any, app_id: str) -> None:
    put(call, app_id, "old", {"ChannelType": "EMAIL", "Address": "a@example.com"})
    put(call, app_id, "voice", {"ChannelType": "VOICE", "Address": "+15550100"})
    put(call, app_id, "sms", {"ChannelType": "SMS", "Address": "+15550100"})
    put(call, app_id, "new", {"ChannelType": "EMAIL", "Address": "a@example.com"})
    assert get(call, app_id, "old")["EndpointStatus"] == "INACTIVE"
    assert get(call, app_id, "new")["EndpointStatus"] == "ACTIVE"
    # same number on two channels is not a duplicate
    assert get(call, app_id, "voice")["EndpointStatus"] == "ACTIVE"
    assert get(call, app_id, "sms")["EndpointStatus"] == "ACTIVE"
    put(call, app_id, "old", {"Attributes": {"touched": ["yes"]}})
    assert get(call, app_id, "old")["EndpointStatus"] == "ACTIVE"
    assert get(call, app_id, "new")["EndpointStatus"] == "INACTIVE"


def test_user_endpoints_get_and_delete(call: Any, app_id: str) -> None:
    for i, channel in enumerate(["EMAIL", "SMS", "GCM"]):
        put(call, app_id, f"e{i}", {"ChannelType": channel, "Address": f"addr{i}", "User": {"UserId": "u1"}})
    put(call, app_id, "other", {"ChannelType": "SMS", "Address": "x", "User": {"UserId": "u2"}})
    r = call("GET", f"/v1/apps/{app_id}/users/u1")
    assert r.status == 200
    assert sorted(e["Id"] for e in r.body["Item"]) == ["e0", "e1", "e2"]
    d = call("DELETE", f"/v1/apps/{app_id}/users/u1")
    assert d.status == 202
    assert sorted(e["Id"] for e in d.body["Item"]) == ["e0", "e1", "e2"]
    assert call("GET", f"/v1/apps/{app_id}/users/u1").status == 404
    assert call("GET", f"/v1/apps/{app_id}/endpoints/other").status == 200


def test_moving_an_endpoint_to_another_user(call: Any, app_id: str) -> None:
    put(call, app_id, "e1", {"ChannelType": "SMS", "Address": "1", "User": {"UserId": "a"}})
    put(call, app_id, "e1", {"User": {"UserId": "b"}})
    assert call("GET", f"/v1/apps/{app_id}/users/a").status == 404
    assert [e["Id"] for e in call("GET", f"/v1/apps/{app_id}/users/b").body["Item"]] == ["e1"]


def _fill_user(call: Any, app_id: str, channels: list[str]) -> None:
    items = [
        {
            "Id": f"m{i}",
            "ChannelType": ch,
            "Address": f"addr-{i}",
            "User": {"UserId": "cap"},
            "EffectiveDate": f"2026-01-{i + 1:02d}T00:00:00.000Z",
        }
        for i, ch in enumerate(channels)
    ]
    assert call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": items}).status == 202


def test_sixteenth_endpoint_of_non_push_channel_is_rejected(call: Any, app_id: str) -> None:
    _fill_user(call, app_id, ["EMAIL"] * 14 + ["GCM"])
    r = put(call, app_id, "extra", {"ChannelType": "SMS", "Address": "x", "User": {"UserId": "cap"}})
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert "User.UserId" in r.body["Message"]
    assert call("GET", f"/v1/apps/{app_id}/endpoints/extra").status == 404
    assert len(call("GET", f"/v1/apps/{app_id}/users/cap").body["Item"]) == 15


def test_sixteenth_push_endpoint_evicts_the_oldest_push_endpoint(call: Any, app_id: str) -> None:
    _fill_user(call, app_id, ["EMAIL"] * 5 + ["APNS", "GCM"] + ["SMS"] * 8)
    r = put(call, app_id, "new-token", {"ChannelType": "GCM", "Address": "tok", "User": {"UserId": "cap"}})
    assert r.status == 202, r.body
    evicted = get(call, app_id, "m5")  # the APNS endpoint with the oldest EffectiveDate among push types
    assert evicted["EndpointStatus"] == "INACTIVE"
    assert "UserId" not in evicted["User"]
    members = {e["Id"] for e in call("GET", f"/v1/apps/{app_id}/users/cap").body["Item"]}
    assert len(members) == 15
    assert "new-token" in members
    assert "m5" not in members


def test_push_endpoint_is_rejected_when_user_has_no_push_endpoints(call: Any, app_id: str) -> None:
    _fill_user(call, app_id, ["EMAIL"] * 15)
    r = put(call, app_id, "tok", {"ChannelType": "APNS", "Address": "t", "User": {"UserId": "cap"}})
    assert r.status == 400


def test_batch_creates_all_items(call: Any, app_id: str) -> None:
    items = [{"Id": f"b{i}", "ChannelType": "EMAIL", "Address": f"b{i}@example.com"} for i in range(100)]
    r = call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": items})
    assert r.status == 202
    assert r.body["Message"] == "Accepted"
    assert get(call, app_id, "b99")["Address"] == "b99@example.com"


def test_batch_over_100_items_is_rejected(call: Any, app_id: str) -> None:
    items = [{"Id": f"b{i}", "ChannelType": "EMAIL"} for i in range(101)]
    r = call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": items})
    assert r.status == 400
    assert "100" in r.body["Message"]


def test_rejected_batch_writes_nothing(call: Any, app_id: str) -> None:
    put(call, app_id, "b0", {"ChannelType": "EMAIL", "Address": "keep@example.com"})
    items = [
        {"Id": "b0", "ChannelType": "EMAIL", "Address": "changed@example.com"},
        {"Id": "b1", "ChannelType": "EMAIL", "Address": "b1@example.com"},
        {"Id": "b2", "ChannelType": "NOPE"},
    ]
    r = call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": items})
    assert r.status == 400
    assert "Item[2].ChannelType" in r.body["Message"]
    assert get(call, app_id, "b0")["Address"] == "keep@example.com"
    assert call("GET", f"/v1/apps/{app_id}/endpoints/b1").status == 404


def test_batch_item_without_id_is_rejected(call: Any, app_id: str) -> None:
    r = call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": [{"ChannelType": "SMS"}]})
    assert r.status == 400
    assert "Item[0].Id" in r.body["Message"]
    assert call("PUT", f"/v1/apps/{app_id}/endpoints", {"Items": []}).status == 400


def test_attribute_name_quota_per_app(call: Any, app_id: str) -> None:
    attrs = {f"a{i}": ["v"] for i in range(200)}
    assert put(call, app_id, "e1", {"ChannelType": "SMS", "Attributes": attrs}).status == 202
    metrics = {f"m{i}": 1.0 for i in range(50)}
    assert put(call, app_id, "e2", {"ChannelType": "SMS", "Metrics": metrics}).status == 202
    r = put(call, app_id, "e3", {"ChannelType": "SMS", "User": {"UserAttributes": {"one-more": ["x"]}}})
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert "250" in r.body["Message"]
    # names already in use do not count again
    assert put(call, app_id, "e3", {"ChannelType": "SMS", "Attributes": {"a1": ["w"]}}).status == 202


def test_remove_attributes_frees_catalogue_but_endpoints_keep_values(call: Any, app_id: str) -> None:
    attrs = {f"a{i}": ["v"] for i in range(250)}
    assert put(call, app_id, "e1", {"ChannelType": "SMS", "Attributes": attrs}).status == 202
    r = call("PUT", f"/v1/apps/{app_id}/attributes/endpoint-custom-attributes", {"Blacklist": ["a1*", "a2"]})
    assert r.status == 200
    assert r.body["ApplicationId"] == app_id
    assert r.body["AttributeType"] == "endpoint-custom-attributes"
    assert sorted(r.body["Attributes"]) == sorted([n for n in attrs if n.startswith("a1")] + ["a2"])
    assert len(get(call, app_id, "e1")["Attributes"]) == 250
    assert put(call, app_id, "e2", {"ChannelType": "SMS", "Attributes": {"new": ["x"]}}).status == 202


def test_remove_attributes_errors(call: Any, app_id: str) -> None:
    r = call("PUT", f"/v1/apps/{app_id}/attributes/endpoint-bogus", {"Blacklist": ["a"]})
    assert r.status == 400
    assert "attribute-type" in r.body["Message"]
    assert call("PUT", f"/v1/apps/{app_id}/attributes/endpoint-user-attributes", {}).status == 400
    assert call("PUT", "/v1/apps/nope/attributes/endpoint-user-attributes", {"Blacklist": ["a"]}).status == 404


def test_list_endpoints_extension_pages_and_filters(call: Any, app_id: str) -> None:
    items = [
        {
            "Id": f"e{i:02d}",
            "ChannelType": "SMS" if i % 2 else "EMAIL",
            "Address": f"a{i}",
            "User": {"UserId": f"u{i % 3}"},
        }
        for i in range(12)
    ]
    call("PUT", f"/v1/apps/{app_id}/endpoints", {"Item": items})
    seen, token = [], None
    while True:
        q = {"page-size": ["5"], **({"token": [token]} if token else {})}
        page = call("GET", f"/v1/apps/{app_id}/endpoints", query=q).body
        seen += [e["Id"] for e in page["Item"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(str(i["Id"]) for i in items)
    sms = call("GET", f"/v1/apps/{app_id}/endpoints", query={"channel-type": ["SMS"]}).body["Item"]
    assert {e["ChannelType"] for e in sms} == {"SMS"}
    assert len(sms) == 6
    user = call("GET", f"/v1/apps/{app_id}/endpoints", query={"user-id": ["u1"], "channel-type": ["SMS"]}).body
    assert sorted(e["Id"] for e in user["Item"]) == ["e01", "e07"]
    assert call("GET", f"/v1/apps/{app_id}/endpoints", query={"channel-type": ["FAX"]}).status == 400
    assert call("GET", "/v1/apps/nope/endpoints").status == 404
