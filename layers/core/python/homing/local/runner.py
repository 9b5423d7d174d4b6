"""Run real Lambda handler code for moto, in warm worker subprocesses (no Docker).

moto routes every invocation (Invoke API, event-source mappings, Step Functions tasks) through
``LambdaFunction._invoke_lambda``; ``install`` replaces that one method. Each function version
gets a small pool of long-lived workers (see _worker.py): ``PYTHONPATH`` = function code dir +
each layer's ``python/`` dir, the function's environment as moto resolved it, and
``AWS_ENDPOINT_URL`` pointing at moto. Separate processes (not threads) because a nested call
(function A -> Kinesis -> function B) must not wait for A to finish, and because env vars and
``sys.path`` are process-global. A crashed or timed-out worker is discarded and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import io
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("homing.local")

WORKER_SOURCE = Path(__file__).with_name("_worker.py").read_text()
INIT_TIMEOUT_SECONDS = 60.0
# Environment kept from the local-mode process (everything else is the function's own).
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT", "VIRTUAL_ENV")
# Variables local mode adds to every worker, e.g. AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2 pointing
# End User Messaging (which moto lacks) at the stand-in (sms_voice.py); set before workers start.
EXTRA_ENV: dict[str, str] = {}
WORKER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local-function",
    "AWS_SECRET_ACCESS_KEY": "local-function",
    "AWS_SESSION_TOKEN": "local-function",
}


class CodeLocator:
    """Where a function's or layer's code lives on disk.

    The deployer registers each uploaded asset's source dir, so workers run straight from
    cdk.out (no unzip). Code that came from elsewhere is unzipped once, by content hash.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._by_key: dict[tuple[str, str], Path] = {}
        self._cache_dir = cache_dir or Path(tempfile.gettempdir()) / "homing-local-code"
        self._lock = threading.Lock()

    def register(self, bucket: str, key: str, directory: Path) -> None:
        self._by_key[(bucket, key)] = directory

    def locate(self, content: dict[str, Any], code_bytes: bytes, sha256: str) -> Path:
        registered = self._by_key.get((content.get("S3Bucket", ""), content.get("S3Key", "")))
        if registered is not None:
            return registered
        digest = sha256 or hashlib.sha256(code_bytes).hexdigest()
        target = self._cache_dir / digest.replace("/", "_").replace("+", "-")
        with self._lock:
            if not target.exists():
                partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
                with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
                    archive.extractall(partial)
                try:
                    partial.replace(target)
                except OSError:
                    # The cache is shared between processes (the lock is not): another one extracted the
                    # same code first, and a directory cannot replace a non-empty one. Theirs serves.
                    shutil.rmtree(partial, ignore_errors=True)
                    if not target.exists():
                        raise
        return target


