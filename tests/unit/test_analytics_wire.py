"""Pinpoint's JSON of the events half, without AWS: funnel requests (400s naming the field), and the
PutEvents and funnel responses shaped from domain values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.api.wire.analytics import funnel_request, funnel_response, range_query
from homing.api.wire.events import put_events_response
from homing.domain.errors import BadRequest
from homing.domain.events import ACCEPTED, NOT_STORED, ItemResult, Verdict, encode_record
from homing.domain.funnels import FunnelResult

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STEPS = [{"EventType": "a"}, {"EventType": "b", "Attributes": {"item": ["hat"]}}]
GOOD = {"Steps": STEPS, "StartTime": "2026-11-29T00:00:00Z", "EndTime": "2026-11-30T00:00:00Z"}


def parse(body: dict[str, Any]) -> Any:
    return funnel_request(json.dumps(body), NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Steps": STEPS[:1]}, "Steps must be a list of 2 to 10 steps"),
        ({"Steps": STEPS * 6}, "Steps must be a list of 2 to 10 steps"),
        ({"Steps": [STEPS[0], {"EventType": ""}]}, "Steps[1].EventType is required"),
        ({"Steps": [STEPS[0], "b"]}, "Steps[1].EventType is required"),
        ({"Steps": [{"EventType": "a", "Attributes": {"x": "y"}}, STEPS[1]]}, "Steps[0].Attributes must map"),
        ({"StartTime": None}, "StartTime is required (ISO 8601)"),
        ({"EndTime": "soon"}, "EndTime must be an ISO 8601 timestamp"),
        ({"StartTime": "1999-12-31T00:00:00Z"}, "StartTime must be between 2000-01-01 and 24 hours from now"),
        ({"StartTime": "2026-11-30T01:00:00Z"}, "StartTime must be before EndTime"),
        ({"StartTime": "2026-10-01T00:00:00Z"}, "The funnel range must be at most 31 days"),
        ({"WindowMinutes": 0}, "WindowMinutes must be an integer from 1 to 44640"),
        ({"WindowMinutes": True}, "WindowMinutes must be an integer from 1 to 44640"),
        ({"CountBy": "DEVICE"}, "CountBy must be ENDPOINT or USER"),
    ],
)
def test_a_bad_funnel_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse({**GOOD, **change})
    assert caught.value.message.startswith(message)


def test_a_funnel_round_trips_into_its_response() -> None:
    funnel = parse({**GOOD, "WindowMinutes": 90, "CountBy": "USER"})
    assert (funnel.window, funnel.count_by, funnel.steps[1].attributes) == (
        timedelta(minutes=90),
        "USER",
        {"item": ["hat"]},
    )
    assert funnel_response(FunnelResult(funnel, [5, 2])) == {
        "CountBy": "USER",
        "StartTime": "2026-11-29T00:00:00+00:00",
        "EndTime": "2026-11-30T00:00:00+00:00",
        "WindowMinutes": 90,
        "Steps": [
            {"EventType": "a", "Attributes": {}, "Count": 5},
            {"EventType": "b", "Attributes": {"item": ["hat"]}, "Count": 2},
        ],
    }


def test_range_query_reads_what_was_sent_and_treats_empty_as_absent() -> None:
    assert range_query({"start-time": "2026-11-01T00:00:00Z", "end-time": ""}) == ("2026-11-01T00:00:00Z", None)
    assert range_query(None) == range_query({})


def test_put_events_response_keeps_pinpoints_shape_and_order() -> None:
    results = {
        "ep-1": ItemResult(
            ACCEPTED, {"bad": Verdict(400, "EventType is required"), "ok": ACCEPTED, "lost": NOT_STORED}
        ),
        "ep-2": ItemResult(Verdict(400, "Endpoint id too long"), {}),
    }
    body = put_events_response(results)
    assert body == {
        "Results": {
            "ep-1": {
                "EndpointItemResponse": {"StatusCode": 202, "Message": "Accepted"},
                "EventsItemResponse": {
                    "bad": {"StatusCode": 400, "Message": "EventType is required"},
                    "ok": {"StatusCode": 202, "Message": "Accepted"},
                    "lost": {"StatusCode": 500, "Message": "The event could not be stored; retry it"},
                },
            },
            "ep-2": {
                "EndpointItemResponse": {"StatusCode": 400, "Message": "Endpoint id too long"},
                "EventsItemResponse": {},
            },
        }
    }
    assert list(body["Results"]["ep-1"]["EventsItemResponse"]) == ["bad", "ok", "lost"]


def test_a_stream_record_is_one_compact_json_line() -> None:
    data = encode_record({"event_type": "a", "attributes": {"k": "é"}})
    assert data.endswith(b"\n")
    assert data.count(b"\n") == 1
    assert json.loads(data) == {"event_type": "a", "attributes": {"k": "é"}}
    assert b": " not in data
    assert b", " not in data
