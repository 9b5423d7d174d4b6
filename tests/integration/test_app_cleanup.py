"""DeleteApp: the tombstone, the asynchronous clean-up (passes, chunks, grace period), and what races it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import app_arn, drain_stream, tags_path
from tests.integration.test_apps_api import create

NOW = datetime.now(UTC).replace(microsecond=0)
TOMBSTONE_ATTRIBUTES = {"application_id", "deleted", "expires", "version", "tags", "settings"}


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def rows_of(app_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every item of every Homing table whose key mentions ``app_id`` (read straight from DynamoDB)."""
    import boto3

    from homing.adapters.dynamodb.tables import ALL_MODELS

    client = boto3.client("dynamodb")
    found: dict[str, list[dict[str, Any]]] = {}
    for model in ALL_MODELS:
        keys = [a.attr_name for a in model.get_attributes().values() if a.is_hash_key or a.is_range_key]
        for page in client.get_paginator("scan").paginate(TableName=model.Meta.table_name):
            for item in page["Items"]:
                if any(app_id in item[k].get("S", "") for k in keys):
                    found.setdefault(model.__name__, []).append(item)
    return found


def populate(call: Any, process: Any, app: str) -> None:
    """Endpoints of two users, attributes, events counted into analytics and funnel timelines, a stream,
    a segment with two versions, a campaign on it with two versions."""
    from homing.adapters.dynamodb.event_streams import EventStreamRepository
    from homing.domain.event_streams import EventStream

    for i in range(4):
        body = {
            "ChannelType": "EMAIL",
            "Address": f"u{i}@example.com",
            "User": {"UserId": f"user{i % 2}", "UserAttributes": {"tier": ["gold"]}},
            "Attributes": {"colour": ["blue"]},
            "Metrics": {"score": 1.0},
        }
        assert call("PUT", f"/v1/apps/{app}/endpoints/ep{i}", body).status == 202
    events = {
        "BatchItem": {
            "ep0": {
                "Endpoint": {},
                "Events": {
                    "e1": {"EventType": "_session.start", "Timestamp": iso(NOW), "Session": {"Id": "s1"}},
                    "e2": {"EventType": "purchase", "Timestamp": iso(NOW), "Attributes": {"item": "hat"}},
                    "e3": {
                        "EventType": "_email.send",
                        "Timestamp": iso(NOW),
                        "Attributes": {"campaign_id": "c1", "message_id": "m1"},
                    },
                    "e4": {
                        "EventType": "_campaign.send",
                        "Timestamp": iso(NOW),
                        "Attributes": {"campaign_id": "c1", "campaign_send_status": "SUCCESS"},
                    },
                },
            }
        }
    }
    assert call("POST", f"/v1/apps/{app}/events", events).status == 202
    assert process(drain_stream()) == {"batchItemFailures": []}
    EventStreamRepository().put(
        EventStream(app, "arn:aws:kinesis:us-east-1:123456789012:stream/s", "arn:aws:iam::123456789012:role/r", "x")
    )
    from homing.adapters.dynamodb.otp import OtpRepository
    from homing.domain.otp import StoredCode, entry_key

    OtpRepository().replace(
        app, entry_key("r", "+14255550142"), StoredCode("00", 3, int(NOW.timestamp()) + 900, "send")
    )
    from homing.adapters.dynamodb.caps import CapCounter, SendKey
    from homing.domain.campaign_rules import Limits, cap_checks

    for i in range(3):  # campaign send counters and markers, over several shards
        checks = cap_checks(Limits(daily=5, total=5), campaign_id="c1", endpoint_id=f"ep{i}", now=NOW)
        CapCounter().count(app, SendKey("c1", "run1", 0, f"ep{i}"), checks, NOW)
    segment = call("POST", f"/v1/apps/{app}/segments", {"Name": "s", "Dimensions": {"Metrics": {}}})
    assert segment.status == 201
    assert call("PUT", f"/v1/apps/{app}/segments/{segment.body['Id']}", {"Name": "s2"}).status == 200
    campaign = call(
        "POST",
        f"/v1/apps/{app}/campaigns",
        {
            "SegmentId": segment.body["Id"],
            "MessageConfiguration": {"SMSMessage": {"Body": "hi"}},
            "Schedule": {"StartTime": "IMMEDIATE"},
        },
    )
    assert campaign.status == 201, campaign.body
    assert call("PUT", f"/v1/apps/{app}/campaigns/{campaign.body['Id']}", {"Name": "c2"}).status == 200