def _elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of a binary (x86_64 = 62, aarch64 = 183), None if not ELF."""
    try:
        with path.open("rb") as binary:
            header = binary.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _loadable(path: Path, host_machine: int | None) -> bool:
    """Whether this interpreter can load the compiled module ``path`` (ABI tag and CPU)."""
    tag = path.name.split(".", 1)[1] if "." in path.name else ""
    if tag.startswith("cpython-") and not path.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES[:1])):
        return False
    machine = _elf_machine(path)
    return machine is None or host_machine is None or machine == host_machine


def foreign_packages(layer_path: Path) -> set[str]:
    """Top-level packages under ``layer_path`` with compiled modules this Python cannot load.

    Layers are built for the Lambda platform (e.g. arm64, another Python version); workers take
    such packages from the local interpreter's site-packages instead (see _worker.py).
    """
    foreign: set[str] = set()
    if not layer_path.is_dir():
        return foreign
    host_machine = _elf_machine(Path(sys.executable).resolve())
    for root, _dirs, files in os.walk(layer_path):
        for name in files:
            path = Path(root, name)
            if name.endswith((".so", ".pyd")) and not _loadable(path, host_machine):
                top = path.relative_to(layer_path).parts[0]
                foreign.add(top.split(".")[0])
    return foreign


@dataclass(frozen=True)
class FunctionSpec:
    """Everything that decides how a worker is started (a new spec gets new workers)."""

    name: str
    arn: str
    version: str
    handler: str
    code_dir: str
    layer_dirs: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    timeout: float
    memory: int


class InvocationResult:
    def __init__(self, payload: str, errored: bool, logs: str) -> None:
        self.payload = payload
        self.errored = errored
        self.logs = logs


def _error_payload(message: str, error_type: str) -> str:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": []})


class Worker:
    """One warm worker process for one function spec."""

    def __init__(self, spec: FunctionSpec, moto_url: str, foreign: set[str]) -> None:
        self.spec = spec
        env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        env.update(WORKER_CREDENTIALS)
        env.update(
            {
                "AWS_REGION": spec.arn.split(":")[3],
                "AWS_DEFAULT_REGION": spec.arn.split(":")[3],
                "AWS_ENDPOINT_URL": moto_url,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python_local",
                "_HANDLER": spec.handler,
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(EXTRA_ENV)
        env.update(dict(spec.env))
        python_path = [spec.code_dir]
        for layer in spec.layer_dirs:
            python_path.append(str(Path(layer, "python")))
            python_path.append(str(Path(layer, "python", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}")))
        env["PYTHONPATH"] = os.pathsep.join(python_path)
        env["HOMING_LOCAL_FOREIGN_PACKAGES"] = ",".join(sorted(foreign))
        env["HOMING_LOCAL_LAYER_PATHS"] = os.pathsep.join(python_path[1:])
        self._log_file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_SOURCE, spec.handler],
            cwd=spec.code_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            start_new_session=True,  # Ctrl-C reaches local mode only; it stops workers itself
        )
        self._buffer = b""
        self._eof = False
        self.init_error: dict[str, Any] | None = None
        self.init_logs = ""

    def wait_ready(self) -> bool:
        """Wait for the handler import; False (with ``init_error`` set) if it failed."""
        message = self._read(INIT_TIMEOUT_SECONDS)
        if message is None:
            self.init_error = {"errorMessage": "worker did not start", "errorType": "Runtime.ExitError"}
            self.init_logs = self._crash_logs()
            return False
        if not message.get("ready"):
            self.init_error = message.get("error") or {}
            self.init_logs = str(message.get("logs", ""))
            return False
        return True

    def invoke(self, event: Any, context: dict[str, Any]) -> InvocationResult:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"event": event, "context": context}).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return InvocationResult(_error_payload("worker exited", "Runtime.ExitError"), True, self._crash_logs())
        message = self._read(self.spec.timeout)
        if message is None:
            logs = self._crash_logs()
            if self._eof:
                code = self.process.wait()
                text = f"Runtime exited with error: exit status {code}"
                return InvocationResult(_error_payload(text, "Runtime.ExitError"), True, logs)
            self.stop()
            text = f"Task timed out after {self.spec.timeout:.2f} seconds"
            return InvocationResult(_error_payload(text, "Sandbox.Timedout"), True, logs)
        logs = str(message.get("logs", ""))
        if message.get("ok"):
            return InvocationResult(str(message["payload"]), False, logs)
        return InvocationResult(json.dumps(message.get("error") or {}), True, logs)

    def _read(self, timeout: float) -> dict[str, Any] | None:
        """One JSON line from the worker, or None on EOF/timeout."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self._eof = True
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _crash_logs(self) -> str:
        if self._log_file.closed:
            return ""
        self._log_file.seek(0)
        return self._log_file.read().decode("utf-8", "replace")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._log_file.close()


