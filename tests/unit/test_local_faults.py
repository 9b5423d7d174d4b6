"""Local mode's injected failures (homing.local.runner.Faults) and the ASL moto's parser needs (deploy.py)."""

from __future__ import annotations

import json

import pytest

from homing.local.deploy import interpretable
from homing.local.runner import Faults

EVENT = {"run": {"campaign_id": "c1", "run_id": "r"}, "item": {"batch": 1, "page": "p"}}


def test_a_fault_fails_the_next_matching_invocations_of_its_stage_only() -> None:
    faults = Faults()
    faults.action({"function": "SendBatch", "match": {"run": {"campaign_id": "c1"}, "item": {"batch": 1}}, "count": 2})

    assert not faults.take("Stack-SendBatchFunction", EVENT, before=True)  # an "after" fault
    assert not faults.take("Stack-RunCampaign", EVENT, before=False)  # another function
    assert not faults.take("Stack-SendBatchFunction", {**EVENT, "item": {"batch": 2}}, before=False)
    assert faults.take("Stack-SendBatchFunction", EVENT, before=False)
    assert faults.take("Stack-SendBatchFunction", EVENT, before=False)
    assert not faults.take("Stack-SendBatchFunction", EVENT, before=False)  # used up
    assert [row["Left"] for row in faults.rows()] == [0, 0]


def test_a_before_fault_and_bad_requests() -> None:
    faults = Faults()
    faults.action({"function": "SendBatch", "before": True})

    assert not faults.take("SendBatch", EVENT, before=False)
    assert faults.take("SendBatch", EVENT, before=True)
    for bad in ({}, {"function": "x", "count": 0}):
        with pytest.raises(ValueError, match="needs"):
            faults.action(bad)


def test_whole_tolerated_failure_percentages_become_decimals_for_moto() -> None:
    definition = {"States": {"M": {"Type": "Map", "ToleratedFailurePercentage": 100, "MaxConcurrency": 40}}}

    rewritten = interpretable(json.dumps(definition))

    assert '"ToleratedFailurePercentage": 100.0' in rewritten
    assert json.loads(rewritten)["States"]["M"]["MaxConcurrency"] == 40
