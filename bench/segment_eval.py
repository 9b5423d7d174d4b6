"""Segment evaluation speed: the compiled predicate against the naive reference evaluator, same run.

A 5-dimension segment (Platform, Channel, an attribute, a metric, Recency) over synthetic endpoints
in their stored snake_case shape, each with a last-active time. Target: >= 300,000 endpoints/s per
core for the compiled predicate over 1,000,000 endpoints. The naive evaluator (homing.domain.segments.
reference_matches) is measured over a sample, since it is the baseline and not the product.

    python bench/segment_eval.py [--endpoints 1000000] [--naive 50000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "core" / "python")]

from homing.domain.segment_predicate import compile_segment, count_audience  # noqa: E402
from homing.domain.segments import (  # noqa: E402
    AttributeDimension,
    MetricDimension,
    RecencyDimension,
    Segment,
    SegmentBehaviors,
    SegmentDemographics,
    SegmentDimensions,
    SetDimension,
    reference_matches,
)

NOW_MS = 1_764_000_000_000
DAY_MS = 86_400_000
SEGMENT = Segment(
    id="bench",
    application_id="app",
    version=1,
    segment_type="DIMENSIONAL",
    creation_date="2025-01-01T00:00:00.000Z",
    last_modified_date="2025-01-01T00:00:00.000Z",
    dimensions=SegmentDimensions(
        demographic=SegmentDemographics(
            platform=SetDimension(values=["iOS", "Android"]),
            channel=SetDimension(values=["EMAIL", "SMS"]),
        ),
        attributes={"tier": AttributeDimension(values=["gold", "platinum"])},
        metrics={"score": MetricDimension(comparison_operator="GREATER_THAN_OR_EQUAL", value=50.0)},
        behavior=SegmentBehaviors(recency=RecencyDimension(duration="DAY_30", recency_type="ACTIVE")),
    ),
)


def synthetic(n: int, seed: int = 7) -> list[tuple[dict[str, Any], int | None]]:
    rng = random.Random(seed)
    platforms, channels = ["iOS", "android", "Windows", "macOS"], ["EMAIL", "SMS", "GCM", "APNS"]
    tiers = ["gold", "silver", "bronze", "platinum"]
    out = []
    for i in range(n):
        body = {
            "id": f"ep{i}",
            "channel_type": rng.choice(channels),
            "endpoint_status": "ACTIVE",
            "opt_out": "NONE",
            "demographic": {"platform": rng.choice(platforms), "make": "Apple"},
            "location": {"country": "US"},
            "attributes": {"tier": [rng.choice(tiers)], "interests": ["a", "b"]},
            "metrics": {"score": float(rng.randrange(100))},
            "user": {"user_id": f"u{i}"},
        }
        last_active = NOW_MS - rng.randrange(60) * DAY_MS if rng.random() < 0.8 else None
        out.append((body, last_active))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=50_000, help="endpoints for the naive evaluator")
    args = parser.parse_args()
    population = synthetic(args.endpoints)
    no_bases = lambda seg_id, version: SEGMENT  # noqa: E731 (the bench segment has no base segments)

    start = time.process_time()
    predicate = compile_segment(SEGMENT, no_bases, now_ms=NOW_MS)
    compile_ms = (time.process_time() - start) * 1000

    start = time.process_time()
    matched = sum(1 for body, t in population if predicate(body, t))
    compiled_rate = len(population) / (time.process_time() - start)

    sample = population[: args.naive]
    start = time.process_time()
    naive = sum(1 for body, t in sample if reference_matches(SEGMENT, body, t, now_ms=NOW_MS, resolve_base=no_bases))
    naive_rate = len(sample) / (time.process_time() - start)
    assert naive == sum(1 for body, t in sample if predicate(body, t)), "the two evaluators disagree"

    start = time.process_time()
    counts = count_audience(predicate, population)
    counting_rate = len(population) / (time.process_time() - start)
    assert counts.total == matched

    print(f"segment_eval: 5 dimensions, {len(population):,} endpoints, {matched:,} in the segment")
    print(f"  compile: {compile_ms:.2f} ms CPU")
    print(f"  compiled predicate: {compiled_rate:,.0f} endpoints/s (CPU, one core; target >= 300,000)")
    print(f"  count_audience (predicate + counts): {counting_rate:,.0f} endpoints/s")
    print(f"  naive reference evaluator: {naive_rate:,.0f} endpoints/s (over {len(sample):,})")
    print(f"  ratio compiled / naive: {compiled_rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
