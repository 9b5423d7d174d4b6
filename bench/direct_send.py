"""Direct sends: in-process (what ships) against the sender-Lambda hop an Express workflow would add.

Issue 9 asks whether SendMessages / SendUsersMessages should send through a synchronous Express
workflow that calls the ``send_messages`` Lambda, or call the senders in-process from the api
function. moto has no StartSyncExecution, so the Express orchestration itself cannot run locally;
this bench measures, in one run and for the same recipients (``--recipients`` EMAIL addresses per
request, ``--rounds`` rounds after a warm-up):

(a) in-process: SendMessages through the local API with the stock boto3 ``pinpoint`` client (an
    app with an enabled email channel; ``Addresses`` with ChannelType EMAIL and a SimpleEmail) —
    plan, render, ``Dispatcher.send_all`` (ledger + SES in moto), send events — this is what ships;
(a0) the same deliveries' ``Dispatcher.send_all`` alone, built from ``send_messages``' environment and
    run in this process against the local moto: the sending part of (a);
(b) the sender-Lambda hop: the same number of rendered deliveries sent by invoking ``send_messages``
    (RequestResponse) through moto's Lambda API, as a task state would, in batches of ``MAX_BATCH``
    (50): sequentially, and the batches in parallel (as a Map state would); plus (b0) an empty batch,
    the bare invoke round trip;
(c) CPU per message in this process: ``Dispatcher.send_all`` against JSON-encoding the batches, the
    ``send_messages`` handler's decode + ``send_all`` + encode, and decoding the results, both
    against a sender that only collects (no AWS call) and an in-memory ledger, so the codec/hop
    overhead is isolated.

Wall times are local mode (runner + moto on this machine's cores), for comparison within the run;
they are not AWS latencies. Prints median and p90 per request, messages/s, and the ratios.

    python bench/direct_send.py [--recipients 100] [--rounds 15] [--cpu-requests 200]
                                [--url http://127.0.0.1:8740 --moto-url http://127.0.0.1:4566] [--no-synth]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core" / "python")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the handler's "batch sent" line, per batch
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from botocore.config import Config  # noqa: E402

from homing.domain.dispatch import (  # noqa: E402
    MAX_BATCH,
    Claim,
    delivery_to_json,
    result_from_json,
)
from homing.domain.messages import EMAIL, Delivery, DeliveryResult, EmailContent  # noqa: E402
from homing.services.delivery import Dispatcher  # noqa: E402

FROM = "Shop <news@example.com>"
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
SUBJECT = "Your order has shipped"
HTML = "<html><body><h1>Hello</h1><p>Your order is on its way. Track it in the app.</p></body></html>"
TEXT = "Hello, your order is on its way. Track it in the app."


def client(service: str, url: str, workers: int = 4) -> Any:
    import boto3

    config = Config(max_pool_connections=workers * 2, retries={"total_max_attempts": 1}, read_timeout=300)
    factory: Any = boto3.client  # the service name is a plain str here
    return factory(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="homing",
        aws_secret_access_key="homing",
        config=config,
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def deliveries(app_id: str, tag: str, n: int) -> list[Delivery]:
    """What the api function builds for ``n`` EMAIL addresses with a SimpleEmail (fresh keys)."""
    return [
        Delivery(
            app_id,
            EMAIL,
            f"user{i}-{tag}@example.com",
            str(uuid.uuid4()),
            EmailContent(FROM, SUBJECT, HTML, TEXT),
        )
        for i in range(n)
    ]


def batches(items: list[Delivery]) -> list[list[Delivery]]:
    return [items[i : i + MAX_BATCH] for i in range(0, len(items), MAX_BATCH)]


# --- (a) and (b): wall time through the local stack -------------------------------------------------


def line(label: str, walls: list[float], recipients: int) -> dict[str, float]:
    median, p90 = statistics.median(walls), percentile(walls, 0.9)
    rate = recipients * len(walls) / sum(walls)
    print(
        f"  {label:<46} median {median * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms  "
        f"{rate:7.0f} messages/s  (n={len(walls)})"
    )
    return {"median": median, "p90": p90, "rate": rate}


def run_stack(api: str, moto: str, recipients: int, rounds: int, warmup: int) -> dict[str, dict[str, float]]:
    pinpoint = client("pinpoint", api)
    lam = client("lambda", moto)
    app_id = pinpoint.create_app(CreateApplicationRequest={"Name": "bench-direct-send"})["ApplicationResponse"]["Id"]
    pinpoint.update_email_channel(
        ApplicationId=app_id, EmailChannelRequest={"Enabled": True, "FromAddress": FROM, "Identity": IDENTITY}
    )
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"] if "SendMessages" in f["FunctionName"]]
    if len(names) != 1:
        raise SystemExit(f"expected one send_messages function in the local stack, found {names}")
    function = names[0]
    # (a0): the same Dispatcher.send_all the api function runs in-process, here in this process, on
    # send_messages' own settings (its ledger table) and the local moto: the sending part of (a) alone.
    from homing.bootstrap import build_dispatcher
    from homing.settings import SendSettings

    env = dict(lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"])
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": moto,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "homing",
            "AWS_SECRET_ACCESS_KEY": "homing",
        }
    )
    local_dispatcher = build_dispatcher(SendSettings.from_env({**env, "AWS_REGION": "us-east-1"}))

    def api_send(tag: str) -> None:
        addresses = {f"user{i}-{tag}@example.com": {"ChannelType": "EMAIL"} for i in range(recipients)}
        answer = pinpoint.send_messages(
            ApplicationId=app_id,
            MessageRequest={
                "Addresses": addresses,
                "MessageConfiguration": {
                    "EmailMessage": {
                        "SimpleEmail": {
                            "Subject": {"Data": SUBJECT},
                            "HtmlPart": {"Data": HTML},
                            "TextPart": {"Data": TEXT},
                        }
                    }
                },
            },
        )["MessageResponse"]["Result"]
        statuses = {r["DeliveryStatus"] for r in answer.values()}
        assert len(answer) == recipients, len(answer)
        assert statuses == {"SUCCESSFUL"}, statuses

    def invoke(batch: list[Delivery]) -> None:
        payload = json.dumps({"deliveries": [delivery_to_json(d) for d in batch]})
        response = lam.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=payload)
        answer = json.loads(response["Payload"].read())
        if "FunctionError" in response:
            raise SystemExit(f"send_messages failed: {answer}")
        results = [result_from_json(r) for r in answer["results"]]
        assert len(results) == len(batch), len(results)
        assert all(r.status == "SUCCESSFUL" for r in results), results[:1]

    pool = ThreadPoolExecutor(max_workers=max(2, recipients // MAX_BATCH + 1))

    def lambda_sequential(tag: str) -> None:
        for batch in batches(deliveries(app_id, tag, recipients)):
            invoke(batch)

    def lambda_parallel(tag: str) -> None:
        list(pool.map(invoke, batches(deliveries(app_id, tag, recipients))))

    def send_here(tag: str) -> None:
        results = local_dispatcher.send_all(deliveries(app_id, tag, recipients))
        assert all(r.status == "SUCCESSFUL" for r in results), results[:1]

    def lambda_empty(tag: str) -> None:
        invoke([])

    modes: list[tuple[str, str, Callable[[str], None], int]] = [
        ("a", f"(a) SendMessages, in-process, {recipients} EMAIL", api_send, recipients),
        ("a0", "(a0) Dispatcher.send_all here, same deliveries", send_here, recipients),
        (
            "b_seq",
            f"(b) send_messages invokes, {len(batches(deliveries('x', 'x', recipients)))} in sequence",
            lambda_sequential,
            recipients,
        ),
        ("b_par", "(b) send_messages invokes, in parallel (Map)", lambda_parallel, recipients),
        ("b0", "(b0) send_messages invoke, empty batch", lambda_empty, 0),
    ]
    # Warm-up, not measured: connections, the api function's and send_messages' warm workers (two of
    # the latter, for the parallel invokes).
    for w in range(warmup):
        for _key, _label, operation, _n in modes:
            operation(f"warm{w}")
    walls: dict[str, list[float]] = {key: [] for key, *_ in modes}
    for r in range(rounds):  # interleaved, so a slow spell of the machine hits every mode alike
        for key, _label, operation, _n in modes:
            started = time.perf_counter()
            operation(f"r{r}-{key}")
            walls[key].append(time.perf_counter() - started)
    pool.shutdown()
    print(f"wall time per request through the local stack ({rounds} rounds after {warmup} warm-up):")
    out: dict[str, dict[str, float]] = {}
    for key, label, _operation, n in modes:
        figures = line(label, walls[key], n)
        if n == 0:
            figures["rate"] = 0.0
        out[key] = figures
    pinpoint.delete_app(ApplicationId=app_id)
    return out


# --- (c): CPU per message, no AWS --------------------------------------------------------------------


class CollectingSender:
    """A Sender that keeps what it is given (no AWS call)."""

    def __init__(self) -> None:
        self.count = 0

    def send(self, delivery: Delivery) -> DeliveryResult:
        self.count += 1
        return DeliveryResult("SUCCESSFUL", 200, "Collected", message_id=delivery.key)


class MemoryLedger:
    """Every claim won; nothing kept (the DynamoDB ledger's cost is the same on both paths)."""

    def claim(self, key: str, now: datetime) -> Claim:
        return Claim(won=True)

    def complete(self, key: str, result: DeliveryResult) -> None:
        return None


def load_handler() -> Any:
    spec = importlib.util.spec_from_file_location("send_messages_handler", ROOT / "functions/send_messages/handler.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cpu(recipients: int, requests: int) -> dict[str, float]:
    sender = CollectingSender()
    dispatcher = Dispatcher({EMAIL: sender}, MemoryLedger(), clock=lambda: datetime.now(UTC))
    handler = load_handler()
    handler.dispatcher = lambda: dispatcher  # the real handler, on the collecting dispatcher
    context = SimpleNamespace(
        function_name="send_messages",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:send_messages",
        aws_request_id="bench",
    )
    work = [deliveries("app", f"cpu{i}", recipients) for i in range(requests)]

    def in_process(items: list[Delivery]) -> None:
        results = dispatcher.send_all(items)
        assert len(results) == len(items)

    def through_handler(items: list[Delivery]) -> None:
        # The caller (api function, or the workflow's input) encodes; Lambda hands the handler parsed
        # JSON; the handler decodes, sends and encodes; the caller parses and decodes the results.
        results: list[DeliveryResult] = []
        for batch in batches(items):
            payload = json.dumps({"deliveries": [delivery_to_json(d) for d in batch]})
            answer = handler.lambda_handler(json.loads(payload), context)
            results += [result_from_json(r) for r in json.loads(json.dumps(answer))["results"]]
        assert len(results) == len(items)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Powertools: "No application metrics to publish"
        for items in work[:3]:  # warm-up: imports, caches, the thread pool's first start
            in_process(items)
            through_handler(items)
        measured: dict[str, float] = {}
        for name, operation in (("in_process", in_process), ("handler", through_handler)):
            start = time.process_time()
            for items in work:
                operation(items)
            measured[name] = (time.process_time() - start) / (requests * recipients) * 1e6
    print(f"CPU per message in this process ({requests} requests x {recipients} deliveries, collecting sender):")
    print(f"  (c) Dispatcher.send_all (in-process)            {measured['in_process']:8.1f} µs")
    print(f"  (c) JSON + send_messages handler + decode         {measured['handler']:8.1f} µs")
    print(
        f"      codec/hop overhead                            {measured['handler'] - measured['in_process']:8.1f} µs"
        f"  ({measured['handler'] / measured['in_process']:.2f}x)"
    )
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100, help="EMAIL addresses per request (<= 100)")
    parser.add_argument("--rounds", type=int, default=15, help="measured requests per mode")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--cpu-requests", type=int, default=200, help="requests in the CPU part (c)")
    parser.add_argument("--url", help="a running local stack's API (with --moto-url)")
    parser.add_argument("--moto-url")
    parser.add_argument("--no-synth", action="store_true", help="start the stack from the existing cdk.out")
    args = parser.parse_args()
    recipients = max(1, min(args.recipients, 100))
    with open("/proc/loadavg") if Path("/proc/loadavg").exists() else open(os.devnull) as f:
        load = f.read().split()[:3]
    print(f"{os.cpu_count()} cores; load average {' '.join(load) or 'unknown'} at start")
    cpu = run_cpu(recipients, args.cpu_requests)
    if args.url:
        if not args.moto_url:
            raise SystemExit("--url needs --moto-url (where the local stack's Lambda API is)")
        stack = run_stack(args.url.rstrip("/"), args.moto_url, recipients, args.rounds, args.warmup)
    else:
        from bench.api_latency import free_port, local_stack

        moto_port = free_port()
        with local_stack(args.no_synth, extra_args=["--moto-port", str(moto_port)]) as api:
            stack = run_stack(api, f"http://127.0.0.1:{moto_port}", recipients, args.rounds, args.warmup)
    a, a0, b_seq, b_par, b0 = stack["a"], stack["a0"], stack["b_seq"], stack["b_par"], stack["b0"]
    print("ratios (median wall time):")
    print(f"  (a0) send_all alone / (a) whole request           {a0['median'] / a['median']:8.2f}x")
    print(f"  (b) sequential / (a0) the same sends in-process   {b_seq['median'] / a0['median']:8.2f}x")
    print(
        f"  => hop added per request, (b) parallel - (a0)     {(b_par['median'] - a0['median']) * 1000:8.1f} ms"
        f" (+{(b_par['median'] - a0['median']) / a['median'] * 100:.0f}% of (a))"
    )
    print(f"  (b) sequential / (a) in-process                   {b_seq['median'] / a['median']:8.2f}x")
    print(f"  (b) parallel   / (a) in-process                   {b_par['median'] / a['median']:8.2f}x")
    print(f"  (b0) bare invoke round trip                       {b0['median'] * 1000:8.1f} ms per hop")
    print(f"  (c) handler path / send_all, CPU                  {cpu['handler'] / cpu['in_process']:8.2f}x")
    print(f"load average at end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
