"""Import and export jobs on moto: the API, the run_jobs worker draining the jobs queue, S3 files both ways."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import LambdaContext
from tests.integration.test_apps_api import create

BUCKET = "homing-jobs-test"
ROLE = "arn:aws:iam::123456789012:role/pinpoint-import"
CSV = (
    "ChannelType,Address,User.UserId,User.UserAttributes.tags,User.UserAttributes.tags,Attributes.Interests,"
    "Demographic.Platform,Location.Country,Metrics.visits\n"
    "EMAIL,csv1@example.com,u-1,red,blue,Bus,Android,CA,3\n"
    "EMAIL,csv2@example.com,u-2,green,,Train,iOS,FR,many\n"
    "SMS,+16045550182,u-3,,,,,,1\n"
)


def export_line(i: int) -> dict[str, Any]:
    """One line of a Pinpoint export file (EndpointResponse JSON)."""
    return {
        "ApplicationId": "0" * 32,
        "Id": f"exported-{i}",
        "ChannelType": "EMAIL",
        "Address": f"json{i}@example.com",
        "Attributes": {"colour": ["blue"]},
        "Demographic": {"Platform": "ios"},
        "EffectiveDate": "2024-01-02T03:04:05.000Z",
        "EndpointStatus": "ACTIVE",
        "Location": {"Country": "DE"},
        "Metrics": {"score": float(i)},
        "OptOut": "NONE",
        "RequestId": "r-1",
        "User": {"UserId": f"json-user-{i}"},
        "CohortId": str(i % 100),
        "CreationDate": "2024-01-01T00:00:00.000Z",
    }


@pytest.fixture
def jobs(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The jobs queue and bucket; returns a function that runs run_jobs until the queue is empty."""
    import boto3
    import run_jobs.handler as handler_module

    from homing.bootstrap import services

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    queue = boto3.client("sqs").create_queue(QueueName="homing-jobs")["QueueUrl"]
    monkeypatch.setenv("JOBS_QUEUE_URL", queue)
    monkeypatch.setenv("JOB_BUCKETS", "homing-jobs-*")
    services.cache_clear()

    def _drain(max_messages: int = 500) -> list[str]:
        sqs, handled = boto3.client("sqs"), list[str]()
        while len(handled) < max_messages:
            messages = sqs.receive_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MaxNumberOfMessages=1).get(
                "Messages", []
            )
            if not messages:
                return handled
            m = messages[0]
            record = {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            out = handler_module.lambda_handler({"Records": [record]}, LambdaContext(function_name="run_jobs"))
            assert out == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])
            handled.append(m["Body"])
        raise AssertionError("the jobs did not finish")

    return _drain


def put(key: str, body: bytes | str) -> None:
    import boto3

    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


def import_job(call: Any, app: str, url: str, fmt: str, **extra: Any) -> Any:
    return call("POST", f"/v1/apps/{app}/jobs/import", {"Format": fmt, "S3Url": url, "RoleArn": ROLE, **extra})


