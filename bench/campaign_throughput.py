"""Campaign throughput: CPU per message in send_batch, and messages per second of a campaign in local mode.

(a) CPU per message of ``CampaignSender.send`` (what send_batch runs per batch) over ``--members``
    (default 10,000) members of an EMAIL campaign with a template (subject, HTML and text parts with
    variables and helpers), in batches of 500, in this process on moto (``mock_aws``): process CPU
    seconds / messages. Reported twice: (a1) with the real dispatcher (delivery ledger in DynamoDB,
    SES) and the events stream, so moto's own work in this process is included; (a2) the same
    sender with the dispatcher and the events publisher replaced by ones that only collect (no AWS
    call): the sender's own share (rules, caps check, render, records), as bench/render_send.py
    excludes AWS.
(b) Messages per second of an IMMEDIATE email campaign to ``--endpoints`` endpoints (default
    100,000) through the local stack: the endpoints are written straight into the local stack's
    Endpoints table with batch writes (PynamoDB's own item shape; PutEvents/UpdateEndpoint would
    only measure the API), the channel, segment and campaign are created with the stock boto3
    client, and GetCampaignActivities is polled until the activity is COMPLETED: messages / seconds
    from CreateCampaign to COMPLETED, with the counts. Local-mode figures (runner + moto on this
    machine's cores) are for spotting regressions, not a statement about AWS (docs/capacity.md).

    python bench/campaign_throughput.py [--members 10000] [--endpoints 100000] [--skip-a | --skip-b]
                                        [--url http://127.0.0.1:8740 --moto-url http://127.0.0.1:4566]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core" / "python"), str(ROOT / "functions")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

BATCH = 500
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
CHANNEL = {"Enabled": True, "FromAddress": "news@example.com", "Identity": IDENTITY}
TEMPLATE = {
    "Subject": "{{capitalize User.UserAttributes.FirstName.[0]}}, your {{Attributes.Plan.[0]}} plan renews soon",
    "HtmlPart": (
        "<html><body><h1>Hello {{User.UserAttributes.FirstName.[0]}}</h1>"
        "<p>{{eq Attributes.Plan.[0] \"gold\" yes='Thank you for being Gold.' no='Upgrade today.'}}</p>"
        "{{#if Attributes.Interests}}<ul>{{#each Attributes.Interests}}<li>{{this}}</li>{{/each}}</ul>{{/if}}"
        "<p>Code: {{upper Attributes.Promo.[0]}}</p></body></html>"
    ),
    "TextPart": "Hello {{User.UserAttributes.FirstName.[0]}}, code {{upper Attributes.Promo.[0]}}",
    "DefaultSubstitutions": json.dumps({"Attributes.Promo": "welcome10"}),
}
NOW = datetime.now(UTC).replace(microsecond=0)


def endpoint_body(app: str, n: int) -> dict[str, Any]:
    """A stored endpoint (snake_case), as the Endpoints table holds it and audience pages carry it."""
    return {
        "id": f"bench-{n}",
        "application_id": app,
        "creation_date": "2026-11-01T00:00:00.000Z",
        "cohort_id": str(n % 100),
        "effective_date": "2026-11-01T00:00:00.000Z",
        "endpoint_status": "ACTIVE",
        "opt_out": "NONE",
        "channel_type": "EMAIL",
        "address": f"user{n}@example.org",
        "attributes": {"Plan": ["gold" if n % 3 else "silver"], "Interests": ["jazz", "tea"][: n % 3]},
        "metrics": {},
        "demographic": {"timezone": "Europe/Paris"},
        "location": {},
        "user": {"user_id": f"u{n}", "user_attributes": {"FirstName": [f"name{n % 97}"]}},
    }


# --- (a) CPU per message in send_batch -------------------------------------------------------------


class Collecting:
    """A dispatcher and an events publisher that only collect what they are given (no AWS call)."""

    def __init__(self) -> None:
        self.deliveries = 0
        self.records = 0

    def send_all(self, deliveries: Sequence[Any]) -> list[Any]:
        from homing.domain.messages import DeliveryResult

        self.deliveries += len(deliveries)
        return [DeliveryResult("SUCCESSFUL", 200, "Collected", message_id=d.key) for d in deliveries]

    def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]:
        self.records += len(records)
        return [True] * len(records)


def _campaign(call: Callable[..., Any]) -> tuple[str, dict[str, Any]]:
    app = call("POST", "/v1/apps", {"Name": "bench"})["Id"]
    call("PUT", f"/v1/apps/{app}/channels/email", CHANNEL)
    call("POST", "/v1/templates/bench-campaign/email", TEMPLATE)
    segment = call("POST", f"/v1/apps/{app}/segments", {"Name": "everyone"})["Id"]
    campaign = call(
        "POST",
        f"/v1/apps/{app}/campaigns",
        {
            "Name": "bench",
            "SegmentId": segment,
            "TemplateConfiguration": {"EmailTemplate": {"Name": "bench-campaign"}},
            "Schedule": {"StartTime": "2099-01-01T00:00:00Z", "Frequency": "ONCE"},  # never due: sent by hand here
        },
    )
    return app, campaign


def cpu_per_message(members_n: int) -> None:
    from moto import mock_aws

    from tests.conftest import API_ENV, LambdaContext, api_event

    os.environ.update(API_ENV)
    for name, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    from homing.adapters.dynamodb.tables import ALL_MODELS, bind_tables, table_names
    from homing.local.moto_fixes import atomic_writes, copy_tables_once_per_transaction, index_queries
    from homing.local.outbox import verify_ses_identities_on_use

    copy_tables_once_per_transaction()
    atomic_writes()
    index_queries()
    with mock_aws():
        import boto3

        bind_tables(table_names(API_ENV), "us-east-1")
        for model in ALL_MODELS:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        boto3.client("kinesis").create_stream(StreamName=API_ENV["EVENT_STREAM_NAME"], ShardCount=4)
        verify_ses_identities_on_use()
        from api.handler import lambda_handler

        def call(method: str, path: str, body: Any = None) -> Any:
            out = lambda_handler(api_event(method, path, body), LambdaContext())
            assert out["statusCode"] < 300, out
            return json.loads(out["body"]) if out.get("body") else None

        app, campaign = _campaign(call)
        from homing.bootstrap import build_campaign_sender
        from homing.domain.audiences import member
        from homing.domain.campaign_runs import BatchTally, CampaignRun, run_id
        from homing.settings import CampaignSendSettings

        members = [member(endpoint_body(app, n)) for n in range(members_n)]

        def measure(label: str, sender: Any, run_at: str) -> None:
            run = CampaignRun(app, campaign["Id"], campaign["Version"], run_at, run_id(campaign["Id"], run_at))
            run = CampaignRun(**{**run.to_json(), "activities": {"0": "bench-activity"}})
            tally = BatchTally()
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(0, len(members), BATCH):
                tally = tally.merge(sender.send(run, members[i : i + BATCH], now=NOW))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            done = tally.of("0").successful
            assert done == len(members), tally.to_json()
            print(
                f"{label}: {cpu / done * 1e6:8.0f} µs CPU per message, {done / wall:7.0f} msgs/s wall "
                f"({done} messages, {len(members) // BATCH} batches of {BATCH})",
                flush=True,
            )

        settings = CampaignSendSettings.from_env()
        real = build_campaign_sender(settings)
        measure(
            "(a1) CampaignSender.send on moto (ledger, SES, stream; moto's CPU included)",
            real,
            "2099-01-01T00:00:00.000Z",
        )
        own = build_campaign_sender(settings)
        collecting = Collecting()
        own._dispatcher, own._publisher = collecting, lambda: collecting
        measure("(a2) the sender's own share (dispatcher and stream only collect)", own, "2099-01-02T00:00:00.000Z")
        assert collecting.deliveries == len(members)


# --- (b) messages per second through the local stack ----------------------------------------------


def client(service: str, url: str) -> Any:
    import boto3

    factory: Any = boto3.client
    return factory(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="homing", aws_secret_access_key="homing"
    )


def write_endpoints(moto: str, app: str, n: int) -> float:
    """Put ``n`` endpoints straight into the local stack's Endpoints table (batch writes); seconds taken."""
    from homing.adapters.dynamodb.endpoints import EndpointItem, EndpointRepository
    from homing.adapters.dynamodb.tables import ENDPOINTS, bind_tables
    from homing.codec import build, snake
    from homing.domain.endpoints import Endpoint

    [name] = [t for t in client("dynamodb", moto).list_tables()["TableNames"] if "Endpoints" in t]
    os.environ["AWS_ENDPOINT_URL"] = moto
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "homing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "homing")
    bind_tables({ENDPOINTS: name}, "us-east-1")
    started = time.perf_counter()
    with EndpointItem.batch_write() as batch:
        for i in range(n):
            batch.save(EndpointRepository._to_item(build(Endpoint, endpoint_body(app, i), key_of=snake)))
    return time.perf_counter() - started


