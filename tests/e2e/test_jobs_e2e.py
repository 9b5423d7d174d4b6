"""Import and export jobs through the stock boto3 client: files placed in the local stack's S3, the jobs run by
local mode's SQS poller (run_jobs), progress read with GetImportJob/GetExportJob, the export read back from S3."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import boto3

from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY

BUCKET = "homing-jobs-e2e"
ROLE = "arn:aws:iam::123456789012:role/pinpoint-import"
POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 120.0


def _s3(moto_url: str) -> Any:
    s3 = boto3.client(
        "s3", endpoint_url=moto_url, region_name=REGION, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY
    )
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    return s3


def _wait(get: Any) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        job: dict[str, Any] = get()
        if job["JobStatus"] in ("COMPLETED", "FAILED"):
            return job
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"the job did not finish within {TIMEOUT_SECONDS:.0f} s: {job}")


def _import(pinpoint: Any, app: str, url: str, fmt: str) -> dict[str, Any]:
    created = pinpoint.create_import_job(
        ApplicationId=app, ImportJobRequest={"Format": fmt, "S3Url": url, "RoleArn": ROLE, "RegisterEndpoints": True}
    )["ImportJobResponse"]
    assert created["JobStatus"] == "CREATED"
    return _wait(lambda: pinpoint.get_import_job(ApplicationId=app, JobId=created["Id"])["ImportJobResponse"])


def test_csv_and_pinpoint_json_imports_then_an_export_read_back(pinpoint: Any, moto_url: str) -> None:
    s3 = _s3(moto_url)
    app = pinpoint.create_app(CreateApplicationRequest={"Name": "jobs-e2e"})["ApplicationResponse"]["Id"]
    csv_body = (
        "ChannelType,Address,User.UserId,User.UserAttributes.tags,User.UserAttributes.tags,Demographic.Platform\n"
        "EMAIL,e2e-csv1@example.com,csv-user-1,red,blue,Android\n"
        "EMAIL,e2e-csv2@example.com,csv-user-2,green,,iOS\n"
        "FAX,nowhere,csv-user-3,,,\n"
    )
    s3.put_object(Bucket=BUCKET, Key=f"{app}/people.csv", Body=csv_body.encode())
    job = _import(pinpoint, app, f"s3://{BUCKET}/{app}/people.csv", "CSV")
    assert (job["JobStatus"], job["TotalProcessed"], job["TotalFailures"]) == ("COMPLETED", 3, 1)
    assert job["Failures"][0].startswith(f"{app}/people.csv line 4: ChannelType")
    user = pinpoint.get_user_endpoints(ApplicationId=app, UserId="csv-user-1")["EndpointsResponse"]["Item"]
    assert user[0]["User"]["UserAttributes"] == {"tags": ["red", "blue"]}

    lines = [
        {
            "ApplicationId": "0" * 32,
            "Id": f"pinpoint-{i}",
            "ChannelType": "SMS",
            "Address": f"+1604555{i:04d}",
            "Attributes": {"plan": ["pro"]},
            "Demographic": {"Platform": "android"},
            "EffectiveDate": "2024-01-02T03:04:05.000Z",
            "EndpointStatus": "ACTIVE",
            "Location": {"Country": "CA"},
            "Metrics": {"rides": float(i)},
            "OptOut": "NONE",
            "RequestId": "req",
            "User": {"UserId": f"json-user-{i}"},
            "CohortId": "7",
            "CreationDate": "2024-01-01T00:00:00.000Z",
        }
        for i in range(20)
    ]
    export_file = gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{app}/pinpoint-export/part-0.gz", Body=export_file)
    job = _import(pinpoint, app, f"s3://{BUCKET}/{app}/pinpoint-export/", "JSON")
    assert (job["JobStatus"], job["TotalProcessed"], job["TotalFailures"]) == ("COMPLETED", 20, 0)
    endpoint = pinpoint.get_endpoint(ApplicationId=app, EndpointId="pinpoint-13")["EndpointResponse"]
    assert (endpoint["Address"], endpoint["Metrics"], endpoint["ApplicationId"]) == (
        "+16045550013",
        {"rides": 13.0},
        app,
    )
    listed = pinpoint.get_import_jobs(ApplicationId=app)["ImportJobsResponse"]["Item"]
    assert len(listed) == 2

    created = pinpoint.create_export_job(
        ApplicationId=app, ExportJobRequest={"S3UrlPrefix": f"s3://{BUCKET}/{app}/out/", "RoleArn": ROLE}
    )["ExportJobResponse"]
    job = _wait(lambda: pinpoint.get_export_job(ApplicationId=app, JobId=created["Id"])["ExportJobResponse"])
    assert (job["JobStatus"], job["Type"], job["TotalProcessed"]) == ("COMPLETED", "EXPORT", 22)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{app}/out/")["Contents"]]
    exported = [
        json.loads(line)
        for key in keys
        for line in gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines()
    ]
    assert len(exported) == 22
    assert {e["Id"] for e in exported} >= {f"pinpoint-{i}" for i in range(20)}
    assert all(e["ApplicationId"] == app for e in exported)


def test_a_bad_import_request_is_a_bad_request_naming_the_field(pinpoint: Any) -> None:
    import pytest
    from botocore.exceptions import ClientError

    app = pinpoint.create_app(CreateApplicationRequest={"Name": "jobs-e2e-bad"})["ApplicationResponse"]["Id"]
    with pytest.raises(ClientError) as error:
        pinpoint.create_import_job(
            ApplicationId=app, ImportJobRequest={"Format": "CSV", "S3Url": "s3://other-bucket/x.csv", "RoleArn": ROLE}
        )
    assert error.value.response["Error"]["Code"] == "BadRequestException"
    assert error.value.response["Error"]["Message"].startswith("S3Url")


def test_an_imported_segment_resolves_to_its_import_and_exports_exactly_it(
    pinpoint: Any, moto_url: str, api_url: str
) -> None:
    from tests.e2e.test_audiences_e2e import audience_ids

    s3 = _s3(moto_url)
    app = pinpoint.create_app(CreateApplicationRequest={"Name": "jobs-e2e-segment"})["ApplicationResponse"]["Id"]
    pinpoint.update_endpoint(
        ApplicationId=app, EndpointId="outsider", EndpointRequest={"ChannelType": "EMAIL", "Address": "o@example.com"}
    )
    csv_body = (
        "ChannelType,Address,User.UserId,Demographic.Platform\n"
        "EMAIL,seg1@example.com,seg-user-1,iOS\n"
        "SMS,+16045550150,seg-user-2,Android\n"
        "EMAIL,seg3@example.com,seg-user-3,iOS\n"
    )
    s3.put_object(Bucket=BUCKET, Key=f"{app}/segment.csv", Body=csv_body.encode())
    url = f"s3://{BUCKET}/{app}/segment.csv"
    created = pinpoint.create_import_job(
        ApplicationId=app,
        ImportJobRequest={"Format": "CSV", "S3Url": url, "RoleArn": ROLE, "DefineSegment": True, "SegmentName": "vip"},
    )["ImportJobResponse"]
    job = _wait(lambda: pinpoint.get_import_job(ApplicationId=app, JobId=created["Id"])["ImportJobResponse"])
    assert (job["JobStatus"], job["TotalProcessed"], job["TotalFailures"]) == ("COMPLETED", 3, 0)
    segment_id = job["Definition"]["SegmentId"]
    assert (job["Definition"]["DefineSegment"], job["Definition"]["SegmentName"]) == (True, "vip")

    segment = pinpoint.get_segment(ApplicationId=app, SegmentId=segment_id)["SegmentResponse"]
    assert (segment["SegmentType"], segment["Name"]) == ("IMPORT", "vip")
    assert segment["ImportDefinition"] == {
        "ExternalId": "",
        "Format": "CSV",
        "RoleArn": ROLE,
        "S3Url": url,
        "Size": 3,
        "ChannelCounts": {"EMAIL": 2, "SMS": 1},
    }
    listed = pinpoint.get_segment_import_jobs(ApplicationId=app, SegmentId=segment_id)["ImportJobsResponse"]["Item"]
    assert [j["Id"] for j in listed] == [created["Id"]]

    imported = {
        e["Id"]
        for user in ("seg-user-1", "seg-user-2", "seg-user-3")
        for e in pinpoint.get_user_endpoints(ApplicationId=app, UserId=user)["EndpointsResponse"]["Item"]
    }
    assert len(imported) == 3
    answer, members = audience_ids(api_url, moto_url, app, segment_id)
    assert members == imported
    assert answer["ChannelCounts"] == {"EMAIL": 2, "SMS": 1}

    created = pinpoint.create_export_job(
        ApplicationId=app,
        ExportJobRequest={"S3UrlPrefix": f"s3://{BUCKET}/{app}/vip/", "RoleArn": ROLE, "SegmentId": segment_id},
    )["ExportJobResponse"]
    job = _wait(lambda: pinpoint.get_export_job(ApplicationId=app, JobId=created["Id"])["ExportJobResponse"])
    assert (job["JobStatus"], job["TotalProcessed"]) == ("COMPLETED", 3)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{app}/vip/")["Contents"]]
    exported = [
        json.loads(line)
        for key in keys
        for line in gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).splitlines()
    ]
    assert sorted(e["Id"] for e in exported) == sorted(imported)
    by_address = {e["Address"]: e for e in exported}
    assert by_address["+16045550150"]["Demographic"]["Platform"] == "Android"
    assert {e["ApplicationId"] for e in exported} == {app}
    exports = pinpoint.get_segment_export_jobs(ApplicationId=app, SegmentId=segment_id)["ExportJobsResponse"]["Item"]
    assert [j["Id"] for j in exports] == [created["Id"]]


def test_job_errors_have_pinpoints_types_codes_and_fields(pinpoint: Any) -> None:
    import pytest
    from botocore.exceptions import ClientError

    app = pinpoint.create_app(CreateApplicationRequest={"Name": "jobs-e2e-errors"})["ApplicationResponse"]["Id"]
    calls = [
        (lambda: pinpoint.get_import_job(ApplicationId=app, JobId="0" * 32), "NotFoundException", 404, None),
        (lambda: pinpoint.get_export_job(ApplicationId=app, JobId="not-a-job"), "NotFoundException", 404, None),
        (
            lambda: pinpoint.create_export_job(
                ApplicationId=app, ExportJobRequest={"S3UrlPrefix": "https://x/y", "RoleArn": ROLE}
            ),
            "BadRequestException",
            400,
            "S3UrlPrefix",
        ),
        (
            lambda: pinpoint.create_import_job(
                ApplicationId=app, ImportJobRequest={"Format": "XML", "S3Url": f"s3://{BUCKET}/x", "RoleArn": ROLE}
            ),
            "BadRequestException",
            400,
            "Format",
        ),
        (
            lambda: pinpoint.get_segment_import_jobs(ApplicationId=app, SegmentId="nosuchsegment"),
            "NotFoundException",
            404,
            None,
        ),
    ]
    for call, code, status, field in calls:
        with pytest.raises(ClientError) as error:
            call()
        response = error.value.response
        assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)
        if field:
            assert field in response["Error"]["Message"]