def test_a_csv_import_registers_endpoints_and_fails_only_the_bad_row_with_its_line(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    put("in/people.csv", CSV)
    created = import_job(call, app, f"s3://{BUCKET}/in/people.csv", "CSV")
    assert created.status == 201
    assert created.body["JobStatus"] == "CREATED"
    assert created.body["Type"] == "IMPORT"
    assert created.body["Definition"] == {"Format": "CSV", "S3Url": f"s3://{BUCKET}/in/people.csv", "RoleArn": ROLE}
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert job["JobStatus"] == "COMPLETED"
    assert (job["TotalPieces"], job["CompletedPieces"], job["FailedPieces"]) == (1, 1, 0)
    assert (job["TotalProcessed"], job["TotalFailures"]) == (3, 1)
    assert job["Failures"] == ["in/people.csv line 3: Metrics.visits must be a number"]
    assert "CompletionDate" in job
    users = call("GET", f"/v1/apps/{app}/users/u-1").body["Item"]
    assert len(users) == 1
    assert users[0]["Address"] == "csv1@example.com"
    assert users[0]["User"]["UserAttributes"] == {"tags": ["red", "blue"]}
    assert users[0]["Attributes"] == {"Interests": ["Bus"]}
    assert (users[0]["Location"]["Country"], users[0]["Metrics"]) == ("CA", {"visits": 3.0})
    assert call("GET", f"/v1/apps/{app}/users/u-2").status == 404
    assert call("GET", f"/v1/apps/{app}/users/u-3").body["Item"][0]["ChannelType"] == "SMS"


def test_a_pinpoint_export_file_imports_unchanged_from_a_prefix_in_pieces(
    call: Any, jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import homing.domain.jobs as rules

    monkeypatch.setattr(rules, "PIECE_LINES", 4)
    app = create(call)["Id"]
    lines = "".join(json.dumps(export_line(i)) + "\n" for i in range(10))
    put("pinpoint/export/part-1.gz", gzip.compress(lines.encode()))
    put("pinpoint/export/readme.txt", "not an endpoint file")
    put("pinpoint/export/sub/more.json", json.dumps(export_line(10)) + "\n{not json\n")
    created = import_job(call, app, f"s3://{BUCKET}/pinpoint/export/", "JSON")
    seen = jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert (job["JobStatus"], job["TotalPieces"], job["CompletedPieces"]) == ("COMPLETED", 4, 4)
    assert (job["TotalProcessed"], job["TotalFailures"]) == (12, 1)
    assert job["Failures"] == ["pinpoint/export/sub/more.json line 2: the line is not a JSON object"]
    endpoint = call("GET", f"/v1/apps/{app}/endpoints/exported-7").body
    assert endpoint["Address"] == "json7@example.com"
    assert endpoint["ApplicationId"] == app
    assert (endpoint["Demographic"]["Platform"], endpoint["Metrics"]) == ("ios", {"score": 7.0})
    assert call("GET", f"/v1/apps/{app}/endpoints/exported-10").status == 200
    # A piece delivered twice (SQS is at-least-once) is counted once.
    piece = next(b for b in seen if '"import-piece"' in b)
    import boto3

    boto3.client("sqs").send_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MessageBody=piece)
    jobs()
    again = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert (again["TotalProcessed"], again["CompletedPieces"]) == (12, 4)


def test_a_retried_piece_of_a_running_job_is_counted_once(call: Any, jobs: Any) -> None:
    import boto3

    app = create(call)["Id"]
    put("twice.json", "".join(json.dumps(export_line(i)) + "\n" for i in range(3)))
    put("twice2.json", json.dumps(export_line(3)) + "\n")
    created = import_job(call, app, f"s3://{BUCKET}/twice", "JSON")
    sqs = boto3.client("sqs")
    url = os.environ["JOBS_QUEUE_URL"]
    import run_jobs.handler as handler_module

    def run_one() -> str:
        m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        record = {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        assert handler_module.lambda_handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return str(m["Body"])

    run_one()  # the plan: two pieces queued
    first = run_one()
    sqs.send_message(QueueUrl=url, MessageBody=first)  # redelivered before the job finished
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert (job["JobStatus"], job["TotalPieces"], job["CompletedPieces"], job["TotalProcessed"]) == (
        "COMPLETED",
        2,
        2,
        4,
    )


def test_an_import_of_nothing_fails_with_the_reason(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    created = import_job(call, app, f"s3://{BUCKET}/nothing-here/", "CSV")
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert job["JobStatus"] == "FAILED"
    assert job["Failures"] == [f"S3Url: no CSV files at s3://{BUCKET}/nothing-here/"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"S3Url": f"s3://{BUCKET}/a.csv", "RoleArn": ROLE}, "Format"),
        ({"Format": "XLS", "S3Url": f"s3://{BUCKET}/a.csv", "RoleArn": ROLE}, "Format"),
        ({"Format": "CSV", "S3Url": "http://x/a.csv", "RoleArn": ROLE}, "S3Url"),
        ({"Format": "CSV", "S3Url": "s3://not-granted/a.csv", "RoleArn": ROLE}, "S3Url"),
        ({"Format": "CSV", "S3Url": f"s3://{BUCKET}/a.csv"}, "RoleArn"),
        ({"Format": "CSV", "S3Url": f"s3://{BUCKET}/a.csv", "RoleArn": "nope"}, "RoleArn"),
        ({"Format": "CSV", "S3Url": f"s3://{BUCKET}/a.csv", "RoleArn": ROLE, "DefineSegment": "yes"}, "DefineSegment"),
        ({"Format": "CSV", "S3Url": f"s3://{BUCKET}/a.csv", "RoleArn": ROLE, "DefineSegment": True}, "SegmentName"),
    ],
)
def test_a_bad_import_request_is_400_naming_the_field_and_creates_nothing(
    call: Any, jobs: Any, body: dict[str, Any], field: str
) -> None:
    app = create(call)["Id"]
    r = call("POST", f"/v1/apps/{app}/jobs/import", body)
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert r.body["Message"].startswith(field)
    assert call("GET", f"/v1/apps/{app}/jobs/import").body == {"Item": []}
    assert jobs() == []