class WorkerPool:
    """Idle warm workers of one function spec; grows on concurrent calls up to ``max_workers``."""

    def __init__(self, spec: FunctionSpec, moto_url: str, foreign: set[str], max_workers: int) -> None:
        self.spec = spec
        self._moto_url = moto_url
        self._foreign = foreign
        self._max = max_workers
        self._idle: list[Worker] = []
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False

    def _spawn(self) -> Worker | InvocationResult:
        worker = Worker(self.spec, self._moto_url, self._foreign)
        if worker.wait_ready():
            return worker
        worker.stop()
        error = worker.init_error or {}
        log.warning(
            "%s: init failed: %s: %s", self.spec.name, error.get("errorType"), str(error.get("errorMessage"))[:300]
        )
        return InvocationResult(json.dumps(error), True, worker.init_logs)

    def prewarm(self) -> None:
        """Start one worker ahead of the first call (cold start paid at startup)."""
        with self._cond:
            if self._idle or self._busy or self._closed:
                return
            self._busy += 1
        try:
            spawned = self._spawn()
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify()
        if isinstance(spawned, Worker):
            self._release(spawned)

    def invoke(self, event: Any, context: dict[str, Any]) -> InvocationResult:
        with self._cond:
            while not self._idle and self._busy >= self._max:
                self._cond.wait()
            worker = self._idle.pop() if self._idle else None
            self._busy += 1
        try:
            if worker is None or not worker.alive:
                if worker is not None:
                    worker.stop()
                spawned = self._spawn()
                if isinstance(spawned, InvocationResult):
                    return spawned
                worker = spawned
            result = worker.invoke(event, context)
            if worker.alive:
                self._release(worker)
                worker = None
            return result
        finally:
            if worker is not None:
                worker.stop()  # crashed or timed out: the next call gets a fresh one
            with self._cond:
                self._busy -= 1
                self._cond.notify()

    def _release(self, worker: Worker) -> None:
        with self._cond:
            if self._closed:
                worker.stop()
            else:
                self._idle.append(worker)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


def is_python(fn: Any) -> bool:
    """Only Python functions run locally (e.g. CDK's Node.js custom-resource providers do not)."""
    return str(fn.run_time or "").startswith("python")


