"""The events pipeline end to end: PutEvents -> Kinesis -> process_events -> KPIs, event streams, archive.

Driven with the stock boto3 ``pinpoint`` client (and plain SigV4 HTTP for Homing's extensions)
against the local stack; the AWS side (the customer's streams, the archive bucket) is read from
the embedded moto. moto's event-source mapping runs process_events synchronously inside
``put_records``, so aggregates are readable as soon as PutEvents has answered; the archive is
written by local mode's Firehose stand-in every few seconds, so it is polled.
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.conftest import ACCESS_KEY, REGION, SECRET_KEY, settle

ACCEPTED = {"StatusCode": 202, "Message": "Accepted"}
ARCHIVE_WAIT_SECONDS = 30.0

Aws = Callable[[str], Any]


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def short_id() -> str:
    return uuid.uuid4().hex[:10]


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response: Any = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def session_events(prefix: str, session_id: str, start: datetime, seconds: int) -> dict[str, Any]:
    """A ``_session.start`` and its ``_session.stop`` (``seconds`` later), as the Amplify SDKs send them."""
    stop = start + timedelta(seconds=seconds)
    return {
        f"{prefix}-start": {
            "EventType": "_session.start",
            "Timestamp": iso(start),
            "Session": {"Id": session_id, "StartTimestamp": iso(start)},
        },
        f"{prefix}-stop": {
            "EventType": "_session.stop",
            "Timestamp": iso(stop),
            "Session": {
                "Id": session_id,
                "StartTimestamp": iso(start),
                "StopTimestamp": iso(stop),
                "Duration": seconds * 1000,
            },
        },
    }


def custom_event(event_type: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"EventType": event_type, "Timestamp": iso(at), **extra}


def put(pinpoint: Any, app_id: str, batch: dict[str, Any]) -> dict[str, Any]:
    """PutEvents; a batch item without ``Endpoint`` gets ``{}`` (the model requires the member)."""
    items = {endpoint_id: {"Endpoint": {}, **item} for endpoint_id, item in batch.items()}
    response = pinpoint.put_events(ApplicationId=app_id, EventsRequest={"BatchItem": items})
    settle(pinpoint.meta.endpoint_url)  # processing is asynchronous, as in AWS
    results: dict[str, Any] = response["EventsResponse"]["Results"]
    return results


def kpi_rows(pinpoint: Any, app_id: str, name: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    response = pinpoint.get_application_date_range_kpi(
        ApplicationId=app_id, KpiName=name, StartTime=now - timedelta(days=2), EndTime=now + timedelta(hours=1)
    )["ApplicationDateRangeKpiResponse"]
    assert response["KpiName"] == name
    rows: list[dict[str, Any]] = response["KpiResult"]["Rows"]
    return rows


def single_value(rows: list[dict[str, Any]]) -> float:
    assert len(rows) == 1, rows
    assert len(rows[0]["Values"]) == 1, rows
    return float(rows[0]["Values"][0]["Value"])


def stream_records(kinesis: Any, stream_name: str) -> list[dict[str, Any]]:
    """Every record on a (small) Kinesis stream, decoded from JSON."""
    records = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        records += [json.loads(r["Data"]) for r in out["Records"]]
    return records


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def app_id(pinpoint: Any) -> Iterator[str]:
    """An app of this test's own, deleted afterwards."""
    app = pinpoint.create_app(CreateApplicationRequest={"Name": f"e2e-events-{short_id()}"})["ApplicationResponse"]
    yield app["Id"]
    try:
        pinpoint.delete_app(ApplicationId=app["Id"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "NotFoundException":
            raise


@pytest.fixture(scope="session")
def aws(moto_url: str) -> Aws:
    """``aws("kinesis")``: a boto3 client for the embedded moto (the local AWS account)."""

    def client(service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture
def role_arn(aws: Aws) -> Iterator[str]:
    """An IAM role in the local account for Homing to assume (moto checks no trust policy)."""
    iam = aws("iam")
    name = f"e2e-event-stream-{short_id()}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "pinpoint.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    yield arn
    iam.delete_role(RoleName=name)


# --- PutEvents ----------------------------------------------------------------------------------------


def test_put_events_answers_per_event_and_upserts_the_endpoint(pinpoint: Any, app_id: str) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    events = {
        **session_events("s1", "session-1", now, 42),
        "buy-1": custom_event(
            "purchase",
            now + timedelta(seconds=10),
            Attributes={"item": "hat", "color": "red"},
            Metrics={"price": 19.5, "quantity": 2},
        ),
        "too-many-attributes": custom_event("purchase", now, Attributes={f"k{i}": "v" for i in range(41)}),
    }
    batch = {
        "ep-1": {
            "Endpoint": {
                "ChannelType": "GCM",
                "Address": "device-token-1",
                "User": {"UserId": "user-1"},
                "Demographic": {"Platform": "android", "AppVersion": "2.1"},
            },
            "Events": events,
        }
    }

    results = put(pinpoint, app_id, batch)

    assert set(results) == {"ep-1"}
    assert results["ep-1"]["EndpointItemResponse"] == ACCEPTED
    verdicts = results["ep-1"]["EventsItemResponse"]
    assert {k: v for k, v in verdicts.items() if k != "too-many-attributes"} == {
        "s1-start": ACCEPTED,
        "s1-stop": ACCEPTED,
        "buy-1": ACCEPTED,
    }
    assert verdicts["too-many-attributes"]["StatusCode"] == 400
    assert "attributes" in verdicts["too-many-attributes"]["Message"].lower()

    endpoint = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="ep-1")["EndpointResponse"]
    assert endpoint["ChannelType"] == "GCM"
    assert endpoint["Address"] == "device-token-1"
    assert endpoint["User"]["UserId"] == "user-1"
    assert endpoint["Demographic"]["Platform"] == "android"

    again = put(pinpoint, app_id, {"ep-1": {"Endpoint": {"Demographic": {"AppVersion": "2.2"}}, "Events": {}}})

    assert again["ep-1"]["EndpointItemResponse"] == ACCEPTED
    updated = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="ep-1")["EndpointResponse"]
    assert updated["Demographic"]["AppVersion"] == "2.2"
    assert updated["Address"] == "device-token-1"


def test_put_events_rejects_a_bad_endpoint_but_keeps_its_events(pinpoint: Any, app_id: str) -> None:
    now = datetime.now(UTC)
    batch = {
        "ep-bad": {
            "Endpoint": {"ChannelType": "NOT_A_CHANNEL", "Address": "x"},
            "Events": {"e1": custom_event("signup", now)},
        }
    }

    results = put(pinpoint, app_id, batch)

    assert results["ep-bad"]["EndpointItemResponse"]["StatusCode"] == 400
    assert results["ep-bad"]["EndpointItemResponse"]["Message"]
    assert results["ep-bad"]["EventsItemResponse"] == {"e1": ACCEPTED}


def test_put_events_on_an_unknown_app_is_not_found(pinpoint: Any) -> None:
    batch = {"ep": {"Endpoint": {}, "Events": {"e": custom_event("x", datetime.now(UTC))}}}

    with pytest.raises(ClientError) as caught:
        pinpoint.put_events(ApplicationId=uuid.uuid4().hex, EventsRequest={"BatchItem": batch})

    assert error_of(caught)[:2] == ("NotFoundException", 404)


# --- KPIs ---------------------------------------------------------------------------------------------


def test_events_show_up_in_homing_kpis(pinpoint: Any, app_id: str) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    batch = {}
    for i in range(3):
        events = {
            **session_events(f"s{i}", f"session-{i}", start, 60),
            f"view-{i}": custom_event("view_item", start + timedelta(seconds=5)),
        }
        if i < 2:
            events[f"buy-{i}"] = custom_event("purchase", start + timedelta(seconds=20), Metrics={"price": 10.0})
        batch[f"ep-{i}"] = {
            "Endpoint": {"ChannelType": "APNS", "Address": f"token-{i}", "User": {"UserId": f"user-{i % 2}"}},
            "Events": events,
        }
    results = put(pinpoint, app_id, batch)
    assert all(v == ACCEPTED for r in results.values() for v in r["EventsItemResponse"].values())

    assert single_value(kpi_rows(pinpoint, app_id, "session-count")) == 3
    assert single_value(kpi_rows(pinpoint, app_id, "event-count")) == 3 * 2 + 3 + 2
    assert single_value(kpi_rows(pinpoint, app_id, "new-users")) == 2
    assert single_value(kpi_rows(pinpoint, app_id, "average-session-length")) == 60_000
    (daily,) = kpi_rows(pinpoint, app_id, "daily-active-endpoints-grouped-by-date")
    assert daily["GroupedBys"] == [{"Key": "Date", "Type": "String", "Value": start.date().isoformat()}]
    assert daily["Values"] == [{"Key": "DailyActiveEndpoints", "Type": "Double", "Value": "3.0"}]
    by_type = kpi_rows(pinpoint, app_id, "custom-events-grouped-by-event-type")
    assert {r["GroupedBys"][0]["Value"]: float(r["Values"][0]["Value"]) for r in by_type} == {
        "view_item": 3.0,
        "purchase": 2.0,
    }


def test_kpi_without_data_unknown_kpi_and_time_parsing(pinpoint: Any, app_id: str) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=7)

    response = pinpoint.get_application_date_range_kpi(
        ApplicationId=app_id, KpiName="txn-emails-sent", StartTime=start, EndTime=end
    )["ApplicationDateRangeKpiResponse"]

    assert response["ApplicationId"] == app_id
    assert response["KpiResult"] == {"Rows": []}
    assert response["StartTime"] == start  # boto3 parsed the timestamps (timezone-aware datetimes)
    assert response["EndTime"] == end

    with pytest.raises(ClientError) as caught:
        pinpoint.get_application_date_range_kpi(ApplicationId=app_id, KpiName="no-such-kpi")
    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "no-such-kpi" in message


