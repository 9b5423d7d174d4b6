"""Event pipeline throughput.

1. process_events CPU cost per event at batch sizes 100 and 500, realistic event mix, measured as
   CPU time of the real handler against in-process moto (so it includes moto's own work: an upper
   bound) and of the aggregation alone (parse + rules, storage excluded). Target: <= 50 µs per event.
   Baseline in the same run: a naive consumer that issues one DynamoDB ``UpdateItem ADD`` per counter
   per event (what a per-event implementation does) — printed as DynamoDB write requests per event.
2. PutEvents events/second through the local stack (stock boto3 client, 100 events per request): accepted,
   and processed end to end by the local Kinesis event-source mapping (read from /_local/event-source-mappings).

    python bench/events_throughput.py [--events 5000] [--url http://127.0.0.1:8740] [--no-synth] [--skip-local]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "APPS_TABLE": "apps",
    "ENDPOINTS_TABLE": "endpoints",
    "CATALOG_TABLE": "catalog",
    "ANALYTICS_TABLE": "analytics",
    "EVENT_STREAMS_TABLE": "event-streams",
    "EVENT_STREAM_NAME": "events",
    "POWERTOOLS_METRICS_NAMESPACE": "Homing",
    "POWERTOOLS_SERVICE_NAME": "homing",
    "LOG_LEVEL": "WARNING",
}
MIX = [  # (event type, weight): sessions, custom events with attributes/metrics, engagement events
    ("_session.start", 20), ("_session.stop", 20), ("level_up", 15), ("purchase", 10),
    ("_email.send", 8), ("_email.delivered", 8), ("_email.open", 5), ("_campaign.send", 8), ("_SMS.SUCCESS", 6),
]  # fmt: skip


def make_events(n: int, app: str, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    types = [t for t, w in MIX for _ in range(w)]
    out = []
    for i in range(n):
        kind = rng.choice(types)
        # ~20 events per endpoint over a week (a few per active day), as an engaged app sends them
        endpoint = f"ep-{rng.randrange(n // 20 + 1)}"
        at = now - timedelta(days=rng.randrange(7), minutes=rng.randrange(1440))
        ms = int(at.timestamp() * 1000)
        attributes: dict[str, str] = {}
        metrics: dict[str, float] = {}
        session: dict[str, Any] = {}
        if kind.startswith("_session."):
            session = {"session_id": f"s{i}", "start_timestamp": ms - 60000, "stop_timestamp": ms}
        elif kind in ("level_up", "purchase"):
            attributes = {"level": str(rng.randrange(20)), "store": rng.choice(["apple", "google"])}
            metrics = {"price": rng.random() * 10, "score": float(rng.randrange(1000))}
        elif kind.startswith("_email."):
            attributes = {"message_id": f"m{rng.randrange(n // 2 + 1)}"}
            if rng.random() < 0.5:
                attributes |= {"campaign_id": "c1", "campaign_activity_id": "run1", "treatment_id": "0"}
        elif kind == "_campaign.send":
            attributes = {"campaign_id": "c1", "campaign_activity_id": "run1", "campaign_send_status": "SUCCESS",
                          "delivery_type": "EMAIL", "treatment_id": "0"}  # fmt: skip
        else:
            attributes = {"iso_country_code": rng.choice(["US", "FR"]), "number_of_message_parts": "1",
                          "message_id": f"s{i}"}  # fmt: skip
            metrics = {"price_in_millicents_usd": 645.0}
        out.append(
            {
                "event_type": kind, "event_timestamp": ms, "arrival_timestamp": ms, "event_version": "3.0",
                "event_id": f"e{i}", "application": {"app_id": app, "sdk": {}}, "client": {"client_id": endpoint},
                "device": {"platform": {"name": "ios"}}, "session": session, "attributes": attributes,
                "metrics": metrics,
                "endpoint": {"ChannelType": "GCM", "User": {"UserId": f"u-{endpoint}"},
                             "Demographic": {"Platform": rng.choice(["ios", "android"]), "AppVersion": "2.1"},
                             "Location": {"Country": "US"}},
            }
        )  # fmt: skip
    return out


def as_kinesis(events: list[dict[str, Any]], start_seq: int) -> list[dict[str, Any]]:
    return [
        {
            "eventID": f"shardId-000000000000:{start_seq + i}",
            "kinesis": {
                "sequenceNumber": str(start_seq + i),
                "data": base64.b64encode(json.dumps(e).encode()).decode(),
            },
        }
        for i, e in enumerate(events)
    ]


def bench_processing(total: int) -> None:
    os.environ.update(ENV)
    from moto import mock_aws

    with mock_aws():
        import boto3

        from homing.adapters.dynamodb.tables import ALL_MODELS, bind_tables, table_names
        from homing.bootstrap import processing
        from homing.domain.analytics import Aggregator, State, parse_record
        from homing.local.moto_fixes import copy_tables_once_per_transaction

        copy_tables_once_per_transaction()

        bind_tables(table_names(os.environ), ENV["AWS_REGION"])
        for model in ALL_MODELS:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        from homing.adapters.dynamodb.apps import AppItem

        AppItem("bench-app", name="bench", creation_date="2026-11-01T00:00:00Z", version=1).save()  # a live app
        import process_events.handler as handler

        class Context:
            function_name, memory_limit_in_mb, aws_request_id = "process_events", 1024, "bench"
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:process_events"

        calls: Counter[str] = Counter()
        import pynamodb.connection.base as base

        dispatch = base.Connection.dispatch

        def counting_dispatch(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
            """Write request units (items ≤ 1 KB): a transactional write costs 2 per item."""
            calls[operation_name] += 1
            if operation_name == "TransactWriteItems":
                calls["wru"] += 2 * len(operation_kwargs["TransactItems"])
            elif operation_name == "BatchWriteItem":
                calls["wru"] += sum(len(v) for v in operation_kwargs["RequestItems"].values())
            elif operation_name in ("UpdateItem", "PutItem", "DeleteItem"):
                calls["wru"] += 1
            return dispatch(self, operation_name, operation_kwargs)

        base.Connection.dispatch = counting_dispatch  # type: ignore[method-assign]

        events = make_events(total, "bench-app")
        print(f"process_events, {total} events per batch size, event mix: {', '.join(t for t, _ in MIX)}")
        seq = 10_000
        for batch_size in (100, 500):
            processing.cache_clear()
            cpu = 0.0
            calls.clear()
            for start in range(0, total, batch_size):
                records = as_kinesis(events[start : start + batch_size], seq)
                seq += len(records)
                t = time.process_time()
                handler.lambda_handler({"Records": records}, Context())
                cpu += time.process_time() - t
            writes = calls["wru"]
            requests = sum(v for k, v in calls.items() if k in ("TransactWriteItems", "UpdateItem", "BatchWriteItem"))
            # aggregation alone: parse + rules against an in-memory state (no storage)
            agg = Aggregator(lambda keys: {k: State() for k in keys})
            raw = [json.dumps(e).encode() for e in events]
            t = time.process_time()
            for start in range(0, total, batch_size):
                chunk = [parse_record(json.loads(data)) for data in raw[start : start + batch_size]]
                agg.prefetch(chunk)
                for r in chunk:
                    agg.apply(r)
                agg.reset_writes()
            pure = time.process_time() - t
            naive = sum(_naive_writes(e) for e in events)
            print(
                f"  batch {batch_size:>3}: handler CPU {cpu / total * 1e6:7.1f} µs/event (with in-process moto)   "
                f"aggregation only {pure / total * 1e6:6.1f} µs/event   "
                f"DynamoDB {writes / total:.2f} write units/event ({requests / total:.3f} requests/event) "
                f"vs naive {naive / total:.2f} (x{naive / max(writes, 1):.1f} fewer units)"
            )
        del boto3


def _naive_writes(e: dict[str, Any]) -> int:
    """A per-event consumer: one UpdateItem per counter the event moves (DAU, MAU, type counts, …)."""
    if e["event_type"].startswith(("_session", "level", "purchase")):
        return 4 + len(e["attributes"]) + len(e["metrics"]) * 3  # activity, DAU, MAU, type count + values + metrics
    return 2


def settle(api: str, since: float, timeout: float = 600) -> int:
    """Wait until the local event-source mappings caught up (see /_local/event-source-mappings); records done."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{api}/_local/event-source-mappings", timeout=30) as response:
            rows = [row for row in json.load(response)["Items"] if row["State"] == "Enabled"]
        if rows and all(row["CaughtUpAt"] >= since for row in rows):
            return sum(int(row["RecordsProcessed"]) for row in rows)
        time.sleep(0.1)
    raise SystemExit("event processing did not catch up")


