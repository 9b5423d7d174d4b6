"""Funnels (Homing extension), pure: the request's rules and how far one participant got.

A participant reaches step k when, after an occurrence of step 1 inside [start, end], steps 2..k
occur in order, each after the previous one and all within ``window`` of step 1.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_STEPS = 10
MAX_DAYS = 31
MAX_WINDOW_MINUTES = 31 * 24 * 60
DEFAULT_WINDOW_MINUTES = 24 * 60
COUNT_BY = ("ENDPOINT", "USER")


@dataclass
class Step:
    event_type: str
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def matches(self, attrs: dict[str, str]) -> bool:
        return all(attrs.get(name) in values for name, values in self.attributes.items())


@dataclass
class Funnel:
    steps: list[Step]
    start: datetime
    end: datetime
    window: timedelta
    count_by: str = "ENDPOINT"


@dataclass(frozen=True)
class FunnelResult:
    funnel: Funnel
    counts: list[int]  # participants that reached each step


def reached(occurrences: list[list[int]], start_ms: int, end_ms: int, window_ms: int) -> int:
    """How many steps one participant reached; ``occurrences[k]`` are the sorted times of step k."""
    best = 0
    for t0 in occurrences[0]:
        if not start_ms <= t0 <= end_ms:
            continue
        t, k = t0, 1
        while k < len(occurrences):
            i = bisect.bisect_right(occurrences[k], t)
            if i == len(occurrences[k]) or occurrences[k][i] > t0 + window_ms:
                break
            t, k = occurrences[k][i], k + 1
        best = max(best, k)
        if best == len(occurrences):
            break
    return best