def test_engagement_events_feed_transactional_and_campaign_kpis(pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=3)

    def email(event_type: str, message_id: str, seconds: int) -> dict[str, Any]:
        return custom_event(event_type, at + timedelta(seconds=seconds), Attributes={"message_id": message_id})

    def campaign_send(activity: str, status: str) -> dict[str, Any]:
        attributes = {"campaign_id": "cmp-1", "campaign_activity_id": activity, "campaign_send_status": status}
        return custom_event("_campaign.send", at, Attributes=attributes)

    batch = {
        "ep-1": {
            "Events": {
                "send-1": email("_email.send", "msg-1", 0),
                "delivered-1": email("_email.delivered", "msg-1", 5),
                "open-1": email("_email.open", "msg-1", 30),
                "open-1-again": email("_email.open", "msg-1", 90),
                "campaign-a1": campaign_send("act-1", "SUCCESS"),
            }
        },
        "ep-2": {
            "Events": {
                "send-2": email("_email.send", "msg-2", 0),
                "campaign-a1": campaign_send("act-1", "SUCCESS"),
                "campaign-a2": campaign_send("act-2", "QUIET_TIME"),  # not attempted
            }
        },
    }
    results = put(pinpoint, app_id, batch)
    assert all(v == ACCEPTED for r in results.values() for v in r["EventsItemResponse"].values())

    assert single_value(kpi_rows(pinpoint, app_id, "txn-emails-sent")) == 2
    assert single_value(kpi_rows(pinpoint, app_id, "txn-emails-opened")) == 2
    assert single_value(kpi_rows(pinpoint, app_id, "txn-emails-unique-opens")) == 1
    assert kpi_rows(pinpoint, app_id, "event-count") == []  # engagement is not app activity

    now = datetime.now(UTC)
    campaign = pinpoint.get_campaign_date_range_kpi(
        ApplicationId=app_id,
        CampaignId="cmp-1",
        KpiName="attempted-deliveries-grouped-by-campaign-activity",
        StartTime=now - timedelta(days=1),
        EndTime=now + timedelta(hours=1),
    )["CampaignDateRangeKpiResponse"]
    assert campaign["CampaignId"] == "cmp-1"
    assert campaign["KpiResult"]["Rows"] == [
        {
            "GroupedBys": [{"Key": "CampaignActivityId", "Type": "String", "Value": "act-1"}],
            "Values": [{"Key": "AttemptedDeliveries", "Type": "Double", "Value": "2.0"}],
        }
    ]