def campaign_rate(api: str, moto: str, n: int) -> None:
    pinpoint = client("pinpoint", api)
    app = pinpoint.create_app(CreateApplicationRequest={"Name": "bench-campaign"})["ApplicationResponse"]["Id"]
    pinpoint.update_email_channel(ApplicationId=app, EmailChannelRequest=CHANNEL)
    pinpoint.create_email_template(TemplateName=f"bench-{app[:8]}", EmailTemplateRequest=TEMPLATE)
    took = write_endpoints(moto, app, n)
    print(f"  {n} endpoints written to the local Endpoints table in {took:.1f} s", flush=True)
    segment = pinpoint.create_segment(ApplicationId=app, WriteSegmentRequest={"Name": "everyone"})
    started = time.perf_counter()
    campaign = pinpoint.create_campaign(
        ApplicationId=app,
        WriteCampaignRequest={
            "Name": "bench",
            "SegmentId": segment["SegmentResponse"]["Id"],
            "TemplateConfiguration": {"EmailTemplate": {"Name": f"bench-{app[:8]}"}},
            "Schedule": {"StartTime": "IMMEDIATE"},
        },
    )["CampaignResponse"]
    activity: dict[str, Any] = {}
    last = ""
    while activity.get("State") != "COMPLETED":
        time.sleep(2)
        found = pinpoint.get_campaign_activities(ApplicationId=app, CampaignId=campaign["Id"])["ActivitiesResponse"]
        activity = (found["Item"] or [{}])[0]
        line = f"{activity.get('State', 'not started')}"
        if line != last:
            print(f"  {time.perf_counter() - started:6.1f} s  {line}", flush=True)
            last = line
        if time.perf_counter() - started > 3600:
            raise SystemExit(f"the campaign did not complete within an hour: {activity}")
    wall = time.perf_counter() - started
    sent = int(activity.get("SuccessfulEndpointCount", 0))
    print(
        f"(b) IMMEDIATE email campaign through the local stack: {n} endpoints, {activity.get('Result')} in "
        f"{wall:.1f} s: {sent / wall:.0f} msgs/s (TotalEndpointCount {activity.get('TotalEndpointCount')}, "
        f"SuccessfulEndpointCount {sent}, ExecutionMetrics {activity.get('ExecutionMetrics')})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000, help="(a) members sent in-process")
    parser.add_argument("--endpoints", type=int, default=100_000, help="(b) endpoints of the local campaign")
    parser.add_argument("--skip-a", action="store_true")
    parser.add_argument("--skip-b", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--moto-url")
    parser.add_argument("--no-synth", action="store_true")
    args = parser.parse_args()
    if not args.skip_a:
        cpu_per_message(args.members)
    if args.skip_b:
        return
    if args.url:
        if not args.moto_url:
            raise SystemExit("--url needs --moto-url (where the local stack's DynamoDB is)")
        campaign_rate(args.url, args.moto_url, args.endpoints)
        return
    from bench.api_latency import free_port, local_stack

    moto_port = free_port()
    with local_stack(args.no_synth, extra_args=["--moto-port", str(moto_port)]) as api:
        campaign_rate(api, f"http://127.0.0.1:{moto_port}", args.endpoints)


if __name__ == "__main__":
    main()