def test_delete_app_is_unreachable_at_once_and_the_clean_up_leaves_nothing(
    call: Any, process: Any, clean_up: Any
) -> None:
    app, other = create(call, tags={"team": "a"})["Id"], create(call, "other")["Id"]
    populate(call, process, app)
    populate(call, process, other)
    before = rows_of(app)
    assert {
        "EndpointItem",
        "CatalogItem",
        "AnalyticsItem",
        "TimelineItem",
        "EventStreamItem",
        "SegmentItem",
        "OtpItem",
        "CapItem",
        "CampaignItem",
    } <= set(before)
    assert len(before["SegmentItem"]) == 3  # the head and two versions
    assert len(before["CampaignItem"]) == 4  # the head, two versions, the segment's usage marker
    assert any(i["pk"]["S"].startswith(("CMP#", "EVT#", "EVA#", "CDE#")) for i in before["AnalyticsItem"])
    other_rows = rows_of(other)

    assert call("DELETE", f"/v1/apps/{app}").status == 200
    for method, path in [
        ("GET", f"/v1/apps/{app}"),
        ("GET", f"/v1/apps/{app}/settings"),
        ("GET", f"/v1/apps/{app}/endpoints/ep0"),
        ("GET", f"/v1/apps/{app}/users/user0"),
        ("PUT", f"/v1/apps/{app}/endpoints/ep9"),
        ("POST", f"/v1/apps/{app}/events"),
        ("GET", tags_path(app_arn(app))),
        ("DELETE", f"/v1/apps/{app}"),
    ]:
        events = {"BatchItem": {"ep0": {"Endpoint": {}, "Events": {"e": {"EventType": "x", "Timestamp": iso(NOW)}}}}}
        body = {"ChannelType": "SMS", "Address": "+1"} if method == "PUT" else events
        r = call(method, path, body if method in ("PUT", "POST") else None)
        assert (r.status, r.error_type) == (404, "NotFoundException"), (method, path, r.body)
    assert [a["Id"] for a in call("GET", "/v1/apps").body["Item"]] == [other]

    assert clean_up() >= 2  # the first pass, then the final pass after the grace period (0 s here)
    left = rows_of(app)
    assert set(left) == {"AppItem"}  # the tombstone only: the id, when, and its expiry
    (tombstone,) = left["AppItem"]
    assert set(tombstone) <= TOMBSTONE_ATTRIBUTES
    assert tombstone.get("tags", {"S": "{}"}) == tombstone.get("settings", {"S": "{}"}) == {"S": "{}"}
    expires = datetime.fromtimestamp(int(tombstone["expires"]["N"]), UTC)
    assert timedelta(days=7) < expires - datetime.now(UTC) <= timedelta(days=8)
    assert rows_of(other) == other_rows


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, body: str, delay_seconds: int = 0) -> None:
        self.sent.append((body, delay_seconds))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def cleanup_service(queue: RecordingQueue, clock: Clock, budget: int = 5000, grace: int = 60) -> Any:
    from homing.adapters.dynamodb.apps import AppRepository
    from homing.adapters.dynamodb.erasure import AppDataEraser
    from homing.services.cleanup import CleanupService

    return CleanupService(
        AppRepository(), AppDataEraser(), queue, clock=clock, grace=timedelta(seconds=grace), budget=budget
    )


def tombstone(app_id: str, at: datetime) -> None:
    from homing.adapters.dynamodb.apps import AppRepository

    repo = AppRepository()
    live = repo.get(app_id)
    assert live is not None
    repo.tombstone(live, iso(at), at + timedelta(days=8))


def test_clean_up_works_in_bounded_chunks_waits_for_the_grace_period_and_removes_racing_writes(
    call: Any, process: Any
) -> None:
    from homing.services.cleanup import CleanupTask

    app = create(call)["Id"]
    populate(call, process, app)
    queue, clock = RecordingQueue(), Clock()
    svc = cleanup_service(queue, clock, budget=2, grace=60)
    tombstone(app, clock.now)
    svc.schedule(app)

    first_pass = 0
    while True:
        body, delay = queue.sent.pop(0)
        if CleanupTask.from_json(body).final:
            break
        assert delay == 0
        svc.run(body)
        svc.run(body)  # delivered twice: harmless; the duplicate's continuation is dropped here
        assert len(queue.sent) == 2
        del queue.sent[1]
        first_pass += 1
    assert first_pass > 5  # 4 endpoints at 2 per invocation, catalogue, stream, two scans, segments
    assert delay == 60  # the final pass is delayed by the grace period
    assert set(rows_of(app)) == {"AppItem"}

    # A write that raced the delete (it read the app before the tombstone) lands after the first pass.
    assert call("PUT", f"/v1/apps/{app}/endpoints/late", {"ChannelType": "SMS", "Address": "+1"}).status == 404
    from homing.adapters.dynamodb.analytics_tables import AnalyticsItem
    from homing.adapters.dynamodb.endpoints import EndpointItem

    EndpointItem(app, "late", endpoint_id="late", body={"channel_type": "SMS"}).save()
    AnalyticsItem(f"EVT#{app}#late", "2026-11-30").save()  # a process_events batch that found the app alive
    assert {"EndpointItem", "AnalyticsItem"} <= set(rows_of(app))

    clock.now += timedelta(seconds=20)  # SQS delivered early (or a delay was capped): wait again
    svc.run(body)
    assert [CleanupTask.from_json(b).final for b, _ in queue.sent] == [True]
    assert queue.sent.pop()[1] == 40
    assert "EndpointItem" in rows_of(app)

    clock.now += timedelta(seconds=41)
    svc.run(body)
    while queue.sent:  # the final pass also goes in chunks
        svc.run(queue.sent.pop(0)[0])
    assert set(rows_of(app)) == {"AppItem"}


