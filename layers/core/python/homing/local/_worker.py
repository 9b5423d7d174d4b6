"""A warm Lambda "execution environment": one process, one handler, JSON lines over a pipe.

Run as ``python -c <this source> <module.function>`` (not as a file or ``-m``: either would put
homing/local/ or the core layer's ``homing`` package in the way of the function's own path).
Standard library only. The parent sends one request per line on stdin; the answer goes to a
private copy of the original stdout, because the handler's own prints and logs (stdout and
stderr alike) are captured into a log file per invocation, as Lambda sends them to CloudWatch.
"""

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
import traceback
from typing import Any

FOREIGN_ENV = "HOMING_LOCAL_FOREIGN_PACKAGES"
LAYER_PATHS_ENV = "HOMING_LOCAL_LAYER_PATHS"


class _HostFirst(importlib.abc.MetaPathFinder):
    """Import named top-level packages from outside the layers.

    A layer built for the Lambda platform may hold compiled modules for another CPU or Python;
    those packages are taken from the local interpreter's own site-packages instead.
    """

    def __init__(self, names: set[str], layer_paths: set[str]) -> None:
        self.names = names
        self.layer_paths = layer_paths

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if path is not None or fullname not in self.names:
            return None
        search = [p for p in sys.path if os.path.abspath(p or ".") not in self.layer_paths]
        return importlib.machinery.PathFinder.find_spec(fullname, search)


class _Context:
    """The subset of the Lambda context object handlers and Powertools read."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.function_name = info.get("function_name", "")
        self.function_version = info.get("function_version", "$LATEST")
        self.invoked_function_arn = info.get("invoked_function_arn", "")
        self.memory_limit_in_mb = int(info.get("memory_limit_in_mb", 128))
        self.aws_request_id = info.get("aws_request_id", "")
        self.log_group_name = info.get("log_group_name", "")
        self.log_stream_name = info.get("log_stream_name", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(info.get("deadline_ms", 0))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def main() -> None:
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # handler prints join stderr, which the parent pointed at a log file
    log_fd = 2
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)

    foreign = {n for n in os.environ.pop(FOREIGN_ENV, "").split(",") if n}
    layer_paths = {os.path.abspath(p) for p in os.environ.pop(LAYER_PATHS_ENV, "").split(os.pathsep) if p}
    if foreign:
        sys.meta_path.insert(0, _HostFirst(foreign, layer_paths))

    def reply(message: dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        size = os.lseek(log_fd, 0, os.SEEK_END)
        message["logs"] = os.pread(log_fd, size, 0).decode("utf-8", "replace") if size else ""
        protocol_out.write(json.dumps(message) + "\n")

    module_name, _, function_name = sys.argv[1].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # the init error is the answer to every request
        reply({"ready": False, "error": _error(exc, "Runtime.ImportModuleError")})
        return
    reply({"ready": True})

    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        os.ftruncate(log_fd, 0)
        try:
            result = handler(request["event"], _Context(request["context"]))
            try:
                reply({"ok": True, "payload": json.dumps(result)})
            except (TypeError, ValueError) as exc:
                reply({"ok": False, "error": _error(exc, "Runtime.MarshalError")})
        except Exception as exc:
            traceback.print_exception(exc)
            reply({"ok": False, "error": _error(exc)})


if __name__ == "__main__":
    main()