def _contains(whole: Any, part: Any) -> bool:
    """Whether ``part`` is ``whole`` or, for dicts, a subset of it (recursively)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _contains(whole[k], v) for k, v in part.items())
    return bool(whole == part)


class Faults:
    """Local mode only (nothing in the product reads it): invocations told to fail *after* their handler
    ran, as a Lambda whose answer was lost (a timeout after the work was done), so tests can watch a
    workflow retry a step that already had its effects; or, with ``"before": true``, without running
    it (a crash before any work). ``POST /_local/faults`` ``{"function": "<part of the name>", "match":
    {<subset of the event>}, "count": N, "before": false}`` fails the next N matching invocations with
    ``LocalFault``."""

    def __init__(self) -> None:
        self._rules: list[dict[str, Any]] = []
        self.fired: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def action(self, request: dict[str, Any]) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "function": str(request.get("function", "")),
            "match": request.get("match") or {},
            "count": int(request.get("count", 1)),
            "before": bool(request.get("before", False)),
        }
        if not rule["function"] or rule["count"] < 1:
            raise ValueError('a fault needs "function" and a positive "count"')
        with self._lock:
            self._rules.append(rule)
        return {"Armed": rule}

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"Function": r["function"], "Match": json.dumps(r["match"]), "Left": r["count"]} for r in self._rules
            ] + [{"Function": f["function"], "Match": "fired", "Left": 0} for f in self.fired[-50:]]

    def take(self, name: str, event: Any, *, before: bool) -> bool:
        """True (and one fewer left) when a rule for this stage (before or after the handler) matches."""
        with self._lock:
            for rule in self._rules:
                if rule["before"] == before and rule["function"] in name and _contains(event, rule["match"]):
                    rule["count"] -= 1
                    if rule["count"] == 0:
                        self._rules.remove(rule)
                    self.fired.append({"function": name})
                    return True
        return False


class Runner:
    """Maps moto's LambdaFunction objects to worker pools."""

    def __init__(self, moto_url: str, code: CodeLocator, max_workers: int = 4, echo_logs: bool = False) -> None:
        self.moto_url = moto_url
        self.code = code
        self.max_workers = max_workers
        self.echo_logs = echo_logs
        self._pools: dict[FunctionSpec, WorkerPool] = {}
        self._foreign: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self.faults = Faults()

    def spec_for(self, fn: Any) -> FunctionSpec:
        """Build the spec of a moto ``LambdaFunction`` (code/layer dirs, resolved env)."""
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[fn.account_id][fn.region]
        code_dir = self.code.locate(fn.code, fn.code_bytes, fn.code_sha_256)
        layer_dirs = []
        for layer in fn.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is not None:
                layer_dirs.append(str(self.code.locate(version.content, version.code_bytes, version.code_sha_256)))
        env = tuple(sorted((str(k), str(v)) for k, v in fn.environment_vars.items()))
        return FunctionSpec(
            name=fn.function_name,
            arn=fn.function_arn,
            version=str(fn.version),
            handler=fn.handler,
            code_dir=str(code_dir),
            layer_dirs=tuple(layer_dirs),
            env=env,
            timeout=float(fn.timeout or 3),
            memory=int(fn.memory_size or 128),
        )

    def pool(self, spec: FunctionSpec) -> WorkerPool:
        with self._lock:
            pool = self._pools.get(spec)
            if pool is None:
                foreign: set[str] = set()
                for layer in spec.layer_dirs:
                    if layer not in self._foreign:
                        self._foreign[layer] = foreign_packages(Path(layer, "python"))
                        if self._foreign[layer]:
                            log.info(
                                "%s: layer packages built for another platform, using the local ones: %s",
                                spec.name,
                                ", ".join(sorted(self._foreign[layer])),
                            )
                    foreign |= self._foreign[layer]
                # A changed configuration (code, layers, env) retires the old workers, as in Lambda.
                stale = [old for old in self._pools if (old.arn, old.version) == (spec.arn, spec.version)]
                for old in stale:
                    self._pools.pop(old).close()
                pool = self._pools[spec] = WorkerPool(spec, self.moto_url, foreign, self.max_workers)
            return pool

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        """The replacement for ``LambdaFunction._invoke_lambda``: (payload, errored, logs)."""
        if isinstance(event, (str, bytes)):
            with contextlib.suppress(ValueError):
                event = json.loads(event or "{}")
        if not is_python(fn):
            text = f"runtime {fn.run_time} is not run locally (only Python functions are)"
            log.warning("%s: %s", fn.function_name, text)
            return _error_payload(text, "Runtime.InvalidRuntime"), True, ""
        spec = self.spec_for(fn)
        request_id = str(uuid.uuid4())
        context = {
            "function_name": spec.name,
            "function_version": spec.version,
            "invoked_function_arn": spec.arn,
            "memory_limit_in_mb": spec.memory,
            "aws_request_id": request_id,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": f"local/{request_id}",
            "deadline_ms": int((time.time() + spec.timeout) * 1000),
        }
        started = time.perf_counter()
        if self.faults.take(spec.name, event, before=True):
            message = "local fault: this invocation failed before its handler ran (POST /_local/faults)"
            result = InvocationResult(_error_payload(message, "LocalFault"), True, "")
        else:
            result = self.pool(spec).invoke(event, context)
        log.debug("%s: invoked in %.1f ms", spec.name, (time.perf_counter() - started) * 1000)
        if not result.errored and self.faults.take(spec.name, event, before=False):
            message = "local fault: this invocation ran, and its answer was lost (POST /_local/faults)"
            result = InvocationResult(_error_payload(message, "LocalFault"), True, result.logs)
        if result.errored:
            error = json.loads(result.payload) if result.payload.startswith("{") else {}
            self._report_error(spec.name, error)
        if self.echo_logs and result.logs:
            sys.stderr.write("".join(f"[{spec.name}] {line}\n" for line in result.logs.splitlines()))
        try:
            fn.logs_backend.ensure_log_group(fn.logs_group_name)
            fn.save_logs(result.logs)
        except Exception:  # logs are a courtesy; never fail an invocation over them
            log.debug("could not store logs of %s", spec.name, exc_info=True)
        return result.payload, result.errored, result.logs

    def _report_error(self, name: str, error: dict[str, Any]) -> None:
        # Error messages can quote the input (e.g. validation errors): only with --lambda-logs.
        if self.echo_logs:
            log.warning("%s: %s: %s", name, error.get("errorType"), str(error.get("errorMessage"))[:500])
        else:
            log.warning("%s: %s (details: --lambda-logs)", name, error.get("errorType"))

    def prewarm(self, functions: list[Any]) -> list[threading.Thread]:
        """Start one worker per function in the background."""
        threads = []
        for fn in filter(is_python, functions):
            pool = self.pool(self.spec_for(fn))
            thread = threading.Thread(target=pool.prewarm, name=f"prewarm-{fn.function_name}", daemon=True)
            thread.start()
            threads.append(thread)
        return threads

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


def install(runner: Runner) -> None:
    """Patch moto so that every Lambda invocation runs through ``runner``."""
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        return runner.invoke(self, event)

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
