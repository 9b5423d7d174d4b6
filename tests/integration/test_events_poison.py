"""Events that cannot poison: what PutEvents accepts is counted; what it cannot count is refused
per event; a record whose counting still fails is reported alone and never fails its batch."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import drain_stream
from tests.integration.test_apps_api import create
from tests.integration.test_events_pipeline import event, iso, kpi, value

NOW = datetime.now(UTC).replace(microsecond=0)


def put(call: Any, app: str, items: dict[str, Any]) -> dict[str, Any]:
    r = call("POST", f"/v1/apps/{app}/events", {"BatchItem": items})
    assert r.status == 202, r.body
    return r.body["Results"]


def verdicts(results: dict[str, Any], endpoint_id: str) -> dict[str, tuple[int, str]]:
    return {k: (v["StatusCode"], v["Message"]) for k, v in results[endpoint_id]["EventsItemResponse"].items()}


@pytest.mark.parametrize(
    ("field", "ev"),
    [
        ("Timestamp", event("x", datetime(9999, 12, 31, tzinfo=UTC))),
        ("Timestamp", event("x", NOW + timedelta(hours=25))),
        ("Timestamp", event("x", datetime(1999, 12, 31, 23, 59, tzinfo=UTC))),
        ("Timestamp", {"EventType": "x", "Timestamp": "0001-01-01T00:00:00+14:00"}),
        ("Metrics.m", event("x", NOW, Metrics={"m": 1e16})),
        ("Metrics.m", event("x", NOW, Metrics={"m": -1.7976931348623157e308})),
        ("Session.StartTimestamp", event("x", NOW, Session={"Id": "s", "StartTimestamp": "9999-01-01T00:00:00Z"})),
        (
            "Session.StopTimestamp",
            event("x", NOW, Session={"Id": "s", "StartTimestamp": iso(NOW), "StopTimestamp": "3000-01-01T00:00:00Z"}),
        ),
        (
            "Session.Duration",
            event("_session.stop", NOW, Session={"Id": "s", "StartTimestamp": iso(NOW), "Duration": 10**30}),
        ),
        ("EventType", event("bad\ud800type", NOW)),
        ("Attributes.a", event("x", NOW, Attributes={"a": "\udfff"})),
    ],
)
def test_put_events_refuses_what_processing_cannot_count(call: Any, field: str, ev: dict[str, Any]) -> None:
    app = create(call)["Id"]
    results = put(call, app, {"ep": {"Events": {"bad": ev, "good": event("x", NOW)}}})
    got = verdicts(results, "ep")
    assert got["bad"][0] == 400
    assert got["bad"][1].startswith(field), got
    assert got["good"] == (202, "Accepted")
    assert len(drain_stream()) == 1


def test_accepted_edges_are_counted(call: Any, process: Any) -> None:
    """The limits themselves are accepted and counted: 2000-01-01, 24 h ahead, ±1e15, DynamoDB's smallest
    magnitude, the longest session Pinpoint's model can carry (Duration is a 32-bit integer)."""
    app = create(call)["Id"]
    evs = {
        "old": event("edge", datetime(2000, 1, 1, tzinfo=UTC), Metrics={"m": -1e15}),
        "ahead": event("edge", NOW + timedelta(hours=23, minutes=59), Metrics={"m": 1e15}),
        "tiny": event("edge", NOW, Metrics={"m": 1e-130}),
        "stop": event("_session.stop", NOW, Session={"Id": "s", "StartTimestamp": iso(NOW), "Duration": 2**31 - 1}),
    }
    assert set(verdicts(put(call, app, {"ep": {"Events": evs}}), "ep").values()) == {(202, "Accepted")}
    assert process(drain_stream()) == {"batchItemFailures": []}
    assert value(kpi(call, app, "average-session-length")) == 2**31 - 1


