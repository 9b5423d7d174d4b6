"""Cold-start proxy: import time of the api handler vs a bare ``import boto3``, in fresh interpreters.

Each figure is the median of N fresh ``python -c`` processes (imports only, warm .pyc), so it
measures what a Lambda cold start pays for our code before the first request. Target: <= 300 ms, and
the api handler's import <= 1.25 x a bare ``import boto3``. The cases run round-robin, and the ratio is
also given as the median of each round's own ratio (the two imports of a round run seconds apart), which
the shared machine's load swings move less than the ratio of two medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import time; t=time.perf_counter(); {stmt}; print((time.perf_counter()-t)*1000)"
CASES = {
    "bare import boto3": "import boto3",
    "api handler import": "import api.handler",
    "api handler import + resolver build": (
        "import api.handler as h; from homing.api.app import build_resolver; "
        "from homing.bootstrap import services; build_resolver(services())"
    ),
}
ENV = {
    "APPS_TABLE": "a",
    "ENDPOINTS_TABLE": "e",
    "CATALOG_TABLE": "c",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "homing",
    "POWERTOOLS_METRICS_NAMESPACE": "Homing",
}


def measure(stmt: str) -> float:
    """One fresh interpreter: milliseconds spent importing ``stmt``."""
    env = {
        **os.environ,
        **ENV,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers/core/python")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(stmt=stmt)], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    measure("import boto3; import api.handler")  # warm the .pyc caches
    # Round-robin, so that the shared machine's slow and fast moments hit every case alike.
    results: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, stmt in CASES.items():
            results[name].append(measure(stmt))
    baseline = statistics.median(results["bare import boto3"])
    print(f"cold start proxy, median of {args.runs} fresh interpreters (Python {sys.version.split()[0]})")
    for name, values in results.items():
        med = statistics.median(values)
        print(
            f"  {name:<40} {med:7.1f} ms  (min {min(values):.1f}, max {max(values):.1f})  x{med / baseline:.2f} boto3"
        )
    paired = sorted(h / b for h, b in zip(results["api handler import"], results["bare import boto3"], strict=True))
    quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
    print(
        f"  api handler import / bare import boto3, median of per-round ratios: x{statistics.median(paired):.2f} "
        f"(quartiles x{quartiles[0]:.2f}-x{quartiles[2]:.2f})"
    )
    print("  target: api handler import <= 300 ms and <= x1.25 boto3")


if __name__ == "__main__":
    main()
