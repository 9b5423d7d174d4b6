"""The campaign sender on moto: one batch of a run through every audience rule with the real tables,
caps, delivery ledger and SES (moto), the send_batch handler reading a page and writing its tally.

Campaigns, apps, channels and templates are written through the real api handler; members are
audience-page members (``domain.audiences.member``) built here, as resolve_audience writes them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from homing.adapters.campaign_hook import HookOutcome, HookRequest
from homing.domain.audiences import member
from homing.domain.campaign_runs import HOLDOUT, BatchTally, CampaignRun, run_id, tally_key
from homing.local.outbox import verify_ses_identities_on_use
from tests.conftest import drain_stream
from tests.integration.test_apps_api import create

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
EMAIL_CHANNEL = {"FromAddress": "team@example.com", "Identity": IDENTITY}
EMAIL = {"EmailMessage": {"Title": "Hi {{User.UserAttributes.FirstName}}", "HtmlBody": "<p>Hello</p>"}}
IMMEDIATE = {"StartTime": "IMMEDIATE", "Frequency": "ONCE"}
BUCKET = "homing-audiences-test"


@pytest.fixture
def ses(aws: None) -> Iterator[None]:
    undo = verify_ses_identities_on_use()
    yield
    undo()


@pytest.fixture
def app(call: Any, ses: None) -> str:
    app_id: str = create(call)["Id"]
    assert call("PUT", f"/v1/apps/{app_id}/channels/email", EMAIL_CHANNEL).status == 200
    return app_id


def new_campaign(call: Any, app: str, **body: Any) -> dict[str, Any]:
    segment = call("POST", f"/v1/apps/{app}/segments", {"Name": "s"}).body["Id"]
    request = {"Name": "c", "SegmentId": segment, "MessageConfiguration": EMAIL, "Schedule": IMMEDIATE, **body}
    r = call("POST", f"/v1/apps/{app}/campaigns", request)
    assert r.status == 201, r.body
    body_out: dict[str, Any] = r.body
    return body_out


def endpoint_body(app: str, n: int, **extra: Any) -> dict[str, Any]:
    """A stored endpoint (snake_case), as the Endpoints table holds it."""
    return {
        "id": f"ep-{n}",
        "application_id": app,
        "creation_date": "2026-11-01T00:00:00.000Z",
        "cohort_id": str(n % 100),
        "effective_date": "2026-11-01T00:00:00.000Z",
        "endpoint_status": "ACTIVE",
        "opt_out": "NONE",
        "channel_type": "EMAIL",
        "address": f"user{n}@example.org",
        "attributes": {},
        "metrics": {},
        "demographic": {},
        "location": {},
        "user": {"user_id": f"u{n}", "user_attributes": {"FirstName": [f"Name{n}"]}},
        **extra,
    }


def members(app: str, count: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [member(endpoint_body(app, n, **extra)) for n in range(start, start + count)]


def run_of(campaign: dict[str, Any], *, at: datetime = NOW, **extra: Any) -> CampaignRun:
    run_at = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    treatments = ["0", *(t["Id"] for t in campaign.get("AdditionalTreatments") or [])]
    return CampaignRun(
        application_id=campaign["ApplicationId"],
        campaign_id=campaign["Id"],
        campaign_version=campaign["Version"],
        run_at=run_at,
        run_id=run_id(campaign["Id"], run_at),
        activities={t: f"activity-{t}" for t in treatments},
        **extra,
    )


class FakeHook:
    """A FILTER hook: drops ids in ``drop``, fails for ids in ``fail``, sets an attribute on the rest."""

    def __init__(self, drop: set[str] = frozenset(), fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.drop, self.fail = drop, fail
        self.requests: list[HookRequest] = []

    def filter(self, request: HookRequest, endpoints: Mapping[str, Mapping[str, Any]]) -> HookOutcome:
        self.requests.append(request)
        out = HookOutcome()
        for endpoint_id, endpoint in endpoints.items():
            if endpoint_id in self.fail:
                out.failed.append(endpoint_id)
            elif endpoint_id in self.drop:
                out.dropped.append(endpoint_id)
            else:
                user = dict(endpoint.get("User") or {})
                user["UserAttributes"] = {**(user.get("UserAttributes") or {}), "FirstName": ["Hooked"]}
                out.kept[endpoint_id] = {**endpoint, "User": user}
        return out


def sender(hook: Any = None) -> Any:
    """The composition send_batch builds, with an injected hook where a test needs one."""
    from homing.bootstrap import build_campaign_sender
    from homing.settings import CampaignSendSettings

    built = build_campaign_sender(CampaignSendSettings.from_env())
    if hook is not None:
        built._hook = hook
    return built


def sent_emails() -> int:
    return int(boto3.client("ses").get_send_quota()["SentLast24Hours"])


def send_events() -> list[dict[str, Any]]:
    import base64

    out = []
    for record in drain_stream():
        data = json.loads(base64.b64decode(record["kinesis"]["data"]))
        out.append(data)
    return out


def statuses(tally: BatchTally) -> dict[str, dict[str, int]]:
    return {k: dict(v.statuses) for k, v in tally.treatments.items()}


# --- the plain path and retries --------------------------------------------------------------------


def test_a_batch_sends_each_member_once_and_reports_success(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    run = run_of(campaign)
    tally = sender().send(run, members(app, 5), now=NOW)
    assert statuses(tally) == {"0": {"SUCCESS": 5}}
    assert (tally.of("0").produced, tally.of("0").successful) == (5, 5)
    assert sent_emails() == 5
    events = send_events()
    kinds = Counter(e["event_type"] for e in events)
    assert kinds == {"_campaign.send": 5, "_email.send": 5}
    one = next(e for e in events if e["event_type"] == "_campaign.send" and e["client"]["client_id"] == "ep-1")
    assert one["attributes"] == {
        "campaign_id": campaign["Id"],
        "campaign_activity_id": "activity-0",
        "treatment_id": "0",
        "delivery_type": "EMAIL",
        "campaign_send_status": "SUCCESS",
    }
    endpoint = json.loads(one["client_context"]["custom"]["endpoint"])
    assert endpoint["ChannelType"] == "EMAIL"
    assert endpoint["User"]["UserAttributes"] == {"FirstName": ["Name1"]}
    assert "Address" not in endpoint
    mail = next(e for e in events if e["event_type"] == "_email.send" and e["client"]["client_id"] == "ep-1")
    assert mail["attributes"]["campaign_id"] == campaign["Id"]
    assert mail["attributes"]["treatment_id"] == "0"
    assert mail["attributes"]["campaign_activity_id"] == "activity-0"
    common = mail["facets"]["email_channel"]["mail_event"]["mail"]["common_headers"]
    assert common["subject"] == "Hi Name1"
    assert common["from"] == "team@example.com"  # the campaign names no FromAddress: the channel's


def test_the_same_batch_sent_twice_sends_once_and_reports_the_same_tally(call: Any, app: str) -> None:
    campaign = new_campaign(call, app, Limits={"Daily": 5, "Total": 5})
    run = run_of(campaign)
    batch = members(app, 20)
    first = sender().send(run, batch, now=NOW)
    again = sender().send(run, batch, now=NOW + timedelta(minutes=1))  # a retry, on a fresh instance
    assert first.to_json() == again.to_json()
    assert statuses(first) == {"0": {"SUCCESS": 20}}
    assert sent_emails() == 20


def test_the_from_address_is_the_campaigns_when_it_names_one(call: Any, app: str) -> None:
    message = {"EmailMessage": {**EMAIL["EmailMessage"], "FromAddress": "news@example.com"}}
    campaign = new_campaign(call, app, MessageConfiguration=message)
    sender().send(run_of(campaign), members(app, 1), now=NOW)
    (mail,) = [e for e in send_events() if e["event_type"] == "_email.send"]
    assert mail["facets"]["email_channel"]["mail_event"]["mail"]["from_address"] == "news@example.com"


def test_send_batch_reads_its_slice_of_the_page_and_writes_its_tally(
    call: Any, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import send_batch.handler as handler

    from homing.bootstrap import campaign_sender
    from tests.conftest import LambdaContext

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AUDIENCE_BUCKET", BUCKET)
    monkeypatch.setattr(handler, "_store", [])
    campaign_sender.cache_clear()
    page = "audiences/app/seg/r1/pages/000-00000-00000.json"
    s3.put_object(Bucket=BUCKET, Key=page, Body=json.dumps({"members": members(app, 10)}))
    campaign = new_campaign(call, app)
    run = run_of(campaign)
    event = {"run": run.to_json(), "item": {"batch": 3, "page": page, "offset": 4, "count": 5}}
    out = handler.lambda_handler(event, LambdaContext(function_name="send_batch"))
    assert out == {"batch": 3, "successful": 5}
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=tally_key(run, 3))["Body"].read())
    assert BatchTally.from_json(stored).of("0").successful == 5
    sent_to = {e["client"]["client_id"] for e in send_events() if e["event_type"] == "_campaign.send"}
    assert sent_to == {f"ep-{n}" for n in range(4, 9)}
    again = handler.lambda_handler(event, LambdaContext(function_name="send_batch"))  # a retried Map item
    assert again == out
    assert sent_emails() == 5
    with pytest.raises(ValueError, match="unknown action"):
        handler.lambda_handler({**event, "action": "nonsense"}, LambdaContext(function_name="send_batch"))
    campaign_sender.cache_clear()


def test_holdout_is_not_counted_as_a_treatment(call: Any, app: str) -> None:
    campaign = new_campaign(call, app, HoldoutPercent=100)
    tally = sender().send(run_of(campaign), members(app, 3), now=NOW)
    assert statuses(tally) == {HOLDOUT: {"HOLDOUT": 3}}
    assert sent_emails() == 0
