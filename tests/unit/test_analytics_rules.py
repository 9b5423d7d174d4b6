"""Pure analytics rules: rolling-window deltas, funnel steps, KPI value keys. No AWS."""

from __future__ import annotations

import pytest

from homing.api.wire.analytics import pascal_key
from homing.domain.analytics import MAU_WINDOW, _new_in_windows, day_from_iso, day_iso, max_new_keys, parse_record
from homing.domain.funnels import reached


def _mau_by_brute_force(active: set[int], day: int) -> int:
    return int(any(day - MAU_WINDOW < d <= day for d in active))


@pytest.mark.parametrize(
    "sequence",
    [[10], [10, 11], [10, 45], [40, 10], [10, 39, 40, 70], [70, 10, 40, 39], [5, 5, 5]],
)
def test_window_deltas_sum_to_rolling_activity_in_any_arrival_order(sequence: list[int]) -> None:
    deltas: dict[int, int] = {}
    seen: set[int] = set()
    for day in sequence:
        if day in seen:
            continue  # a day already counted adds nothing (the aggregator checks the same)
        for start, end in _new_in_windows(seen, day):
            deltas[start] = deltas.get(start, 0) + 1
            deltas[end] = deltas.get(end, 0) - 1
        seen.add(day)
    running = 0
    for day in range(0, 120):
        running += deltas.get(day, 0)
        assert running == _mau_by_brute_force(seen, day), day


def test_day_names_round_trip() -> None:
    assert day_iso(0) == "1970-01-01"
    assert day_from_iso(day_iso(20_420)) == 20_420


def test_funnel_steps_must_follow_in_order_within_the_window() -> None:
    minute = 60_000
    occ = [[0, 100 * minute], [5 * minute], [3 * minute, 110 * minute]]
    # step 3 at minute 3 comes before step 2 at minute 5: the first start only reaches step 2
    assert reached(occ, 0, 1_000 * minute, window_ms=60 * minute) == 2
    # a second start at minute 100 has no step 2 after it
    occ = [[0, 100 * minute], [5 * minute, 105 * minute], [110 * minute]]
    assert reached(occ, 0, 1_000 * minute, window_ms=60 * minute) == 3
    # the same, but step 3 falls outside the window of its start
    assert reached(occ, 0, 1_000 * minute, window_ms=9 * minute) == 2
    # a start outside [start, end] does not count
    assert reached(occ, 1, 50 * minute, window_ms=60 * minute) == 0


def test_kpi_value_keys_follow_pinpoints_examples() -> None:
    assert pascal_key("txn-sms-sent-grouped-by-date") == "TxnSmsSent"
    assert pascal_key("unique-deliveries") == "UniqueDeliveries"


def test_transaction_bound_covers_attributes() -> None:
    record = parse_record(
        {
            "event_type": "x",
            "event_timestamp": 1_700_000_000_000,
            "application": {"app_id": "a"},
            "client": {"client_id": "e"},
            "attributes": {f"k{i}": "v" for i in range(40)},
        }
    )
    assert max_new_keys(record) == 59  # still leaves room for the checkpoint in a 100-item transaction


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"application": {"app_id": "a"}},
        {"event_type": "x", "event_timestamp": "soon", "application": {}, "client": {}},
    ],
)
def test_malformed_records_raise_value_error(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="event-stream record"):
        parse_record(data)


def test_transient_errors_are_retried_whole_and_others_isolated() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError
    from pynamodb.exceptions import CancellationReason, TransactWriteError, UpdateError, VerboseClientError

    from homing.services.processing import transient

    def client_error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": ""}}, "TransactWriteItems")

    def cancelled(code: str) -> TransactWriteError:
        cause = VerboseClientError(
            {"Error": {"Code": "TransactionCanceledException", "Message": ""}},
            "TransactWriteItems",
            cancellation_reasons=[None, CancellationReason(code=code)],
        )
        return TransactWriteError("cancelled", cause=cause)

    assert transient(client_error("ThrottlingException"))
    assert transient(cancelled("ThrottlingError"))
    assert transient(cancelled("TransactionConflict"))
    assert transient(EndpointConnectionError(endpoint_url="http://x"))
    wrapped = ValueError("wrapped")
    wrapped.__cause__ = client_error("ProvisionedThroughputExceededException")
    assert transient(wrapped)
    assert transient(UpdateError("update", cause=client_error("ProvisionedThroughputExceededException")))
    assert not transient(cancelled("ValidationError"))
    assert not transient(UpdateError("update", cause=client_error("ValidationException")))
    assert not transient(client_error("ValidationException"))
    assert not transient(ValueError("a bug"))
    assert not transient(OverflowError())
