"""Clean-up of deleted apps: everything an app owned goes, asynchronously, in bounded chunks.

DeleteApp only writes the app's tombstone and sends one message. Each message is a task: which
app, which pass, which stage, and where each scan segment stopped. The clean-up function handles
one task, deletes at most ``budget`` items, and sends the continuation; so an app of millions of
endpoints never meets a Lambda timeout, and a task delivered twice deletes nothing twice (every
stage re-reads what is left).

Two passes. The first runs at once. Writes that raced the delete (an UpdateEndpoint or PutEvents
that read the app just before the tombstone; a process_events invocation that found the app alive)
can land after it, but never later than the longest of those calls: 29 s for the API, the
process_events timeout for analytics. The final pass runs once ``grace`` has passed since the
tombstone and removes what they wrote; nothing can write for the app after that (every operation
answers NotFound and process_events drops the app's records). The tombstone itself expires by TTL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from homing.adapters.dynamodb.apps import AppRepository
from homing.adapters.dynamodb.erasure import AppDataEraser
from homing.domain.timestamps import parse_timestamp
from homing.observability import logger

# by app id (key or prefix)
KEYED_STAGES = (
    "endpoints",
    "catalog",
    "event_stream",
    "segments",
    "jobs",
    "audiences",
    "channels",
    "otp",
    "two_way_sms",
    "caps",
    "campaigns",
)
SCANNED_STAGES = ("analytics", "timelines")  # parallel scans with a key filter
# Segments, jobs, audiences, channels, OTP, two-way SMS, campaign caps and campaigns came later and go last, so a task
# queued before they existed keeps its stage index.
STAGES = KEYED_STAGES[:3] + SCANNED_STAGES + KEYED_STAGES[3:]
DEFAULT_BUDGET = 5000  # items deleted per invocation (about 200 BatchWriteItem calls)
DEFAULT_SEGMENTS = 4
SCAN_STEP_COST = 500  # budget charged for one round of scan pages, whatever it found
MIN_REMAINING_MS = 60_000  # stop starting new chunks when less than this is left of the invocation
DONE = "done"


class Queue(Protocol):
    def send(self, body: str, delay_seconds: int = 0) -> None: ...


@dataclass
class CleanupTask:
    """One message on the clean-up queue."""

    app_id: str
    final: bool = False  # the pass after the grace period
    stage: int = 0  # index into STAGES
    cursors: list[Any] = field(default_factory=list)  # per scan segment: None, a start key, or DONE
    removed: int = 0  # items removed so far in this pass

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> CleanupTask:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("app_id"), str) or not data["app_id"]:
            raise ValueError("not a clean-up task")
        return cls(
            app_id=data["app_id"],
            final=bool(data.get("final", False)),
            stage=int(data.get("stage", 0)),
            cursors=list(data.get("cursors") or []),
            removed=int(data.get("removed", 0)),
        )


class CleanupStarter:
    """DeleteApp's side of the clean-up: the first task on the queue, all the api function needs."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def schedule(self, app_id: str) -> None:
        """Start the clean-up of a just-tombstoned app (AppService.delete)."""
        self._queue.send(CleanupTask(app_id).to_json(), 0)


class CleanupService(CleanupStarter):
    """clean_up_app's side: runs the tasks (and can start one, as DeleteApp does)."""

    def __init__(
        self,
        apps: AppRepository,
        eraser: AppDataEraser,
        queue: Queue,
        *,
        clock: Callable[[], datetime],
        grace: timedelta,
        budget: int = DEFAULT_BUDGET,
        segments: int = DEFAULT_SEGMENTS,
    ) -> None:
        super().__init__(queue)
        self._apps, self._eraser, self._clock = apps, eraser, clock
        self._grace, self._budget, self._segments = grace, budget, segments

    def run(self, body: str, remaining_ms: Callable[[], int] = lambda: 900_000) -> None:
        """Handle one task: delete up to ``budget`` items, then send what comes next."""
        task = CleanupTask.from_json(body)
        if self._apps.get(task.app_id) is not None:
            logger.warning("clean-up task for an app that is not deleted: ignored", extra={"app_id": task.app_id})
            return
        deleted = self._apps.deleted_at(task.app_id)
        if task.final and deleted is not None:
            wait = parse_timestamp(deleted, "deleted") + self._grace - self._clock()
            if wait > timedelta(0):  # not yet (SQS delays are at most 15 minutes): wait again
                self._queue.send(body, math.ceil(wait.total_seconds()))
                return
        budget = self._budget
        while task.stage < len(STAGES) and budget > 0 and remaining_ms() > MIN_REMAINING_MS:
            scanning = STAGES[task.stage] in SCANNED_STAGES
            removed, finished = self._step(task, budget)
            task.removed += removed
            budget -= max(removed, SCAN_STEP_COST if scanning else 1)  # reading costs too
            if finished:
                task.stage, task.cursors = task.stage + 1, []
        if task.stage < len(STAGES):
            self._queue.send(task.to_json(), 0)
            return
        if not task.final:
            logger.info("app clean-up: first pass done", extra={"app_id": task.app_id, "removed": task.removed})
            wait = self._grace
            if deleted is not None:
                wait = parse_timestamp(deleted, "deleted") + self._grace - self._clock()
            self._queue.send(CleanupTask(task.app_id, final=True).to_json(), max(0, math.ceil(wait.total_seconds())))
            return
        # Anything found now was written by a request that raced the delete; it is gone too.
        logger.info("app clean-up: done", extra={"app_id": task.app_id, "late_items_removed": task.removed})

    def _step(self, task: CleanupTask, budget: int) -> tuple[int, bool]:
        """Work on the current stage; (items removed, whether the stage is finished)."""
        stage = STAGES[task.stage]
        if stage in KEYED_STAGES:
            erase: Callable[[str, int], int] = getattr(self._eraser, stage)
            removed = erase(task.app_id, min(budget, 1000))
            return removed, removed == 0
        if not task.cursors:
            task.cursors = [None] * self._segments
        page: Callable[[str, int, int, Any], tuple[int, Any]] = getattr(self._eraser, f"{stage}_page")
        open_segments = [i for i, c in enumerate(task.cursors) if c != DONE]
        total = len(task.cursors)
        with ThreadPoolExecutor(max_workers=len(open_segments)) as pool:
            results = list(pool.map(lambda i: page(task.app_id, i, total, task.cursors[i]), open_segments))
        removed = 0
        for i, (count, next_key) in zip(open_segments, results, strict=True):
            removed += count
            task.cursors[i] = next_key if next_key else DONE
        return removed, all(c == DONE for c in task.cursors)
