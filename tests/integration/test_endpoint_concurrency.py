"""Concurrent endpoint writers against moto: nothing lost, caps hold, a rejected request writes nothing.

Real threads call the real services (the api handler's resolver is per process, as in Lambda);
every write goes through DynamoDB transactions whose conditions decide who re-plans.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from homing.adapters.dynamodb.catalog import CatalogRepository
from homing.adapters.dynamodb.endpoints import EndpointChanges, EndpointRepository
from homing.codec import build
from homing.domain.endpoints import EndpointRequest
from homing.domain.errors import BadRequest, Conflict, HomingError
from homing.services.endpoints import EndpointService
from homing.services.retry import WRITE_ATTEMPTS


@pytest.fixture
def svc(aws: None) -> Any:
    from homing.bootstrap import services

    return services()


@pytest.fixture
def app_id(svc: Any) -> str:
    return str(svc.apps.create("concurrency", None).id)


def req(body: dict[str, Any]) -> EndpointRequest:
    return build(EndpointRequest, body)


def run_all(calls: list[Callable[..., Any]]) -> list[Any]:
    """Run the calls at once on as many threads; each result is the return value or the error raised."""

    def one(call: Callable[..., Any]) -> Any:
        try:
            return call()
        except HomingError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def user_record(app_id: str, user_id: str) -> set[str]:
    return set(EndpointRepository().user_set(app_id, user_id).keys)


def test_sixteen_writers_on_one_endpoint_lose_no_key(svc: Any, app_id: str) -> None:
    svc.endpoints.update_endpoint(app_id, "ep", req({"ChannelType": "EMAIL", "Address": "a@example.com"}), "r0")
    calls = [
        (
            lambda i=i: svc.endpoints.update_endpoint(
                app_id,
                "ep",
                req(
                    {
                        "Attributes": {f"a{i}": ["x"]},
                        "Metrics": {f"m{i}": i},
                        "User": {"UserAttributes": {f"u{i}": ["y"]}},
                    }
                ),
                f"r{i}",
            )
        )
        for i in range(16)
    ]
    results = run_all(calls)
    assert not [r for r in results if isinstance(r, HomingError)]
    stored = svc.endpoints.get_endpoint(app_id, "ep")
    assert set(stored.attributes) == {f"a{i}" for i in range(16)}
    assert set(stored.metrics) == {f"m{i}" for i in range(16)}
    assert set(stored.user.user_attributes or {}) == {f"u{i}" for i in range(16)}
    assert stored.address == "a@example.com"


def test_twenty_concurrent_creates_for_one_user_store_exactly_fifteen(svc: Any, app_id: str) -> None:
    calls = [
        (
            lambda i=i: svc.endpoints.update_endpoint(
                app_id,
                f"ep-{i}",
                req({"ChannelType": "EMAIL", "Address": f"u{i}@example.com", "User": {"UserId": "u"}}),
                "r",
            )
        )
        for i in range(20)
    ]
    results = run_all(calls)
    refused = [r for r in results if isinstance(r, HomingError)]
    assert len(refused) == 5
    assert all(isinstance(r, BadRequest) and "maximum endpoint per user count: 15" in r.message for r in refused)
    stored = svc.endpoints.get_user_endpoints(app_id, "u")
    assert len(stored) == 15
    assert user_record(app_id, "u") == {e.id for e in stored}


def test_concurrent_push_joins_evict_and_keep_the_user_at_fifteen(svc: Any, app_id: str) -> None:
    for i in range(15):
        body = {
            "ChannelType": "GCM",
            "Address": f"t{i}",
            "User": {"UserId": "u"},
            "EffectiveDate": f"2026-01-{i + 1:02d}",
        }
        svc.endpoints.update_endpoint(app_id, f"old-{i}", req(body), "r")
    calls = [
        (
            lambda i=i: svc.endpoints.update_endpoint(
                app_id, f"new-{i}", req({"ChannelType": "APNS", "Address": f"n{i}", "User": {"UserId": "u"}}), "r"
            )
        )
        for i in range(6)
    ]
    assert not [r for r in run_all(calls) if isinstance(r, HomingError)]
    stored = svc.endpoints.get_user_endpoints(app_id, "u")
    assert len(stored) == 15
    assert {e.id for e in stored} >= {f"new-{i}" for i in range(6)}
    evicted = [svc.endpoints.get_endpoint(app_id, f"old-{i}") for i in range(6)]  # the six oldest
    assert all(e.user_id is None and e.endpoint_status == "INACTIVE" for e in evicted)
    assert user_record(app_id, "u") == {e.id for e in stored}


def test_concurrent_catalogue_growth_never_passes_the_cap(svc: Any, app_id: str) -> None:
    """16 writers of 20 new names each: 12 fit under 250, the other 4 are refused, whatever the order."""
    calls = [
        (
            lambda i=i: svc.endpoints.update_endpoint(
                app_id,
                f"ep-{i}",
                req({"ChannelType": "CUSTOM", "Attributes": {f"w{i}n{j}": ["v"] for j in range(20)}}),
                "r",
            )
        )
        for i in range(16)
    ]
    results = run_all(calls)
    refused = [r for r in results if isinstance(r, HomingError)]
    assert len(refused) == 4
    assert all(isinstance(r, BadRequest) and "at most 250 attribute names" in r.message for r in refused)
    names = CatalogRepository().attribute_names(app_id)
    assert len(names) == 240
    stored = [i for i, r in enumerate(results) if not isinstance(r, HomingError)]
    assert names == {f"endpoint-custom-attributes#w{i}n{j}" for i in stored for j in range(20)}


def test_deletes_and_moves_racing_keep_the_user_records_true(svc: Any, app_id: str) -> None:
    for i in range(12):
        svc.endpoints.update_endpoint(
            app_id, f"ep-{i}", req({"ChannelType": "SMS", "Address": f"+1555{i:04d}", "User": {"UserId": "u"}}), "r"
        )
    calls: list[Callable[..., Any]] = [lambda i=i: svc.endpoints.delete_endpoint(app_id, f"ep-{i}") for i in range(4)]
    calls += [
        lambda i=i: svc.endpoints.update_endpoint(app_id, f"ep-{i}", req({"User": {"UserId": "v"}}), "r")
        for i in range(4, 8)
    ]
    calls += [
        lambda i=i: svc.endpoints.update_endpoint(app_id, f"ep-{i}", req({"Attributes": {"k": [str(i)]}}), "r")
        for i in range(8, 12)
    ]
    assert not [r for r in run_all(calls) if isinstance(r, HomingError)]
    assert {e.id for e in svc.endpoints.get_user_endpoints(app_id, "u")} == {f"ep-{i}" for i in range(8, 12)}
    assert user_record(app_id, "u") == {f"ep-{i}" for i in range(8, 12)}
    assert user_record(app_id, "v") == {f"ep-{i}" for i in range(4, 8)}


def test_delete_racing_updates_of_the_same_endpoint_leaves_no_stray_record(svc: Any, app_id: str) -> None:
    svc.endpoints.update_endpoint(
        app_id, "ep", req({"ChannelType": "SMS", "Address": "+15550000", "User": {"UserId": "u"}}), "r"
    )
    calls: list[Callable[..., Any]] = [lambda: svc.endpoints.delete_endpoint(app_id, "ep")]
    calls += [
        lambda i=i: svc.endpoints.update_endpoint(app_id, "ep", req({"Attributes": {f"a{i}": ["x"]}}), "r")
        for i in range(5)
    ]
    results = run_all(calls)
    assert not [r for r in results if isinstance(r, HomingError)]
    # Whatever the order, the user's record lists the endpoint exactly when it is stored with that user.
    found = svc.endpoints.find(app_id, "ep")
    expected = {"ep"} if found is not None and found.user_id == "u" else set()
    assert user_record(app_id, "u") == expected


class _Interposing(EndpointRepository):
    """Before each of its first ``times`` commits, another request commits a change to ``endpoint_id``."""

    def __init__(self, other: EndpointService, app_id: str, endpoint_id: str, times: int) -> None:
        self.other, self.app_id, self.endpoint_id, self.left = other, app_id, endpoint_id, times
        self.commits = 0

    def commit(self, changes: EndpointChanges) -> None:
        self.commits += 1
        if self.left:
            self.left -= 1
            attribute = {f"other{self.left}": ["x"]}
            self.other.update_endpoint(self.app_id, self.endpoint_id, req({"Attributes": attribute}), "other")
        super().commit(changes)


def _service(svc: Any, repo: EndpointRepository) -> EndpointService:
    return EndpointService(
        svc.apps, repo, CatalogRepository(), clock=lambda: datetime.now(UTC), rng=random.Random(1), sleep=lambda _: None
    )


def test_a_writer_that_commits_between_read_and_write_makes_the_request_re_plan(svc: Any, app_id: str) -> None:
    svc.endpoints.update_endpoint(app_id, "ep", req({"ChannelType": "EMAIL", "Address": "a@example.com"}), "r0")
    repo = _Interposing(svc.endpoints, app_id, "ep", times=2)
    _service(svc, repo).update_endpoint(app_id, "ep", req({"Attributes": {"mine": ["y"]}}), "r1")
    assert repo.commits == 3  # two conflicts, then a commit planned on what the other writer stored
    assert set(svc.endpoints.get_endpoint(app_id, "ep").attributes) == {"mine", "other0", "other1"}


def test_exhausted_retries_are_a_409_that_wrote_nothing(svc: Any, app_id: str) -> None:
    svc.endpoints.update_endpoint(app_id, "ep", req({"ChannelType": "EMAIL", "Address": "a@example.com"}), "r0")
    repo = _Interposing(svc.endpoints, app_id, "ep", times=WRITE_ATTEMPTS)
    with pytest.raises(Conflict, match="retry the request"):
        _service(svc, repo).update_endpoint(app_id, "ep", req({"Attributes": {"mine": ["y"]}}), "r1")
    assert repo.commits == WRITE_ATTEMPTS
    assert "mine" not in svc.endpoints.get_endpoint(app_id, "ep").attributes


def test_batch_whose_30th_item_storage_rejects_writes_nothing_and_names_it(svc: Any, app_id: str) -> None:
    items = [req({"Id": f"ep-{i}", "ChannelType": "EMAIL", "Address": f"{i}@example.com"}) for i in range(30)]
    items[29] = req({"Id": "ep-29", "ChannelType": "EMAIL", "Address": "x" * 2100})  # past DynamoDB's index key size
    with pytest.raises(BadRequest, match=r"Item\[29\]\.Address") as raised:
        svc.endpoints.update_endpoints_batch(app_id, items, "r")
    assert "Item[0]" not in raised.value.message
    assert list(EndpointRepository().all_keys(app_id)) == []


def test_batch_of_100_endpoints_with_users_needs_two_transactions_and_stores_all(svc: Any, app_id: str) -> None:
    """100 endpoint items + 100 user records pass TransactWriteItems' 100: committed in parts, all stored."""
    items = [
        req({"Id": f"ep-{i}", "ChannelType": "EMAIL", "Address": f"{i}@example.com", "User": {"UserId": f"user-{i}"}})
        for i in range(100)
    ]
    repo = _Counting()
    _service(svc, repo).update_endpoints_batch(app_id, items, "r")
    assert len(repo.sizes) >= 2
    assert max(repo.sizes) <= 100
    assert sum(repo.sizes) == 200
    assert len(list(EndpointRepository().all_keys(app_id))) == 100
    assert all(user_record(app_id, f"user-{i}") == {f"ep-{i}"} for i in (0, 49, 50, 99))


