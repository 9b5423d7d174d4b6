"""PutEvents' endpoints written together (EndpointService.upsert_each) against moto.

The outcome must be that of one ``update_endpoint`` (or ``find``) per item, one after the other; what
changes is the number of DynamoDB calls when the items share nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from homing.adapters.dynamodb.endpoints import EndpointRepository
from homing.codec import build
from homing.domain.endpoints import Endpoint, EndpointRequest
from homing.domain.errors import HomingError
from tests.integration.test_apps_api import create


@pytest.fixture
def svc(aws: None) -> Any:
    from homing.bootstrap import services

    return services()


@pytest.fixture
def dynamodb_calls() -> Iterator[Counter[str]]:
    """DynamoDB operations sent, by name (PynamoDB sends through its botocore client too)."""
    import botocore.client

    calls: Counter[str] = Counter()
    client_class: Any = botocore.client.BaseClient
    make_api_call = client_class._make_api_call

    def counting(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls[operation_name] += 1
        return make_api_call(self, operation_name, api_params)

    client_class._make_api_call = counting
    try:
        yield calls
    finally:
        client_class._make_api_call = make_api_call


def req(body: dict[str, Any]) -> EndpointRequest:
    return build(EndpointRequest, body)


def stored(app_id: str) -> dict[str, Any]:
    """Every endpoint of the app and every user record, without what differs between two apps or runs."""
    endpoints, _ = EndpointRepository().list(app_id, 1000, None)
    out: dict[str, Any] = {}
    for e in endpoints:
        out[e.id] = dataclasses.replace(
            e, application_id="", creation_date="", effective_date="", cohort_id="", request_id=None
        )
        if e.user_id:
            out[f"user {e.user_id}"] = sorted(EndpointRepository().user_set(app_id, e.user_id).keys)
    return out


def outcome(result: Endpoint | HomingError | None) -> Any:
    if isinstance(result, HomingError):
        public = next(c for c in type(result).__mro__ if c.__module__ == "homing.domain.errors")
        return (public.__name__, result.message)
    return None if result is None else result.id


def one_by_one(svc: Any, app_id: str, items: list[tuple[str, EndpointRequest | None]]) -> list[Any]:
    out: list[Any] = []
    for endpoint_id, request in items:
        try:
            if request is None:
                out.append(svc.endpoints.find(app_id, endpoint_id))
            else:
                out.append(svc.endpoints.update_endpoint(app_id, endpoint_id, request, "r", app_checked=True))
        except HomingError as error:
            out.append(error)
    return out


def random_items(rng: random.Random, n: int) -> list[tuple[str, EndpointRequest | None]]:
    """Items that often share an endpoint (ids differ only in case), a user or an address."""
    items: list[tuple[str, EndpointRequest | None]] = []
    for _ in range(n):
        endpoint_id = rng.choice(["ep-a", "EP-A", "ep-b", "ep-c", "ep-d", "ep-e", "ep-f", "ep-g"])
        if rng.random() < 0.15:
            items.append((endpoint_id, None))
            continue
        body: dict[str, Any] = {"ChannelType": rng.choice(["EMAIL", "GCM"])}
        if rng.random() < 0.8:
            body["Address"] = rng.choice(["x@example.com", "y@example.com", "z@example.com", "w@example.com"])
        if rng.random() < 0.6:
            body["User"] = {"UserId": rng.choice(["u1", "u2", "u3", "u4"])}
        if rng.random() < 0.5:
            body["Attributes"] = {rng.choice(["colour", "size"]): [rng.choice(["red", "blue"])]}
        if rng.random() < 0.1:
            body["OptOut"] = "ALL"
        if rng.random() < 0.05:
            body["Attributes"] = {"x" * 51: ["too long a name"]}  # refused for its content
        items.append((endpoint_id, req(body)))
    return items


@pytest.mark.parametrize("seed", range(16))
def test_a_batch_ends_as_the_same_writes_one_after_another(svc: Any, seed: int) -> None:
    rng = random.Random(seed)
    together, alone = svc.apps.create("together", None).id, svc.apps.create("alone", None).id
    earlier = random_items(rng, 4)  # what the apps already hold
    items = random_items(rng, rng.randrange(1, 12))
    for app_id in (together, alone):
        one_by_one(svc, app_id, earlier)
    expected = [outcome(r) for r in one_by_one(svc, alone, items)]
    got = [outcome(r) for r in svc.endpoints.upsert_each(together, items, "r")]
    assert got == expected
    assert stored(together) == stored(alone)


def test_independent_items_cost_a_few_calls_not_a_few_per_item(
    call: Any, aws: None, dynamodb_calls: Counter[str]
) -> None:
    app = create(call)["Id"]
    batch = {
        f"ep-{i}": {
            "Endpoint": {
                "ChannelType": "EMAIL",
                "Address": f"user{i}@example.com",
                "User": {"UserId": f"u{i}"},
                "Attributes": {"plan": ["free"]},
            },
            "Events": {"e1": {"EventType": "level_up", "Timestamp": "2026-11-30T06:00:00Z"}},
        }
        for i in range(10)
    }
    dynamodb_calls.clear()
    r = call("POST", f"/v1/apps/{app}/events", {"BatchItem": batch})
    assert r.status == 202, r.body
    assert all(item["EndpointItemResponse"]["StatusCode"] == 202 for item in r.body["Results"].values())
    # one transaction for the ten endpoints, their user records and the attribute name; their reads batched
    assert dynamodb_calls["TransactWriteItems"] == 1
    assert dynamodb_calls["BatchGetItem"] <= 2
    assert dynamodb_calls["GetItem"] == 2  # the app, the attribute-name catalogue
    # each address's holders (no batch query exists: they run side by side), whether the app holds any
    # endpoint (it holds none: users without a record have no endpoints to look up), the app's event types
    assert dynamodb_calls["Query"] == 10 + 1 + 1
    assert dynamodb_calls["PutItem"] == 1  # the app marked so (Catalog "$records")
    assert call("GET", f"/v1/apps/{app}/endpoints/ep-7").body["User"]["UserId"] == "u7"
    assert set(EndpointRepository().user_set(app, "u7").keys) == {"ep-7"}


def test_a_race_between_the_reads_and_the_commit_replans_the_items_one_by_one(svc: Any) -> None:
    app_id = svc.apps.create("race", None).id
    svc.endpoints.update_endpoint(app_id, "ep-1", req({"ChannelType": "EMAIL", "Address": "a@example.com"}), "r0")
    repo = svc.endpoints._endpoints
    commit = repo.commit
    raced: list[bool] = []

    def racing_commit(changes: Any) -> None:
        if not raced:  # another request changes ep-1 after this one read it
            raced.append(True)
            svc.endpoints.update_endpoint(app_id, "ep-1", req({"Attributes": {"other": ["x"]}}), "r1")
        commit(changes)

    repo.commit = racing_commit
    try:
        results = svc.endpoints.upsert_each(
            app_id,
            [("ep-1", req({"Attributes": {"mine": ["y"]}})), ("ep-2", req({"ChannelType": "SMS", "Address": "+1"}))],
            "r2",
        )
    finally:
        repo.commit = commit
    assert [outcome(r) for r in results] == ["ep-1", "ep-2"]
    assert svc.endpoints.find(app_id, "ep-1").attributes == {"other": ["x"], "mine": ["y"]}  # no update lost
    assert svc.endpoints.find(app_id, "ep-2").address == "+1"


def test_near_the_attribute_name_cap_items_are_counted_in_order(svc: Any, monkeypatch: Any) -> None:
    from homing.domain.limits import QUOTAS

    monkeypatch.setattr(svc.endpoints, "_quotas", dataclasses.replace(QUOTAS, attribute_names_per_app=3))
    app_id = svc.apps.create("cap", None).id
    items: list[tuple[str, EndpointRequest | None]] = [
        (f"ep-{i}", req({"ChannelType": "EMAIL", "Address": f"{i}@example.com", "Attributes": {name: ["v"]}}))
        for i, name in enumerate(["a", "b", "a", "c", "d", "b"])
    ]
    results = [outcome(r) for r in svc.endpoints.upsert_each(app_id, items, "r")]
    assert results[:4] == ["ep-0", "ep-1", "ep-2", "ep-3"]
    assert results[4][0] == "BadRequest"
    assert "at most 3 attribute names" in results[4][1]
    assert results[5] == "ep-5"


def test_get_endpoint_is_one_round_trip_and_answers_404s_as_before(
    call: Any, aws: None, dynamodb_calls: Counter[str]
) -> None:
    app = create(call)["Id"]
    assert call("PUT", f"/v1/apps/{app}/endpoints/ep-1", {"ChannelType": "SMS", "Address": "+1"}).status == 202
    dynamodb_calls.clear()
    r = call("GET", f"/v1/apps/{app}/endpoints/EP-1")
    assert r.status == 200
    assert r.body["Address"] == "+1"
    assert dict(dynamodb_calls) == {"BatchGetItem": 1}
    missing = call("GET", f"/v1/apps/{app}/endpoints/ep-2")
    assert (missing.status, missing.error_type) == (404, "NotFoundException")
    assert "Endpoint ep-2 not found" in missing.body["Message"]
    assert call("DELETE", f"/v1/apps/{app}").status == 200
    gone = call("GET", f"/v1/apps/{app}/endpoints/ep-1")  # a tombstoned app: its endpoints are not visible
    assert (gone.status, gone.error_type) == (404, "NotFoundException")
    assert gone.body["Message"] == f"Application {app} not found"
