"""Local mode's asynchronous machinery seen from outside: schedules on the local clock, the /_local pages."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import REGION

pytestmark = pytest.mark.e2e


def local_page(api_url: str, name: str, data: Any = None, html: bool = False) -> Any:
    url = f"{api_url}/_local/{name}" + ("?format=html" if html else "")
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
    return text if html else json.loads(text)


def advance(api_url: str, seconds: float) -> list[dict[str, Any]]:
    fired: list[dict[str, Any]] = local_page(api_url, "clock", {"advance_seconds": seconds})["Fired"]
    return fired


def local_now(api_url: str) -> datetime:
    return datetime.fromisoformat(local_page(api_url, "clock")["Items"][0]["Now"])


def client(moto_url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def queue(moto_url: str) -> tuple[str, str]:
    sqs = client(moto_url, "sqs")
    url = sqs.create_queue(QueueName=f"e2e-schedule-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def messages(moto_url: str, queue_url: str) -> list[str]:
    sqs = client(moto_url, "sqs")
    out: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        out += [m["Body"] for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


ROLE = "arn:aws:iam::123456789012:role/scheduler"


def test_one_time_schedule_fires_when_the_clock_reaches_it_then_is_deleted(
    api_url: str, moto_url: str, queue: tuple[str, str]
) -> None:
    queue_url, queue_arn = queue
    scheduler = client(moto_url, "scheduler")
    name = f"e2e-at-{uuid.uuid4().hex[:8]}"
    paris = ZoneInfo("Europe/Paris")
    at = (local_now(api_url).astimezone(paris) + timedelta(hours=2)).replace(microsecond=0)
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": queue_arn, "RoleArn": ROLE, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'},
    )
    (row,) = [r for r in local_page(api_url, "schedules")["Items"] if r["Name"] == name]
    assert datetime.fromisoformat(row["NextFire"]) == at

    assert [f for f in advance(api_url, 3600) if name in f["Schedule"]] == []
    assert messages(moto_url, queue_url) == []
    (fired,) = [f for f in advance(api_url, 2 * 3600) if name in f["Schedule"]]

    assert fired["Ok"] is True
    scheduled = at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert messages(moto_url, queue_url) == [json.dumps({"at": scheduled})]
    with pytest.raises(ClientError) as caught:
        scheduler.get_schedule(Name=name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_rate_schedule_with_a_flexible_window_fires_once_per_period(
    api_url: str, moto_url: str, queue: tuple[str, str]
) -> None:
    queue_url, queue_arn = queue
    name = f"e2e-rate-{uuid.uuid4().hex[:8]}"
    client(moto_url, "scheduler").create_schedule(
        Name=name,
        ScheduleExpression="rate(10 minutes)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
        Target={"Arn": queue_arn, "RoleArn": ROLE, "Input": "tick"},
    )
    advance(api_url, 0)  # the schedule is seen at the current local time

    fired = [f for f in advance(api_url, 35 * 60) if name in f["Schedule"]]

    assert len(fired) == 3
    assert messages(moto_url, queue_url) == ["tick"] * 3
    runs = [r for r in local_page(api_url, "schedule-runs")["Items"] if name in r["Schedule"]]
    assert [r["Ok"] for r in runs] == [True] * 3


def test_local_pages_list_themselves_and_render_html(api_url: str) -> None:
    index = local_page(api_url, "")["Pages"]
    pages = {p["Page"] for p in index}

    assert {"/_local/event-source-mappings", "/_local/queues", "/_local/schedules", "/_local/clock"} <= pages
    mappings = local_page(api_url, "event-source-mappings")["Items"]
    (mapping,) = [m for m in mappings if m["EventSourceArn"].startswith("arn:aws:kinesis:")]
    assert mapping["BatchSize"] == 500
    # The SQS consumers (the app clean-up's and the jobs' queues) are rows of the same page.
    consumers = [m for m in mappings if m["EventSourceArn"].startswith("arn:aws:sqs:")]
    assert len(consumers) >= 2
    assert all(m["State"] == "Enabled" and m["QueueUrl"] and "CaughtUpAt" in m for m in consumers)
    queues = {q["Queue"] for q in local_page(api_url, "queues")["Items"]}
    assert any("dead" in q.lower() or "dlq" in q.lower() for q in queues), queues
    html = local_page(api_url, "event-source-mappings", html=True)
    assert html.startswith("<!doctype html>")
    assert "LastProcessingResult" in html