def bench_put_events(url: str | None, no_synth: bool, requests: int) -> None:
    import boto3

    from bench.api_latency import local_stack

    def run(api: str) -> None:
        pinpoint = boto3.client("pinpoint", endpoint_url=api, region_name="us-east-1",
                                aws_access_key_id="homing", aws_secret_access_key="homing")  # fmt: skip
        app = pinpoint.create_app(CreateApplicationRequest={"Name": "bench-events"})["ApplicationResponse"]["Id"]
        now = datetime.now(UTC).isoformat()
        t = time.perf_counter()
        for i in range(requests):
            batch = {
                f"ep-{i}-{j}": {
                    "Endpoint": {"ChannelType": "GCM", "Address": f"t{i}-{j}"},
                    "Events": {f"e{k}": {"EventType": "level_up", "Timestamp": now, "Attributes": {"level": str(k)}}
                               for k in range(10)},
                }
                for j in range(10)
            }  # fmt: skip
            pinpoint.put_events(ApplicationId=app, EventsRequest={"BatchItem": batch})  # type: ignore[typeddict-item]
        wall = time.perf_counter() - t
        n = requests * 100
        print(f"PutEvents through the local stack: {n} events in {requests} requests, {wall:.1f} s, "
              f"{n / wall:.0f} events/s accepted ({requests / wall:.1f} requests/s)")  # fmt: skip
        processed = settle(api, since=time.time())
        total = time.perf_counter() - t
        print(f"  processed by process_events (local Kinesis event-source mapping, batches as deployed): "
              f"{processed} records, all done {total:.1f} s after the first request: {n / total:.0f} events/s "
              f"end to end")  # fmt: skip

    if url:
        run(url)
    else:
        with local_stack(no_synth) as api:
            run(api)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--url")
    parser.add_argument("--no-synth", action="store_true")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    bench_processing(args.events)
    if not args.skip_local:
        bench_put_events(args.url, args.no_synth, args.requests)


if __name__ == "__main__":
    main()