class _Counting(EndpointRepository):
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def commit(self, changes: EndpointChanges) -> None:
        self.sizes.append(changes.size())
        super().commit(changes)


def test_delete_user_endpoints_removes_the_record_and_the_user_can_start_again(svc: Any, app_id: str) -> None:
    for i in range(15):
        body = {"ChannelType": "EMAIL", "Address": f"{i}@example.com", "User": {"UserId": "u"}}
        svc.endpoints.update_endpoint(app_id, f"ep-{i}", req(body), "r")
    assert len(svc.endpoints.delete_user_endpoints(app_id, "u")) == 15
    assert EndpointRepository().user_set(app_id, "u").version is None
    svc.endpoints.update_endpoint(app_id, "again", req({"ChannelType": "SMS", "User": {"UserId": "u"}}), "r")
    assert user_record(app_id, "u") == {"again"}


def test_users_stored_before_records_are_counted_from_the_index(svc: Any, app_id: str) -> None:
    from homing.adapters.dynamodb.catalog import CatalogItem

    for i in range(15):
        body = {"ChannelType": "EMAIL", "Address": f"{i}@example.com", "User": {"UserId": "u"}}
        svc.endpoints.update_endpoint(app_id, f"ep-{i}", req(body), "r")
    CatalogItem(app_id, "$user#u").delete()  # as an endpoint store written before user records existed
    CatalogItem(app_id, "$records").delete()  # (whose app is not marked as having only users with records)
    with pytest.raises(BadRequest, match="maximum endpoint per user count: 15"):
        svc.endpoints.update_endpoint(app_id, "ep-15", req({"ChannelType": "SMS", "User": {"UserId": "u"}}), "r")
    svc.endpoints.update_endpoint(app_id, "ep-0", req({"User": {"UserId": "v"}}), "r")  # leaving rebuilds it
    assert user_record(app_id, "u") == {f"ep-{i}" for i in range(1, 15)}


