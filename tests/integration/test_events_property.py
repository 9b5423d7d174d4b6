"""Property: any event PutEvents accepts is counted by process_events without error.

Hostile events (any Unicode, timestamps from year 1 to 9999 in any zone, huge and tiny numbers,
long names, ids and values, session fields, engagement attributes) go through the real API edge
parser and EventService against moto; whatever was accepted is then put through the real
ProcessingService, which must report no failure and count every accepted event.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homing.domain.errors import BadRequest
from tests.conftest import drain_stream

NOW = datetime.now(UTC)
STANDARD = ["_session.start", "_session.stop", "_email.send", "_email.open", "_SMS.SUCCESS", "_campaign.send"]
ENGAGEMENT_KEYS = ["campaign_id", "message_id", "journey_id", "number_of_message_parts", "iso_country_code"]

texts = st.text(max_size=60) | st.text(st.sampled_from("#%:.$ \U0001f600é\x00"), max_size=60)
long_texts = st.text(max_size=260) | st.just("\U0001f600" * 200)
clean = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
numbers = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**20), 10**20)
    | st.sampled_from([1e15, -1e15, 1e-300])
)


def _when(at: datetime) -> str:
    return at.isoformat()


zones = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
near_now = st.builds(
    lambda s, z: (NOW + timedelta(seconds=s)).astimezone(z).isoformat(), st.integers(-(10**9), 2 * 86_400), zones
)
anything = (
    st.builds(lambda d, z: _when(d.replace(tzinfo=z)), st.datetimes(), zones)
    | st.builds(lambda d: d.isoformat(), st.datetimes(min_value=datetime(1999, 12, 31), max_value=datetime(2000, 1, 2)))
    | texts
)
times = st.one_of(near_now, near_now, near_now, anything)
events = st.fixed_dictionaries(
    {"EventType": st.sampled_from(STANDARD) | st.text(min_size=1, max_size=50) | texts, "Timestamp": times},
    optional={
        "Attributes": st.dictionaries(st.sampled_from(ENGAGEMENT_KEYS) | texts, long_texts, max_size=8),
        "Metrics": st.dictionaries(st.sampled_from(["price_in_millicents_usd"]) | texts, numbers, max_size=5),
        "Session": st.fixed_dictionaries(
            {"Id": texts, "StartTimestamp": times},
            optional={"StopTimestamp": times, "Duration": st.integers(-(10**20), 10**20)},
        ),
        "AppVersionCode": texts,
    },
)
endpoints = st.fixed_dictionaries(
    {},
    optional={
        "ChannelType": st.just("GCM"),
        "Address": clean,
        "User": st.fixed_dictionaries({"UserId": st.text(st.characters(exclude_categories=["Cs"]), max_size=600)}),
        "Demographic": st.fixed_dictionaries({"Platform": clean, "AppVersion": clean, "Model": clean}),
    },
)
batches = st.dictionaries(
    st.text(st.characters(exclude_characters="${}"), min_size=1, max_size=20)
    | st.text(st.sampled_from("Ab#%\U0001f600"), min_size=250, max_size=600)
    | st.text(max_size=20),
    st.fixed_dictionaries(
        {"Events": st.dictionaries(st.text(max_size=30) | st.just("e" * 3000), events, min_size=1, max_size=4)},
        optional={"Endpoint": endpoints},
    ),
    min_size=1,
    max_size=3,
)


class _State:
    """One app per moto (the ``aws`` fixture lives for all examples of a run), and what it counted."""

    services: Any = None
    app: str = ""
    processing: Any = None
    counted = 0.0
    seen: set[tuple[str, str]] = set()


def _app_of(svc: Any) -> type[_State]:
    if _State.services is not svc:
        import api.handler as handler_module
        from api.handler import lambda_handler
        from homing.bootstrap import processing
        from tests.conftest import LambdaContext, api_event

        handler_module._resolver = None
        out = lambda_handler(api_event("POST", "/v1/apps", {"Name": "prop"}), LambdaContext())
        _State.services, _State.app = svc, json.loads(out["body"])["Id"]
        _State.processing, _State.counted, _State.seen = processing(), 0.0, set()
    return _State


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=batches)
def test_whatever_put_events_accepts_is_counted(aws: None, body: dict[str, Any]) -> None:
    from homing.api.wire.events import parse_events_request, put_events_response
    from homing.bootstrap import services
    from homing.domain.analytics import is_activity
    from homing.services.processing import StreamRecord

    state = _app_of(services())
    try:
        batch = parse_events_request({"BatchItem": body})
    except BadRequest:
        return  # refused whole at the API edge (a type error): nothing accepted
    results = put_events_response(services().events.put_events(state.app, batch, "req"))["Results"]
    verdicts = [
        (endpoint_id, event_id, v["StatusCode"])
        for endpoint_id, item in results.items()
        for event_id, v in item["EventsItemResponse"].items()
    ]
    assert {code for *_, code in verdicts} <= {202, 400}
    activity = sum(
        1
        for endpoint_id, event_id, code in verdicts
        if code == 202 and is_activity(str(batch[endpoint_id].events[event_id].event_type))
    )
    hypothesis.event("some event accepted" if any(code == 202 for *_, code in verdicts) else "none accepted")
    records = [
        StreamRecord(r["eventID"].split(":")[0], r["kinesis"]["sequenceNumber"], base64.b64decode(r["kinesis"]["data"]))
        for r in drain_stream()
    ]
    new = [r for r in records if (r.shard, r.sequence) not in state.seen]
    state.seen |= {(r.shard, r.sequence) for r in new}
    assert state.processing.process(new) == []
    days = services().analytics.counters(f"APP#{state.app}", "0000", "9999")
    total = sum(c.get("events", 0.0) for c in days.values())
    assert total == state.counted + activity
    state.counted = total
