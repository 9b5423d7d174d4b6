"""Audience resolution through the local stack: endpoints resolved per second, whole app and channel index.

Starts ``python -m homing.local`` (or uses ``--url`` and ``--moto-url``), loads N synthetic endpoints
(straight into the local stack's Endpoints table with the product's own item mapping, since the API
path loads ~70 endpoints/s locally and is not what is measured here; ``--load api`` uses the stock
boto3 client, UpdateEndpointsBatch, 100 per request), then resolves two segments through the audience
extension (the state machine, its Map over key-range parts, resolve_audience in local workers):
- a 5-dimension segment (Platform, Country, an attribute, a metric, Recency INACTIVE), read from the
  app's whole partition;
- a single-channel segment (Channel EMAIL, half of the endpoints), read through the by-channel index.
Prints endpoints read per second (from POST to COMPLETED) and members found for each.

    python bench/audience.py [--endpoints 100000] [--load direct|api] [--no-synth]
                             [--url http://127.0.0.1:8740 --moto-url http://127.0.0.1:5000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core" / "python")]

from homing.client import pinpoint_client  # noqa: E402
from homing.domain.audiences import ResolutionRequest  # noqa: E402

KEY = ("homing", "homing")
FIVE_DIMENSIONS: dict[str, Any] = {
    "Demographic": {"Platform": {"DimensionType": "INCLUSIVE", "Values": ["iOS", "Android"]}},
    "Location": {"Country": {"DimensionType": "INCLUSIVE", "Values": ["US", "DE", "FR"]}},
    "Attributes": {"tier": {"AttributeType": "INCLUSIVE", "Values": ["gold", "platinum"]}},
    "Metrics": {"score": {"ComparisonOperator": "GREATER_THAN", "Value": 20.0}},
    "Behavior": {"Recency": {"Duration": "DAY_30", "RecencyType": "INACTIVE"}},
}
ONE_CHANNEL: dict[str, Any] = {"Demographic": {"Channel": {"DimensionType": "INCLUSIVE", "Values": ["EMAIL"]}}}


def endpoint(rng: random.Random, i: int) -> dict[str, Any]:
    email = i % 2 == 0
    return {
        "Id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "ChannelType": "EMAIL" if email else "SMS",
        "Address": f"user{i}@example.com" if email else f"+1555{i:07d}",
        "EffectiveDate": "2025-01-01T00:00:00Z",
        "Demographic": {"Platform": rng.choice(["iOS", "Android", "web"])},
        "Location": {"Country": rng.choice(["US", "DE", "FR", "JP", "BR"])},
        "Attributes": {"tier": [rng.choice(["gold", "silver", "bronze", "platinum"])]},
        "Metrics": {"score": float(rng.randint(0, 100))},
    }


def signed(url: str, method: str) -> dict[str, Any]:
    request = AWSRequest(method=method, url=url)
    SigV4Auth(Credentials(*KEY), "execute-api", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(url, headers=dict(request.headers.items()), method=method)
    with urllib.request.urlopen(prepared, timeout=60) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def resolve(api: str, app_id: str, segment_id: str) -> tuple[dict[str, Any], float]:
    path = f"{api}/v1/apps/{app_id}/segments/{segment_id}/audience"
    started = time.perf_counter()
    first = signed(path, "POST")
    while True:
        answer = signed(path, "GET")
        if answer["Id"] == first["Id"] and answer["State"] != "PROCESSING":
            return answer, time.perf_counter() - started
        time.sleep(0.2)


def load_direct(moto_url: str, app_id: str, items: list[dict[str, Any]]) -> None:
    """Write the endpoints as the endpoints family stores them (EndpointRepository's mapping), in batches."""
    import os

    import boto3

    from homing.adapters.dynamodb.endpoints import EndpointItem, EndpointRepository
    from homing.codec import build, snake
    from homing.domain.endpoints import Endpoint

    os.environ.setdefault("AWS_ACCESS_KEY_ID", KEY[0])
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", KEY[1])
    ddb = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    EndpointItem.Meta.table_name = next(t for t in ddb.list_tables()["TableNames"] if "Endpoints" in t)
    setattr(EndpointItem.Meta, "host", moto_url)  # noqa: B010 (PynamoDB reads optional Meta attributes)
    setattr(EndpointItem.Meta, "region", "us-east-1")  # noqa: B010
    EndpointItem._connection = None
    with EndpointItem.batch_write() as batch:
        for item in items:
            body = {
                "id": item["Id"],
                "application_id": app_id,
                "creation_date": item["EffectiveDate"],
                "cohort_id": "0",
                "effective_date": item["EffectiveDate"],
                "channel_type": item["ChannelType"],
                "address": item["Address"],
                "demographic": {"platform": item["Demographic"]["Platform"]},
                "location": {"country": item["Location"]["Country"]},
                "attributes": item["Attributes"],
                "metrics": item["Metrics"],
            }
            batch.save(EndpointRepository._to_item(build(Endpoint, body, key_of=snake)))


def run(api: str, total: int, moto_url: str | None) -> None:
    config = Config(max_pool_connections=16, retries={"total_max_attempts": 3})
    client: Any = pinpoint_client(
        api, region_name="us-east-1", aws_access_key_id=KEY[0], aws_secret_access_key=KEY[1], config=config
    )
    app_id = client.create_app(CreateApplicationRequest={"Name": "audience-bench"})["ApplicationResponse"]["Id"]
    rng = random.Random(7)
    items = [endpoint(rng, i) for i in range(total)]
    started = time.perf_counter()

    def load(start: int) -> None:
        client.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items[start : start + 100]})

    if moto_url is not None:
        load_direct(moto_url, app_id, items)
    else:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(load, range(0, total, 100)))
    how = "into the table" if moto_url else "through UpdateEndpointsBatch"
    print(f"loaded {total:,} endpoints {how} in {time.perf_counter() - started:.1f} s")

    for label, dims in (("5 dimensions, whole app", FIVE_DIMENSIONS), ("Channel EMAIL, by-channel index", ONE_CHANNEL)):
        segment = client.create_segment(ApplicationId=app_id, WriteSegmentRequest={"Name": label, "Dimensions": dims})
        answer, seconds = resolve(api, app_id, segment["SegmentResponse"]["Id"])
        scanned = answer.get("EndpointsScanned", 0)
        print(
            f"{label}: {answer['State']}, {scanned:,} endpoints read, {answer.get('SegmentSize', 0):,} members, "
            f"{answer.get('PageCount', 0)} pages in {seconds:.1f} s -> {scanned / seconds:,.0f} endpoints/s"
        )


