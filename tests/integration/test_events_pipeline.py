"""PutEvents -> Kinesis -> process_events -> KPIs, through the real handlers against moto."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import drain_stream
from tests.integration.test_apps_api import create

NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def event(kind: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"EventType": kind, "Timestamp": iso(at), **extra}


def test_put_events_updates_endpoint_and_streams_pinpoint_records(call: Any) -> None:
    app = create(call)["Id"]
    body = {
        "BatchItem": {
            "ep-1": {
                "Endpoint": {
                    "ChannelType": "APNS",
                    "Address": "tok",
                    "User": {"UserId": "u1"},
                    "Demographic": {"Platform": "ios"},
                },
                "Events": {
                    "e1": event("_session.start", NOW, Session={"Id": "s1", "StartTimestamp": iso(NOW)}),
                    "e2": event(
                        "purchase", NOW, Attributes={"item": "hat"}, Metrics={"price": 9.5}, AppVersionCode="25"
                    ),
                    "bad": event("x", NOW, Attributes={f"k{i}": "v" for i in range(41)}),
                },
            }
        }
    }
    r = call("POST", f"/v1/apps/{app}/events", body)
    assert r.status == 202, r.body
    result = r.body["Results"]["ep-1"]
    assert result["EndpointItemResponse"] == {"StatusCode": 202, "Message": "Accepted"}
    assert result["EventsItemResponse"]["e1"]["StatusCode"] == 202
    assert result["EventsItemResponse"]["e2"]["StatusCode"] == 202
    assert result["EventsItemResponse"]["bad"]["StatusCode"] == 400
    assert "40" in result["EventsItemResponse"]["bad"]["Message"]
    assert call("GET", f"/v1/apps/{app}/endpoints/ep-1").body["User"]["UserId"] == "u1"
    records = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in drain_stream()]
    assert len(records) == 2
    purchase = next(r for r in records if r["event_type"] == "purchase")
    assert purchase["application"]["app_id"] == app
    assert purchase["application"]["version_code"] == "25"
    assert purchase["client"]["client_id"] == "ep-1"
    assert purchase["attributes"] == {"item": "hat"}
    assert purchase["metrics"] == {"price": 9.5}
    assert purchase["event_timestamp"] == int(NOW.timestamp() * 1000)
    assert purchase["device"]["platform"] == {"name": "ios"}
    assert purchase["endpoint"]["User"]["UserId"] == "u1"


def test_put_events_errors(call: Any) -> None:
    app = create(call)["Id"]
    assert call("POST", "/v1/apps/nope/events", {"BatchItem": {"e": {"Events": {}}}}).status == 404
    assert call("POST", f"/v1/apps/{app}/events", {}).status == 400
    many = {f"e{i}": event("x", NOW) for i in range(101)}
    r = call("POST", f"/v1/apps/{app}/events", {"BatchItem": {"ep": {"Events": many}}})
    assert (r.status, r.error_type) == (400, "BadRequestException")
    r = call("POST", f"/v1/apps/{app}/events", {"BatchItem": {"ep": {"Events": {"a": {"EventType": "x"}}}}})
    assert r.body["Results"]["ep"]["EventsItemResponse"]["a"] == {"StatusCode": 400, "Message": "Timestamp is required"}
    r = call(
        "POST",
        f"/v1/apps/{app}/events",
        {"BatchItem": {"ep": {"Endpoint": {"ChannelType": "NOPE"}, "Events": {"a": event("x", NOW)}}}},
    )
    assert r.body["Results"]["ep"]["EndpointItemResponse"]["StatusCode"] == 400
    assert r.body["Results"]["ep"]["EventsItemResponse"]["a"]["StatusCode"] == 202


def test_custom_event_type_quota(call: Any, monkeypatch: Any) -> None:
    from homing.domain import limits

    app = create(call)["Id"]
    from homing.bootstrap import services

    quotas = limits.Quotas(custom_event_types_per_app=2)
    monkeypatch.setattr(services().events, "_quotas", quotas)
    evs = {
        "a": event("t1", NOW),
        "b": event("t2", NOW),
        "c": event("t3", NOW),
        "d": event("_session.start", NOW, Session={"Id": "s", "StartTimestamp": iso(NOW)}),
    }
    r = call("POST", f"/v1/apps/{app}/events", {"BatchItem": {"ep": {"Events": evs}}})
    verdicts = {k: v["StatusCode"] for k, v in r.body["Results"]["ep"]["EventsItemResponse"].items()}
    assert verdicts == {"a": 202, "b": 202, "c": 400, "d": 202}
    again = call(
        "POST",
        f"/v1/apps/{app}/events",
        {"BatchItem": {"ep": {"Events": {"x": event("t1", NOW), "y": event("t4", NOW)}}}},
    )
    assert {k: v["StatusCode"] for k, v in again.body["Results"]["ep"]["EventsItemResponse"].items()} == {
        "x": 202,
        "y": 400,
    }


def kpi(call: Any, app: str, name: str, days_back: int = 3) -> list[dict[str, Any]]:
    q = {"start-time": [iso(NOW - timedelta(days=days_back))], "end-time": [iso(NOW + timedelta(hours=1))]}
    r = call("GET", f"/v1/apps/{app}/kpis/daterange/{name}", query=q)
    assert r.status == 200, r.body
    assert r.body["KpiName"] == name
    return r.body["KpiResult"]["Rows"]


def value(rows: list[dict[str, Any]]) -> float:
    assert len(rows) == 1, rows
    return float(rows[0]["Values"][0]["Value"])


def test_events_show_up_in_kpis_and_replay_counts_once(call: Any, process: Any) -> None:
    app = create(call)["Id"]
    items = {}
    for i in range(4):
        items[f"ep{i}"] = {
            "Endpoint": {
                "ChannelType": "GCM",
                "Address": f"t{i}",
                "User": {"UserId": f"u{i % 2}"},
                "Demographic": {"Platform": "android" if i else "ios"},
            },
            "Events": {
                "s": event("_session.start", NOW, Session={"Id": f"s{i}", "StartTimestamp": iso(NOW)}),
                "t": event(
                    "_session.stop",
                    NOW + timedelta(minutes=1),
                    Session={
                        "Id": f"s{i}",
                        "StartTimestamp": iso(NOW),
                        "StopTimestamp": iso(NOW + timedelta(minutes=1)),
                        "Duration": 60000,
                    },
                ),
                "p": event(
                    "purchase", NOW, Attributes={"item": "hat" if i < 3 else "cap"}, Metrics={"price": float(i + 1)}
                ),
            },
        }
    assert call("POST", f"/v1/apps/{app}/events", {"BatchItem": items}).status == 202
    records = drain_stream()
    assert process(records) == {"batchItemFailures": []}
    before = {
        name: kpi(call, app, name)
        for name in (
            "session-count",
            "daily-active-endpoints-grouped-by-date",
            "daily-active-users-grouped-by-date",
            "new-users",
            "average-session-length",
            "event-count",
        )
    }
    assert value(before["session-count"]) == 4
    assert value(before["new-users"]) == 2
    assert float(before["daily-active-endpoints-grouped-by-date"][0]["Values"][0]["Value"]) == 4
    assert float(before["daily-active-users-grouped-by-date"][0]["Values"][0]["Value"]) == 2
    assert value(before["average-session-length"]) == 60000
    assert value(before["event-count"]) == 12
    # Kinesis is at least once: the same batch again, and in pieces, changes nothing.
    assert process(records) == {"batchItemFailures": []}
    assert process(records[3:]) == {"batchItemFailures": []}
    assert {name: kpi(call, app, name) for name in before} == before

    stats = call(
        "GET", f"/v1/apps/{app}/events/purchase/stats", query={"start-time": [iso(NOW - timedelta(days=1))]}
    ).body
    assert stats["Count"] == 4
    assert stats["Attributes"] == {"item": {"hat": 3, "cap": 1}}
    assert stats["Metrics"]["price"] == {"Sum": 10.0, "Count": 4.0, "Min": 1.0, "Max": 4.0, "Average": 2.5}
    platforms = kpi(call, app, "daily-active-endpoints-grouped-by-platform")
    assert {r["GroupedBys"][1]["Value"]: float(r["Values"][0]["Value"]) for r in platforms} == {
        "android": 3.0,
        "ios": 1.0,
    }
    types = kpi(call, app, "custom-events-grouped-by-event-type")
    assert [(r["GroupedBys"][0]["Value"], r["Values"][0]["Value"]) for r in types] == [("purchase", "4.0")]


def test_malformed_record_is_a_batch_item_failure_and_the_rest_count(call: Any, process: Any) -> None:
    app = create(call)["Id"]
    evs = {f"e{i}": event("_session.start", NOW, Session={"Id": f"s{i}", "StartTimestamp": iso(NOW)}) for i in range(3)}
    call("POST", f"/v1/apps/{app}/events", {"BatchItem": {"ep": {"Events": evs}}})
    records = drain_stream()
    poison = {
        **records[0],
        "kinesis": {
            **records[0]["kinesis"],
            "sequenceNumber": str(int(records[0]["kinesis"]["sequenceNumber"]) + 1),
            "data": base64.b64encode(b"not json").decode(),
        },
    }
    batch = [records[0], poison, *records[1:]]
    batch.sort(key=lambda r: int(r["kinesis"]["sequenceNumber"]))
    out = process(batch)
    assert out == {"batchItemFailures": [{"itemIdentifier": poison["kinesis"]["sequenceNumber"]}]}
    assert value(kpi(call, app, "session-count")) == 3
    # retried from the poison record: it fails again, nothing is counted twice
    assert process(batch[batch.index(poison) :]) == out
    assert value(kpi(call, app, "session-count")) == 3


def test_kpi_request_rules(call: Any) -> None:
    app = create(call)["Id"]
    base = f"/v1/apps/{app}/kpis/daterange"
    r = call("GET", f"{base}/no-such-kpi")
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert "kpi-name" in r.body["Message"]
    assert call("GET", f"{base}/Bad_Name").status == 400
    too_long = {"start-time": [iso(NOW - timedelta(days=40))], "end-time": [iso(NOW)]}
    assert "31 days" in call("GET", f"{base}/txn-emails-sent", query=too_long).body["Message"]
    too_old = {"start-time": [iso(NOW - timedelta(days=100))], "end-time": [iso(NOW - timedelta(days=95))]}
    assert "90 days" in call("GET", f"{base}/txn-emails-sent", query=too_old).body["Message"]
    assert call("GET", f"{base}/txn-emails-sent", query={"start-time": ["nope"]}).status == 400
    r = call("GET", f"{base}/txn-emails-sent")
    assert r.status == 200
    assert r.body["KpiResult"] == {"Rows": []}
    assert call("GET", "/v1/apps/nope/kpis/daterange/txn-emails-sent").status == 404


def test_names_with_dots_are_plain_counters(call: Any, process: Any) -> None:
    """Event types, attribute values and demographics often contain dots (``level.up``, ``2.1``)."""
    app = create(call)["Id"]
    item = {
        "Endpoint": {"ChannelType": "GCM", "Address": "t", "Demographic": {"AppVersion": "2.1.0"}},
        "Events": {"a": event("level.up", NOW, Attributes={"version": "2.1"}, Metrics={"score.max": 1.5})},
    }
    call("POST", f"/v1/apps/{app}/events", {"BatchItem": {"ep": item}})
    assert process(drain_stream()) == {"batchItemFailures": []}
    stats = call("GET", f"/v1/apps/{app}/events/level.up/stats").body
    assert stats["Count"] == 1
    assert stats["Attributes"] == {"version": {"2.1": 1}}
    assert stats["Metrics"]["score.max"]["Max"] == 1.5
    versions = kpi(call, app, "daily-active-endpoints-grouped-by-app-version")
    assert [r["GroupedBys"][1]["Value"] for r in versions] == ["2.1.0"]
