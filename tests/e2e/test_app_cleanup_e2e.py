"""DeleteApp through the stock boto3 client: unreachable at once, and after the asynchronous clean-up
(queue -> clean_up_app, polled by local mode as Lambda polls SQS) no row of the app is left in moto."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY, settle

TOMBSTONE_ATTRIBUTES = {"application_id", "deleted", "expires", "version", "tags", "settings"}
POLL_SECONDS = 0.5
CLEAN_UP_TIMEOUT_SECONDS = 90.0


def _moto(moto_url: str, service: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def _rows_of(dynamodb: Any, app_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every item of every table that mentions the app, except its bare tombstone."""
    rows = []
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                if not any(app_id in str(value) for value in item.values()):
                    continue
                if "deleted" in item and set(item) <= TOMBSTONE_ATTRIBUTES:
                    continue
                rows.append((table, item))
    return rows


def _cleanup_queue_busy(sqs: Any) -> bool:
    for url in sqs.list_queues().get("QueueUrls", []):
        if "AppCleanupQueue" not in url:
            continue
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return any(int(attributes[n]) for n in names)
    raise AssertionError("no clean-up queue in the local stack")


def test_delete_app_leaves_no_row(pinpoint: Any, moto_url: str) -> None:
    app = pinpoint.create_app(CreateApplicationRequest={"Name": "doomed", "tags": {"team": "a"}})
    app_id = app["ApplicationResponse"]["Id"]
    for i in range(5):
        pinpoint.update_endpoint(
            ApplicationId=app_id,
            EndpointId=f"ep-{i}",
            EndpointRequest={
                "ChannelType": "EMAIL",
                "Address": f"user{i}@example.com",
                "User": {"UserId": f"u{i % 2}", "UserAttributes": {"plan": ["pro"]}},
                "Attributes": {"colour": ["blue"]},
            },
        )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    pinpoint.put_events(
        ApplicationId=app_id,
        EventsRequest={
            "BatchItem": {
                "ep-0": {
                    "Endpoint": {},
                    "Events": {
                        "e1": {
                            "EventType": "_session.start",
                            "Timestamp": now,
                            "Session": {"Id": "s", "StartTimestamp": now},
                        },
                        "e2": {"EventType": "purchase", "Timestamp": now, "Attributes": {"item": "hat"}},
                    },
                }
            }
        },
    )
    dynamodb, sqs = _moto(moto_url, "dynamodb"), _moto(moto_url, "sqs")
    settle(pinpoint.meta.endpoint_url)  # process_events counts the events asynchronously, as in AWS
    tables = {t for t, _ in _rows_of(dynamodb, app_id)}
    for kind in ("Apps", "Endpoints", "Catalog", "Analytics", "Timelines"):
        assert any(kind in t for t in tables), (kind, tables)

    pinpoint.delete_app(ApplicationId=app_id)
    with pytest.raises(pinpoint.exceptions.NotFoundException):
        pinpoint.get_app(ApplicationId=app_id)
    with pytest.raises(pinpoint.exceptions.NotFoundException):
        pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="ep-0")
    assert app_id not in {a["Id"] for a in pinpoint.get_apps()["ApplicationsResponse"].get("Item", [])}

    deadline = time.monotonic() + CLEAN_UP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and (_cleanup_queue_busy(sqs) or _rows_of(dynamodb, app_id)):
        time.sleep(POLL_SECONDS)
    assert not _cleanup_queue_busy(sqs), "the clean-up did not finish"
    assert _rows_of(dynamodb, app_id) == []


def test_delete_app_while_endpoints_are_being_written_leaves_no_row(pinpoint: Any, moto_url: str) -> None:
    """Writers that read the app just before its tombstone land after the first pass: the final pass takes them."""
    import threading

    app_id = pinpoint.create_app(CreateApplicationRequest={"Name": "raced"})["ApplicationResponse"]["Id"]
    written = threading.Semaphore(0)

    def write(worker: int) -> int:
        stored = 0
        for i in range(1000):
            try:
                pinpoint.update_endpoint(
                    ApplicationId=app_id,
                    EndpointId=f"w{worker}-{i}",
                    EndpointRequest={"ChannelType": "SMS", "Address": f"+1555{worker:02d}{i:05d}"},
                )
            except pinpoint.exceptions.NotFoundException:
                return stored  # the app is gone: every later write is refused
            stored += 1
            written.release()
        return stored

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        writers = [pool.submit(write, w) for w in range(4)]
        for _ in range(8):
            written.acquire(timeout=60)  # the writers are under way
        pinpoint.delete_app(ApplicationId=app_id)
        stored = sum(f.result(timeout=120) for f in writers)
    assert stored >= 8

    dynamodb, sqs = _moto(moto_url, "dynamodb"), _moto(moto_url, "sqs")
    deadline = time.monotonic() + CLEAN_UP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and (_cleanup_queue_busy(sqs) or _rows_of(dynamodb, app_id)):
        time.sleep(POLL_SECONDS)
    assert not _cleanup_queue_busy(sqs), "the clean-up did not finish"
    assert _rows_of(dynamodb, app_id) == []
