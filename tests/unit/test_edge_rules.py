"""Pure rules of the API edge: canonical paths, signed page tokens, DynamoDB key limits, number and text checks."""

from __future__ import annotations

import pytest

from homing.adapters.dynamodb.paging import decode_token, encode_token
from homing.api.paths import canonical_segment, path_problem
from homing.codec import check_number, check_text
from homing.domain.endpoints import ADDRESS_BYTES, EndpointRequest, EndpointUser, check_endpoint_request_keys
from homing.domain.errors import BadRequest, NotFound
from homing.domain.keys import USER_ID_BYTES

APP = "0123456789abcdef0123456789abcdef"
KEY = b"k" * 32


# -- paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1/apps",
        f"/v1/apps/{APP}",
        f"/v1/apps/{APP}/endpoints/ep%201%2Fx",
        f"/v1/apps/{APP}/endpoints/%C3%A9-~._",
        "/v1/tags/" + canonical_segment(f"arn:aws:mobiletargeting:us-east-1:1:apps/{APP}"),
    ],
)
def test_canonical_paths_pass(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "v1/apps",
        "/v1/apps/",
        "//v1/apps",
        f"/v1/apps//{APP}",
        f"/v1/./apps/{APP}",
        f"/v1/apps/{APP}/..",
        f"/v1/apps/{APP}/%2e%2E",
        f"/v1/apps/{APP}/endpoints/ep%2f1",
        f"/v1/apps/{APP}/endpoints/%65p",
        f"/v1/apps/{APP}/endpoints/ep 1",
        f"/v1/apps/{APP}/endpoints/a:b",
        f"/v1/apps/{APP}/endpoints/%FF",
        f"/v1/apps/{APP}/endpoints/%zz",
        f"/v1/%61pps/{APP}",
    ],
)
def test_other_spellings_are_bad_requests(path: str) -> None:
    assert isinstance(path_problem(path), BadRequest)


@pytest.mark.parametrize("app", [APP.upper(), APP[:-1], APP + "0", "nope", "0123456789abcdef0123456789abcdeg"])
def test_app_ids_not_as_issued_are_not_found(app: str) -> None:
    assert isinstance(path_problem(f"/v1/apps/{app}/endpoints"), NotFound)


def test_canonical_segment_is_the_sdk_encoding() -> None:
    from botocore.utils import percent_encode

    for value in ("ep 1/x", "a:b@c", "é~._-", "100%", "*!'()"):
        assert canonical_segment(value) == percent_encode(value)


# -- page tokens ---------------------------------------------------------------------------------
def test_token_round_trips_within_its_scope() -> None:
    last_key = {"application_id": {"S": APP}, "endpoint_key": {"S": "e1"}}
    token = encode_token(last_key, "endpoints/a/", key=KEY)
    assert token is not None
    assert decode_token(token, "endpoints/a/", key=KEY) == last_key
    assert encode_token(None, "x", key=KEY) is None
    assert decode_token(None, "x", key=KEY) is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("v1.", "v2.", 1),
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.split(".")[0] + "." + t.split(".")[1][:-2] + "." + t.split(".")[2],
        lambda t: t + ".x",
        lambda t: "x" * 5000,
        lambda t: "\udc80",
    ],
)
def test_altered_tokens_are_bad_requests(mutate: object) -> None:
    token = encode_token({"k": {"S": "1"}}, "apps", key=KEY)
    assert token is not None
    with pytest.raises(BadRequest, match="not a valid page token"):
        decode_token(mutate(token), "apps", key=KEY)  # type: ignore[operator]


def test_tokens_do_not_cross_scopes_or_keys() -> None:
    token = encode_token({"k": {"S": "1"}}, "endpoints/a/", key=KEY)
    with pytest.raises(BadRequest):
        decode_token(token, "endpoints/b/", key=KEY)
    with pytest.raises(BadRequest):
        decode_token(token, "endpoints/a/", key=b"other" * 8)


# -- key limits ----------------------------------------------------------------------------------
def test_key_limits_follow_the_key_formats() -> None:
    app_id, longest_channel = 32, len("APNS_VOIP_SANDBOX")
    assert (1024 - len("$user#"), 2048 - app_id - longest_channel - 2) == (USER_ID_BYTES, ADDRESS_BYTES)


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (EndpointRequest(address="a" * (ADDRESS_BYTES + 1)), "Item[3].Address"),
        (EndpointRequest(address="é" * (ADDRESS_BYTES // 2 + 1)), "Item[3].Address"),  # bytes, not characters
        (EndpointRequest(user=EndpointUser(user_id="u" * (USER_ID_BYTES + 1))), "Item[3].User.UserId"),
        (EndpointRequest(id="E" * 1025), "Item[3].Id"),
    ],
)
def test_values_too_long_for_their_key_name_the_field(req: EndpointRequest, field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        check_endpoint_request_keys(req, "Item[3]")


def test_values_at_the_key_limit_pass() -> None:
    check_endpoint_request_keys(
        EndpointRequest(address="a" * ADDRESS_BYTES, user=EndpointUser(user_id="u" * USER_ID_BYTES), id="e" * 1024)
    )


# -- numbers and text ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e126, -1e130, 1e-131, 10**400])
def test_numbers_dynamodb_cannot_hold_are_bad_requests(value: float) -> None:
    with pytest.raises(BadRequest, match=r"Metrics\.m"):
        check_number(value, "Metrics.m")


@pytest.mark.parametrize("value", [0, 0.0, -0.0, 1e-130, 9.9e125, -9.9e125, 2**63, 4.5])
def test_numbers_dynamodb_holds_pass(value: float) -> None:
    check_number(value, "Metrics.m")


def test_lone_surrogates_are_bad_requests_other_text_passes() -> None:
    for bad in ("\ud800", "a\udfffb"):
        with pytest.raises(BadRequest, match="Address"):
            check_text(bad, "Address")
    check_text("\x00\x1f😀é", "Address")