def test_batch_refused_for_its_content_writes_nothing_even_when_it_needs_several_transactions(
    svc: Any, app_id: str
) -> None:
    items = [
        req({"Id": f"ep-{i}", "ChannelType": "EMAIL", "Address": f"{i}@example.com", "User": {"UserId": f"user-{i}"}})
        for i in range(100)
    ]
    for i in range(84, 100):  # the 16th endpoint of one user, found only by planning the whole batch
        items[i] = req({"Id": f"ep-{i}", "ChannelType": "SMS", "Address": f"+1555{i:04d}", "User": {"UserId": "crowd"}})
    items[0] = req({"Id": "ep-0", "ChannelType": "EMAIL", "Attributes": {"a": ["x"]}, "User": {"UserId": "user-0"}})
    with pytest.raises(BadRequest, match=r"Item\[99\]\.User\.UserId: exceeded maximum endpoint per user count"):
        svc.endpoints.update_endpoints_batch(app_id, items, "r")
    assert list(EndpointRepository().all_keys(app_id)) == []
    assert CatalogRepository().attribute_names(app_id) == set()
    assert user_record(app_id, "crowd") == set()


class _BeforeCommit(EndpointRepository):
    """Runs ``hook`` before commit number ``at`` (1-based): another request committing in between."""

    def __init__(self, at: int, hook: Callable[[], Any]) -> None:
        self.at, self.hook, self.commits = at, hook, 0

    def commit(self, changes: EndpointChanges) -> None:
        self.commits += 1
        if self.commits == self.at:
            self.hook()
        super().commit(changes)


