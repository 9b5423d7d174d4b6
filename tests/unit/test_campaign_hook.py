"""The campaign hook (FILTER mode) against botocore's Stubber, which checks each Invoke against the real
lambda model; the answer's rules (apply_hook_answer) are pure and tested directly."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from homing.adapters.campaign_hook import HOOK_CLIENT_CONFIG, HOOK_TIMEOUT_SECONDS, CampaignHookInvoker, HookRequest
from homing.domain.campaign_rules import HookAnswerInvalid, apply_hook_answer

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:campaign-filter"
REQUEST = HookRequest(
    function_name=FUNCTION,
    application_id="app-1",
    campaign_id="cmp-1",
    treatment_id="0",
    activity_id="run-1",
    scheduled_time="2026-11-30T10:00:00.000Z",
    message_configuration={"EmailMessage": {"Title": "Hi"}},
)
SLEEPS: list[float] = []


def endpoint(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "Id": f"ep{i}",
        "ChannelType": "EMAIL",
        "Address": f"u{i}@example.com",
        "OptOut": "NONE",
        "Attributes": {"tier": ["basic"]},
        **extra,
    }


def answer(body: Any) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}


@pytest.fixture
def lam() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("lambda", region_name="us-east-1")
    stub = Stubber(client)
    stub.activate()
    SLEEPS.clear()
    yield client, stub
    stub.assert_no_pending_responses()
    stub.deactivate()


def invoker(client: Any) -> CampaignHookInvoker:
    return CampaignHookInvoker(client, sleep=SLEEPS.append)


def expected_params(endpoints: dict[str, Any]) -> dict[str, Any]:
    payload = {
        "MessageConfiguration": {"EmailMessage": {"Title": "Hi"}},
        "ApplicationId": "app-1",
        "CampaignId": "cmp-1",
        "TreatmentId": "0",
        "ActivityId": "run-1",
        "ScheduledTime": "2026-11-30T10:00:00.000Z",
        "Endpoints": endpoints,
    }
    return {"FunctionName": FUNCTION, "InvocationType": "RequestResponse", "Payload": json.dumps(payload).encode()}


def test_the_hook_gets_pinpoints_payload_and_drops_and_adjusts_endpoints(lam: Any) -> None:
    client, stub = lam
    sent = {f"ep{i}": endpoint(i) for i in range(3)}
    returned = {
        "ep0": {**endpoint(0), "Attributes": {"tier": ["gold"]}, "Address": "elsewhere@example.com"},
        "ep2": endpoint(2),
        "intruder": endpoint(9),
    }
    stub.add_response("invoke", answer(returned), expected_params(sent))
    outcome = invoker(client).filter(REQUEST, sent)
    assert sorted(outcome.kept) == ["ep0", "ep2"]
    assert outcome.kept["ep0"]["Attributes"] == {"tier": ["gold"]}  # changed attributes apply
    assert outcome.kept["ep0"]["Address"] == "u0@example.com"  # the address stays the stored one
    assert (outcome.dropped, outcome.failed, outcome.errors) == (["ep1"], [], [])


def test_endpoints_go_fifty_per_invocation(lam: Any) -> None:
    client, stub = lam
    sent = {f"ep{i}": endpoint(i) for i in range(120)}
    ids = list(sent)
    for start in (0, 50, 100):
        chunk = {i: sent[i] for i in ids[start : start + 50]}
        stub.add_response("invoke", answer(chunk), expected_params(chunk))
    outcome = invoker(client).filter(REQUEST, sent)
    assert list(outcome.kept) == ids
    assert not outcome.failed


def test_a_failing_function_is_tried_three_times_then_its_endpoints_fail(lam: Any) -> None:
    client, stub = lam
    sent = {"ep0": endpoint(0)}
    for _ in range(3):
        stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled"})
    outcome = invoker(client).filter(REQUEST, sent)
    assert (outcome.kept, outcome.dropped, outcome.failed) == ({}, [], ["ep0"])
    assert outcome.errors == ["the hook failed (Unhandled), after 3 attempts"]
    assert len(SLEEPS) == 2


def test_a_function_that_succeeds_on_a_retry_is_applied(lam: Any) -> None:
    client, stub = lam
    sent = {"ep0": endpoint(0)}
    stub.add_client_error("invoke", service_error_code="TooManyRequestsException", http_status_code=429)
    stub.add_response("invoke", answer(sent))
    outcome = invoker(client).filter(REQUEST, sent)
    assert list(outcome.kept) == ["ep0"]
    assert not outcome.failed


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException", "RequestTooLargeException"])
def test_a_refusal_no_retry_can_change_fails_at_once(lam: Any, code: str) -> None:
    client, stub = lam
    stub.add_client_error("invoke", service_error_code=code, http_status_code=404)
    outcome = invoker(client).filter(REQUEST, {"ep0": endpoint(0)})
    assert outcome.failed == ["ep0"]
    assert outcome.errors == [f"the hook could not be invoked ({code})"]


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"ep0": "yes"}', b'{"ep0": {"Attributes": {"tier": "gold"}}}']
)
def test_an_answer_that_cannot_be_parsed_fails_the_batch_without_a_retry(lam: Any, body: bytes) -> None:
    client, stub = lam
    stub.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))})
    outcome = invoker(client).filter(REQUEST, {"ep0": endpoint(0), "ep1": endpoint(1)})
    assert (outcome.kept, outcome.failed) == ({}, ["ep0", "ep1"])


def test_a_timeout_counts_as_a_failed_attempt() -> None:
    """No stubbed answer: the real client (the invoker's own configuration: one attempt per call, 15 s
    read timeout) raises at its send what botocore raises after the read timeout."""
    client = boto3.client("lambda", region_name="us-east-1", config=HOOK_CLIENT_CONFIG)
    calls: list[str] = []

    def time_out(**kwargs: Any) -> None:
        calls.append(kwargs["request"].url)
        raise ReadTimeoutError(endpoint_url=kwargs["request"].url)

    client.meta.events.register("before-send.lambda.Invoke", time_out)
    outcome = invoker(client).filter(REQUEST, {"ep0": endpoint(0)})
    assert outcome.failed == ["ep0"]
    assert outcome.errors == ["the hook did not answer (ReadTimeoutError), after 3 attempts"]
    assert len(calls) == 3  # three invocations, no hidden HTTP retries
    assert client.meta.config.read_timeout == HOOK_TIMEOUT_SECONDS


def test_the_answer_rules() -> None:
    sent = {"a": endpoint(1, OptOut="ALL"), "b": endpoint(2)}
    verdict = apply_hook_answer(
        sent, {"a": {"OptOut": "NONE", "Metrics": {"score": 2}, "User": {"UserAttributes": {"x": ["1"]}}}}
    )
    assert verdict.dropped == ("b",)
    assert verdict.kept["a"]["OptOut"] == "ALL"  # a hook cannot opt an endpoint back in
    assert verdict.kept["a"]["Metrics"] == {"score": 2}
    assert apply_hook_answer(sent, {}).dropped == ("a", "b")
    bad_answers: list[Any] = [
        {"a": {"Metrics": {"score": "high"}}},
        {"a": {"User": {"UserAttributes": {"x": "1"}}}},
        [],
    ]
    for bad in bad_answers:
        with pytest.raises(HookAnswerInvalid):
            apply_hook_answer(sent, bad)
