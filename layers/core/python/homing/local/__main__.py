"""``python -m homing.local [--port N] [--no-synth]``: run Homing locally until Ctrl-C.

Prints ``Homing API: http://127.0.0.1:<port>`` on stdout (and nothing else there) only once the
API answers; tests and scripts wait for that line. Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger("homing.local")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m homing.local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve the API on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("HOMING_PORT", "8740")),
        help="API port (default $HOMING_PORT or 8740; 0 = any free port)",
    )
    parser.add_argument(
        "--moto-port",
        type=int,
        default=int(os.environ.get("HOMING_MOTO_PORT", "0")),
        help="port of the embedded moto (AWS services) (default $HOMING_MOTO_PORT or any free port)",
    )
    parser.add_argument("--no-synth", action="store_true", help="deploy the existing cdk.out as is")
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="CDK context for the synth, like cdk -c (e.g. cleanup_grace_seconds=30); repeatable",
    )
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="folder with app.py (default: cwd)")
    parser.add_argument("--cdk-out", type=Path, default=None, help="cloud assembly folder (default <project>/cdk.out)")
    parser.add_argument(
        "--lambda-logs",
        action="store_true",
        default=os.environ.get("HOMING_LOCAL_LAMBDA_LOGS") == "1",
        help="echo the functions' own log output to stderr",
    )
    parser.add_argument(
        "--batching-window-cap",
        type=float,
        default=float(os.environ["HOMING_LOCAL_BATCHING_WINDOW_CAP"])
        if "HOMING_LOCAL_BATCHING_WINDOW_CAP" in os.environ
        else None,
        help="cap every event-source mapping's MaximumBatchingWindowInSeconds (e.g. 0 in tests; default: as deployed)",
    )
    parser.add_argument("--max-workers", type=int, default=4, help="warm workers per function at most (default 4)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def start_synth(project_dir: Path, cdk_out: Path, context: list[str] | None = None) -> subprocess.Popen[str]:
    """Start ``python app.py`` with CDK_OUTDIR (no cdk CLI needed); runs while moto starts.

    ``context`` (``KEY=VALUE`` strings) reaches the app as the CDK CLI passes ``-c``: CDK_CONTEXT_JSON.
    """
    env = dict(os.environ, CDK_OUTDIR=str(cdk_out), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    if context:
        pairs = [item.split("=", 1) for item in context]
        if any(len(p) != 2 or not p[0] for p in pairs):
            raise SystemExit("--context takes KEY=VALUE")
        env["CDK_CONTEXT_JSON"] = json.dumps(dict(pairs))
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=project_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: an abort stops jsii's node process too
    )


def abort_synth(synth: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(synth.pid, signal.SIGKILL)
    synth.wait()


def finish_synth(synth: subprocess.Popen[str]) -> None:
    try:
        output, _ = synth.communicate()
    except BaseException:
        abort_synth(synth)
        raise
    if synth.returncode != 0:
        sys.stderr.write(output)
        raise SystemExit(f"synth failed (python app.py exited {synth.returncode})")


def probe(url: str, region: str, access_key: str, secret: str, path: str = "/v1/apps") -> int:
    """One signed request through the local API; its status code (any answer means ready)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url + path)
    SigV4Auth(Credentials(access_key, secret), "execute-api", region).add_auth(request)
    prepared = urllib.request.Request(url + path, headers=dict(request.headers.items()), method="GET")
    try:
        with urllib.request.urlopen(prepared, timeout=120) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="homing.local: %(message)s", stream=sys.stderr)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's and our servers' access logs
    stop = threading.Event()
    serving = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stop.set()
        if not serving.is_set():
            raise _Interrupted  # abort a startup step (synth, deploy) instead of finishing it first

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    started = time.perf_counter()
    local = LocalMode(args)
    try:
        url = local.start()
        serving.set()
        log.info("ready in %.1f s (%s)", time.perf_counter() - started, local.timings())
        print(f"Homing API: {url}", flush=True)
        stop.wait()
    except _Interrupted:
        log.info("interrupted during startup")
    finally:
        serving.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        local.stop()
    return 0


class _Interrupted(BaseException):  # not Exception: libraries must not swallow or retry it
    """SIGINT/SIGTERM before the API was ready."""