def test_a_race_that_makes_a_later_slice_invalid_is_a_409_saying_what_was_stored(svc: Any, app_id: str) -> None:
    """The documented limit of batches past one transaction: earlier slices stay, the answer says so."""
    for i in range(14):
        body = {"ChannelType": "SMS", "Address": f"+1555{i:04d}", "User": {"UserId": "crowd"}}
        svc.endpoints.update_endpoint(app_id, f"crowd-{i}", req(body), "r")
    items = [
        req({"Id": f"ep-{i}", "ChannelType": "EMAIL", "Address": f"{i}@example.com", "User": {"UserId": f"user-{i}"}})
        for i in range(99)
    ]
    items.append(req({"Id": "ep-99", "ChannelType": "SMS", "User": {"UserId": "crowd"}}))  # the crowd's 15th

    def fifteenth_elsewhere() -> None:
        svc.endpoints.update_endpoint(app_id, "crowd-14", req({"ChannelType": "SMS", "User": {"UserId": "crowd"}}), "x")

    # the plan's parts: 49 writes of two transaction items each, 49 more, then Item[98] and Item[99]
    repo = _BeforeCommit(3, fifteenth_elsewhere)
    with pytest.raises(
        Conflict, match=r"per user count.*the items before Item\[98\] are stored, Item\[98\] and the rest are not"
    ):
        _service(svc, repo).update_endpoints_batch(app_id, items, "r")
    stored = set(EndpointRepository().all_keys(app_id))
    assert {f"ep-{i}" for i in range(98)} <= stored
    assert not {"ep-98", "ep-99"} & stored
    assert len(svc.endpoints.get_user_endpoints(app_id, "crowd")) == 15


def test_a_user_id_too_long_for_the_user_record_is_a_400_naming_it(svc: Any, app_id: str) -> None:
    items = [
        req({"Id": "ok", "ChannelType": "SMS"}),
        req({"Id": "long", "ChannelType": "SMS", "User": {"UserId": "u" * 1019}}),
    ]
    with pytest.raises(BadRequest, match=r"Item\[1\]\.User\.UserId must be at most 1018 bytes"):
        svc.endpoints.update_endpoints_batch(app_id, items, "r")
    assert list(EndpointRepository().all_keys(app_id)) == []
    svc.endpoints.update_endpoint(app_id, "edge", req({"ChannelType": "SMS", "User": {"UserId": "u" * 1018}}), "r")
    assert user_record(app_id, "u" * 1018) == {"edge"}
