"""Cold-start proxy: import time of the api handler vs a bare ``import boto3``, in fresh interpreters.

Each figure is the median of N fresh ``python -c`` processes (imports only, warm .pyc), so it
measures what a Lambda cold start pays for our code before the first request. Target: <= 300 ms, and
the api handler's import <= 1.25 x a bare ``import boto3``. The cases run round-robin, and the ratio is
also given as the median of each round's own ratio (the two imports of a round run seconds apart), which
the shared machine's load swings move less than the ratio of two medians. Each probe reports its wall
time and its own CPU time (``time.process_time``): on a loaded machine the wall time also counts the
time spent waiting for a core, which the CPU time does not, so the CPU ratio is the steadier figure (a
Lambda environment has its vCPU to itself, and an import from a warm page cache is all CPU).

The probes get the api function's table variables (every table of the registry, as the Api stack gives
them), so "resolver build" binds what the deployed function binds.

``--bytecode cached`` (default) lets the warm-up write ``.pyc`` files and the probes read them, whatever
``PYTHONDONTWRITEBYTECODE`` says in the caller's environment: the cost of running the modules.
``--bytecode none`` gives every probe an empty ``PYTHONPYCACHEPREFIX`` and writes nothing, so every
module (boto3's included) is compiled from source: what a cold start pays when the deployment ships no
bytecode, as today's layers (Lambda cannot write ``.pyc`` next to read-only code; docs/decisions.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import time; t=time.perf_counter(); c=time.process_time(); {stmt}; "
    "print((time.perf_counter()-t)*1000, (time.process_time()-c)*1000)"
)
CASES = {
    "bare import boto3": "import boto3",
    "api handler import": "import api.handler",
    "api handler import + resolver build": (
        "import api.handler as h; from homing.api.app import build_resolver; "
        "from homing.bootstrap import services; build_resolver(services())"
    ),
}
# Compile, from source, every module ``import api.handler`` loads that the Lambda runtime does not
# provide with its own bytecode (the runtime ships boto3's closure; our layers ship sources only).
COMPILE_PROBE = """
import sys, time, api.handler
runtime = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six", "certifi", "_distutils_hack")
files = [m.__file__ for n, m in list(sys.modules.items())
         if getattr(m, "__file__", None) and m.__file__.endswith(".py") and "site-packages" in m.__file__
         and not n.split(".")[0] in runtime or getattr(m, "__file__", "") and "/homing/" in m.__file__]
files += [m.__file__ for n, m in list(sys.modules.items()) if n == "api.handler"]
sources = [(f, open(f, "rb").read()) for f in set(files)]
t = time.perf_counter()
for f, src in sources:
    compile(src, f, "exec", dont_inherit=True)
print(len(sources), (time.perf_counter() - t) * 1000)
"""

sys.path.insert(0, str(ROOT / "layers/core/python"))
from homing.adapters.dynamodb.tables import TABLES  # noqa: E402  (the registry: which variables to set)

ENV = {
    **{table.env: f"homing-{table.construct_id.lower()}" for table in TABLES},
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "homing",
    "POWERTOOLS_METRICS_NAMESPACE": "Homing",
}


def measure(stmt: str, no_bytecode_dir: str | None = None) -> tuple[float, float]:
    """One fresh interpreter: (wall, CPU) milliseconds spent importing ``stmt`` (from source if ``no_bytecode_dir``)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")},
        **ENV,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers/core/python")]),
    }
    if no_bytecode_dir is not None:
        env |= {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": no_bytecode_dir}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(stmt=stmt)], env=env, capture_output=True, text=True, check=True
    )
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--bytecode", choices=("cached", "none"), default="cached")
    args = parser.parse_args()
    empty = tempfile.mkdtemp(prefix="homing-no-pyc-") if args.bytecode == "none" else None
    measure("import boto3; import api.handler")  # warm the .pyc caches (unused with --bytecode none)
    # Round-robin, so that the shared machine's slow and fast moments hit every case alike.
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, stmt in CASES.items():
            results[name].append(measure(stmt, empty))
    print(
        f"cold start proxy, median of {args.runs} fresh interpreters (Python {sys.version.split()[0]}, "
        f"{'modules compiled from source' if empty else 'cached .pyc'})"
    )
    for clock, index in (("wall", 0), ("CPU", 1)):
        baseline = statistics.median(v[index] for v in results["bare import boto3"])
        print(f"  {clock} time")
        for name, values in results.items():
            times = [v[index] for v in values]
            med = statistics.median(times)
            spread = f"(min {min(times):.1f}, max {max(times):.1f})"
            print(f"    {name:<38} {med:7.1f} ms  {spread}  x{med / baseline:.2f} boto3")
        paired = sorted(
            h[index] / b[index]
            for h, b in zip(results["api handler import"], results["bare import boto3"], strict=True)
        )
        quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
        print(
            f"    api handler import / bare import boto3, median of per-round ratios: x{statistics.median(paired):.2f} "
            f"(quartiles x{quartiles[0]:.2f}-x{quartiles[2]:.2f})"
        )
    print("  target: api handler import <= 300 ms and <= x1.25 boto3")
    env = {
        **os.environ,
        **ENV,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers/core/python")]),
    }
    compiled = [
        subprocess.run(
            [sys.executable, "-c", COMPILE_PROBE], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(5)
    ]
    print(
        f"  compiling the {compiled[0][0]} modules the handler loads beyond the runtime's boto3 (Homing, Powertools, "
        f"PynamoDB, ...: shipped without .pyc, so every Lambda cold start compiles them): "
        f"{statistics.median(float(c[1]) for c in compiled):.1f} ms, median of 5"
    )


if __name__ == "__main__":
    main()