class LocalMode:
    """Everything local mode runs: started in order, stopped in reverse (server, archive, workers, moto)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from homing.local.moto_stack import MotoStack

        self.args = args
        self.project_dir = args.project_dir.resolve()
        self.cdk_out = (args.cdk_out or self.project_dir / "cdk.out").resolve()
        self.moto = MotoStack(port=args.moto_port)
        self.runner: Any = None
        self.archive: Any = None
        self.sqs_poller: Any = None
        self.esm: Any = None
        self.pages: Any = None
        self.scheduler: Any = None
        self.server: Any = None
        self.sms_voice: Any = None  # the End User Messaging stand-in's server
        self.outbox: Any = None
        self.phases: dict[str, float] = {}

    def _phase(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.phases[name] = now - since
        return now

    def timings(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())

    def start(self) -> str:
        """Synthesize, start moto, deploy, serve; return the API URL once it answers."""
        mark = time.perf_counter()
        synth = None if self.args.no_synth else start_synth(self.project_dir, self.cdk_out, self.args.context)
        try:
            moto_url = self.moto.start()
            from moto.awslambda.models import lambda_backends
            from moto.core.models import DEFAULT_ACCOUNT_ID

            from homing.local import runner as runner_module
            from homing.local.credentials import local_key_pairs
            from homing.local.deploy import Deployer
            from homing.local.esm import start_poller, take_over_kinesis_mappings
            from homing.local.http import LocalApiGateway, Server, load_rest_apis
            from homing.local.scheduler import start_scheduler
        except BaseException:
            if synth is not None:
                abort_synth(synth)
            raise
        if synth is not None:
            finish_synth(synth)
        log.info("AWS services (moto): %s", moto_url)
        mark = self._phase("synth + moto" if synth else "moto", mark)
        if not (self.cdk_out / "manifest.json").exists():
            raise SystemExit(f"no cloud assembly at {self.cdk_out} (run without --no-synth)")
        self.outbox = start_carriers(self)  # before the workers start: they get the stand-in's endpoint
        code = runner_module.CodeLocator()
        self.runner = runner_module.Runner(
            moto_url, code, max_workers=self.args.max_workers, echo_logs=self.args.lambda_logs
        )
        runner_module.install(self.runner)
        from homing.local.sqs_esm import start_sqs_poller, take_over_sqs_mappings

        take_over_sqs_mappings()  # sqs_esm.py polls them, as Lambda does, instead of moto inside SendMessage
        take_over_kinesis_mappings()  # esm.py polls them, as Lambda does, instead of moto per record
        deployment = Deployer(self.moto, self.cdk_out, code, DEFAULT_ACCOUNT_ID).deploy_all()
        for stack in deployment.stacks:
            if stack.report.stripped:
                stripped = ", ".join(f"{k} ({v})" for k, v in sorted(stack.report.stripped.items()))
                log.info("%s: stripped %s", stack.name, stripped)
        self.archive = start_archive(self.moto, deployment.stacks)
        subscribe_topics(self.moto, deployment.stacks)
        self.sqs_poller = start_sqs_poller(self.moto, _moto_invoker(self.moto, DEFAULT_ACCOUNT_ID))
        mark = self._phase("deploy", mark)

        functions = list(lambda_backends[DEFAULT_ACCOUNT_ID][self.moto.region].list_functions())
        self.runner.prewarm(functions)  # cold starts in the background, while the API is set up
        apis = [api for api in load_rest_apis(self.moto.client("apigateway")) if api.routes]
        if not apis:
            raise SystemExit("no REST API with Lambda integrations in the deployed stacks")
        if len(apis) > 1:
            ignored = ", ".join(a.name for a in apis[1:])
            log.warning("several REST APIs; serving %s, ignoring %s", apis[0].name, ignored)
        keys = local_key_pairs()
        invoker = _moto_invoker(self.moto, DEFAULT_ACCOUNT_ID)
        self.esm = start_poller(self.moto, invoker, self.args.batching_window_cap)
        gateway = LocalApiGateway(apis[0], invoker, keys, DEFAULT_ACCOUNT_ID, region=self.moto.region)
        self.scheduler = start_scheduler(self.moto, invoker, DEFAULT_ACCOUNT_ID)
        self.pages = local_pages(gateway, self.moto, [self.esm, self.sqs_poller], self.scheduler)
        self.pages.add_page(
            "faults", 'Injected failures (POST {"function", "match", "count"})', self.runner.faults.rows
        )
        self.pages.add_action("faults", self.runner.faults.action)
        from homing.local.outbox import OutboxPages

        self.pages.add_page("outbox", "Local outbox (read it at /_local/outbox.html)", self.outbox.rows)
        try:
            self.server = Server(OutboxPages(self.pages, self.outbox), self.args.host, self.args.port)
        except OSError as error:
            raise SystemExit(f"cannot serve on {self.args.host}:{self.args.port}: {error.strerror}") from None
        self.server.start()
        url = f"http://{self.args.host}:{self.server.port}"
        log.info("local pages (JSON; ?format=html for a table): %s", " ".join(self.pages.urls(url)))
        access_key, secret = next(iter(keys.items()))
        status = probe(url, self.moto.region, access_key, secret)
        self._phase(f"first answer ({status})", mark)
        return url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.esm is not None:
            self.esm.stop()  # a batch in flight finishes first: needs the workers
        if self.archive is not None:
            self.archive.stop()  # flushes: needs moto, not the workers
        if self.sqs_poller is not None:
            self.sqs_poller.stop()  # a batch in flight finishes first: needs the workers
        if self.runner is not None:
            self.runner.close()
        if self.sms_voice is not None:
            self.sms_voice.stop()
        self.moto.stop()


def start_carriers(local: LocalMode) -> Any:
    """What stands in for the carriers: the End User Messaging stand-in (its URL in every worker's
    AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2), moto's SES accepting the From address a send names,
    custom-channel calls recorded; returns the outbox that reads them all (outbox.py)."""
    from homing.local import runner as runner_module
    from homing.local.outbox import Outbox, record_custom_channel_calls, verify_ses_identities_on_use
    from homing.local.sms_voice import start_stand_in

    stand_in, local.sms_voice, url = start_stand_in(local.args.host)
    runner_module.EXTRA_ENV["AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2"] = url
    verify_ses_identities_on_use()
    outbox = Outbox(stand_in)
    record_custom_channel_calls(outbox)
    log.info("End User Messaging SMS and voice (stand-in): %s", url)
    return outbox


def start_archive(moto: Any, stacks: list[Any]) -> Any:
    """Start the Firehose stand-in (archive.py) and say where its output and moto's state can be read."""
    from botocore.config import Config

    from homing.local.archive import from_deployment

    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})
    archive = from_deployment(
        stacks, moto.client("cloudformation"), moto.client("kinesis", config), moto.client("s3", config)
    )
    archive.start()
    cli = f"aws --endpoint-url {moto.url}"
    for stream in archive.streams:
        static = stream.prefix.split("!{", 1)[0]
        log.info(
            "event archive (Firehose %s, written every %.0f s): %s s3 ls s3://%s/%s --recursive",
            stream.name,
            archive.flush_seconds,
            cli,
            stream.bucket,
            static[: static.rfind("/") + 1],  # the folder part before the first expression
        )
    log.info(
        "apps' event streams (PutEventStream destinations) are in moto: %s kinesis list-streams | firehose "
        "list-delivery-streams",
        cli,
    )
    return archive


