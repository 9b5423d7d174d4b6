"""Try the local stack as a production user and an attacker would, and print what held (issue 6).

Starts ``python -m homing.local`` (DeleteApp's grace period shortened to 2 s) or uses ``--url`` and
``--moto-url``, then prints, per probe, what a user would see:

- racing writers: N concurrent UpdateEndpoint calls on one endpoint, each adding its own attribute,
  metric and user attribute (keys kept of keys sent); N concurrent TagResource (tags kept); 20
  concurrent creates for one user (endpoints stored; the cap is 15);
- a rejected batch: UpdateEndpointsBatch whose 30th item is too large for DynamoDB (status, items stored);
- hostile requests: a catalogue of malformed bodies, numbers, strings, paths, tokens, methods and
  signatures, each sent signed (status counts, and every 5xx listed);
- DeleteApp while endpoints are being written: rows of the app left in any table once the clean-up
  queue is drained.

Figures only, no pass/fail: the tests assert; this shows the numbers for the closing note.

    python bench/trust_probe.py [--writers 16] [--url http://127.0.0.1:8740 --moto-url http://127.0.0.1:4566]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `from bench.api_latency import ...`

REGION = "us-east-1"
CREDENTIALS = Credentials("homing", "homing")
GRACE_SECONDS = 2


def pinpoint(url: str, workers: int) -> Any:
    config = Config(max_pool_connections=workers * 2, retries={"total_max_attempts": 1})
    return boto3.client(
        "pinpoint",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="homing",
        aws_secret_access_key="homing",
        config=config,
    )


def race(workers: int, action: Callable[[int], object]) -> list[object]:
    """Run ``action(0..workers-1)`` released together; exceptions are returned, not raised."""
    gate = threading.Barrier(workers)

    def one(i: int) -> object:
        gate.wait()
        try:
            return action(i)
        except ClientError as error:
            return error

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(workers)))


def statuses(results: list[object]) -> str:
    counts = Counter(
        r.response["ResponseMetadata"]["HTTPStatusCode"] if isinstance(r, ClientError) else "ok" for r in results
    )
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))


def probe_racing_writers(client: Any, app_id: str, workers: int) -> None:
    def update(i: int) -> object:
        request = {
            "ChannelType": "EMAIL",
            "Address": "racer@example.com",
            "Attributes": {f"a{i}": [str(i)]},
            "Metrics": {f"m{i}": float(i)},
            "User": {"UserId": "racer", "UserAttributes": {f"u{i}": [str(i)]}},
        }
        return client.update_endpoint(ApplicationId=app_id, EndpointId="racer", EndpointRequest=request)

    results = race(workers, update)
    stored = client.get_endpoint(ApplicationId=app_id, EndpointId="racer")["EndpointResponse"]
    kept = len(stored.get("Attributes", {})) + len(stored.get("Metrics", {}))
    kept += len(stored.get("User", {}).get("UserAttributes", {}))
    print(
        f"{workers} concurrent UpdateEndpoint on one endpoint: {kept} of {3 * workers} keys kept ({statuses(results)})"
    )

    arn = client.get_app(ApplicationId=app_id)["ApplicationResponse"]["Arn"]
    results = race(workers, lambda i: client.tag_resource(ResourceArn=arn, TagsModel={"tags": {f"t{i}": "v"}}))
    tags = client.list_tags_for_resource(ResourceArn=arn)["TagsModel"]["tags"]
    print(f"{workers} concurrent TagResource: {len(tags)} of {workers} tags kept ({statuses(results)})")

    def create(i: int) -> object:
        request = {"ChannelType": "SMS", "Address": f"+1206555{i:04d}", "User": {"UserId": "capped"}}
        return client.update_endpoint(ApplicationId=app_id, EndpointId=f"capped-{i}", EndpointRequest=request)

    results = race(20, create)
    stored_count = len(client.get_user_endpoints(ApplicationId=app_id, UserId="capped")["EndpointsResponse"]["Item"])
    print(f"20 concurrent creates for one user: {stored_count} endpoints stored, cap 15 ({statuses(results)})")


def probe_rejected_batch(client: Any, app_id: str) -> None:
    items = [{"Id": f"batch-{i}", "ChannelType": "EMAIL", "Address": f"b{i}@example.com"} for i in range(30)]
    items[29]["Address"] = "x" * 3000 + "@example.com"  # past DynamoDB's 2048-byte GSI key
    try:
        client.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items})
        status = 202
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
    stored = 0
    for i in range(30):
        try:
            client.get_endpoint(ApplicationId=app_id, EndpointId=f"batch-{i}")
            stored += 1
        except ClientError:
            pass
    print(f"UpdateEndpointsBatch with a 30th item too large for DynamoDB: {status}, {stored} of 30 items stored")


def signed(url: str, method: str, path: str, body: bytes = b"", service: str = "mobiletargeting") -> tuple[int, str]:
    """Send a raw SigV4-signed request (path sent exactly as given) and return (status, error type)."""
    request = AWSRequest(method=method, url=url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(CREDENTIALS, service, REGION).add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=body or None, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType", "")


def hostile_requests(app_id: str) -> list[tuple[str, str, str, bytes]]:
    """(label, method, path, body): what the issue saw answered 500, and neighbours of it."""
    app = f"/v1/apps/{app_id}"
    ep = f"{app}/endpoints/probe"
    deep = b'{"Attributes":' * 2000 + b"1" + b"}" * 2000

    def endpoint(**fields: Any) -> bytes:
        return json.dumps({"ChannelType": "EMAIL", "Address": "p@example.com", **fields}).encode()

    def events(endpoint_id: str = "probe", **event: Any) -> bytes:
        item = {"Endpoint": {}, "Events": {"e1": {"EventType": "probe", "Timestamp": "2026-11-30T00:00:00Z", **event}}}
        return json.dumps({"BatchItem": {endpoint_id: item}}).encode()

    return [
        ("metric NaN", "PUT", ep, b'{"ChannelType":"EMAIL","Address":"p@example.com","Metrics":{"m":NaN}}'),
        ("metric Infinity", "PUT", ep, b'{"ChannelType":"EMAIL","Address":"p@example.com","Metrics":{"m":Infinity}}'),
        ("metric 1e400", "PUT", ep, b'{"ChannelType":"EMAIL","Address":"p@example.com","Metrics":{"m":1e400}}'),
        ("metric 1e200", "PUT", ep, endpoint(Metrics={"m": 1e200})),
        ("huge integer latitude", "PUT", ep, endpoint(Location={"Latitude": 10**400})),
        (
            "lone surrogate in attribute",
            "PUT",
            ep,
            b'{"ChannelType":"EMAIL","Address":"a@b.c","Attributes":{"a":["\\ud800"]}}',
        ),
        (
            "lone surrogate in key",
            "PUT",
            ep,
            b'{"ChannelType":"EMAIL","Address":"a@b.c","Attributes":{"\\udfff":["x"]}}',
        ),
        ("control characters", "PUT", ep, endpoint(Attributes={"a": ["\u0000\u0001\u001f"]})),
        ("JSON 2,000 levels deep", "PUT", ep, deep),
        ("not JSON", "PUT", ep, b"{not json"),
        ("JSON array body", "PUT", ep, b"[1,2,3]"),
        ("wrong types", "PUT", ep, b'{"ChannelType":7,"Address":["x"],"Attributes":"s"}'),
        ("user id 5,000 chars", "PUT", ep, endpoint(User={"UserId": "u" * 5000})),
        ("address 5,000 chars", "PUT", ep, endpoint(Address="a" * 5000)),
        ("endpoint id 2,000 chars", "PUT", f"{app}/endpoints/{'e' * 2000}", endpoint()),
        ("forged paging token", "GET", f"{app}/endpoints?token=eyJhcHBsaWNhdGlvbl9pZCI6IngifQ", b""),
        ("altered paging token", "GET", "/v1/apps?token=v1.e30.AAAA", b""),
        ("page-size -1", "GET", "/v1/apps?page-size=-1", b""),
        ("page-size 10^30", "GET", "/v1/apps?page-size=1000000000000000000000000000000", b""),
        ("app id upper case", "GET", f"/v1/apps/{app_id.upper()}", b""),
        ("app id percent-encoded", "GET", f"/v1/apps/%{ord(app_id[0]):02X}{app_id[1:]}", b""),
        ("dot segments", "GET", f"/v1/apps/x/../{app_id}", b""),
        ("double slash", "GET", f"/v1/apps//{app_id}", b""),
        ("bad percent escape", "GET", f"{app}/endpoints/%E0%A4%A", b""),
        ("method FOO", "FOO", app, b""),
        ("method TRACE", "TRACE", app, b""),
        ("PutEvents year 9999", "POST", f"{app}/events", events(Timestamp="9999-12-31T23:59:59Z")),
        ("PutEvents year 0001", "POST", f"{app}/events", events(Timestamp="0001-01-01T00:00:00Z")),
        ("PutEvents 300-char endpoint id", "POST", f"{app}/events", events("p" * 300)),
        (
            "PutEvents metric NaN",
            "POST",
            f"{app}/events",
            events().replace(b'"probe",', b'"probe","Metrics":{"m":NaN},'),
        ),
        ("PutEvents empty Events", "POST", f"{app}/events", b'{"BatchItem":{"probe":{"Endpoint":{},"Events":{}}}}'),
        ("KPI year 9999", "GET", f"{app}/kpis/daterange/session-count?start-time=9999-01-01T00:00:00Z", b""),
        (
            "KPI end before start",
            "GET",
            f"{app}/kpis/daterange/session-count?start-time=2026-11-02T00:00:00Z&end-time=2026-11-01T00:00:00Z",
            b"",
        ),
        ("settings limits 10^20", "PUT", f"{app}/settings", b'{"Limits":{"Daily":100000000000000000000}}'),
        (
            "event stream, foreign account",
            "POST",
            f"{app}/eventstream",
            json.dumps(
                {
                    "DestinationStreamArn": "arn:aws:kinesis:us-east-1:999999999999:stream/theirs",
                    "RoleArn": "arn:aws:iam::999999999999:role/trusts-homing",
                }
            ).encode(),
        ),
        (
            "tag ARN of another app",
            "POST",
            "/v1/tags/arn%3Aaws%3Amobiletargeting%3Aus-east-1%3A1%3Aapps%2Fx",
            b'{"tags":{"a":"b"}}',
        ),
    ]


def probe_hostile(url: str, app_id: str) -> None:
    probes = hostile_requests(app_id)
    seen: Counter[int] = Counter()
    five_xx, accepted = [], []
    for label, method, path, body in probes:
        status, error_type = signed(url, method, path, body)
        seen[status] += 1
        if status >= 500:
            five_xx.append(f"{label} -> {status} {error_type}")
        elif status < 300:
            accepted.append(label)
    print(f"hostile requests: {len(probes)} tried; statuses {dict(sorted(seen.items()))}; 5xx: {len(five_xx)}")
    print(f"  answered 2xx (PutEvents answers per event inside its 202): {', '.join(accepted)}")
    for line in five_xx:
        print(f"  5xx: {line}")
    body = b'{"ChannelType":"EMAIL","Address":"p@example.com"}'
    tampered = AWSRequest(method="PUT", url=f"{url}/v1/apps/{app_id}/endpoints/tamper", data=body)
    tampered.headers["x-amz-content-sha256"] = SigV4Auth(CREDENTIALS, "mobiletargeting", REGION).payload(tampered)
    SigV4Auth(CREDENTIALS, "mobiletargeting", REGION).add_auth(tampered)
    prepared = tampered.prepare()
    changed = body.replace(b"p@", b"q@")
    raw = urllib.request.Request(prepared.url, data=changed, method="PUT", headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    other_region = AWSRequest(method="GET", url=f"{url}/v1/apps/{app_id}")
    SigV4Auth(CREDENTIALS, "mobiletargeting", "eu-west-1").add_auth(other_region)
    prepared = other_region.prepare()
    try:
        with urllib.request.urlopen(urllib.request.Request(prepared.url, headers=dict(prepared.headers)), timeout=30):
            region_status = 200
    except urllib.error.HTTPError as error:
        region_status = error.code
    print(
        f"body changed after signing (x-amz-content-sha256 signed): {status}; "
        f"signed for another region: {region_status}"
    )


TOMBSTONE = {"application_id", "deleted", "expires", "version"}  # kept 8 days (TTL) so late events are dropped


def rows_of(moto_url: str, app_id: str) -> tuple[int, int]:
    """(rows naming the app, of which the app's tombstone) across every table."""
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    count = tombstones = 0
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                if app_id in json.dumps(item):
                    count += 1
                    tombstones += "deleted" in item and set(item) <= TOMBSTONE | {"tags", "settings"}
    return count, tombstones


def probe_delete_race(client: Any, moto_url: str, writers: int) -> None:
    app_id = client.create_app(CreateApplicationRequest={"Name": "probe-delete"})["ApplicationResponse"]["Id"]
    stop = threading.Event()
    written = Counter[str]()

    def write(worker: int) -> None:
        i = 0
        while not stop.is_set():
            request = {
                "ChannelType": "EMAIL",
                "Address": f"w{worker}-{i}@example.com",
                "User": {"UserId": f"w{worker}-{i}"},
            }
            try:
                client.update_endpoint(ApplicationId=app_id, EndpointId=f"w{worker}-{i}", EndpointRequest=request)
                written["ok"] += 1
            except ClientError as error:
                written[error.response["Error"]["Code"]] += 1
            i += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    client.delete_app(ApplicationId=app_id)
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 120
    left, tombstones = rows_of(moto_url, app_id)
    while left > tombstones and time.monotonic() < deadline:
        time.sleep(2)
        left, tombstones = rows_of(moto_url, app_id)
    print(
        f"DeleteApp while {writers} writers write endpoints ({dict(written)}): {left - tombstones} rows of the app "
        f"left, besides its tombstone ({tombstones}: id, deletion time, TTL)"
    )


def run(url: str, moto_url: str, writers: int) -> None:
    client = pinpoint(url, max(writers, 20))
    app_id = client.create_app(CreateApplicationRequest={"Name": "probe"})["ApplicationResponse"]["Id"]
    probe_racing_writers(client, app_id, writers)
    probe_rejected_batch(client, app_id)
    probe_hostile(url, app_id)
    probe_delete_race(client, moto_url, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running local stack (with --moto-url)")
    parser.add_argument("--moto-url", help="the embedded moto of that stack")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--no-synth", action="store_true", help="start the stack from the existing cdk.out")
    args = parser.parse_args()
    if args.url:
        run(args.url.rstrip("/"), args.moto_url, args.writers)
        return
    from bench.api_latency import free_port, local_stack

    moto_port = free_port()
    extra = ["--moto-port", str(moto_port), "--context", f"cleanup_grace_seconds={GRACE_SECONDS}"]
    with local_stack(args.no_synth, extra_args=extra) as url:
        run(url, f"http://127.0.0.1:{moto_port}", args.writers)


if __name__ == "__main__":
    main()