# --- event streams (PutEventStream) --------------------------------------------------------------------


@pytest.fixture
def kinesis_stream(aws: Aws) -> Iterator[tuple[str, str]]:
    """(name, ARN) of a Kinesis stream in the local account: the customer's own event stream."""
    kinesis = aws("kinesis")
    name = f"e2e-customer-events-{short_id()}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    yield name, arn
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def test_event_stream_to_kinesis_receives_pinpoint_records(
    pinpoint: Any, app_id: str, aws: Aws, role_arn: str, kinesis_stream: tuple[str, str]
) -> None:
    stream_name, stream_arn = kinesis_stream

    put_response = pinpoint.put_event_stream(
        ApplicationId=app_id, WriteEventStream={"DestinationStreamArn": stream_arn, "RoleArn": role_arn}
    )["EventStream"]
    got = pinpoint.get_event_stream(ApplicationId=app_id)["EventStream"]

    assert put_response["DestinationStreamArn"] == stream_arn
    assert {k: got[k] for k in ("ApplicationId", "DestinationStreamArn", "RoleArn")} == {
        "ApplicationId": app_id,
        "DestinationStreamArn": stream_arn,
        "RoleArn": role_arn,
    }
    assert got["LastModifiedDate"]

    now = datetime.now(UTC)
    batch = {
        "ep-1": {
            "Endpoint": {"ChannelType": "EMAIL", "Address": "ana@example.com"},
            "Events": {
                "e1": custom_event("purchase", now, Attributes={"item": "hat"}, Metrics={"price": 9.5}),
                "e2": custom_event("view_item", now, Attributes={"item": "cap"}),
            },
        }
    }
    results = put(pinpoint, app_id, batch)
    assert results["ep-1"]["EventsItemResponse"] == {"e1": ACCEPTED, "e2": ACCEPTED}

    records = stream_records(aws("kinesis"), stream_name)
    assert sorted(r["event_type"] for r in records) == ["purchase", "view_item"]
    purchase = next(r for r in records if r["event_type"] == "purchase")
    assert purchase["application"]["app_id"] == app_id
    assert purchase["client"]["client_id"] == "ep-1"
    assert purchase["attributes"] == {"item": "hat"}
    assert purchase["metrics"] == {"price": 9.5}
    assert purchase["event_timestamp"] == int(now.timestamp() * 1000)
    assert isinstance(purchase["arrival_timestamp"], int)

    deleted = pinpoint.delete_event_stream(ApplicationId=app_id)["EventStream"]
    assert deleted["DestinationStreamArn"] == stream_arn
    with pytest.raises(ClientError) as caught:
        pinpoint.get_event_stream(ApplicationId=app_id)
    assert error_of(caught)[:2] == ("NotFoundException", 404)