def test_jobs_of_an_unknown_app_or_id_are_404(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    assert call("GET", f"/v1/apps/{'f' * 32}/jobs/import").status == 404
    assert call("GET", f"/v1/apps/{app}/jobs/import/{'0' * 32}").error_type == "NotFoundException"
    assert call("GET", f"/v1/apps/{app}/jobs/export/{'0' * 32}").status == 404
    assert call("GET", f"/v1/apps/{app}/jobs/export/{'x' * 2000}").status == 404
    r = call(
        "POST", f"/v1/apps/{app}/jobs/export", {"S3UrlPrefix": f"s3://{BUCKET}/x", "RoleArn": ROLE, "SegmentId": "s1"}
    )
    assert (r.status, r.error_type) == (404, "NotFoundException")
    assert call("GET", f"/v1/apps/{app}/segments/s1/jobs/import").status == 404


def test_job_listings_page_newest_first_with_signed_tokens(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    ids = [import_job(call, app, f"s3://{BUCKET}/in/{i}.csv", "CSV").body["Id"] for i in range(3)]
    first = call("GET", f"/v1/apps/{app}/jobs/import", query={"page-size": ["2"]}).body
    assert [j["Id"] for j in first["Item"]] == ids[::-1][:2]
    second = call("GET", f"/v1/apps/{app}/jobs/import", query={"page-size": ["2"], "token": [first["NextToken"]]})
    assert [j["Id"] for j in second.body["Item"]] == ids[:1]
    assert "NextToken" not in second.body
    other = call("GET", f"/v1/apps/{app}/jobs/export", query={"token": [first["NextToken"]]})
    assert (other.status, other.error_type) == (400, "BadRequestException")
    assert call("GET", f"/v1/apps/{app}/jobs/export").body == {"Item": []}


def test_an_app_export_writes_pinpoint_export_files_that_import_back(call: Any, jobs: Any) -> None:
    import boto3

    app = create(call)["Id"]
    other = create(call)["Id"]
    for i in range(25):
        body = {"ChannelType": "EMAIL", "Address": f"e{i}@example.com", "Attributes": {"n": [str(i)]}}
        assert call("PUT", f"/v1/apps/{app}/endpoints/ep{i}", body).status == 202
    call("PUT", f"/v1/apps/{other}/endpoints/not-mine", {"ChannelType": "SMS", "Address": "+15555550100"})
    created = call("POST", f"/v1/apps/{app}/jobs/export", {"S3UrlPrefix": f"s3://{BUCKET}/out", "RoleArn": ROLE})
    assert created.status == 202
    assert (created.body["Type"], created.body["JobStatus"]) == ("EXPORT", "CREATED")
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/export/{created.body['Id']}").body
    assert (job["JobStatus"], job["TotalPieces"], job["CompletedPieces"], job["TotalProcessed"]) == (
        "COMPLETED",
        4,
        4,
        25,
    )
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"]]
    assert all(k.startswith(f"out/{job['Id']}/") and k.endswith(".gz") for k in keys)
    exported = [
        json.loads(line)
        for k in keys
        for line in gzip.decompress(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()).splitlines()
    ]
    assert sorted(e["Id"] for e in exported) == sorted(f"ep{i}" for i in range(25))
    assert {e["ApplicationId"] for e in exported} == {app}
    assert {"CohortId", "CreationDate", "EffectiveDate", "EndpointStatus", "OptOut"} <= set(exported[0])
    listed = call("GET", f"/v1/apps/{app}/jobs/export").body["Item"]
    assert [j["Id"] for j in listed] == [job["Id"]]
    # ...and the export imports unchanged into another app.
    back = import_job(call, other, f"s3://{BUCKET}/out/{job['Id']}/", "JSON")
    jobs()
    assert call("GET", f"/v1/apps/{other}/jobs/import/{back.body['Id']}").body["TotalProcessed"] == 25
    assert call("GET", f"/v1/apps/{other}/endpoints/ep24").body["Attributes"] == {"n": ["24"]}


def test_delete_app_removes_its_jobs(call: Any, jobs: Any, clean_up: Any) -> None:
    from tests.integration.test_app_cleanup import rows_of

    app = create(call)["Id"]
    put("in/people.csv", CSV)
    import_job(call, app, f"s3://{BUCKET}/in/people.csv", "CSV", DefineSegment=True, SegmentName="imported")
    jobs()
    assert "JobItem" in rows_of(app)
    assert call("DELETE", f"/v1/apps/{app}").status == 200
    clean_up()
    assert set(rows_of(app)) == {"AppItem"}  # the tombstone, until its TTL


def test_a_piece_short_of_time_hands_the_rest_on_and_counts_once(call: Any, jobs: Any) -> None:
    import boto3

    from homing.bootstrap import services

    app = create(call)["Id"]
    rows = "".join(f"EMAIL,long{i}@example.com,{'x' if i == 3 else i}\n" for i in range(600))
    put("long.csv", "ChannelType,Address,Metrics.n\n" + rows)
    created = import_job(call, app, f"s3://{BUCKET}/long.csv", "CSV")
    sqs, url = boto3.client("sqs"), os.environ["JOBS_QUEUE_URL"]

    def take() -> str:
        m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return str(m["Body"])

    services().jobs.run(take())  # the plan: one piece
    budget = iter([300_000, 1_000])  # one round of batches (4 x 100), then a minute is no longer left
    services().jobs.run(take(), lambda: next(budget, 1_000))
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert (job["JobStatus"], job["CompletedPieces"]) == ("PROCESSING", 0)
    handed_on = jobs()
    assert len(handed_on) == 1
    assert json.loads(handed_on[0])["done"] == 400
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created.body['Id']}").body
    assert (job["JobStatus"], job["CompletedPieces"], job["TotalProcessed"], job["TotalFailures"]) == (
        "COMPLETED",
        1,
        600,
        1,
    )
    assert job["Failures"] == ["long.csv line 5: Metrics.n must be a number"]
    listed = call("GET", f"/v1/apps/{app}/endpoints", query={"page-size": ["1000"]}).body["Item"]
    assert len(listed) == 599


def test_a_job_that_cannot_be_queued_is_not_left_behind(call: Any, jobs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.handler as handler_module
    from homing.bootstrap import services

    app = create(call)["Id"]
    monkeypatch.setenv("JOBS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/missing")
    services.cache_clear()
    handler_module._resolver = None
    assert import_job(call, app, f"s3://{BUCKET}/in/people.csv", "CSV").status == 500
    assert call("GET", f"/v1/apps/{app}/jobs/import").body == {"Item": []}


SEGMENT_CSV = (
    "Id,ChannelType,Address,Demographic.Platform\n"
    "Imp-A,SMS,+15555550101,ios\n"
    "imp-b,EMAIL,b@example.com,android\n"
    "imp-c,EMAIL,c@example.com,ios\n"
)


def exported(prefix: str) -> list[dict[str, Any]]:
    import boto3

    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return [
        json.loads(line)
        for k in keys
        for line in gzip.decompress(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()).splitlines()
    ]


def members_of(app: str, segment_id: str, version: str | None = None) -> set[str]:
    """The segment resolved by the audience service the api builds (with the imported-membership hook)."""
    import boto3

    from homing.adapters.audience_store import AudienceStore
    from homing.adapters.dynamodb.audiences import AudienceSource
    from homing.bootstrap import services
    from homing.services.audiences import AudienceService
    from tests.integration.test_audiences import BUCKET as AUDIENCES
    from tests.integration.test_audiences import read_members

    boto3.client("s3").create_bucket(Bucket=AUDIENCES)
    svc = services()
    audiences = AudienceService(
        svc.segments,
        AudienceSource(),
        AudienceStore(AUDIENCES),
        None,
        clock=lambda: datetime.now(UTC),
        parts=4,
        imported=svc.imported_members,
    )
    manifest = audiences.resolve(audiences.prepare(app, segment_id, version))
    return {m["id"] for m in read_members(manifest)}


def test_define_segment_creates_an_imported_segment_whose_members_are_the_import(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    call("PUT", f"/v1/apps/{app}/endpoints/outsider", {"ChannelType": "EMAIL", "Address": "o@example.com"})
    put("segment.csv", SEGMENT_CSV + "Bad,FAX,x\n")
    created = import_job(
        call, app, f"s3://{BUCKET}/segment.csv", "CSV", DefineSegment=True, SegmentName="imported", ExternalId="ext"
    ).body
    assert "SegmentId" not in created["Definition"]
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created['Id']}").body
    assert (job["JobStatus"], job["TotalFailures"]) == ("COMPLETED", 1)
    segment_id = job["Definition"]["SegmentId"]
    assert (job["Definition"]["DefineSegment"], job["Definition"]["SegmentName"]) == (True, "imported")
    segment = call("GET", f"/v1/apps/{app}/segments/{segment_id}").body
    assert (segment["SegmentType"], segment["Name"], segment["Version"]) == ("IMPORT", "imported", 1)
    assert segment["ImportDefinition"] == {
        "ExternalId": "ext",
        "Format": "CSV",
        "RoleArn": ROLE,
        "S3Url": f"s3://{BUCKET}/segment.csv",
        "Size": 3,
        "ChannelCounts": {"EMAIL": 2, "SMS": 1},
    }
    listed = call("GET", f"/v1/apps/{app}/segments/{segment_id}/jobs/import").body["Item"]
    assert [j["Id"] for j in listed] == [created["Id"]]
    assert call("GET", f"/v1/apps/{app}/segments/{segment_id}/jobs/export").body == {"Item": []}
    # Who is in it: exactly what the import registered (ids compare case-insensitively), resolved by the
    # audience service; and a dimensional segment on top of it narrows it.
    assert members_of(app, segment_id) == {"Imp-A", "imp-b", "imp-c"}
    ios = {"Demographic": {"Platform": {"Values": ["iOS"]}}}
    narrowed = call(
        "POST",
        f"/v1/apps/{app}/segments",
        {"Name": "ios", "Dimensions": ios, "SegmentGroups": {"Groups": [{"SourceSegments": [{"Id": segment_id}]}]}},
    ).body["Id"]
    assert members_of(app, narrowed) == {"Imp-A", "imp-c"}


def test_define_segment_with_a_segment_id_makes_a_new_version_of_it(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    put("first.csv", SEGMENT_CSV)
    put("users.csv", "User.UserId,ChannelType,Address\nu-1,EMAIL,u1@example.com\n")
    put("only-users.csv", "User.UserId\nu-1 u-9\n")
    first = import_job(call, app, f"s3://{BUCKET}/first.csv", "CSV", DefineSegment=True, SegmentName="s").body
    import_job(call, app, f"s3://{BUCKET}/users.csv", "CSV")  # u-1's endpoint, outside the segment
    jobs()
    segment_id = call("GET", f"/v1/apps/{app}/jobs/import/{first['Id']}").body["Definition"]["SegmentId"]
    second = import_job(
        call, app, f"s3://{BUCKET}/only-users.csv", "CSV", DefineSegment=True, SegmentId=segment_id
    ).body
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/import/{second['Id']}").body
    assert (job["JobStatus"], job["Definition"]["SegmentId"]) == ("COMPLETED", segment_id)
    segment = call("GET", f"/v1/apps/{app}/segments/{segment_id}").body
    assert (segment["Version"], segment["Name"], segment["ImportDefinition"]["S3Url"]) == (
        2,
        "s",
        f"s3://{BUCKET}/only-users.csv",
    )
    assert segment["ImportDefinition"]["Size"] == 0
    users_endpoint = call("GET", f"/v1/apps/{app}/users/u-1").body["Item"][0]["Id"]
    assert members_of(app, segment_id) == {users_endpoint}  # version 2: the users the second import named
    assert members_of(app, segment_id, "1") == {"Imp-A", "imp-b", "imp-c"}  # version 1 keeps its members
    listed = call("GET", f"/v1/apps/{app}/segments/{segment_id}/jobs/import").body["Item"]
    assert [j["Id"] for j in listed] == [second["Id"], first["Id"]]
    # Only an imported segment can be updated by an import.
    dimensional = call("POST", f"/v1/apps/{app}/segments", {"Name": "d"}).body["Id"]
    r = import_job(call, app, f"s3://{BUCKET}/first.csv", "CSV", DefineSegment=True, SegmentId=dimensional)
    assert (r.status, r.body["Message"].split(":")[0]) == (400, "SegmentId")


def test_a_retried_finish_defines_the_segment_once(call: Any, jobs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    import run_jobs.handler as handler_module

    from homing.adapters.dynamodb.jobs import JobRepository

    app = create(call)["Id"]
    put("segment.csv", SEGMENT_CSV)
    created = import_job(call, app, f"s3://{BUCKET}/segment.csv", "CSV", DefineSegment=True, SegmentName="s").body
    real_move = JobRepository.move
    crashes: list[str] = []

    def move_then_crash_once(self: Any, job: Any, expected: Any, status: str, **counts: Any) -> Any:
        if status == "COMPLETED" and not crashes:
            crashes.append(job.id)
            raise RuntimeError("the worker died after defining the segment")
        return real_move(self, job, expected, status, **counts)

    monkeypatch.setattr(JobRepository, "move", move_then_crash_once)
    sqs, url = boto3.client("sqs"), os.environ["JOBS_QUEUE_URL"]
    outcomes = []
    for _ in range(4):  # the plan, the piece (its finish fails), the piece redelivered (finishes)
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            break
        m = messages[0]
        record = {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
        out = handler_module.lambda_handler({"Records": [record]}, LambdaContext())
        outcomes.append(out["batchItemFailures"] != [])
        if not out["batchItemFailures"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        else:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert outcomes == [False, True, False]
    job = call("GET", f"/v1/apps/{app}/jobs/import/{created['Id']}").body
    assert (job["JobStatus"], job["CompletedPieces"]) == ("COMPLETED", 1)
    segments = call("GET", f"/v1/apps/{app}/segments").body["Item"]
    assert [(s["Id"], s["Version"]) for s in segments] == [(job["Definition"]["SegmentId"], 1)]


def test_a_segment_export_writes_exactly_its_members(call: Any, jobs: Any) -> None:
    app = create(call)["Id"]
    other = create(call)["Id"]
    for i in range(30):
        body = {"ChannelType": "SMS" if i % 3 == 0 else "EMAIL", "Address": f"+1555555{i:04d}"}
        call("PUT", f"/v1/apps/{app}/endpoints/{uuid.uuid4()}", body)
    call("PUT", f"/v1/apps/{other}/endpoints/sms-elsewhere", {"ChannelType": "SMS", "Address": "+15555550199"})
    sms = call(
        "POST",
        f"/v1/apps/{app}/segments",
        {"Name": "sms", "Dimensions": {"Demographic": {"Channel": {"Values": ["SMS"]}}}},
    ).body["Id"]
    call("PUT", f"/v1/apps/{app}/segments/{sms}", {"Name": "sms v2"})
    export = {"S3UrlPrefix": f"s3://{BUCKET}/seg", "RoleArn": ROLE, "SegmentId": sms, "SegmentVersion": 1}
    job = call("POST", f"/v1/apps/{app}/jobs/export", export).body
    jobs()
    job = call("GET", f"/v1/apps/{app}/jobs/export/{job['Id']}").body
    assert (job["JobStatus"], job["TotalPieces"], job["CompletedPieces"], job["TotalProcessed"]) == (
        "COMPLETED",
        4,
        4,
        10,
    )
    lines = exported("seg/")
    listed = call("GET", f"/v1/apps/{app}/endpoints", query={"page-size": ["100"]}).body["Item"]
    assert sorted(e["Id"] for e in lines) == sorted(e["Id"] for e in listed if e["ChannelType"] == "SMS")
    assert {e["ApplicationId"] for e in lines} == {app}
    listed_jobs = call("GET", f"/v1/apps/{app}/segments/{sms}/jobs/export").body["Item"]
    assert [j["Definition"]["SegmentVersion"] for j in listed_jobs] == [1]
    missing = {"S3UrlPrefix": f"s3://{BUCKET}/x", "RoleArn": ROLE, "SegmentId": sms, "SegmentVersion": 3}
    assert call("POST", f"/v1/apps/{app}/jobs/export", missing).status == 404


def test_an_export_part_short_of_time_continues_from_its_cursor(call: Any, jobs: Any) -> None:
    import boto3

    from homing.bootstrap import services

    app = create(call)["Id"]
    ids = [f"a{i:03d}" for i in range(250)]  # every key in one of the 4 key ranges ("80" <= key < "c0")
    for i in range(0, 250, 100):
        items = [{"Id": e, "ChannelType": "EMAIL", "Address": f"{e}@example.com"} for e in ids[i : i + 100]]
        assert call("PUT", f"/v1/apps/{app}/endpoints", {"Item": items}).status == 202
    created = call("POST", f"/v1/apps/{app}/jobs/export", {"S3UrlPrefix": f"s3://{BUCKET}/cont", "RoleArn": ROLE})
    sqs, url = boto3.client("sqs"), os.environ["JOBS_QUEUE_URL"]

    def take() -> str:
        m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return str(m["Body"])

    services().jobs.run(take())  # the plan: 4 parts
    for _ in range(4):
        services().jobs.run(take(), lambda: 1_000)  # less than a minute left: hand on after each batch
    handed_on = jobs()
    assert [json.loads(b)["cursor"] for b in handed_on] == ["a099"]  # the first batch, then the rest
    job = call("GET", f"/v1/apps/{app}/jobs/export/{created.body['Id']}").body
    assert (job["JobStatus"], job["CompletedPieces"], job["TotalProcessed"]) == ("COMPLETED", 4, 250)
    lines = exported("cont/")
    assert sorted(e["Id"] for e in lines) == ids
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="cont/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == [f"segment-0002-part-000{n}.json.gz" for n in range(2)]


def test_a_recency_segment_export_joins_the_candidates_activity(call: Any, jobs: Any) -> None:
    from homing.adapters.dynamodb.analytics_tables import AnalyticsItem
    from homing.domain.analytics import endpoint_activity_key

    app = create(call)["Id"]
    today = int(datetime.now(UTC).timestamp()) // 86_400
    old = "2025-01-01T00:00:00Z"  # the EffectiveDate counts as activity too: make it old
    items = [
        {"Id": e, "ChannelType": "EMAIL", "Address": f"{e}@example.com", "EffectiveDate": old}
        for e in ("Fresh", "stale", "never")
    ]
    assert call("PUT", f"/v1/apps/{app}/endpoints", {"Item": items}).status == 202
    for endpoint, days_ago in (("Fresh", 0), ("stale", 40)):
        pk, sk = endpoint_activity_key(app, endpoint)
        AnalyticsItem(pk, sk, days={today - days_ago}, version=1).save()
    recency = {"Behavior": {"Recency": {"Duration": "DAY_7", "RecencyType": "INACTIVE"}}}
    segment = call("POST", f"/v1/apps/{app}/segments", {"Name": "lapsed", "Dimensions": recency}).body["Id"]
    export = {"S3UrlPrefix": f"s3://{BUCKET}/lapsed", "RoleArn": ROLE, "SegmentId": segment}
    job = call("POST", f"/v1/apps/{app}/jobs/export", export).body
    jobs()
    assert call("GET", f"/v1/apps/{app}/jobs/export/{job['Id']}").body["JobStatus"] == "COMPLETED"
    assert sorted(e["Id"] for e in exported("lapsed/")) == ["never", "stale"]


def test_a_failing_task_is_reported_alone_and_the_others_run(call: Any, jobs: Any) -> None:
    """The handler's partial batch response: the task that raised is the one failure, the rest ran."""
    import run_jobs.handler as handler_module

    app = create(call)["Id"]
    put("ok.json", json.dumps(export_line(0)) + "\n")
    import_job(call, app, f"s3://{BUCKET}/ok.json", "JSON")
    import boto3

    url = os.environ["JOBS_QUEUE_URL"]
    (m,) = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    records = [
        {"messageId": "bad", "receiptHandle": "r0", "body": "{not a task"},
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]},
    ]
    out = handler_module.lambda_handler({"Records": records}, LambdaContext(function_name="run_jobs"))
    assert out == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    out = handler_module.lambda_handler({"Records": records[:1]}, LambdaContext(function_name="run_jobs"))
    assert out == {"batchItemFailures": [{"itemIdentifier": "bad"}]}  # reported, not raised, when all fail