class _MemorySource:
    """The endpoints in memory, in key order: resolve_part's own CPU cost without storage."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self._rows = sorted(((b["id"].lower(), b) for b in bodies), key=lambda r: r[0])
        self._keys = [k for k, _ in self._rows]

    def endpoints(self, app_id: str, key_range: Any, after: str | None = None, channel: str | None = None) -> Any:
        import bisect

        if after is not None:
            start = bisect.bisect_right(self._keys, after)
        else:
            start = bisect.bisect_left(self._keys, key_range.low) if key_range.low is not None else 0
        for key, body in self._rows[start:]:
            if key_range.high is not None and key >= key_range.high:
                return
            yield key, body

    def activity_days(self, app_id: str, endpoint_ids: Any) -> dict[str, list[int]]:
        return {}


class _MemoryStore:
    """Serializes every object as the S3 store does, keeps it in a dict."""

    bucket = "memory"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def url(self, key: str) -> str:
        return f"memory://{key}"

    def put_json(self, key: str, value: Any) -> None:
        self.objects[key] = json.dumps(value, separators=(",", ":")).encode()

    def get_json(self, key: str) -> Any:
        raw = self.objects.get(key)
        return json.loads(raw) if raw is not None else None

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))


def bench_cpu(total: int) -> None:
    """Endpoints per second of resolve_part itself (compiled predicate, members, page JSON), one core."""
    from homing.codec import build, pascal
    from homing.domain.segments import Segment, SegmentDimensions
    from homing.services.audiences import AudienceService

    rng = random.Random(7)
    bodies = []
    for i in range(total):
        item = endpoint(rng, i)
        bodies.append(
            {
                "id": item["Id"],
                "channel_type": item["ChannelType"],
                "address": item["Address"],
                "demographic": {"platform": item["Demographic"]["Platform"]},
                "location": {"country": item["Location"]["Country"]},
                "attributes": item["Attributes"],
                "metrics": item["Metrics"],
                "effective_date": item["EffectiveDate"],
            }
        )
    segment = Segment(
        "bench",
        "app",
        1,
        "DIMENSIONAL",
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00Z",
        dimensions=build(
            SegmentDimensions, FIVE_DIMENSIONS, "Dimensions", lambda n: "GPSPoint" if n == "gps_point" else pascal(n)
        ),
    )

    class Segments:
        def resolver(self, app_id: str) -> Any:
            return lambda segment_id, version: segment

    store = _MemoryStore()
    service = AudienceService(Segments(), _MemorySource(bodies), store, None, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    request = ResolutionRequest("r", "app", "bench", 1, int(time.time() * 1000), "now", parts=16)
    started = time.perf_counter()
    manifest = service.resolve(request)
    seconds = time.perf_counter() - started
    print(
        f"resolve_part CPU, storage excluded: {total:,} endpoints, {manifest['counts']['total']:,} members, "
        f"{len(manifest['pages'])} pages in {seconds:.2f} s -> {total / seconds:,.0f} endpoints/s on one core"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=100_000)
    parser.add_argument("--load", choices=["direct", "api"], default="direct")
    parser.add_argument("--url", help="use a running local stack instead of starting one")
    parser.add_argument("--moto-url", help="its moto (needed with --url and --load direct)")
    parser.add_argument("--no-synth", action="store_true")
    parser.add_argument("--cpu-only", action="store_true", help="only the in-process figure (no local stack)")
    args = parser.parse_args()
    bench_cpu(args.endpoints)
    if args.cpu_only:
        return
    direct = args.load == "direct"
    if args.url:
        run(args.url, args.endpoints, args.moto_url if direct else None)
        return
    from bench.api_latency import free_port, local_stack

    moto_port = free_port()
    with local_stack(args.no_synth, extra_args=["--moto-port", str(moto_port)]) as url:
        run(url, args.endpoints, f"http://127.0.0.1:{moto_port}" if direct else None)


if __name__ == "__main__":
    main()
