"""Pure endpoint rules: merge, validation, codec. No AWS."""

from __future__ import annotations

import random

import pytest

from homing.codec import build, dump, snake
from homing.domain.endpoints import (
    Endpoint,
    EndpointRequest,
    check_complete,
    endpoint_key,
    merge,
    validate_endpoint_id,
    validate_request,
)
from homing.domain.errors import BadRequest


def _merge(stored: Endpoint | None, body: dict, now: str = "2026-11-28T10:00:00.000Z") -> Endpoint:
    return merge(
        stored,
        build(EndpointRequest, body),
        application_id="app",
        endpoint_id="Ep",
        now=now,
        request_id="r1",
        rng=random.Random(7),
    )


def test_create_sets_server_fields() -> None:
    e = _merge(None, {"ChannelType": "EMAIL", "Address": "a@b.c"})
    assert (e.id, e.application_id, e.endpoint_status, e.opt_out) == ("Ep", "app", "ACTIVE", "NONE")
    assert e.creation_date == e.effective_date == "2026-11-28T10:00:00.000Z"
    assert e.cohort_id == str(random.Random(7).randrange(100))
    assert e.request_id == "r1"


def test_update_keeps_absent_and_replaces_sent_keys() -> None:
    first = _merge(None, {"ChannelType": "SMS", "Address": "+1", "Attributes": {"a": ["1"], "b": ["2"]}})
    second = _merge(first, {"Attributes": {"a": []}, "Metrics": {"m": 2}}, now="2026-11-29T00:00:00.000Z")
    assert second.attributes == {"a": [], "b": ["2"]}
    assert second.metrics == {"m": 2.0}
    assert second.address == "+1"
    assert second.creation_date == first.creation_date
    assert second.cohort_id == first.cohort_id
    assert second.effective_date == "2026-11-29T00:00:00.000Z"


def test_update_reactivates_unless_status_is_sent() -> None:
    inactive = _merge(None, {"ChannelType": "SMS", "EndpointStatus": "INACTIVE"})
    assert inactive.endpoint_status == "INACTIVE"
    assert _merge(inactive, {"Address": "+2"}).endpoint_status == "ACTIVE"


def test_empty_user_id_detaches_the_user() -> None:
    e = _merge(None, {"ChannelType": "SMS", "User": {"UserId": "u", "UserAttributes": {"x": ["1"]}}})
    detached = _merge(e, {"User": {"UserId": ""}})
    assert detached.user_id is None
    assert detached.user.user_attributes == {"x": ["1"]}


def test_location_is_rounded_to_one_decimal() -> None:
    e = _merge(None, {"ChannelType": "SMS", "Location": {"Latitude": 47.61, "Longitude": -122.349}})
    assert (e.location.latitude, e.location.longitude) == (47.6, -122.3)


def test_storage_round_trip_is_lossless() -> None:
    e = _merge(None, {"ChannelType": "GCM", "Demographic": {"Platform": "android"}, "User": {"UserId": "u"}})
    assert build(Endpoint, dump(e, snake), key_of=snake) == e


def test_endpoint_key_is_case_insensitive() -> None:
    assert endpoint_key("AbC") == endpoint_key("abc")


@pytest.mark.parametrize("bad", ["", "  ", "a$b", "a{b", "a}b", "x" * 513])
def test_invalid_endpoint_ids(bad: str) -> None:
    with pytest.raises(BadRequest, match="EndpointId"):
        validate_endpoint_id(bad)


def test_validation_paths_name_the_batch_item() -> None:
    with pytest.raises(BadRequest, match=r"Item\[3\]\.OptOut"):
        validate_request(EndpointRequest(opt_out="MAYBE"), "Item[3]")
    with pytest.raises(BadRequest, match=r"Item\[0\] exceeds the maximum endpoint size"):
        check_complete(_merge(None, {"Attributes": {f"k{i}": ["v" * 100] * 50 for i in range(4)}}), "Item[0]")


def test_an_endpoint_without_channel_or_address_is_complete() -> None:
    """AWS Amplify Analytics creates its endpoint with neither; Pinpoint stores it."""
    check_complete(_merge(None, {"Demographic": {"Platform": "Web"}, "OptOut": "ALL"}), "")


def test_codec_type_errors_name_the_field() -> None:
    with pytest.raises(BadRequest, match=r"Location\.Latitude must be a number"):
        build(EndpointRequest, {"Location": {"Latitude": "north"}})
    with pytest.raises(BadRequest, match=r"User must be a JSON object"):
        build(EndpointRequest, {"User": "bob"})
    with pytest.raises(BadRequest, match=r"Metrics\.m must be a number"):
        build(EndpointRequest, {"Metrics": {"m": True}})
