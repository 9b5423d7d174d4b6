"""Which analytics and timeline keys belong to an app (the clean-up's scan filter), and the task format."""

from __future__ import annotations

import pytest

from homing.adapters.dynamodb.analytics import app_partitions, timeline_prefix
from homing.domain import analytics as a
from homing.services.cleanup import CleanupTask

APP, NEIGHBOUR = "abc", "abcd"  # one id is a prefix of the other


def keys_of(app: str) -> list[str]:
    """The partition key of every key shape process_events writes for ``app``."""
    return [
        a.app_day(app, 1)[0],
        a.campaign_day(app, "c#1", 1)[0],
        a.journey_day(app, "j", 1)[0],
        a.event_day(app, "level.up", 1)[0],
        a.event_values_key(app, "buy", 1, "colour", "blue")[0],
        a.endpoint_activity_key(app, "EP")[0],
        a.user_activity_key(app, "u")[0],
        a.message_marker_key(app, "m")[0],
        a.delivery_marker_key(app, "c", "ep")[0],
    ]


def belongs(pk: str, app: str) -> bool:
    exact, prefixes = app_partitions(app)
    return pk in exact or pk.startswith(prefixes)


def test_every_analytics_key_of_an_app_matches_and_no_other_apps_key_does() -> None:
    assert all(belongs(pk, APP) for pk in keys_of(APP))
    assert not any(belongs(pk, APP) for pk in keys_of(NEIGHBOUR))
    assert not belongs("CKPT", APP)  # shard checkpoints are shared


def test_timeline_prefix_matches_the_apps_timelines_only() -> None:
    assert a.timeline_key(APP, "buy", 3).startswith(timeline_prefix(APP))
    assert not a.timeline_key(NEIGHBOUR, "buy", 3).startswith(timeline_prefix(APP))


def test_task_round_trip_and_malformed_tasks() -> None:
    task = CleanupTask("abc", final=True, stage=3, cursors=[None, {"pk": {"S": "x"}}, "done"], removed=7)
    assert CleanupTask.from_json(task.to_json()) == task
    for body in ("[]", "{}", '{"app_id": ""}', "not json"):
        with pytest.raises(ValueError, match=r"clean-up task|Expecting value"):
            CleanupTask.from_json(body)
