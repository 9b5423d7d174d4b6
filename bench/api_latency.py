"""API latency of the local stack: UpdateEndpoint / GetEndpoint, sequential and concurrent.

Starts ``python -m homing.local`` on a free loopback port (or uses ``--url``), creates an app,
then prints p50/p99 latency (ms) and requests/s per operation and mode. Figures only; the
numbers are for spotting regressions in local mode (adapter + runner + moto), not AWS latency.

    python bench/api_latency.py [--url http://127.0.0.1:8740] [--requests 200] [--workers 8] [--no-synth]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from botocore.config import Config

from homing.client import pinpoint_client

ROOT = Path(__file__).resolve().parents[1]
READY_PREFIX = "Homing API: "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_stack(no_synth: bool, timeout: float = 180.0, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Run the local stack for the duration of the block; yield its URL."""
    command = [sys.executable, "-m", "homing.local", "--port", str(free_port())] + (["--no-synth"] if no_synth else [])
    command += list(extra_args)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_PREFIX):
                url.append(line[len(READY_PREFIX) :].strip())
                ready.set()
        ready.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        ready.wait(timeout)
        if not url:
            raise SystemExit("local stack did not start (see its stderr above)")
        print(
            f"local stack ready in {time.perf_counter() - started:.1f} s ({'no synth' if no_synth else 'with synth'})"
        )
        yield url[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(label: str, latencies: list[float], wall: float) -> None:
    print(
        f"{label:<28} n={len(latencies):<5} p50={percentile(latencies, 0.5) * 1000:7.1f} ms  "
        f"p99={percentile(latencies, 0.99) * 1000:7.1f} ms  mean={statistics.fmean(latencies) * 1000:7.1f} ms  "
        f"{len(latencies) / wall:7.1f} req/s"
    )


def timed(operation: Callable[[int], None], i: int) -> float:
    started = time.perf_counter()
    operation(i)
    return time.perf_counter() - started


def run(url: str, requests: int, workers: int) -> None:
    config = Config(max_pool_connections=workers * 2, retries={"total_max_attempts": 1})
    client = pinpoint_client(
        url, region_name="us-east-1", aws_access_key_id="homing", aws_secret_access_key="homing", config=config
    )
    app_id = client.create_app(CreateApplicationRequest={"Name": "bench"})["ApplicationResponse"]["Id"]

    def update(i: int) -> None:
        client.update_endpoint(
            ApplicationId=app_id,
            EndpointId=f"ep-{i}",
            EndpointRequest={"ChannelType": "EMAIL", "Address": f"user{i}@example.com", "User": {"UserId": f"u-{i}"}},
        )

    def get(i: int) -> None:
        client.get_endpoint(ApplicationId=app_id, EndpointId=f"ep-{i}")

    try:
        # Warm-up, not measured: connections, and the pool of warm workers the concurrent runs use.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(update, range(workers * 2)))
            list(pool.map(get, range(workers * 2)))
        for name, operation in (("UpdateEndpoint", update), ("GetEndpoint", get)):
            started = time.perf_counter()
            latencies = [timed(operation, i) for i in range(requests)]
            report(f"{name} sequential", latencies, time.perf_counter() - started)
        for name, operation in (("UpdateEndpoint", update), ("GetEndpoint", get)):
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                latencies = list(pool.map(partial(timed, operation), range(requests)))
            report(f"{name} concurrent x{workers}", latencies, time.perf_counter() - started)
    finally:
        client.delete_app(ApplicationId=app_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="use a running local stack instead of starting one")
    parser.add_argument("--requests", type=int, default=200, help="requests per operation and mode (default 200)")
    parser.add_argument("--workers", type=int, default=8, help="threads in the concurrent runs (default 8)")
    parser.add_argument("--no-synth", action="store_true", help="start the stack from the existing cdk.out")
    args = parser.parse_args()
    requests = max(1, min(args.requests, 10_000))
    if args.url:
        run(args.url.rstrip("/"), requests, args.workers)
        return
    with local_stack(args.no_synth) as url:
        run(url, requests, args.workers)


if __name__ == "__main__":
    main()
