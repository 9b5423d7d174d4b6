"""The warm-worker Lambda runner: results, handler errors, crashes, timeouts and log capture."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from homing.local.runner import FunctionSpec, WorkerPool, foreign_packages

HANDLER = """
import os, sys, time

def handler(event, context):
    action = event.get("action")
    print("log line from handler")
    if action == "raise":
        raise ValueError("bad input")
    if action == "exit":
        os._exit(3)
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "unserializable":
        return {"x": object()}
    return {
        "echo": event,
        "env": os.environ.get("GREETING"),
        "layer": __import__("layer_module").VALUE,
        "request_id": context.aws_request_id,
        "remaining_ok": context.get_remaining_time_in_millis() > 0,
        "pid": os.getpid(),
    }
"""


@pytest.fixture
def spec(tmp_path: Path) -> FunctionSpec:
    code = tmp_path / "code" / "fn"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "handler.py").write_text(textwrap.dedent(HANDLER))
    layer = tmp_path / "layer" / "python"
    layer.mkdir(parents=True)
    (layer / "layer_module.py").write_text("VALUE = 'from layer'\n")
    return FunctionSpec(
        name="fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        version="$LATEST",
        handler="fn.handler.handler",
        code_dir=str(tmp_path / "code"),
        layer_dirs=(str(tmp_path / "layer"),),
        env=(("GREETING", "hi"),),
        timeout=2.0,
        memory=128,
    )


@pytest.fixture
def pool(spec: FunctionSpec) -> Iterator[WorkerPool]:
    pool = WorkerPool(spec, "http://127.0.0.1:1", set(), max_workers=2)
    yield pool
    pool.close()


def _context() -> dict[str, object]:
    import time

    return {"aws_request_id": "r-1", "deadline_ms": int((time.time() + 5) * 1000)}


def test_handler_runs_with_env_layer_and_context(pool: WorkerPool) -> None:
    result = pool.invoke({"a": 1}, _context())

    assert not result.errored
    payload = json.loads(result.payload)
    assert payload["echo"] == {"a": 1}
    assert payload["env"] == "hi"
    assert payload["layer"] == "from layer"
    assert payload["request_id"] == "r-1"
    assert payload["remaining_ok"] is True
    assert "log line from handler" in result.logs


def test_worker_stays_warm(pool: WorkerPool) -> None:
    first = json.loads(pool.invoke({}, _context()).payload)["pid"]
    second = json.loads(pool.invoke({}, _context()).payload)["pid"]

    assert first == second


def test_handler_exception_is_a_function_error(pool: WorkerPool) -> None:
    result = pool.invoke({"action": "raise"}, _context())

    assert result.errored
    error = json.loads(result.payload)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input"
    assert "Traceback" in result.logs


def test_unserializable_result_is_a_marshal_error(pool: WorkerPool) -> None:
    result = pool.invoke({"action": "unserializable"}, _context())

    assert result.errored
    assert json.loads(result.payload)["errorType"] == "Runtime.MarshalError"


def test_crashed_worker_is_replaced(pool: WorkerPool) -> None:
    before = json.loads(pool.invoke({}, _context()).payload)["pid"]

    crashed = pool.invoke({"action": "exit"}, _context())
    after = json.loads(pool.invoke({}, _context()).payload)["pid"]

    assert crashed.errored
    assert json.loads(crashed.payload)["errorType"] == "Runtime.ExitError"
    assert after != before


def test_timeout_kills_the_worker(pool: WorkerPool) -> None:
    result = pool.invoke({"action": "sleep", "seconds": 10}, _context())

    assert result.errored
    assert json.loads(result.payload)["errorMessage"] == "Task timed out after 2.00 seconds"
    assert not pool.invoke({}, _context()).errored


def test_concurrent_calls_get_separate_workers(pool: WorkerPool) -> None:
    def call() -> None:
        result = pool.invoke({"action": "sleep", "seconds": 0.5}, _context())
        assert not result.errored

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(pool._idle) == 2  # two warm workers now serve this function


def test_import_error_is_reported_per_call(spec: FunctionSpec) -> None:
    broken = FunctionSpec(**{**spec.__dict__, "handler": "fn.missing.handler"})
    pool = WorkerPool(broken, "http://127.0.0.1:1", set(), max_workers=1)
    try:
        result = pool.invoke({}, _context())
    finally:
        pool.close()

    assert result.errored
    assert json.loads(result.payload)["errorType"] == "Runtime.ImportModuleError"


def test_foreign_compiled_packages_are_detected(tmp_path: Path) -> None:
    (tmp_path / "fastlib").mkdir()
    (tmp_path / "fastlib" / "_core.cpython-313-aarch64-linux-gnu.so").write_bytes(b"")
    (tmp_path / "purelib").mkdir()
    (tmp_path / "purelib" / "__init__.py").write_text("")

    assert foreign_packages(tmp_path) == {"fastlib"}