@pytest.fixture
def firehose_to_bucket(aws: Aws, role_arn: str) -> Iterator[tuple[str, str]]:
    """(delivery stream ARN, bucket) of a DirectPut Firehose delivery stream writing to a local bucket."""
    s3, firehose = aws("s3"), aws("firehose")
    suffix = short_id()
    bucket, name = f"e2e-customer-archive-{suffix}", f"e2e-customer-firehose-{suffix}"
    s3.create_bucket(Bucket=bucket)
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": role_arn, "BucketARN": f"arn:aws:s3:::{bucket}"},
    )["DeliveryStreamARN"]
    yield arn, bucket
    firehose.delete_delivery_stream(DeliveryStreamName=name)
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def test_event_stream_to_firehose_lands_in_its_bucket(
    pinpoint: Any, app_id: str, aws: Aws, role_arn: str, firehose_to_bucket: tuple[str, str]
) -> None:
    arn, bucket = firehose_to_bucket
    pinpoint.put_event_stream(ApplicationId=app_id, WriteEventStream={"DestinationStreamArn": arn, "RoleArn": role_arn})

    results = put(pinpoint, app_id, {"ep-1": {"Events": {"e1": custom_event("signup", datetime.now(UTC))}}})
    assert results["ep-1"]["EventsItemResponse"] == {"e1": ACCEPTED}

    s3 = aws("s3")
    bodies = [
        s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    lines = [json.loads(line) for body in bodies for line in body.splitlines() if line.strip()]
    assert [(r["event_type"], r["application"]["app_id"], r["client"]["client_id"]) for r in lines] == [
        ("signup", app_id, "ep-1")
    ]


def test_put_event_stream_rejects_a_bad_destination(pinpoint: Any, app_id: str, role_arn: str) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.put_event_stream(
            ApplicationId=app_id,
            WriteEventStream={"DestinationStreamArn": "arn:aws:sqs:us-east-1:123456789012:queue", "RoleArn": role_arn},
        )

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "DestinationStreamArn" in message
    with pytest.raises(ClientError) as missing:
        pinpoint.get_event_stream(ApplicationId=app_id)
    assert error_of(missing)[0] == "NotFoundException"


# --- the archive (Firehose stand-in) ---------------------------------------------------------------------


def archive_bucket(aws: Aws) -> str:
    """The Archive bucket, found through moto's CloudFormation (its logical id starts with "Archive")."""
    cloudformation = aws("cloudformation")
    for summary in cloudformation.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]:
        resources = cloudformation.describe_stack_resources(StackName=summary["StackName"])["StackResources"]
        for resource in resources:
            if resource["ResourceType"] == "AWS::S3::Bucket" and resource["LogicalResourceId"].startswith("Archive"):
                return str(resource["PhysicalResourceId"])
    raise AssertionError("no Archive bucket in the local stacks")