def test_clean_up_never_touches_a_live_app(call: Any) -> None:
    from homing.services.cleanup import CleanupTask

    app = create(call)["Id"]
    assert call("PUT", f"/v1/apps/{app}/endpoints/e1", {"ChannelType": "SMS", "Address": "+1"}).status == 202
    queue = RecordingQueue()
    cleanup_service(queue, Clock()).run(CleanupTask(app).to_json())
    assert queue.sent == []
    assert call("GET", f"/v1/apps/{app}/endpoints/e1").status == 200


def test_delete_app_stays_live_when_the_clean_up_cannot_be_scheduled(call: Any, monkeypatch: Any) -> None:
    app = create(call)["Id"]
    monkeypatch.setenv("CLEANUP_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/missing")
    from homing.bootstrap import services

    services.cache_clear()
    import api.handler as handler_module

    handler_module._resolver = None
    r = call("DELETE", f"/v1/apps/{app}")
    assert r.status == 500
    assert call("GET", f"/v1/apps/{app}").status == 200  # no tombstone without a clean-up


def test_process_events_does_not_count_events_of_a_deleted_app(call: Any, process: Any, clean_up: Any) -> None:
    app, other = create(call)["Id"], create(call, "other")["Id"]
    for a in (app, other):
        batch = {"BatchItem": {"ep": {"Endpoint": {}, "Events": {"e": {"EventType": "buy", "Timestamp": iso(NOW)}}}}}
        assert call("POST", f"/v1/apps/{a}/events", batch).status == 202
    records = drain_stream()  # still on the stream when the app is deleted
    assert call("DELETE", f"/v1/apps/{app}").status == 200
    clean_up()
    assert process(records) == {"batchItemFailures": []}
    assert set(rows_of(app)) == {"AppItem"}
    assert "AnalyticsItem" in rows_of(other)


def test_delete_user_endpoints_removes_the_users_activity(call: Any, process: Any) -> None:
    from homing.adapters.dynamodb.analytics import AnalyticsRepository
    from homing.domain.analytics import endpoint_activity_key, user_activity_key

    app = create(call)["Id"]
    populate(call, process, app)
    states = AnalyticsRepository().load_states
    assert set(states({user_activity_key(app, "user0"), endpoint_activity_key(app, "ep0")})) == {
        user_activity_key(app, "user0"),
        endpoint_activity_key(app, "ep0"),
    }
    assert call("DELETE", f"/v1/apps/{app}/users/user0").status == 202
    assert states({user_activity_key(app, "user0"), endpoint_activity_key(app, "ep0")}) == {}
    assert call("GET", f"/v1/apps/{app}/users/user1").status == 200


# --- concurrency on the app item -------------------------------------------------------------------


def run_together(n: int, work: Any) -> list[BaseException]:
    """Run work(i) on n threads started together; the exceptions they raised."""
    barrier, errors = threading.Barrier(n), []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_sixteen_concurrent_tag_resource_calls_keep_all_sixteen_tags(aws: None) -> None:
    from homing.bootstrap import services

    apps, tags = services().apps, services().tags
    app = apps.create("shop", {"base": "1"})
    assert run_together(16, lambda i: tags.tag(app.arn, {f"k{i}": str(i)})) == []
    assert tags.list_tags(app.arn) == {"base": "1", **{f"k{i}": str(i) for i in range(16)}}


def test_the_fifty_tag_cap_holds_under_concurrency(aws: None) -> None:
    from homing.bootstrap import services
    from homing.domain.errors import BadRequest

    apps, tags = services().apps, services().tags
    app = apps.create("shop", {f"t{i}": "x" for i in range(40)})
    errors = run_together(16, lambda i: tags.tag(app.arn, {f"k{i}": str(i)}))
    assert len(errors) == 6
    assert all(isinstance(e, BadRequest) for e in errors)
    assert len(tags.list_tags(app.arn)) == 50


