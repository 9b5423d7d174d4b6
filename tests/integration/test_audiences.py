"""Audience resolution on moto: key-range parts cover every endpoint once, continuation, counts, the Recency join."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from homing.domain.audiences import ResolutionRequest
from tests.integration.test_apps_api import create

BUCKET = "homing-audiences-test"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # endpoints written now have an EffectiveDate months before
DAY = int(NOW.timestamp()) // 86_400


@pytest.fixture
def audiences(call: Any) -> Any:
    """An AudienceService over the same moto tables the api handler uses, writing to a test bucket."""
    from homing.adapters.audience_store import AudienceStore
    from homing.adapters.dynamodb.audiences import AudienceSource
    from homing.bootstrap import build_services
    from homing.services.audiences import AudienceService
    from homing.settings import ApiSettings

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    svc = build_services(ApiSettings.from_env())

    def build(parts: int = 4, page_size: int = 1000, workflow: Any = None) -> Any:
        return AudienceService(
            svc.segments,
            AudienceSource(),
            AudienceStore(BUCKET),
            workflow,
            clock=lambda: NOW,
            parts=parts,
            page_size=page_size,
        )

    return build


def put_endpoints(call: Any, app: str, endpoints: dict[str, dict[str, Any]]) -> None:
    items = [{"Id": k, **v} for k, v in endpoints.items()]
    for i in range(0, len(items), 100):
        r = call("PUT", f"/v1/apps/{app}/endpoints", {"Item": items[i : i + 100]})
        assert r.status == 202, r.body


def new_segment(call: Any, app: str, **body: Any) -> str:
    r = call("POST", f"/v1/apps/{app}/segments", {"Name": "s", **body})
    assert r.status == 201, r.body
    return str(r.body["Id"])


def read_members(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    out: list[dict[str, Any]] = []
    for page in manifest["pages"]:
        members = s3.get_object(Bucket=BUCKET, Key=page["key"])["Body"].read()
        import json

        got = json.loads(members)["members"]
        assert len(got) == page["count"]
        out.extend(got)
    return out


def resolve(service: Any, app: str, segment: str, **kw: Any) -> tuple[ResolutionRequest, dict[str, Any]]:
    request = service.prepare(app, segment)
    return request, service.resolve(request, **kw)


def email(i: int) -> dict[str, Any]:
    return {"ChannelType": "EMAIL", "Address": f"u{i}@example.com"}


def test_parts_cover_every_endpoint_exactly_once(call: Any, audiences: Any) -> None:
    app = create(call)["Id"]
    ids = [uuid.uuid4().hex for _ in range(240)] + ["+15550100", "user-7", "zz-top", "Ωmega", "A", "ff", "00"]
    put_endpoints(call, app, {e: email(i) for i, e in enumerate(ids)})
    everyone = new_segment(call, app)
    service = audiences(parts=7, page_size=30)

    request, manifest = resolve(service, app, everyone)

    members = read_members(manifest)
    assert sorted(m["id"] for m in members) == sorted(ids)  # all of them, none twice
    assert manifest["counts"] == {"total": len(ids), "by_channel": {"EMAIL": len(ids)}, "inactive": 0, "opted_out": 0}
    assert manifest["scanned"] == len(ids)
    assert max(p["count"] for p in manifest["pages"]) == 30  # never more than page_size per page
    per_part = {int(p["key"].rsplit("/", 1)[1][:3]) for p in manifest["pages"]}
    assert len(per_part) >= 5  # uuids spread over the parts: the work really is split
    assert request.channel is None


def test_continuation_resumes_after_the_cursor(call: Any, audiences: Any) -> None:
    app = create(call)["Id"]
    ids = [f"{i:03x}-ep" for i in range(350)]
    put_endpoints(call, app, {e: email(i) for i, e in enumerate(ids)})
    segment = new_segment(call, app)
    service = audiences(parts=2)
    request = service.prepare(app, segment)

    first = service.resolve_part(request, 0, 0, None, time_left=lambda: False)  # stops after one batch

    assert first["done"] is False
    assert first["chunk"] == 1
    state, calls = first, 1
    while not state["done"]:
        state = service.resolve_part(request, 0, state["chunk"], state["cursor"], time_left=lambda: False)
        calls += 1
    state = service.resolve_part(request, 1, 0, None)
    assert state["done"] is True
    service.finalize(request)
    manifest = service.status(request)
    assert calls >= 2
    assert manifest.state == "COMPLETED"
    assert manifest.counts is not None
    assert manifest.counts.total == 350
    members = read_members(boto3_manifest(request))
    assert sorted(m["id"] for m in members) == sorted(ids)


def boto3_manifest(request: ResolutionRequest) -> dict[str, Any]:
    import json

    from homing.domain.audiences import MANIFEST, request_prefix

    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=request_prefix(request) + MANIFEST)["Body"].read()
    result: dict[str, Any] = json.loads(body)
    return result


def test_inactive_and_opted_out_are_counted_and_flagged_not_dropped(call: Any, audiences: Any) -> None:
    app = create(call)["Id"]
    put_endpoints(
        call,
        app,
        {
            "a": email(1),
            "b": {**email(2), "OptOut": "ALL"},
            "c": {**email(3), "EndpointStatus": "INACTIVE"},
            "d": {"ChannelType": "SMS", "Address": "+15550101", "OptOut": "ALL", "EndpointStatus": "INACTIVE"},
            "e": {"ChannelType": "GCM", "Address": "token-e", "Demographic": {"Platform": "android"}},
        },
    )
    segment = new_segment(
        call, app, Dimensions={"Demographic": {"Platform": {"DimensionType": "EXCLUSIVE", "Values": ["ANDROID"]}}}
    )

    _, manifest = resolve(audiences(), app, segment)

    members = {m["id"]: m for m in read_members(manifest)}
    assert sorted(members) == ["a", "b", "c", "d"]
    assert (members["b"]["opted_out"], members["b"]["inactive"]) == (True, False)
    assert (members["c"]["opted_out"], members["c"]["inactive"]) == (False, True)
    assert members["d"]["address"] == "+15550101"
    assert members["d"]["channel_type"] == "SMS"
    assert members["a"]["endpoint"]["address"] == "u1@example.com"
    assert manifest["counts"] == {"total": 4, "by_channel": {"EMAIL": 3, "SMS": 1}, "inactive": 2, "opted_out": 2}


def test_recency_joins_the_activity_items_of_the_candidates(call: Any, audiences: Any) -> None:
    from homing.adapters.dynamodb.analytics_tables import AnalyticsItem
    from homing.domain.analytics import endpoint_activity_key

    app = create(call)["Id"]
    put_endpoints(call, app, {e: email(i) for i, e in enumerate(["Fresh", "week-old", "stale", "never"])})
    for endpoint, days_ago in (("Fresh", 0), ("week-old", 5), ("stale", 40)):
        pk, sk = endpoint_activity_key(app, endpoint)
        AnalyticsItem(pk, sk, days={DAY - days_ago}, version=1).save()
    active = new_segment(
        call, app, Dimensions={"Behavior": {"Recency": {"Duration": "DAY_7", "RecencyType": "ACTIVE"}}}
    )
    inactive = new_segment(
        call, app, Dimensions={"Behavior": {"Recency": {"Duration": "DAY_7", "RecencyType": "INACTIVE"}}}
    )
    service = audiences()

    _, got_active = resolve(service, app, active)
    _, got_inactive = resolve(service, app, inactive)

    assert sorted(m["id"] for m in read_members(got_active)) == ["Fresh", "week-old"]
    assert sorted(m["id"] for m in read_members(got_inactive)) == ["never", "stale"]


def test_a_single_channel_segment_reads_the_channel_index(call: Any, audiences: Any) -> None:
    app = create(call)["Id"]
    endpoints = {f"e{i}": email(i) for i in range(30)}
    endpoints.update({f"s{i}": {"ChannelType": "SMS", "Address": f"+1555010{i}"} for i in range(5)})
    put_endpoints(call, app, endpoints)
    segment = new_segment(
        call, app, Dimensions={"Demographic": {"Channel": {"DimensionType": "INCLUSIVE", "Values": ["sms"]}}}
    )

    request, manifest = resolve(audiences(), app, segment)

    assert request.channel == "SMS"
    assert manifest["scanned"] == 5  # only the SMS endpoints were read
    assert sorted(m["id"] for m in read_members(manifest)) == [f"s{i}" for i in range(5)]


def test_latest_reports_the_newest_resolution(call: Any, audiences: Any) -> None:
    app = create(call)["Id"]
    put_endpoints(call, app, {"a": email(1)})
    segment = new_segment(call, app)
    service = audiences()
    from homing.domain.errors import NotFound

    with pytest.raises(NotFound):
        service.latest(app, segment)
    request = service.prepare(app, segment)
    assert service.latest(app, segment).state == "PROCESSING"
    service.resolve(request)
    latest = service.latest(app, segment)
    assert (latest.state, latest.request.resolution_id) == ("COMPLETED", request.resolution_id)
    assert latest.counts is not None
    assert latest.counts.total == 1
    assert latest.manifest_key is not None
    assert latest.manifest_key.startswith(f"s3://{BUCKET}/audiences/{app}/")


def test_delete_app_removes_its_audiences_and_only_its(call: Any, clean_up: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("AUDIENCE_BUCKET", BUCKET)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    app, other = create(call)["Id"], create(call, "other")["Id"]
    for owner in (app, other):
        for i in range(3):
            s3.put_object(Bucket=BUCKET, Key=f"audiences/{owner}/seg/r{i}/manifest.json", Body=b"{}")

    assert call("DELETE", f"/v1/apps/{app}").status == 200
    clean_up()

    left = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert sorted(left) == [f"audiences/{other}/seg/r{i}/manifest.json" for i in range(3)]


@pytest.fixture
def extension(call: Any, monkeypatch: Any) -> Any:
    """The api handler with an audience bucket and a (moto, not executing) state machine to start."""
    import json

    from homing.bootstrap import services

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = boto3.client("stepfunctions").create_state_machine(
        name="audiences",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=role,
    )["stateMachineArn"]
    monkeypatch.setenv("AUDIENCE_BUCKET", BUCKET)
    monkeypatch.setenv("AUDIENCE_STATE_MACHINE_ARN", machine)
    services.cache_clear()
    return machine


def test_the_extension_starts_a_resolution_and_reports_it(call: Any, extension: str) -> None:
    import json

    app = create(call)["Id"]
    put_endpoints(call, app, {"a": email(1)})
    segment = new_segment(call, app)
    assert call("PUT", f"/v1/apps/{app}/segments/{segment}", {"Name": "renamed"}).status == 200
    path = f"/v1/apps/{app}/segments/{segment}/audience"

    started = call("POST", path, query={"version": ["1"]})

    assert started.status == 202, started.body
    assert started.body["State"] == "PROCESSING"
    assert (started.body["SegmentId"], started.body["SegmentVersion"]) == (segment, 1)
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=extension)["executions"]
    assert [e["name"] for e in executions] == [started.body["Id"]]
    execution = boto3.client("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])
    payload = json.loads(execution["input"])
    assert payload["request"]["segment_version"] == 1
    assert [p["item"]["part"] for p in payload["parts"]] == list(range(payload["request"]["parts"]))
    got = call("GET", path)
    assert got.status == 200
    assert got.body == started.body  # still running: no counts yet
    assert call("POST", f"/v1/apps/{app}/segments/{segment}/audience").body["SegmentVersion"] == 2  # current


def test_the_extension_refuses_what_it_cannot_resolve_and_writes_nothing(call: Any, extension: str) -> None:
    app = create(call)["Id"]
    segment = new_segment(call, app)
    path = f"/v1/apps/{app}/segments/{segment}/audience"

    for query, status in (({"version": ["x"]}, 400), ({"version": ["9"]}, 404)):
        r = call("POST", path, query=query)
        assert (r.status, r.error_type) == (status, "BadRequestException" if status == 400 else "NotFoundException")
    assert call("POST", f"/v1/apps/{app}/segments/nope/audience").status == 404
    assert call("GET", path).status == 404  # never resolved
    assert call("POST", f"/v1/apps/{'0' * 32}/segments/{segment}/audience").status == 404
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=extension)["executions"] == []


def test_a_recorded_failure_is_reported_with_its_reason(call: Any, audiences: Any) -> None:
    app = create(call)["Id"]
    segment = new_segment(call, app)
    service = audiences()
    request = service.prepare(app, segment)

    service.fail(request, "States.TaskFailed: boom")

    latest = service.latest(app, segment)
    assert (latest.state, latest.failure) == ("FAILED", "States.TaskFailed: boom")
    assert latest.counts is None


class ShortContext:
    """A Lambda context with less time left than resolve_audience keeps in reserve: one batch per call."""

    function_name = "resolve_audience"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:resolve_audience"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def test_the_workflow_steps_continue_from_their_cursor_then_finalize(call: Any, monkeypatch: Any) -> None:
    """functions/resolve_audience as the state machine drives it: Part until done (per item), then Finalize."""
    from dataclasses import asdict

    import resolve_audience.handler as handler

    from homing.bootstrap import audience_worker

    monkeypatch.setenv("AUDIENCE_BUCKET", BUCKET)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    audience_worker.cache_clear()
    app = create(call)["Id"]
    ids = ["0" + uuid.uuid4().hex for _ in range(250)] + [uuid.uuid4().hex for _ in range(50)]  # 250 in part 0
    put_endpoints(call, app, {e: email(i) for i, e in enumerate(ids)})
    segment = new_segment(call, app)
    service = audience_worker()
    request = service.prepare(app, segment)
    invocations = 0
    try:
        for entry in service.part_inputs(request):
            item = entry["item"]
            while not item["done"]:
                item = handler.lambda_handler(
                    {"action": "part", "request": entry["request"], "item": item}, ShortContext()
                )
                invocations += 1
        result = handler.lambda_handler({"action": "finalize", "request": asdict(request)}, ShortContext())
    finally:
        audience_worker.cache_clear()

    assert invocations >= request.parts + 2  # part 0 continued twice (a batch of 100 per invocation)
    assert result["counts"]["total"] == 300
    assert sorted(m["id"] for m in read_members(boto3_manifest(request))) == sorted(ids)


def test_a_resolution_that_cannot_start_is_reported_failed(call: Any, audiences: Any) -> None:
    from homing.adapters.workflows import StateMachine

    app = create(call)["Id"]
    segment = new_segment(call, app)
    service = audiences(workflow=StateMachine("arn:aws:states:us-east-1:123456789012:stateMachine:missing"))

    with pytest.raises(ClientError):
        service.start(app, segment)

    latest = service.latest(app, segment)
    assert latest.state == "FAILED"
    assert latest.failure is not None
    assert "could not be started" in latest.failure
