"""End-to-end fixtures: one local stack (``python -m homing.local``) per test run, driven over HTTP.

Every test in tests/e2e is marked ``e2e`` and put in the xdist group ``e2e``, so under
``pytest -n N --dist loadgroup`` they all run in one worker and share one server. Set
``HOMING_E2E_URL`` to use a stack that is already running (e.g. ``make local``) instead.

Fixtures:
  api_url               http://127.0.0.1:<port> of the local API
  moto_url              the embedded moto behind it (AWS services; HOMING_E2E_MOTO_URL with HOMING_E2E_URL)
  pinpoint              a stock boto3 ``pinpoint`` client (signs for mobiletargeting)
  pinpoint_execute_api  homing.client.pinpoint_client (signs for execute-api, as AWS needs)
  aws_cli               run ``aws pinpoint ...`` against the API: aws_cli("get-apps") -> (rc, json|stdout, stderr)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from homing.client import pinpoint_client

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
READY_PREFIX = "Homing API: "
START_TIMEOUT_SECONDS = 180.0
# A clean stop lets batches in flight finish (pollers, scheduler, workers); a loaded CI machine needs time.
STOP_TIMEOUT_SECONDS = 90.0
CLEANUP_GRACE_SECONDS = 2  # the deployed default is 360 s; see stacks/constructs/app_cleanup.py
REGION = "us-east-1"
ACCESS_KEY = os.environ.get("HOMING_LOCAL_ACCESS_KEY_ID", "homing")
SECRET_KEY = os.environ.get("HOMING_LOCAL_SECRET_ACCESS_KEY", "homing")

AwsCli = Callable[..., tuple[int, Any, str]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStackProcess:
    """``python -m homing.local`` as a child process; stdout watched for the ready line."""

    def __init__(self, port: int, workdir: Path, moto_port: int) -> None:
        self.port = port
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        self._stderr = (workdir / "local-stack.stderr").open("w+")
        command = [sys.executable, "-m", "homing.local", "--port", str(port), "--cdk-out", str(workdir / "cdk.out")]
        command += ["--moto-port", str(moto_port), "--batching-window-cap", "0"]  # no 5 s wait per PutEvents
        command += ["--context", f"cleanup_grace_seconds={CLEANUP_GRACE_SECONDS}"]  # DeleteApp's final pass
        command += ["--lambda-logs"]  # a failing test shows what the functions logged (see pytest_runtest_makereport)
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.stdout: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line)
            if line.startswith(READY_PREFIX) and self.url is None:
                self.url = line[len(READY_PREFIX) :].strip()
                self._ready.set()
        self._ready.set()  # EOF: the process ended

    def wait_ready(self, timeout: float) -> str:
        self._ready.wait(timeout)
        if self.url is None:
            self.stop()
            pytest.fail(f"local stack did not become ready within {timeout:.0f} s:\n{self.output()}", pytrace=False)
        return self.url

    def output(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return "stdout:\n" + "".join(self.stdout) + "\nstderr (last 8000 chars):\n" + self._stderr.read()[-8000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_RUNNING: list[LocalStackProcess] = []  # the stack of this run, for the report of a failing test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing e2e test's report carries the local stack's output: asynchronous work fails out of sight."""
    report: pytest.TestReport = yield
    if report.failed and _RUNNING and HERE in Path(str(item.path)).resolve().parents:
        report.sections.append(("local stack output", _RUNNING[0].output()))
    return report


@pytest.fixture(scope="session")
def local_stack() -> Iterator[tuple[str, str | None]]:
    """(API URL, moto URL) of the local stack, started once per run (or HOMING_E2E_URL if set)."""
    existing = os.environ.get("HOMING_E2E_URL")
    if existing:
        yield existing.rstrip("/"), os.environ.get("HOMING_E2E_MOTO_URL")
        return
    with tempfile.TemporaryDirectory(prefix="homing-e2e-") as workdir:
        stack = LocalStackProcess(_free_port(), Path(workdir), moto_port=_free_port())
        _RUNNING.append(stack)
        started = time.monotonic()
        try:
            url = stack.wait_ready(START_TIMEOUT_SECONDS)
            sys.stderr.write(f"\nlocal stack ready in {time.monotonic() - started:.1f} s at {url}\n")
            yield url, stack.moto_url
        finally:
            stack.stop()
        if stack.process.returncode != 0:  # a clean SIGTERM stop exits 0
            pytest.fail(f"local stack exited {stack.process.returncode} on SIGTERM:\n{stack.output()}", pytrace=False)


@pytest.fixture(scope="session")
def api_url(local_stack: tuple[str, str | None]) -> str:
    """URL of the local API."""
    return local_stack[0]


@pytest.fixture(scope="session")
def moto_url(local_stack: tuple[str, str | None]) -> str:
    """URL of the embedded moto, for looking at the AWS side (streams, buckets) of what the API did."""
    if local_stack[1] is None:
        pytest.skip("HOMING_E2E_URL is set without HOMING_E2E_MOTO_URL")
    return local_stack[1]


@pytest.fixture(scope="session")
def pinpoint(api_url: str) -> Any:
    """A stock boto3 ``pinpoint`` client pointed at the local API (no Homing code involved)."""
    return boto3.client(
        "pinpoint",
        endpoint_url=api_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@pytest.fixture(scope="session")
def pinpoint_execute_api(api_url: str) -> Any:
    """The client Homing documents for API Gateway: signs for ``execute-api``."""
    return pinpoint_client(api_url, region_name=REGION, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture(scope="session")
def aws_cli(api_url: str) -> AwsCli:
    """Run the AWS CLI's ``pinpoint`` commands against the local API.

    ``aws_cli("create-app", "--create-application-request", "Name=x")`` returns
    ``(returncode, parsed JSON or raw stdout, stderr)``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
        }
    )

    def run(*args: str, timeout: float = 60) -> tuple[int, Any, str]:
        command = [sys.executable, "-m", "awscli", "pinpoint", *args, "--endpoint-url", api_url, "--output", "json"]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        try:
            parsed: Any = json.loads(result.stdout) if result.stdout.strip() else None
        except ValueError:
            parsed = result.stdout
        return result.returncode, parsed, result.stderr

    return run


def settle(api_url: str, timeout: float = 120) -> None:
    """Wait until local mode's event-source mappings have handled every record put so far.

    Records are processed asynchronously (as in AWS): each consumer on ``/_local/event-source-mappings``
    says when it last found its shard fully handled; wait until that is after this call began.
    """
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(api_url)
    since = time.time()
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/_local/event-source-mappings", timeout=30) as r:
            rows = [row for row in json.load(r)["Items"] if row["State"] == "Enabled"]
        if rows and all(row["CaughtUpAt"] >= since for row in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"event-source mappings did not catch up within {timeout:.0f} s: {rows}")
