"""Endpoints, users and attributes over the wire: the stock boto3 ``pinpoint`` client, the execute-api
client, and the ListEndpoints extension called with urllib and botocore's SigV4 signer."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY
from tests.e2e.test_apps_e2e import ISO_UTC_MILLIS, MAX_PAGES, error_of, new_app

FULL: dict[str, Any] = {
    "ChannelType": "APNS",
    "Address": "device-token-1",
    "Attributes": {"interests": ["shoes", "hats"]},
    "Metrics": {"score": 4.5},
    "Demographic": {
        "AppVersion": "1.2",
        "Locale": "fr_FR",
        "Make": "Apple",
        "Model": "iPhone",
        "ModelVersion": "15",
        "Platform": "ios",
        "PlatformVersion": "17.1",
        "Timezone": "Europe/Paris",
    },
    "Location": {
        "City": "Paris",
        "Country": "FRA",
        "Latitude": 48.8566,
        "Longitude": 2.3522,
        "PostalCode": "75001",
        "Region": "IDF",
    },
    "User": {"UserId": "user-1", "UserAttributes": {"tier": ["gold"]}},
    "OptOut": "NONE",
}


@pytest.fixture
def app_id(pinpoint: Any) -> Iterator[str]:
    with new_app(pinpoint, "endpoints") as app:
        yield str(app["Id"])


def put(pinpoint: Any, app_id: str, endpoint_id: str, request: dict[str, Any]) -> Any:
    return pinpoint.update_endpoint(ApplicationId=app_id, EndpointId=endpoint_id, EndpointRequest=request)


def get(pinpoint: Any, app_id: str, endpoint_id: str) -> dict[str, Any]:
    endpoint: dict[str, Any] = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)["EndpointResponse"]
    return endpoint


def batch(pinpoint: Any, app_id: str, items: list[dict[str, Any]]) -> Any:
    return pinpoint.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items})


def assert_endpoint_absent(pinpoint: Any, app_id: str, endpoint_id: str) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)
    assert error_of(caught)[:2] == ("NotFoundException", 404)


def user_endpoint_ids(pinpoint: Any, app_id: str, user_id: str) -> set[str]:
    items = pinpoint.get_user_endpoints(ApplicationId=app_id, UserId=user_id)["EndpointsResponse"]["Item"]
    return {endpoint["Id"] for endpoint in items}


# --- UpdateEndpoint / GetEndpoint ---------------------------------------------------------------


def test_update_endpoint_creates_it_and_get_endpoint_returns_pinpoint_fields(pinpoint: Any, app_id: str) -> None:
    written = put(pinpoint, app_id, "EP-1", FULL)

    assert written["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert written["MessageBody"]["Message"] == "Accepted"
    assert written["MessageBody"]["RequestID"]

    response = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="EP-1")

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    endpoint = response["EndpointResponse"]
    assert endpoint["Id"] == "EP-1"
    assert endpoint["ApplicationId"] == app_id
    assert endpoint["ChannelType"] == "APNS"
    assert endpoint["Address"] == "device-token-1"
    assert endpoint["Attributes"] == {"interests": ["shoes", "hats"]}
    assert endpoint["Metrics"] == {"score": 4.5}
    assert endpoint["Demographic"] == FULL["Demographic"]
    assert endpoint["Location"] == {**FULL["Location"], "Latitude": 48.9, "Longitude": 2.4}  # one decimal
    assert endpoint["User"] == FULL["User"]
    assert endpoint["EndpointStatus"] == "ACTIVE"
    assert endpoint["OptOut"] == "NONE"
    assert re.fullmatch(r"\d{1,2}", endpoint["CohortId"]), endpoint["CohortId"]
    assert 0 <= int(endpoint["CohortId"]) <= 99
    assert ISO_UTC_MILLIS.match(endpoint["CreationDate"]), endpoint["CreationDate"]
    assert endpoint["EffectiveDate"] == endpoint["CreationDate"]
    assert endpoint["RequestId"] == written["MessageBody"]["RequestID"]


def test_update_endpoint_merges_per_key_and_keeps_what_is_absent(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "e1", FULL)
    first = get(pinpoint, app_id, "e1")

    second = put(
        pinpoint,
        app_id,
        "e1",
        {
            "Attributes": {"interests": ["bags"], "size": ["M"]},
            "Metrics": {"visits": 3.0},
            "Demographic": {"AppVersion": "1.3"},
            "Location": {"City": "Lyon"},
            "User": {"UserAttributes": {"tier": []}},
            "OptOut": "ALL",
            "EffectiveDate": "2026-01-02T03:04:05.000Z",
        },
    )

    endpoint = get(pinpoint, app_id, "e1")
    assert endpoint["Attributes"] == {"interests": ["bags"], "size": ["M"]}
    assert endpoint["Metrics"] == {"score": 4.5, "visits": 3.0}
    assert endpoint["Demographic"] == {**FULL["Demographic"], "AppVersion": "1.3"}
    assert endpoint["Location"] == {**first["Location"], "City": "Lyon"}
    assert endpoint["User"] == {"UserId": "user-1", "UserAttributes": {"tier": []}}
    assert endpoint["OptOut"] == "ALL"
    assert endpoint["Address"] == first["Address"]
    assert endpoint["ChannelType"] == first["ChannelType"]
    assert endpoint["CohortId"] == first["CohortId"]
    assert endpoint["CreationDate"] == first["CreationDate"]
    assert endpoint["EffectiveDate"] == "2026-01-02T03:04:05.000Z"
    assert endpoint["RequestId"] == second["MessageBody"]["RequestID"] != first["RequestId"]


@pytest.mark.parametrize(
    "endpoint_id",
    ["ep 1/x", "Mixed/Case Id", "user@example.com/phone 2", "100%", "a+b=c&d", "émoji-ü"],
)
def test_endpoint_ids_with_spaces_slashes_and_mixed_case_round_trip(
    pinpoint: Any, app_id: str, endpoint_id: str
) -> None:
    put(pinpoint, app_id, endpoint_id, {"ChannelType": "SMS", "Address": "+15550100"})

    assert get(pinpoint, app_id, endpoint_id)["Id"] == endpoint_id
    deleted = pinpoint.delete_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)["EndpointResponse"]
    assert deleted["Id"] == endpoint_id
    assert_endpoint_absent(pinpoint, app_id, endpoint_id)


def test_endpoint_ids_are_case_insensitive_and_keep_their_original_spelling(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "Mixed-Case", {"ChannelType": "SMS", "Address": "+15550100"})

    put(pinpoint, app_id, "MIXED-CASE", {"Attributes": {"seen": ["yes"]}})

    endpoint = get(pinpoint, app_id, "mixed-case")
    assert endpoint["Id"] == "Mixed-Case"
    assert endpoint["Address"] == "+15550100"
    assert endpoint["Attributes"] == {"seen": ["yes"]}


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"ChannelType": "PIGEON", "Address": "x"}, "ChannelType"),
        ({"ChannelType": "SMS", "OptOut": "SOMETIMES"}, "OptOut"),
        ({"ChannelType": "SMS", "EndpointStatus": "GONE"}, "EndpointStatus"),
        ({"ChannelType": "SMS", "EffectiveDate": "yesterday"}, "EffectiveDate"),
        ({"ChannelType": "SMS", "Attributes": {"n" * 51: ["x"]}}, "Attributes"),
        ({"ChannelType": "SMS", "Attributes": {"color": ["x" * 101]}}, "Attributes.color"),
        ({"ChannelType": "SMS", "Attributes": {"color": [str(i) for i in range(51)]}}, "Attributes.color"),
        ({"ChannelType": "SMS", "User": {"UserAttributes": {"tier": ["y" * 101]}}}, "User.UserAttributes.tier"),
        ({"ChannelType": "SMS", "Metrics": {"m" * 51: 1.0}}, "Metrics"),
        ({"ChannelType": "SMS", "Location": {"Latitude": 91.0}}, "Location.Latitude"),
    ],
)
def test_invalid_endpoint_is_rejected_naming_the_field_and_not_created(
    pinpoint: Any, app_id: str, request_body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClientError) as caught:
        put(pinpoint, app_id, "bad", request_body)

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert field in message
    assert_endpoint_absent(pinpoint, app_id, "bad")


def test_attribute_limits_are_inclusive(pinpoint: Any, app_id: str) -> None:
    request = {
        "ChannelType": "SMS",
        "Attributes": {"n" * 50: ["x" * 100], "many": [str(i) for i in range(50)]},
    }

    assert put(pinpoint, app_id, "edge", request)["ResponseMetadata"]["HTTPStatusCode"] == 202

    assert get(pinpoint, app_id, "edge")["Attributes"] == request["Attributes"]


def test_rejected_update_keeps_the_stored_endpoint(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "e1", FULL)
    before = get(pinpoint, app_id, "e1")

    with pytest.raises(ClientError) as caught:
        put(pinpoint, app_id, "e1", {"Address": "changed", "Attributes": {"color": ["x" * 101]}})

    assert error_of(caught)[:2] == ("BadRequestException", 400)
    assert get(pinpoint, app_id, "e1") == before


def test_unknown_app_is_not_found(pinpoint: Any) -> None:
    unknown = uuid.uuid4().hex
    calls = {
        "UpdateEndpoint": lambda: put(pinpoint, unknown, "e1", {"ChannelType": "SMS"}),
        "UpdateEndpointsBatch": lambda: batch(pinpoint, unknown, [{"Id": "e1", "ChannelType": "SMS"}]),
        "GetEndpoint": lambda: get(pinpoint, unknown, "e1"),
        "DeleteEndpoint": lambda: pinpoint.delete_endpoint(ApplicationId=unknown, EndpointId="e1"),
        "GetUserEndpoints": lambda: pinpoint.get_user_endpoints(ApplicationId=unknown, UserId="u1"),
        "RemoveAttributes": lambda: pinpoint.remove_attributes(
            ApplicationId=unknown,
            AttributeType="endpoint-custom-attributes",
            UpdateAttributesRequest={"Blacklist": ["a"]},
        ),
    }
    for operation, call in calls.items():
        with pytest.raises(ClientError) as caught:
            call()
        code, status, message = error_of(caught)
        assert (code, status) == ("NotFoundException", 404), operation
        assert unknown in message, operation


def test_unknown_endpoint_is_not_found(pinpoint: Any, app_id: str) -> None:
    with pytest.raises(ClientError) as read:
        get(pinpoint, app_id, "nobody-home")
    with pytest.raises(ClientError) as delete:
        pinpoint.delete_endpoint(ApplicationId=app_id, EndpointId="nobody-home")

    for caught in (read, delete):
        code, status, message = error_of(caught)
        assert (code, status) == ("NotFoundException", 404)
        assert "nobody-home" in message


def test_delete_endpoint_returns_the_deleted_endpoint_with_202(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "e1", FULL)
    stored = get(pinpoint, app_id, "e1")

    deleted = pinpoint.delete_endpoint(ApplicationId=app_id, EndpointId="e1")

    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["EndpointResponse"] == stored
    assert_endpoint_absent(pinpoint, app_id, "e1")


# --- UpdateEndpointsBatch -----------------------------------------------------------------------


def test_batch_of_100_endpoints_creates_them_all(api_url: str, pinpoint: Any, app_id: str) -> None:
    items = [{"Id": f"b{i:03d}", "ChannelType": "EMAIL", "Address": f"b{i}@example.com"} for i in range(100)]

    written = batch(pinpoint, app_id, items)

    assert written["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert written["MessageBody"]["Message"] == "Accepted"
    listed = list_all_endpoints(api_url, app_id, {"page-size": "1000"})
    assert sorted(e["Id"] for e in listed) == [item["Id"] for item in items]
    assert get(pinpoint, app_id, "b099")["Address"] == "b99@example.com"
    assert get(pinpoint, app_id, "b000")["RequestId"] == written["MessageBody"]["RequestID"]


def test_batch_of_101_endpoints_is_rejected_and_writes_nothing(pinpoint: Any, app_id: str) -> None:
    items = [{"Id": f"b{i:03d}", "ChannelType": "EMAIL", "Address": f"b{i}@example.com"} for i in range(101)]

    with pytest.raises(ClientError) as caught:
        batch(pinpoint, app_id, items)

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "Item" in message
    assert "100" in message
    assert_endpoint_absent(pinpoint, app_id, "b000")


def test_batch_with_one_invalid_item_writes_nothing(pinpoint: Any, app_id: str) -> None:
    # Given an endpoint that exists before the batch
    put(pinpoint, app_id, "b0", {"ChannelType": "EMAIL", "Address": "keep@example.com"})
    before = get(pinpoint, app_id, "b0")
    items = [
        {"Id": "b0", "ChannelType": "EMAIL", "Address": "changed@example.com"},
        {"Id": "b1", "ChannelType": "EMAIL", "Address": "b1@example.com"},
        {"Id": "b2", "ChannelType": "NOPE"},
    ]

    # When one item of the batch is invalid
    with pytest.raises(ClientError) as caught:
        batch(pinpoint, app_id, items)

    # Then the error names the item and field, and neither valid item was written
    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "Item[2].ChannelType" in message
    assert get(pinpoint, app_id, "b0") == before
    assert_endpoint_absent(pinpoint, app_id, "b1")


# --- Users -------------------------------------------------------------------------------------


def test_get_and_delete_user_endpoints(pinpoint: Any, app_id: str) -> None:
    for i, channel in enumerate(["EMAIL", "SMS", "GCM"]):
        put(pinpoint, app_id, f"e{i}", {"ChannelType": channel, "Address": f"addr{i}", "User": {"UserId": "u1"}})
    put(pinpoint, app_id, "other", {"ChannelType": "SMS", "Address": "x", "User": {"UserId": "u2"}})

    listed = pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="u1")

    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200
    items = listed["EndpointsResponse"]["Item"]
    assert sorted(e["Id"] for e in items) == ["e0", "e1", "e2"]
    assert all(e["User"]["UserId"] == "u1" and e["ApplicationId"] == app_id for e in items)

    deleted = pinpoint.delete_user_endpoints(ApplicationId=app_id, UserId="u1")

    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert sorted(e["Id"] for e in deleted["EndpointsResponse"]["Item"]) == ["e0", "e1", "e2"]
    for endpoint_id in ("e0", "e1", "e2"):
        assert_endpoint_absent(pinpoint, app_id, endpoint_id)
    assert get(pinpoint, app_id, "other")["User"]["UserId"] == "u2"


def test_unknown_user_is_not_found(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "e1", {"ChannelType": "SMS", "Address": "+15550100", "User": {"UserId": "known"}})

    with pytest.raises(ClientError) as read:
        pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="stranger")
    with pytest.raises(ClientError) as delete:
        pinpoint.delete_user_endpoints(ApplicationId=app_id, UserId="stranger")

    for caught in (read, delete):
        code, status, message = error_of(caught)
        assert (code, status) == ("NotFoundException", 404)
        assert "stranger" in message


def fill_user(pinpoint: Any, app_id: str, user_id: str, channels: list[str]) -> list[str]:
    """Give the user one endpoint per channel, m0 the oldest (EffectiveDate 2026-01-01, then one day apart)."""
    items: list[dict[str, Any]] = [
        {
            "Id": f"m{i}",
            "ChannelType": channel,
            "Address": f"addr-{i}",
            "User": {"UserId": user_id},
            "EffectiveDate": f"2026-01-{i + 1:02d}T00:00:00.000Z",
        }
        for i, channel in enumerate(channels)
    ]
    batch(pinpoint, app_id, items)
    return [item["Id"] for item in items]


def test_sixteenth_sms_endpoint_of_a_user_is_rejected(pinpoint: Any, app_id: str) -> None:
    members = fill_user(pinpoint, app_id, "cap", ["EMAIL"] * 14 + ["GCM"])

    with pytest.raises(ClientError) as caught:
        put(pinpoint, app_id, "extra", {"ChannelType": "SMS", "Address": "+15550100", "User": {"UserId": "cap"}})

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "User.UserId" in message
    assert_endpoint_absent(pinpoint, app_id, "extra")
    assert user_endpoint_ids(pinpoint, app_id, "cap") == set(members)


def test_sixteenth_push_endpoint_evicts_the_users_oldest_push_endpoint(pinpoint: Any, app_id: str) -> None:
    # Given a user at the cap whose push endpoints are m5 (APNS, older) and m6 (GCM)
    members = fill_user(pinpoint, app_id, "cap", ["EMAIL"] * 5 + ["APNS", "GCM"] + ["SMS"] * 8)

    # When a 16th GCM endpoint joins
    written = put(pinpoint, app_id, "new-token", {"ChannelType": "GCM", "Address": "tok", "User": {"UserId": "cap"}})

    # Then the oldest push endpoint leaves the user and becomes INACTIVE
    assert written["ResponseMetadata"]["HTTPStatusCode"] == 202
    evicted = get(pinpoint, app_id, "m5")
    assert evicted["EndpointStatus"] == "INACTIVE"
    assert "UserId" not in evicted["User"]
    assert get(pinpoint, app_id, "m6")["EndpointStatus"] == "ACTIVE"
    assert get(pinpoint, app_id, "new-token")["EndpointStatus"] == "ACTIVE"
    assert user_endpoint_ids(pinpoint, app_id, "cap") == (set(members) - {"m5"}) | {"new-token"}


def test_eviction_orders_effective_dates_by_time_not_by_text(pinpoint: Any, app_id: str) -> None:
    items = [
        {"Id": f"mail{i}", "ChannelType": "EMAIL", "Address": f"m{i}@example.com", "User": {"UserId": "cap"}}
        for i in range(13)
    ]
    items += [
        # 2026-01-01T20:00Z: the oldest push endpoint, written with an offset
        {
            "Id": "push-oldest",
            "ChannelType": "APNS",
            "Address": "token-a",
            "User": {"UserId": "cap"},
            "EffectiveDate": "2026-01-02T01:00:00.000+05:00",
        },
        {
            "Id": "push-newer",
            "ChannelType": "GCM",
            "Address": "token-b",
            "User": {"UserId": "cap"},
            "EffectiveDate": "2026-01-01T22:00:00.000Z",
        },
    ]
    batch(pinpoint, app_id, items)

    put(pinpoint, app_id, "joining", {"ChannelType": "GCM", "Address": "token-c", "User": {"UserId": "cap"}})

    assert get(pinpoint, app_id, "push-oldest")["EndpointStatus"] == "INACTIVE"
    assert get(pinpoint, app_id, "push-newer")["EndpointStatus"] == "ACTIVE"
    assert "push-newer" in user_endpoint_ids(pinpoint, app_id, "cap")


def test_newest_endpoint_with_an_address_stays_active(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "older", {"ChannelType": "EMAIL", "Address": "ana@example.com"})
    put(pinpoint, app_id, "voice", {"ChannelType": "VOICE", "Address": "+15550100"})
    put(pinpoint, app_id, "sms", {"ChannelType": "SMS", "Address": "+15550100"})

    put(pinpoint, app_id, "newer", {"ChannelType": "EMAIL", "Address": "ana@example.com"})

    assert get(pinpoint, app_id, "older")["EndpointStatus"] == "INACTIVE"
    assert get(pinpoint, app_id, "newer")["EndpointStatus"] == "ACTIVE"
    # The same number on two channels is not a duplicate.
    assert get(pinpoint, app_id, "voice")["EndpointStatus"] == "ACTIVE"
    assert get(pinpoint, app_id, "sms")["EndpointStatus"] == "ACTIVE"

    # Writing the older one again makes it the newest.
    put(pinpoint, app_id, "older", {"Attributes": {"touched": ["yes"]}})

    assert get(pinpoint, app_id, "older")["EndpointStatus"] == "ACTIVE"
    assert get(pinpoint, app_id, "newer")["EndpointStatus"] == "INACTIVE"


def test_within_one_batch_the_later_item_with_an_address_wins(pinpoint: Any, app_id: str) -> None:
    batch(
        pinpoint,
        app_id,
        [
            {"Id": "first", "ChannelType": "EMAIL", "Address": "shared@example.com"},
            {"Id": "second", "ChannelType": "EMAIL", "Address": "shared@example.com"},
        ],
    )

    assert get(pinpoint, app_id, "first")["EndpointStatus"] == "INACTIVE"
    assert get(pinpoint, app_id, "second")["EndpointStatus"] == "ACTIVE"


def test_an_empty_user_id_detaches_the_endpoint_from_its_user(pinpoint: Any, app_id: str) -> None:
    put(pinpoint, app_id, "e1", {"ChannelType": "SMS", "Address": "+15550100", "User": {"UserId": "leaving"}})

    put(pinpoint, app_id, "e1", {"User": {"UserId": ""}})

    assert "UserId" not in get(pinpoint, app_id, "e1")["User"]
    with pytest.raises(ClientError) as caught:
        pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="leaving")
    assert error_of(caught)[:2] == ("NotFoundException", 404)


# --- RemoveAttributes ---------------------------------------------------------------------------


def test_remove_attributes_returns_the_removed_names_and_endpoints_keep_their_values(
    pinpoint: Any, app_id: str
) -> None:
    attributes = {"color": ["red"], "colour": ["red"], "size": ["M"]}
    put(
        pinpoint,
        app_id,
        "e1",
        {
            "ChannelType": "SMS",
            "Attributes": attributes,
            "Metrics": {"score": 1.0},
            "User": {"UserAttributes": {"tier": ["gold"]}},
        },
    )

    custom = pinpoint.remove_attributes(
        ApplicationId=app_id,
        AttributeType="endpoint-custom-attributes",
        UpdateAttributesRequest={"Blacklist": ["col*"]},
    )
    user = pinpoint.remove_attributes(
        ApplicationId=app_id,
        AttributeType="endpoint-user-attributes",
        UpdateAttributesRequest={"Blacklist": ["tier", "no-such-*"]},
    )

    assert custom["ResponseMetadata"]["HTTPStatusCode"] == 200
    resource = custom["AttributesResource"]
    assert resource["ApplicationId"] == app_id
    assert resource["AttributeType"] == "endpoint-custom-attributes"
    assert sorted(resource["Attributes"]) == ["color", "colour"]
    assert user["AttributesResource"]["Attributes"] == ["tier"]
    assert get(pinpoint, app_id, "e1")["Attributes"] == attributes


def test_remove_attributes_of_an_invalid_attribute_type_is_bad_request(pinpoint: Any, app_id: str) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.remove_attributes(
            ApplicationId=app_id,
            AttributeType="endpoint-bogus-attributes",
            UpdateAttributesRequest={"Blacklist": ["a"]},
        )

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "attribute-type" in message


# --- ListEndpoints (Homing extension, not in boto3's model) -----------------------------------


def signed_get(url: str) -> tuple[int, dict[str, str], Any]:
    """GET ``url`` signed with SigV4 for execute-api, as API Gateway's IAM auth expects."""
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", REGION).add_auth(request)
    http_request = urllib.request.Request(url, headers=dict(request.headers.items()), method="GET")
    try:
        with urllib.request.urlopen(http_request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def list_endpoints(api_url: str, app_id: str, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return signed_get(f"{api_url}/v1/apps/{urllib.parse.quote(app_id, safe='')}/endpoints{query}")


def list_all_endpoints(api_url: str, app_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Follow NextToken; every page must respect page-size when one is given."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        status, _, body = list_endpoints(api_url, app_id, {**params, **({"token": token} if token else {})})
        assert status == 200, body
        if "page-size" in params:
            assert len(body["Item"]) <= int(params["page-size"])
        found += body["Item"]
        token = body.get("NextToken")
        if not token:
            return found
    raise AssertionError(f"ListEndpoints still returned a NextToken after {MAX_PAGES} pages")


@pytest.fixture
def seven_endpoints(pinpoint: Any, app_id: str) -> list[dict[str, Any]]:
    """e00..e06: odd ones SMS, even ones EMAIL; users u0, u1, u2 in turn."""
    items = [
        {
            "Id": f"e{i:02d}",
            "ChannelType": "SMS" if i % 2 else "EMAIL",
            "Address": f"address-{i}",
            "User": {"UserId": f"u{i % 3}"},
        }
        for i in range(7)
    ]
    batch(pinpoint, app_id, items)
    return items


def test_list_endpoints_pages_through_every_endpoint(
    api_url: str, pinpoint: Any, app_id: str, seven_endpoints: list[dict[str, Any]]
) -> None:
    status, _, first_page = list_endpoints(api_url, app_id, {"page-size": "2"})

    assert status == 200
    assert len(first_page["Item"]) == 2
    assert first_page["NextToken"]

    listed = list_all_endpoints(api_url, app_id, {"page-size": "2"})

    ids = [e["Id"] for e in listed]
    assert len(ids) == len(set(ids)), "an endpoint was listed twice"
    assert sorted(ids) == [item["Id"] for item in seven_endpoints]
    by_id = {e["Id"]: e for e in listed}
    assert by_id["e03"] == get(pinpoint, app_id, "e03")  # full EndpointResponse items


def test_list_endpoints_filters_by_channel_type_and_user_id(
    api_url: str, app_id: str, seven_endpoints: list[dict[str, Any]]
) -> None:
    sms = list_all_endpoints(api_url, app_id, {"page-size": "2", "channel-type": "SMS"})
    user = list_all_endpoints(api_url, app_id, {"page-size": "2", "user-id": "u1"})
    both = list_all_endpoints(api_url, app_id, {"page-size": "2", "user-id": "u1", "channel-type": "SMS"})

    assert sorted(e["Id"] for e in sms) == ["e01", "e03", "e05"]
    assert {e["ChannelType"] for e in sms} == {"SMS"}
    assert sorted(e["Id"] for e in user) == ["e01", "e04"]
    assert [e["Id"] for e in both] == ["e01"]


def test_list_endpoints_of_a_user_respects_page_size(api_url: str, pinpoint: Any, app_id: str) -> None:
    items = [
        {"Id": f"u-ep{i}", "ChannelType": "SMS", "Address": f"+1555010{i}", "User": {"UserId": "five"}}
        for i in range(5)
    ]
    batch(pinpoint, app_id, items)

    status, _, first_page = list_endpoints(api_url, app_id, {"page-size": "2", "user-id": "five"})

    assert status == 200
    assert len(first_page["Item"]) <= 2
    listed = list_all_endpoints(api_url, app_id, {"page-size": "2", "user-id": "five"})
    assert sorted(e["Id"] for e in listed) == [item["Id"] for item in items]


def test_list_endpoints_errors(api_url: str, app_id: str) -> None:
    status, headers, body = list_endpoints(api_url, app_id, {"channel-type": "FAX"})

    assert status == 400
    assert headers["X-Amzn-ErrorType"].startswith("BadRequestException")
    assert "channel-type" in body["Message"]

    unknown = uuid.uuid4().hex
    status, headers, body = list_endpoints(api_url, unknown, {})

    assert status == 404
    assert headers["X-Amzn-ErrorType"].startswith("NotFoundException")
    assert unknown in body["Message"]


# --- The execute-api-signing client -----------------------------------------------------------


def test_execute_api_client_writes_and_reads_endpoints_the_same_way(pinpoint_execute_api: Any, app_id: str) -> None:
    written = put(pinpoint_execute_api, app_id, "ep 1/x", FULL)

    assert written["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert written["MessageBody"]["Message"] == "Accepted"
    assert user_endpoint_ids(pinpoint_execute_api, app_id, "user-1") == {"ep 1/x"}
    endpoint = get(pinpoint_execute_api, app_id, "ep 1/x")
    assert endpoint["Location"]["Latitude"] == 48.9
    deleted = pinpoint_execute_api.delete_user_endpoints(ApplicationId=app_id, UserId="user-1")
    assert [e["Id"] for e in deleted["EndpointsResponse"]["Item"]] == ["ep 1/x"]
