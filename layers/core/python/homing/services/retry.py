"""The retry policy of the concurrency model (docs/decisions.md): re-plan on a conflict, bounded, full jitter.

A hot item with N concurrent writers needs about N rounds; past WRITE_ATTEMPTS the request is
answered 409 ConflictException, having written nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable

WRITE_ATTEMPTS = 25
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.2


def back_off(attempt: int, rng: random.Random, sleep: Callable[[float], None]) -> None:
    """Wait a random time below an exponentially growing ceiling, so racing writers spread out."""
    sleep(rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
