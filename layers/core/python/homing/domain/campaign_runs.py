"""One run of a campaign as the delivery workflow carries it between its steps, and what each batch reports.

The workflow (stacks/constructs/campaign_delivery.py) is started by the campaign's schedule, by
CreateCampaign/UpdateCampaign for an IMMEDIATE campaign, and never by events (an event-triggered send
is one ``send_batch`` invocation that process_events starts). Its steps pass a ``CampaignRun`` along:

    begin   (run_campaign)  the campaign version, its activities (one per treatment), the deadline
    parts   (resolve_audience, the segments' audience pages)
    plan    (run_campaign)  the Distributed Map's items: one ``BatchItem`` per slice of a page
    batches (send_batch)    each writes its ``BatchTally`` to ``tally_key`` (overwritten by a retry)
    finish  (run_campaign)  sums the tallies into the activities, sets the state, arms the next run

A run is identified by (campaign, ``run_id``); ``run_id`` is derived from the scheduled instant (or
the triggering event), so a run Scheduler delivers twice, or a step Step Functions retries, is the
same run: the same activities, the same delivery keys (``delivery_key``), the same tallies.

A local-time run (``Schedule.IsLocalTime``) is sent in several **fires** (``CampaignRun.fire``): each
goes through the steps above and sends only the members whose zone reaches the run's wall clock in
(``after``, ``fire``]; its items and tallies are under its own ``fire_prefix``, its summary in
``fired_key``, and the batches report the next instant a member they left is due (``next_due``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

RUNS_PREFIX = "campaign-runs"  # in the audience bucket, beside the audience pages (same lifecycle)
HOLDOUT = "holdout"  # BatchTally.treatments key of the endpoints held out (no treatment, no send)


def run_id(campaign_id: str, run_at: str) -> str:
    """A run's id from its campaign and scheduled instant (ISO, UTC): the same run always gets the same id."""
    return hashlib.sha256(f"{campaign_id}/{run_at}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CampaignRun:
    application_id: str
    campaign_id: str
    campaign_version: int
    run_at: str  # the scheduled instant, ISO 8601 UTC with milliseconds
    run_id: str
    activities: dict[str, str] = field(default_factory=dict)  # treatment id ("0", "1", ...) -> activity id
    deadline: str | None = None  # MaximumDuration: no send starts after this instant
    trigger: dict[str, Any] | None = None  # event-triggered: {"event_id", "endpoint_id", "session_id"}
    fire: str | None = None  # local-time run: this fire's instant (ISO UTC ms); it sends members due ≤ it
    after: str | None = None  # local-time run: the previous fire's instant (members due ≤ it went then)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: dict[str, Any]) -> CampaignRun:
        return CampaignRun(**raw)


def run_prefix(run: CampaignRun) -> str:
    return f"{RUNS_PREFIX}/{run.application_id}/{run.campaign_id}/{run.run_id}/"


def fire_id(instant: str) -> str:
    """A fire's instant as a key segment: ``2026-11-30T12:00:00.000Z`` → ``20261130T120000000Z``."""
    return "".join(c for c in instant if c.isalnum())


def fire_prefix(run: CampaignRun) -> str:
    """Where one fire's items and tallies are: the run's prefix, or ``fires/<fire>/`` under it for a local-time run."""
    return run_prefix(run) + (f"fires/{fire_id(run.fire)}/" if run.fire else "")


def fired_key(run: CampaignRun) -> str:
    """A local-time fire's summary (its merged tally, batches and reports), read by the run's last fire."""
    assert run.fire is not None
    return run_prefix(run) + f"fired/{fire_id(run.fire)}.json"


def items_key(run: CampaignRun) -> str:
    """The Distributed Map's ItemReader object: a JSON list of BatchItem dicts."""
    return fire_prefix(run) + "items.json"


def tallies_prefix(run: CampaignRun) -> str:
    return fire_prefix(run) + "tallies/"


def tally_key(run: CampaignRun, batch: int) -> str:
    return tallies_prefix(run) + f"{batch:07d}.json"


def delivery_key(run: CampaignRun, treatment_id: str, endpoint_id: str) -> str:
    """The idempotency key of one send (the Dispatcher's ledger, the caps' marker): per run, treatment, endpoint."""
    return f"campaign/{run.campaign_id}/{run.run_id}/{treatment_id}/{endpoint_id}"


@dataclass(frozen=True)
class BatchItem:
    """One send_batch invocation's slice: ``count`` members from ``offset`` of the audience page ``page``."""

    batch: int
    page: str
    offset: int
    count: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: dict[str, Any]) -> BatchItem:
        return BatchItem(int(raw["batch"]), str(raw["page"]), int(raw["offset"]), int(raw["count"]))