def hour_prefix(at: datetime) -> str:
    return f"events/year={at:%Y}/month={at:%m}/day={at:%d}/hour={at:%H}/"


def archived_records(s3: Any, bucket: str, prefixes: set[str], app_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(object key, record) of every archived record of ``app_id`` under ``prefixes``."""
    found = []
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
                for line in body.decode().splitlines():
                    record = json.loads(line)
                    if record["application"]["app_id"] == app_id:
                        found.append((item["Key"], record))
    return found


def test_events_are_archived_as_gzipped_ndjson_by_hour(pinpoint: Any, app_id: str, aws: Aws) -> None:
    bucket, s3 = archive_bucket(aws), aws("s3")
    before = datetime.now(UTC)
    events = {f"e{i}": custom_event("level_up", before, Attributes={"level": str(i)}) for i in range(5)}
    events.update(session_events("s", "session-1", before, 30))
    results = put(pinpoint, app_id, {"ep-1": {"Events": events}})
    assert all(v == ACCEPTED for v in results["ep-1"]["EventsItemResponse"].values())
    prefixes = {hour_prefix(before), hour_prefix(datetime.now(UTC))}  # arrival hour: one of the two

    deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
    found = archived_records(s3, bucket, prefixes, app_id)
    while len(found) < len(events) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = archived_records(s3, bucket, prefixes, app_id)

    assert sorted(record["event_id"] for _, record in found) == sorted(events)  # one line per event, once each
    assert all(key.endswith(".gz") for key, _ in found)
    level_up = [record for _, record in found if record["event_type"] == "level_up"]
    assert sorted(r["attributes"]["level"] for r in level_up) == ["0", "1", "2", "3", "4"]
    assert all(r["client"]["client_id"] == "ep-1" for _, r in found)


# --- Homing extensions: custom event stats and funnels (plain SigV4 HTTP) ---------------------------------


def signed_request(api_url: str, method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> Any:
    """Call the local API with a SigV4 (execute-api) signature; the parsed JSON answer."""
    url = api_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", REGION).add_auth(request)
    prepared = urllib.request.Request(url, data=data, headers=dict(request.headers.items()), method=method)
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read()!r}") from None


def test_custom_event_stats(api_url: str, pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=2)
    batch = {
        f"ep-{i}": {
            "Events": {
                "buy": custom_event(
                    "purchase", at, Attributes={"item": "hat" if i < 3 else "cap"}, Metrics={"price": float(i + 1)}
                )
            }
        }
        for i in range(4)
    }
    put(pinpoint, app_id, batch)

    stats = signed_request(
        api_url,
        "GET",
        f"/v1/apps/{app_id}/events/purchase/stats",
        {"start-time": iso(at - timedelta(days=1)), "end-time": iso(datetime.now(UTC) + timedelta(minutes=5))},
    )

    assert stats["ApplicationId"] == app_id
    assert stats["EventType"] == "purchase"
    assert stats["Count"] == 4
    assert stats["Days"] == [{"Date": at.date().isoformat(), "Count": 4}]
    assert stats["Attributes"] == {"item": {"hat": 3, "cap": 1}}
    assert stats["Metrics"]["price"] == {"Sum": 10.0, "Count": 4.0, "Min": 1.0, "Max": 4.0, "Average": 2.5}


def test_funnel_counts_endpoints_that_did_a_then_b(api_url: str, pinpoint: Any, app_id: str) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    minute = timedelta(minutes=1)
    batch = {
        "ep-both": {  # view, then buy: reaches step 2
            "Events": {
                "v": custom_event("view_item", t0, Attributes={"item": "hat"}),
                "b": custom_event("purchase", t0 + minute),
            }
        },
        "ep-view-only": {"Events": {"v": custom_event("view_item", t0, Attributes={"item": "hat"})}},
        "ep-wrong-order": {  # bought before viewing: step 1 only
            "Events": {
                "b": custom_event("purchase", t0),
                "v": custom_event("view_item", t0 + minute, Attributes={"item": "cap"}),
            }
        },
    }
    put(pinpoint, app_id, batch)
    window = {"StartTime": iso(t0 - timedelta(hours=1)), "EndTime": iso(datetime.now(UTC) + timedelta(minutes=5))}

    funnel = signed_request(
        api_url,
        "POST",
        f"/v1/apps/{app_id}/funnels",
        body={"Steps": [{"EventType": "view_item"}, {"EventType": "purchase"}], **window},
    )
    hats = signed_request(
        api_url,
        "POST",
        f"/v1/apps/{app_id}/funnels",
        body={
            "Steps": [{"EventType": "view_item", "Attributes": {"item": ["hat"]}}, {"EventType": "purchase"}],
            **window,
        },
    )

    assert funnel["CountBy"] == "ENDPOINT"
    assert [(s["EventType"], s["Count"]) for s in funnel["Steps"]] == [("view_item", 3), ("purchase", 1)]
    assert [s["Count"] for s in hats["Steps"]] == [2, 1]


# --- names holding the separators the aggregates use (':' and '#') ------------------------------------------


def test_custom_events_grouped_by_event_type_keeps_colons(pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=1)
    put(pinpoint, app_id, {"ep-1": {"Events": {"e1": custom_event("screen:home", at)}}})

    rows = kpi_rows(pinpoint, app_id, "custom-events-grouped-by-event-type")

    assert [(r["GroupedBys"][0]["Value"], r["Values"][0]["Value"]) for r in rows] == [("screen:home", "1.0")]


def test_daily_active_endpoints_grouped_by_a_value_with_a_colon(pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=1)
    endpoint = {"ChannelType": "APNS", "Address": "token-1", "Demographic": {"Model": "iPhone:15"}}
    put(pinpoint, app_id, {"ep-1": {"Endpoint": endpoint, "Events": {"e1": custom_event("open_app", at)}}})

    rows = kpi_rows(pinpoint, app_id, "daily-active-endpoints-grouped-by-model")

    assert [r["GroupedBys"][1]["Value"] for r in rows] == ["iPhone:15"]


def test_custom_event_stats_attribute_names_with_a_hash(api_url: str, pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=1)
    put(pinpoint, app_id, {"ep-1": {"Events": {"e1": custom_event("signup", at, Attributes={"utm#source": "ad"})}}})

    stats = signed_request(api_url, "GET", f"/v1/apps/{app_id}/events/signup/stats", {"start-time": iso(at)})

    assert stats["Attributes"] == {"utm#source": {"ad": 1}}


def test_funnel_with_a_hash_in_an_event_id(api_url: str, pinpoint: Any, app_id: str) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    events = {"view#1": custom_event("view_item", t0), "buy#1": custom_event("purchase", t0 + timedelta(minutes=1))}
    put(pinpoint, app_id, {"ep-1": {"Events": events}})
    body = {
        "Steps": [{"EventType": "view_item"}, {"EventType": "purchase"}],
        "StartTime": iso(t0 - timedelta(hours=1)),
        "EndTime": iso(datetime.now(UTC) + timedelta(minutes=5)),
    }

    funnel = signed_request(api_url, "POST", f"/v1/apps/{app_id}/funnels", body=body)

    assert [s["Count"] for s in funnel["Steps"]] == [1, 1]


# --- the remaining operation and error cases, through the stock client --------------------------------------


def test_journey_kpis_count_journey_emails(pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=1)
    journey = {"journey_id": "jny-1", "journey_activity_id": "act-1", "journey_run_id": "run-1"}
    events = {
        f"e{i}": custom_event(kind, at, Attributes={**journey, "message_id": "m1"})
        for i, kind in enumerate(["_email.send", "_email.delivered", "_email.open", "_email.open", "_email.click"])
    }
    put(pinpoint, app_id, {"ep-1": {"Events": events}})
    now = datetime.now(UTC)

    def journey_kpi(name: str) -> list[dict[str, Any]]:
        response = pinpoint.get_journey_date_range_kpi(
            ApplicationId=app_id, JourneyId="jny-1", KpiName=name, StartTime=now - timedelta(days=1), EndTime=now
        )["JourneyDateRangeKpiResponse"]
        assert response["JourneyId"] == "jny-1"
        return response["KpiResult"]["Rows"]

    assert journey_kpi("journey-emails-sent")[0]["Values"][0] == {
        "Key": "JourneyEmailsSent",
        "Type": "Double",
        "Value": "1.0",
    }
    assert journey_kpi("journey-emails-opened")[0]["Values"][0]["Value"] == "1.0"  # unique per message
    assert journey_kpi("emails-clicked-grouped-by-journey-activity") == [
        {
            "GroupedBys": [{"Key": "JourneyActivityId", "Type": "String", "Value": "act-1"}],
            "Values": [{"Key": "EmailsClicked", "Type": "Double", "Value": "1.0"}],
        }
    ]
    assert (
        pinpoint.get_journey_date_range_kpi(ApplicationId=app_id, JourneyId="other", KpiName="journey-emails-sent")[
            "JourneyDateRangeKpiResponse"
        ]["KpiResult"]["Rows"]
        == []
    )


@pytest.mark.parametrize(
    ("operation", "ids"),
    [("get_campaign_date_range_kpi", {"CampaignId": "c"}), ("get_journey_date_range_kpi", {"JourneyId": "j"})],
)
def test_unknown_campaign_and_journey_kpi_names_are_bad_requests(
    pinpoint: Any, app_id: str, operation: str, ids: dict[str, str]
) -> None:
    call = getattr(pinpoint, operation)
    with pytest.raises(ClientError) as caught:
        call(ApplicationId=app_id, KpiName="no-such-kpi", **ids)
    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "kpi-name" in message


def test_kpis_of_an_unknown_app_are_not_found(pinpoint: Any) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.get_journey_date_range_kpi(ApplicationId="0" * 32, JourneyId="j", KpiName="journey-emails-sent")
    assert error_of(caught)[:2] == ("NotFoundException", 404)


def test_put_events_over_100_events_is_rejected_whole(pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC)
    events = {f"e{i}": custom_event("tap", at) for i in range(101)}
    with pytest.raises(ClientError) as caught:
        pinpoint.put_events(
            ApplicationId=app_id, EventsRequest={"BatchItem": {"ep-1": {"Endpoint": {}, "Events": events}}}
        )
    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "BatchItem" in message
    assert (
        pinpoint.get_application_date_range_kpi(ApplicationId=app_id, KpiName="event-count")[
            "ApplicationDateRangeKpiResponse"
        ]["KpiResult"]["Rows"]
        == []
    )


# --- Amplify Analytics' request shapes ----------------------------------------------------------------


def amplify_event(event_type: str, at: datetime, session: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An event as Amplify Analytics' ``record`` sends it: empty maps, a Session without Duration."""
    return {"EventType": event_type, "Timestamp": iso(at), "Attributes": {}, "Metrics": {}, "Session": session, **extra}


def test_amplify_empty_flush_is_accepted_and_writes_nothing(pinpoint: Any, app_id: str) -> None:
    endpoint_id = f"amplify-{short_id()}"
    response = pinpoint.put_events(
        ApplicationId=app_id, EventsRequest={"BatchItem": {endpoint_id: {"Endpoint": {}, "Events": {}}}}
    )
    assert response["EventsResponse"]["Results"] == {
        endpoint_id: {"EndpointItemResponse": ACCEPTED, "EventsItemResponse": {}}
    }
    settle(pinpoint.meta.endpoint_url)  # processing is asynchronous, as in AWS
    assert kpi_rows(pinpoint, app_id, "event-count") == []


def test_amplify_sessions_without_duration_are_counted(pinpoint: Any, app_id: str) -> None:
    """``_session.start`` then ``_session.stop`` with Session{Id, StartTimestamp, StopTimestamp} (no
    Duration) and ``Endpoint: {}``: the session length comes from the two timestamps."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    stop = start + timedelta(seconds=90)
    session_id = f"{short_id()}-{short_id()}"
    endpoint_id = str(uuid.uuid4())
    events = {
        str(uuid.uuid4()): amplify_event("_session.start", start, {"Id": session_id, "StartTimestamp": iso(start)}),
        str(uuid.uuid4()): amplify_event(
            "add_to_cart",
            start + timedelta(seconds=10),
            {"Id": session_id, "StartTimestamp": iso(start)},
            Attributes={"item": "hat"},
            Metrics={"price": 12.5},
        ),
        str(uuid.uuid4()): amplify_event(
            "_session.stop", stop, {"Id": session_id, "StartTimestamp": iso(start), "StopTimestamp": iso(stop)}
        ),
    }
    response = pinpoint.put_events(
        ApplicationId=app_id, EventsRequest={"BatchItem": {endpoint_id: {"Endpoint": {}, "Events": events}}}
    )
    result = response["EventsResponse"]["Results"][endpoint_id]
    assert result["EventsItemResponse"] == dict.fromkeys(events, ACCEPTED)
    settle(pinpoint.meta.endpoint_url)  # processing is asynchronous, as in AWS
    assert single_value(kpi_rows(pinpoint, app_id, "session-count")) == 1
    assert single_value(kpi_rows(pinpoint, app_id, "average-session-length")) == 90_000
    assert single_value(kpi_rows(pinpoint, app_id, "event-count")) == 3
    assert single_value(kpi_rows(pinpoint, app_id, "daily-active-endpoints-grouped-by-date")) == 1


def test_amplify_endpoint_without_channel_or_address_with_events(pinpoint: Any, app_id: str) -> None:
    """Amplify's first PutEvents carries its endpoint without ChannelType or Address. Depends on the
    endpoints change that accepts such endpoints (issue 6, item 8); the events count either way."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    endpoint_id = str(uuid.uuid4())
    endpoint = {
        "Demographic": {"AppVersion": "1.0", "Locale": "en_US", "Make": "Apple", "Model": "iPhone", "Platform": "iOS"},
        "Location": {"Country": "US"},
        "Attributes": {},
        "Metrics": {},
        "User": {"UserId": "amplify-user", "UserAttributes": {}},
    }
    event_id = str(uuid.uuid4())
    events = {event_id: amplify_event("_session.start", at, {"Id": short_id(), "StartTimestamp": iso(at)})}
    response = pinpoint.put_events(
        ApplicationId=app_id, EventsRequest={"BatchItem": {endpoint_id: {"Endpoint": endpoint, "Events": events}}}
    )
    result = response["EventsResponse"]["Results"][endpoint_id]
    assert result["EventsItemResponse"] == {event_id: ACCEPTED}
    settle(pinpoint.meta.endpoint_url)  # processing is asynchronous, as in AWS
    assert single_value(kpi_rows(pinpoint, app_id, "session-count")) == 1
    assert result["EndpointItemResponse"] == ACCEPTED
    stored = pinpoint.get_endpoint(ApplicationId=app_id, EndpointId=endpoint_id)["EndpointResponse"]
    assert stored["User"]["UserId"] == "amplify-user"
    assert stored["Demographic"]["Platform"] == "iOS"


def test_put_events_far_future_and_long_endpoint_ids_through_the_stock_client(pinpoint: Any, app_id: str) -> None:
    at = datetime.now(UTC) - timedelta(minutes=1)
    long_id, too_long = "L" * 300, "T" * 1000
    response = pinpoint.put_events(
        ApplicationId=app_id,
        EventsRequest={
            "BatchItem": {
                long_id: {
                    "Endpoint": {},
                    "Events": {
                        "ok": custom_event("tap", at),
                        "far": custom_event("tap", datetime(9999, 1, 1, tzinfo=UTC)),
                    },
                },
                too_long: {"Endpoint": {}, "Events": {"x": custom_event("tap", at)}},
            }
        },
    )
    results = response["EventsResponse"]["Results"]
    assert results[long_id]["EventsItemResponse"]["ok"] == ACCEPTED
    assert results[long_id]["EventsItemResponse"]["far"]["StatusCode"] == 400
    assert results[long_id]["EventsItemResponse"]["far"]["Message"].startswith("Timestamp")
    assert results[too_long]["EventsItemResponse"]["x"]["StatusCode"] == 400
    settle(pinpoint.meta.endpoint_url)  # processing is asynchronous, as in AWS
    assert single_value(kpi_rows(pinpoint, app_id, "event-count")) == 1