def test_concurrent_settings_updates_of_different_structures_merge(aws: None) -> None:
    from homing.bootstrap import services
    from homing.domain.apps import ApplicationSettings, CampaignHook, CampaignLimits, QuietTime

    apps = services().apps
    app = apps.create("shop", None)
    changes = [
        ApplicationSettings(limits=CampaignLimits(daily=5)),
        ApplicationSettings(quiet_time=QuietTime(start="22:00", end="07:00")),
        ApplicationSettings(campaign_hook=CampaignHook(mode="FILTER", lambda_function_name="f")),
        ApplicationSettings(cloud_watch_metrics_enabled=True),
    ] * 3
    assert run_together(len(changes), lambda i: apps.update_settings(app.id, changes[i])) == []
    stored = apps.require(app.id).settings
    assert stored.limits == CampaignLimits(daily=5)
    assert stored.quiet_time == QuietTime(start="22:00", end="07:00")
    assert stored.campaign_hook is not None
    assert stored.campaign_hook.mode == "FILTER"
    assert stored.cloud_watch_metrics_enabled is True


def test_tagging_a_deleted_app_is_not_found_and_writes_nothing(aws: None) -> None:
    from homing.bootstrap import services
    from homing.domain.errors import NotFound

    apps = services().apps
    app = apps.create("shop", None)
    apps.delete(app.id)
    with pytest.raises(NotFound):
        services().tags.tag(app.arn, {"a": "1"})
    from homing.adapters.dynamodb.apps import AppItem

    assert AppItem.get(app.id).tags == {}


def test_a_conflict_re_plans_from_a_fresh_read_and_exhausted_retries_are_409_with_nothing_written(aws: None) -> None:
    from homing.adapters.dynamodb.apps import AppRepository
    from homing.domain.errors import Conflict
    from homing.services.apps import AppService
    from homing.services.retry import WRITE_ATTEMPTS
    from homing.services.tags import TagService

    class Racing(AppRepository):
        """Before each of the first ``races`` puts, another writer adds a tag (so the put is stale)."""

        def __init__(self, races: int) -> None:
            self.races = races

        def put(self, app: Any) -> None:
            if self.races:
                self.races -= 1
                other = self.get(app.id)
                assert other is not None
                AppRepository.put(
                    self, type(other)(**{**other.__dict__, "tags": {**other.tags, f"r{self.races}": "x"}})
                )
            AppRepository.put(self, app)

    class Scheduler:
        def schedule(self, app_id: str) -> None:
            pass

    sleeps: list[float] = []

    prefix = "arn:aws:mobiletargeting:us-east-1:1"

    def service(repo: AppRepository) -> AppService:
        return AppService(repo, arn_prefix=prefix, clock=lambda: NOW, cleanup=Scheduler(), sleep=sleeps.append)

    def tagging(repo: AppRepository) -> TagService:
        return TagService(service(repo), arn_prefix=prefix)

    app = service(AppRepository()).create("shop", None)
    tagging(Racing(3)).tag(app.arn, {"mine": "1"})
    assert tagging(AppRepository()).list_tags(app.arn) == {"mine": "1", "r0": "x", "r1": "x", "r2": "x"}
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.2 for s in sleeps)

    with pytest.raises(Conflict, match="retry the request"):
        tagging(Racing(WRITE_ATTEMPTS)).tag(app.arn, {"lost": "1"})
    assert "lost" not in tagging(AppRepository()).list_tags(app.arn)


def test_the_clean_up_removes_the_apps_channels_and_their_sns_platform_applications(call: Any, clean_up: Any) -> None:
    import boto3

    app, other = create(call)["Id"], create(call, "other")["Id"]
    for a in (app, other):
        assert call("PUT", f"/v1/apps/{a}/channels/sms", {"SenderId": "Homing"}).status == 200
        assert call("PUT", f"/v1/apps/{a}/channels/baidu", {"ApiKey": "k", "SecretKey": "s"}).status == 200
    sns = boto3.client("sns")
    assert len(sns.list_platform_applications()["PlatformApplications"]) == 2
    assert len(rows_of(app)["ChannelItem"]) == 2

    assert call("DELETE", f"/v1/apps/{app}").status == 200
    assert clean_up() >= 2
    assert "ChannelItem" not in rows_of(app)
    (left,) = sns.list_platform_applications()["PlatformApplications"]
    assert left["PlatformApplicationArn"].endswith(f"homing-{other}-baidu")
    assert len(rows_of(other)["ChannelItem"]) == 2