@pytest.mark.parametrize("length", [257, 300, 512])
def test_any_valid_endpoint_id_works(call: Any, process: Any, length: int) -> None:
    """Kinesis partition keys stop at 256 characters; endpoint ids go to 512 bytes."""
    app = create(call)["Id"]
    endpoint_id = "E" * (length - 1) + "#"
    item = {"Endpoint": {"ChannelType": "GCM", "Address": "tok", "User": {"UserId": "u" * 300}}}
    first = put(call, app, {endpoint_id: {**item, "Events": {"a": event("go", NOW)}}})
    assert first[endpoint_id]["EventsItemResponse"]["a"] == {"StatusCode": 202, "Message": "Accepted"}
    # another spelling of the same (case-insensitive) id lands on the same shard, in order
    put(call, app, {endpoint_id.lower(): {"Events": {"b": event("go", NOW + timedelta(seconds=1))}}})
    records = drain_stream()
    assert len({r["kinesis"]["partitionKey"] for r in records}) == 1
    assert all(len(r["kinesis"]["partitionKey"]) <= 256 for r in records)
    assert process(records) == {"batchItemFailures": []}
    assert value(kpi(call, app, "event-count")) == 2
    assert float(kpi(call, app, "daily-active-endpoints-grouped-by-date")[0]["Values"][0]["Value"]) == 1
    funnel = {"Steps": [{"EventType": "go"}, {"EventType": "go"}], "StartTime": iso(NOW - timedelta(hours=1))}
    r = call("POST", f"/v1/apps/{app}/funnels", {**funnel, "EndTime": iso(NOW + timedelta(hours=1))})
    assert [s["Count"] for s in r.body["Steps"]] == [1, 1]


@pytest.mark.parametrize("endpoint_id", ["x" * 1000, "é" * 300, "", "a\ud800"])
def test_an_invalid_endpoint_id_refuses_its_item_not_the_request(call: Any, endpoint_id: str) -> None:
    app = create(call)["Id"]
    results = put(
        call, app, {endpoint_id: {"Events": {"a": event("x", NOW)}}, "ok": {"Events": {"b": event("x", NOW)}}}
    )
    assert results[endpoint_id]["EndpointItemResponse"]["StatusCode"] == 400
    assert results[endpoint_id]["EventsItemResponse"]["a"]["StatusCode"] == 400
    assert "endpoint id" in results[endpoint_id]["EventsItemResponse"]["a"]["Message"]
    assert results["ok"]["EventsItemResponse"]["b"]["StatusCode"] == 202


def test_long_attribute_values_and_ids_fit_the_keys(call: Any, process: Any) -> None:
    """200 four-byte characters in a value, 50 in a name, a 2,000-character event id."""
    app = create(call)["Id"]
    name, text = "#" * 25 + "\U0001f600" * 25, "\U0001f600" * 200
    evs = {"e" * 2000: event("big", NOW, Attributes={name: text, "message_id": "\U0001f600" * 200})}
    put(call, app, {"ep": {"Events": evs}})
    assert process(drain_stream()) == {"batchItemFailures": []}
    stats = call("GET", f"/v1/apps/{app}/events/big/stats").body
    assert stats["Attributes"][name] == {text: 1}


def _record(records: list[dict[str, Any]], i: int) -> dict[str, Any]:
    return json.loads(base64.b64decode(records[i]["kinesis"]["data"]))


def _one_shard(call: Any, app: str, n: int) -> list[dict[str, Any]]:
    evs = {
        f"e{i:02d}": event("_session.start", NOW, Session={"Id": f"s{i}", "StartTimestamp": iso(NOW)}) for i in range(n)
    }
    put(call, app, {"ep": {"Events": evs}})
    records = drain_stream()
    assert len(records) == n
    assert len({r["eventID"].split(":")[0] for r in records}) == 1
    return records