@dataclass
class TreatmentTally:
    """One treatment's (or the holdout's) endpoints in a batch or a run.

    ``produced``: endpoints of the audience that fell to it; ``successful``: sends that succeeded;
    ``statuses``: Pinpoint's ``campaign_send_status`` of each endpoint considered (SUCCESS, HOLDOUT,
    DAILY_CAP, QUIET_TIME, ...); ``skipped``: the execution metrics' reasons (ENDPOINT_OPT_OUT, ...).
    """

    produced: int = 0
    successful: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def merge(self, other: TreatmentTally) -> TreatmentTally:
        return TreatmentTally(
            self.produced + other.produced,
            self.successful + other.successful,
            self.statuses + other.statuses,
            self.skipped + other.skipped,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "produced": self.produced,
            "successful": self.successful,
            "statuses": dict(self.statuses),
            "skipped": dict(self.skipped),
        }

    @staticmethod
    def from_json(raw: dict[str, Any]) -> TreatmentTally:
        return TreatmentTally(
            int(raw.get("produced", 0)),
            int(raw.get("successful", 0)),
            Counter({str(k): int(v) for k, v in (raw.get("statuses") or {}).items()}),
            Counter({str(k): int(v) for k, v in (raw.get("skipped") or {}).items()}),
        )


@dataclass
class BatchTally:
    """What one batch (or, merged, a whole run) did, by treatment id and ``HOLDOUT``.

    Local-time fires also report ``slices`` (the instants, ISO UTC, of the zones whose members they
    considered: TimezonesTotalCount) and ``next_due`` (the earliest instant of a member left for a
    later fire; merged as the minimum). Both are left out of the JSON when empty."""

    treatments: dict[str, TreatmentTally] = field(default_factory=dict)
    next_due: str | None = None
    slices: set[str] = field(default_factory=set)

    def of(self, treatment_id: str) -> TreatmentTally:
        return self.treatments.setdefault(treatment_id, TreatmentTally())

    def due_later(self, instant: str) -> None:
        """A member due at ``instant`` (ISO UTC, milliseconds: such strings sort as the instants) was left."""
        if self.next_due is None or instant < self.next_due:
            self.next_due = instant

    def merge(self, other: BatchTally) -> BatchTally:
        out = BatchTally({k: TreatmentTally().merge(v) for k, v in self.treatments.items()})
        for key, tally in other.treatments.items():
            out.treatments[key] = out.of(key).merge(tally)
        for due in (self.next_due, other.next_due):
            if due is not None:
                out.due_later(due)
        out.slices = self.slices | other.slices
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"treatments": {k: v.to_json() for k, v in sorted(self.treatments.items())}}
        if self.next_due is not None:
            out["next_due"] = self.next_due
        if self.slices:
            out["slices"] = sorted(self.slices)
        return out

    @staticmethod
    def from_json(raw: dict[str, Any]) -> BatchTally:
        return BatchTally(
            {str(k): TreatmentTally.from_json(v) for k, v in (raw.get("treatments") or {}).items()},
            str(raw["next_due"]) if raw.get("next_due") else None,
            {str(s) for s in raw.get("slices") or ()},
        )