def local_pages(app: Any, moto: Any, pollers: list[Any], scheduler: Any) -> Any:
    """The ``/_local/...`` pages (pages.py) in front of the API; ``pollers``: the Kinesis and SQS ones."""
    from homing.local.pages import LocalPages, queue_depths, recent_executions

    pages = LocalPages(app)
    pages.add_page(
        "event-source-mappings",
        "Event-source mappings (one row per Kinesis shard or SQS queue)",
        lambda: [row for poller in pollers for row in poller.states()],
    )
    pages.add_page("queues", "SQS queues", queue_depths(moto.client("sqs")))
    pages.add_page(
        "schedules", "EventBridge Scheduler schedules (next fire on the local clock)", scheduler.schedule_rows
    )
    pages.add_page("schedule-runs", "Schedules fired (latest first)", scheduler.history_rows)
    pages.add_page(
        "executions",
        "Step Functions executions (latest first) and their steps",
        recent_executions(moto.client("stepfunctions")),
    )
    pages.add_page("clock", 'Local clock (POST {"advance_seconds": N} to advance it)', scheduler.clock_rows)
    pages.add_action("clock", scheduler.clock_action)
    return pages


def subscribe_topics(moto: Any, stacks: list[Any]) -> None:
    """Recreate the stacks' SNS -> Lambda subscriptions (stripped: moto's CloudFormation lacks them)."""
    from homing.local.sns_delivery import subscribe_functions

    cloudformation = moto.client("cloudformation")
    exports: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_exports").paginate():
        exports.update({e["Name"]: e["Value"] for e in page.get("Exports", [])})
    for line in subscribe_functions(moto.client("sns"), moto.client("lambda"), stacks, exports):
        log.info("SNS subscription (delivered in Publish): %s", line)


def _moto_invoker(moto: Any, account_id: str) -> Any:
    """Invoke a function through moto's Lambda backend (so it runs via the runner patch).

    In-process rather than over moto's HTTP API: same code path in moto (``invoke`` ->
    ``_invoke_lambda``), minus ~3 ms of serialization per request.
    """
    import json

    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[account_id][moto.region]

    def invoke(function_arn: str, event: dict[str, Any]) -> tuple[bytes, bool]:
        response_headers: dict[str, str] = {}
        payload = backend.invoke(function_arn, None, json.dumps(event), {}, response_headers)
        data = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
        return data, "x-amz-function-error" in response_headers

    return invoke


if __name__ == "__main__":
    raise SystemExit(main())