def test_a_record_that_fails_counting_is_reported_alone_and_the_rest_count_once(
    call: Any, process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from homing.domain.analytics import Aggregator

    app = create(call)["Id"]
    records = _one_shard(call, app, 9)
    poison_id = _record(records, 5)["event_id"]
    real_apply = Aggregator.apply

    def apply(self: Aggregator, r: Any) -> None:
        if r.event_id == poison_id:  # stands in for any bug or DynamoDB validation error on one record
            raise ValueError("cannot count this one")
        real_apply(self, r)

    monkeypatch.setattr(Aggregator, "apply", apply)
    poison_seq = records[5]["kinesis"]["sequenceNumber"]
    assert process(records) == {"batchItemFailures": [{"itemIdentifier": poison_seq}]}
    assert value(kpi(call, app, "session-count")) == 8
    # Kinesis retries from the lowest failed sequence number: the poison fails again, alone, and
    # nothing after it is counted twice.
    assert process(records[5:]) == {"batchItemFailures": [{"itemIdentifier": poison_seq}]}
    assert process(records) == {"batchItemFailures": [{"itemIdentifier": poison_seq}]}
    assert value(kpi(call, app, "session-count")) == 8


def test_a_transient_error_fails_the_batch_for_a_retry_that_counts_once(
    call: Any, process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from homing.adapters.dynamodb.analytics import AnalyticsRepository

    app = create(call)["Id"]
    records = _one_shard(call, app, 4)
    real_commit = AnalyticsRepository.commit
    throttle = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")
    calls = {"n": 0}

    def commit(self: AnalyticsRepository, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise throttle
        real_commit(self, *args)

    monkeypatch.setattr(AnalyticsRepository, "commit", commit)
    with pytest.raises(ClientError):
        process(records)
    assert process(records) == {"batchItemFailures": []}
    assert value(kpi(call, app, "session-count")) == 4


@pytest.mark.parametrize(
    "change",
    [
        {"event_timestamp": 253402300799999},
        {"event_timestamp": float("nan")},
        {"event_timestamp": 10**400},
        {"metrics": {"m": float("inf")}},
        {"metrics": {"m": 1e300}},
        {"session": {"duration": "long"}},
        {"session": {"start_timestamp": 1, "stop_timestamp": 10**30}},
        {"endpoint": {"User": {"UserId": 5}}},
        {"event_type": "a\ud800"},
    ],
)
def test_records_that_cannot_be_counted_are_malformed(call: Any, process: Any, change: dict[str, Any]) -> None:
    app = create(call)["Id"]
    records = _one_shard(call, app, 3)
    data = {**_record(records, 1), **change}
    raw = json.dumps(data).encode()  # NaN/Infinity as Python writes them
    records[1] = {**records[1], "kinesis": {**records[1]["kinesis"], "data": base64.b64encode(raw).decode()}}
    assert process(records) == {"batchItemFailures": [{"itemIdentifier": records[1]["kinesis"]["sequenceNumber"]}]}
    assert value(kpi(call, app, "session-count")) == 2


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("9999-01-01T00:00:00Z", None, "start-time"),
        (None, "9999-12-31T00:00:00Z", "end-time"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z", "end-time"),
        ("0001-01-01T00:00:00Z", iso(NOW), "start-time"),
        (iso(NOW + timedelta(days=3)), iso(NOW + timedelta(days=4)), "end-time"),
        (iso(NOW), iso(NOW - timedelta(days=1)), "start-time"),
        (iso(NOW - timedelta(days=400)), iso(NOW), "The range"),
    ],
    # Fixed ids: ids made of the times would differ between xdist workers that collect a second apart.
    ids=["far-start", "far-end", "year-one", "before-retention", "future", "start-after-end", "too-long"],
)
def test_kpi_stats_and_funnel_ranges_outside_what_is_stored_are_bad_requests(
    call: Any, start: str | None, end: str | None, field: str
) -> None:
    app = create(call)["Id"]
    query = {k: [v] for k, v in (("start-time", start), ("end-time", end)) if v}
    for path in (f"/v1/apps/{app}/kpis/daterange/event-count", f"/v1/apps/{app}/events/x/stats"):
        r = call("GET", path, query=query)
        assert (r.status, r.error_type) == (400, "BadRequestException"), (path, r.body)
        assert r.body["Message"].startswith(field)
    r = call("GET", f"/v1/apps/{app}/kpis/daterange/txn-emails-sent", query=query)
    assert r.status == 400
    if start and end:
        funnel = {"Steps": [{"EventType": "a"}, {"EventType": "b"}], "StartTime": start, "EndTime": end}
        r = call("POST", f"/v1/apps/{app}/funnels", funnel)
        assert (r.status, r.error_type) == (400, "BadRequestException")


def test_brackets_in_names_are_plain_counters(call: Any, process: Any) -> None:
    """PynamoDB reads ``x[0]`` in a path as a list index and refuses a lone bracket."""
    app = create(call)["Id"]
    evs = {
        "a": event("lvl[0]", NOW, Metrics={"m]": 2.0}, Attributes={"k[": "v]"}),
        "b": event("x]", NOW),
        "c": event("_session.start", NOW, Session={"Id": "s", "StartTimestamp": iso(NOW)}),
    }
    put(
        call,
        app,
        {"ep": {"Endpoint": {"ChannelType": "GCM", "Address": "t", "Demographic": {"Model": "[x"}}, "Events": evs}},
    )
    assert process(drain_stream()) == {"batchItemFailures": []}
    stats = call("GET", f"/v1/apps/{app}/events/lvl%5B0%5D/stats").body  # encoded, as the SDKs send it
    assert (stats["Count"], stats["Attributes"], stats["Metrics"]["m]"]["Max"]) == (1, {"k[": {"v]": 1}}, 2.0)
    types = kpi(call, app, "custom-events-grouped-by-event-type")
    assert sorted(r["GroupedBys"][0]["Value"] for r in types) == ["lvl[0]", "x]"]
    models = kpi(call, app, "daily-active-endpoints-grouped-by-model")
    assert [r["GroupedBys"][1]["Value"] for r in models] == ["[x"]


def test_counters_named_after_user_data_are_items_of_their_own(call: Any, process: Any) -> None:
    """One item holds at most 400 KB: an app day must not grow with each distinct model, event type,
    campaign or country, so those counters live in an item each and KPIs read them back as one."""
    import boto3

    app = create(call)["Id"]
    items = {
        f"ep{i}": {
            "Endpoint": {"ChannelType": "GCM", "Address": f"t{i}", "Demographic": {"Model": f"m{i}-" + "x" * 150}},
            "Events": {"a": event(f"type{i}", NOW)},
        }
        for i in range(30)
    }
    put(call, app, items)
    assert process(drain_stream()) == {"batchItemFailures": []}
    table = boto3.resource("dynamodb").Table("homing-analytics")
    day_items = table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": f"APP#{app}"})["Items"]
    assert day_items
    assert not [name for item in day_items for name in item if ":" in name[2:]]  # fixed counters only
    values = table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": f"APV#{app}"})["Items"]
    assert len(values) == 30 + 30  # a model and an event type per endpoint
    models = kpi(call, app, "daily-active-endpoints-grouped-by-model")
    assert len(models) == 30
    types = kpi(call, app, "custom-events-grouped-by-event-type")
    assert sorted(r["GroupedBys"][0]["Value"] for r in types) == sorted(f"type{i}" for i in range(30))


def test_ids_too_long_for_a_key_in_kpi_and_stats_paths_are_refused(call: Any) -> None:
    """An id longer than a DynamoDB key can hold names nothing Homing stores: a 400 naming it, not a 500."""
    app = create(call)["Id"]
    long_id = "c" * 3000
    for path, field in (
        (f"/v1/apps/{app}/campaigns/{long_id}/kpis/daterange/email-open-rate", "campaign-id"),
        (f"/v1/apps/{app}/journeys/{long_id}/kpis/daterange/journey-emails-sent", "journey-id"),
        (f"/v1/apps/{app}/events/{long_id}/stats", "event-type"),
    ):
        r = call("GET", path)
        assert (r.status, r.body["Message"].split(" ")[0]) == (400, field)
