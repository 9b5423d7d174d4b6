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


# --- the audience rules, one by one ----------------------------------------------------------------


def by_treatment(events: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in events:
        if e["event_type"] == "_campaign.send":
            key = "HOLDOUT" if e["attributes"]["campaign_send_status"] == "HOLDOUT" else e["attributes"]["treatment_id"]
            out.setdefault(key, set()).add(e["client"]["client_id"])
    return out


def test_holdout_and_treatments_take_their_shares_and_keep_them_across_runs(call: Any, app: str) -> None:
    second = {"EmailMessage": {"Title": "Second", "HtmlBody": "<p>B</p>"}}
    campaign = new_campaign(
        call,
        app,
        HoldoutPercent=20,
        AdditionalTreatments=[{"SizePercent": 30, "MessageConfiguration": second, "TreatmentName": "B"}],
    )
    batch = members(app, 200)
    first = sender().send(run_of(campaign), batch, now=NOW)
    # 200 endpoints: holdout ~40, treatment 1 ~60, the default ~100 (binomial, ±4 standard deviations)
    assert 40 - 23 <= first.of(HOLDOUT).produced <= 40 + 23
    assert 60 - 26 <= first.of("1").produced <= 60 + 26
    assert 100 - 29 <= first.of("0").produced <= 100 + 29
    assert first.of(HOLDOUT).produced + first.of("1").produced + first.of("0").produced == 200
    assert first.of(HOLDOUT).statuses == {"HOLDOUT": first.of(HOLDOUT).produced}
    assert first.of(HOLDOUT).skipped == {"TREATMENT_HOLDOUT": first.of(HOLDOUT).produced}
    assert first.of("1").successful == first.of("1").produced
    assert sent_emails() == 200 - first.of(HOLDOUT).produced
    events = send_events()
    groups = by_treatment(events)
    subjects = {
        e["client"]["client_id"]: e["facets"]["email_channel"]["mail_event"]["mail"]["common_headers"]["subject"]
        for e in events
        if e["event_type"] == "_email.send"
    }
    assert {subjects[i] for i in groups["1"]} == {"Second"}
    treatment_events = [
        e for e in events if e["event_type"] == "_campaign.send" and e["client"]["client_id"] in groups["1"]
    ]
    assert {e["attributes"]["campaign_activity_id"] for e in treatment_events} == {"activity-1"}
    holdout_events = [e for e in events if e["client"]["client_id"] in groups["HOLDOUT"]]
    assert {e["attributes"]["campaign_activity_id"] for e in holdout_events} == {"activity-0"}
    # the next run of the campaign puts every endpoint where the first did
    later = sender().send(run_of(campaign, at=NOW + timedelta(days=1)), batch, now=NOW + timedelta(days=1))
    assert {k: v.produced for k, v in later.treatments.items()} == {k: v.produced for k, v in first.treatments.items()}
    assert by_treatment(send_events()) == groups


def test_opted_out_and_inactive_endpoints_are_skipped_and_counted_without_an_event(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    batch = [
        *members(app, 3),
        *members(app, 2, start=10, opt_out="ALL"),
        *members(app, 1, start=20, endpoint_status="INACTIVE"),
        *members(app, 1, start=30, opt_out="ALL", endpoint_status="INACTIVE"),
    ]
    tally = sender().send(run_of(campaign), batch, now=NOW)
    assert tally.of("0").produced == 7
    assert tally.of("0").skipped == {"ENDPOINT_OPT_OUT": 3, "ENDPOINT_INACTIVE": 1}
    assert tally.of("0").statuses == {"SUCCESS": 3}
    assert {e["client"]["client_id"] for e in send_events()} == {"ep-0", "ep-1", "ep-2"}
    assert sent_emails() == 3


def test_the_daily_cap_counts_every_campaign_of_the_app(call: Any, app: str) -> None:
    first = new_campaign(call, app, Limits={"Daily": 1})
    second = new_campaign(call, app, Limits={"Daily": 1})
    batch = members(app, 4)
    assert statuses(sender().send(run_of(first), batch, now=NOW)) == {"0": {"SUCCESS": 4}}
    assert statuses(sender().send(run_of(second), batch, now=NOW)) == {"0": {"DAILY_CAP": 4}}
    tomorrow = NOW + timedelta(days=1)
    assert statuses(sender().send(run_of(second, at=tomorrow), batch, now=tomorrow)) == {"0": {"SUCCESS": 4}}
    assert sent_emails() == 8
    capped = [e for e in send_events() if e["attributes"].get("campaign_send_status") == "DAILY_CAP"]
    assert {e["attributes"]["campaign_id"] for e in capped} == {second["Id"]}
    assert len(capped) == 4


def test_the_total_cap_counts_the_campaigns_runs_and_the_apps_default_applies(call: Any, app: str) -> None:
    r = call("PUT", f"/v1/apps/{app}/settings", {"Limits": {"Total": 1}})
    assert r.status == 200, r.body
    campaign = new_campaign(call, app)  # no limits of its own: the app's default Total
    batch = members(app, 3)
    assert statuses(sender().send(run_of(campaign), batch, now=NOW)) == {"0": {"SUCCESS": 3}}
    later = NOW + timedelta(days=2)
    assert statuses(sender().send(run_of(campaign, at=later), batch, now=later)) == {"0": {"CAMPAIGN_CAP": 3}}
    assert sent_emails() == 3


def test_quiet_time_skips_endpoints_in_it_in_their_own_time_zone(call: Any, app: str) -> None:
    quiet = {**IMMEDIATE, "QuietTime": {"Start": "22:00", "End": "06:00"}}
    campaign = new_campaign(call, app, Schedule=quiet)
    # 12:00 UTC: 23:00 in Sydney (quiet), 21:00 in Tokyo, 07:00 in New York; no zone: never quiet
    batch = [
        member(endpoint_body(app, 1, demographic={"timezone": "Australia/Sydney"})),
        member(endpoint_body(app, 2, demographic={"timezone": "Asia/Tokyo"})),
        member(endpoint_body(app, 3, demographic={"timezone": "america/new_york"})),
        member(endpoint_body(app, 4, demographic={"timezone": "Not/AZone"})),
        member(endpoint_body(app, 5)),
    ]
    tally = sender().send(run_of(campaign), batch, now=NOW)
    assert statuses(tally) == {"0": {"QUIET_TIME": 1, "SUCCESS": 4}}
    quiet_ones = [e for e in send_events() if e["attributes"].get("campaign_send_status") == "QUIET_TIME"]
    assert [e["client"]["client_id"] for e in quiet_ones] == ["ep-1"]
    assert sent_emails() == 4


def test_the_apps_quiet_time_applies_when_the_campaign_sets_none(call: Any, app: str) -> None:
    r = call("PUT", f"/v1/apps/{app}/settings", {"QuietTime": {"Start": "20:00", "End": "23:30"}})
    assert r.status == 200, r.body
    campaign = new_campaign(call, app)
    batch = [member(endpoint_body(app, 1, demographic={"timezone": "Asia/Tokyo"})), *members(app, 1, start=2)]
    assert statuses(sender().send(run_of(campaign), batch, now=NOW)) == {"0": {"QUIET_TIME": 1, "SUCCESS": 1}}


def test_past_the_runs_deadline_nothing_is_sent(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    run = run_of(campaign, deadline=(NOW - timedelta(seconds=1)).isoformat().replace("+00:00", "Z"))
    tally = sender().send(run, members(app, 3), now=NOW)
    assert statuses(tally) == {"0": {"EXPIRED": 3}}
    assert sent_emails() == 0
    in_time = run_of(campaign, deadline=(NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"))
    assert statuses(sender().send(in_time, members(app, 3), now=NOW)) == {"0": {"SUCCESS": 3}}


def test_the_hook_drops_adjusts_and_its_failure_is_hook_failure(call: Any, app: str) -> None:
    hook = FakeHook(drop={"ep-1"}, fail={"ep-2"})
    campaign = new_campaign(call, app, Hook={"LambdaFunctionName": "homing-hook-filter", "Mode": "FILTER"})
    tally = sender(hook).send(run_of(campaign), members(app, 4), now=NOW)
    assert statuses(tally) == {"0": {"SUCCESS": 2, "HOOK_FAILURE": 1}}
    assert tally.of("0").skipped == {"ENDPOINT_FILTERED_BY_HOOK": 1}
    (request,) = hook.requests
    assert (request.function_name, request.treatment_id, request.activity_id) == (
        "homing-hook-filter",
        "0",
        "activity-0",
    )
    assert request.message_configuration["EmailMessage"]["Title"] == EMAIL["EmailMessage"]["Title"]
    events = send_events()
    assert "ep-1" not in {e["client"]["client_id"] for e in events}
    subjects = {
        e["facets"]["email_channel"]["mail_event"]["mail"]["common_headers"]["subject"]
        for e in events
        if e["event_type"] == "_email.send"
    }
    assert subjects == {"Hi Hooked"}
    assert sent_emails() == 2


def test_the_apps_default_hook_applies_and_a_delivery_mode_hook_is_not_invoked(call: Any, app: str) -> None:
    hook = FakeHook(fail={"ep-0"})
    settings = {"CampaignHook": {"LambdaFunctionName": "homing-hook-app", "Mode": "FILTER"}}
    assert call("PUT", f"/v1/apps/{app}/settings", settings).status == 200
    campaign = new_campaign(call, app)
    assert statuses(sender(hook).send(run_of(campaign), members(app, 2), now=NOW)) == {
        "0": {"HOOK_FAILURE": 1, "SUCCESS": 1}
    }
    delivery = new_campaign(call, app, Hook={"LambdaFunctionName": "homing-hook-x", "Mode": "DELIVERY"})
    hook.requests.clear()
    assert statuses(sender(hook).send(run_of(delivery), members(app, 2), now=NOW)) == {"0": {"SUCCESS": 2}}
    assert hook.requests == []


def test_a_template_renders_with_the_endpoints_attributes_and_its_defaults(call: Any, app: str) -> None:
    template = {
        "Subject": "Hello {{Attributes.City}} {{Greeting}}",
        "HtmlPart": "<p>{{User.UserAttributes.FirstName}}</p>",
        "DefaultSubstitutions": json.dumps({"Greeting": "friend"}),
    }
    r = call("POST", "/v1/templates/welcome/email", template)
    assert r.status in (200, 201), r.body
    campaign = new_campaign(
        call, app, MessageConfiguration=None, TemplateConfiguration={"EmailTemplate": {"Name": "welcome"}}
    )
    batch = [member(endpoint_body(app, 7, attributes={"City": ["Lyon"]}))]
    assert statuses(sender().send(run_of(campaign), batch, now=NOW)) == {"0": {"SUCCESS": 1}}
    (mail,) = [e for e in send_events() if e["event_type"] == "_email.send"]
    assert mail["facets"]["email_channel"]["mail_event"]["mail"]["common_headers"]["subject"] == "Hello Lyon friend"


def test_a_channel_without_a_message_or_not_enabled_is_unsupported(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    batch = [
        *members(app, 1),
        member(endpoint_body(app, 2, channel_type="SMS", address="+15555550100")),  # no SMS message, no channel
        member(endpoint_body(app, 3, channel_type="CUSTOM", address="x")),
    ]
    assert statuses(sender().send(run_of(campaign), batch, now=NOW)) == {"0": {"SUCCESS": 1, "UNSUPPORTED_CHANNEL": 2}}


def test_hostile_member_data_fails_only_that_member(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    bad_attributes = endpoint_body(app, 11)
    bad_attributes["attributes"] = "not a map"
    batch: list[Any] = [
        *members(app, 2),
        "not a member",
        {"id": "no-endpoint"},
        member({**endpoint_body(app, 12), "id": 12}),
        member(bad_attributes),
        member(endpoint_body(app, 13, address=None)),
        member(endpoint_body(app, 14, address="\u0000\ud800 nonsense")),
        member(endpoint_body(app, 15, user={"user_attributes": {"FirstName": "{{#each}}"}})),
        *members(app, 2, start=20),
    ]
    tally = sender().send(run_of(campaign), batch, now=NOW)
    assert tally.of("0").produced == len(batch)
    assert tally.of("0").successful >= 4
    assert sum(tally.of("0").statuses.values()) == len(batch)
    assert sent_emails() == tally.of("0").successful
    sent = {e["client"]["client_id"] for e in send_events() if e["attributes"].get("campaign_send_status") == "SUCCESS"}
    assert {"ep-0", "ep-1", "ep-20", "ep-21"} <= sent


def test_campaign_sends_reach_the_campaigns_kpis(call: Any, app: str, process: Any) -> None:
    campaign = new_campaign(call, app)
    sender().send(run_of(campaign), [*members(app, 3), *members(app, 1, start=9, opt_out="ALL")], now=NOW)
    out = process(drain_stream())
    assert out.get("batchItemFailures", []) == []
    q = {"start-time": [(NOW - timedelta(days=1)).isoformat()], "end-time": [(NOW + timedelta(hours=1)).isoformat()]}
    path = f"/v1/apps/{app}/campaigns/{campaign['Id']}/kpis/daterange/unique-deliveries"
    r = call("GET", path, query=q)
    assert r.status == 200, r.body
    assert sum(float(row["Values"][0]["Value"]) for row in r.body["KpiResult"]["Rows"]) == 3


def test_a_retry_past_the_deadline_or_into_quiet_time_keeps_what_the_first_attempt_sent(call: Any, app: str) -> None:
    quiet = {**IMMEDIATE, "QuietTime": {"Start": "22:00", "End": "06:00"}}
    campaign = new_campaign(call, app, Schedule=quiet)
    run = run_of(campaign, deadline=(NOW + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"))
    tokyo = [member(endpoint_body(app, n, demographic={"timezone": "Asia/Tokyo"})) for n in range(3)]
    first = sender().send(run, tokyo[:2], now=NOW)  # 21:00 in Tokyo
    assert statuses(first) == {"0": {"SUCCESS": 2}}
    # retried at 13:05 UTC (22:05 in Tokyo, past the deadline), with a member the first attempt never reached
    retry = sender().send(run, tokyo, now=NOW + timedelta(minutes=65))
    assert statuses(retry) == {"0": {"SUCCESS": 2, "EXPIRED": 1}}
    assert sent_emails() == 2


def test_an_sms_campaign_sends_through_the_sms_carrier_with_its_campaign_attributes(
    call: Any, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_CARRIER", "sns")  # moto carries SMS through SNS
    assert call("PUT", f"/v1/apps/{app}/channels/sms", {"SenderId": "Shop"}).status == 200
    message = {"SMSMessage": {"Body": "Hi {{User.UserAttributes.FirstName}}", "MessageType": "PROMOTIONAL"}}
    campaign = new_campaign(call, app, MessageConfiguration=message)
    batch = [
        member(endpoint_body(app, 1, channel_type="SMS", address="+1 (206) 555-0100")),
        member(endpoint_body(app, 2, channel_type="SMS", address="not a number")),
        *members(app, 1, start=3),  # EMAIL: this campaign has no email message
    ]
    tally = sender().send(run_of(campaign), batch, now=NOW)
    assert statuses(tally) == {"0": {"SUCCESS": 1, "FAILURE_PERMANENT": 1, "UNSUPPORTED_CHANNEL": 1}}
    (sms,) = [e for e in send_events() if e["event_type"] == "_SMS.BUFFERED"]
    assert sms["client"]["client_id"] == "ep-1"
    assert sms["attributes"]["destination_phone_number"] == "+12065550100"
    assert sms["attributes"]["message_type"] == "Promotional"
    assert (sms["attributes"]["campaign_id"], sms["attributes"]["treatment_id"]) == (campaign["Id"], "0")
    assert sms["attributes"]["campaign_activity_id"] == "activity-0"


def test_endpoints_sharing_an_address_get_one_message(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    batch = [
        member(endpoint_body(app, 1, address="Shared@Example.org")),
        member(endpoint_body(app, 2, address="shared@example.org")),
        *members(app, 1, start=3),
    ]
    tally = sender().send(run_of(campaign), batch, now=NOW)
    assert statuses(tally) == {"0": {"SUCCESS": 2, "DUPLICATE_ADDRESS": 1}}
    dup = [e for e in send_events() if e["attributes"].get("campaign_send_status") == "DUPLICATE_ADDRESS"]
    assert [e["client"]["client_id"] for e in dup] == ["ep-2"]
    assert sent_emails() == 2


def test_a_treatment_without_quiet_time_uses_the_campaigns(call: Any, app: str) -> None:
    quiet = {**IMMEDIATE, "QuietTime": {"Start": "22:00", "End": "06:00"}}
    own_schedule = {"StartTime": "IMMEDIATE", "Frequency": "ONCE"}
    treatment = {"SizePercent": 100, "MessageConfiguration": EMAIL, "Schedule": own_schedule}
    campaign = new_campaign(call, app, Schedule=quiet, AdditionalTreatments=[treatment])
    batch = [member(endpoint_body(app, 1, demographic={"timezone": "Australia/Sydney"}))]
    assert statuses(sender().send(run_of(campaign), batch, now=NOW)) == {"1": {"QUIET_TIME": 1}}


class Failing:
    def send_all(self, deliveries: Any) -> Any:
        raise RuntimeError("the ledger is unreachable")

    def publish(self, records: Any) -> Any:
        raise RuntimeError("the stream is unreachable")


def test_a_failed_dispatch_is_unknown_and_a_failed_publish_does_not_fail_the_batch(call: Any, app: str) -> None:
    campaign = new_campaign(call, app)
    failing = sender()
    failing._dispatcher = Failing()
    assert statuses(failing.send(run_of(campaign), members(app, 2), now=NOW)) == {"0": {"UNKNOWN": 2}}
    unpublished = sender()
    unpublished._publisher = lambda: Failing()
    other = new_campaign(call, app)
    assert statuses(unpublished.send(run_of(other), members(app, 2), now=NOW)) == {"0": {"SUCCESS": 2}}
    assert sent_emails() == 2


class BrokenHook:
    def filter(self, request: HookRequest, endpoints: Mapping[str, Mapping[str, Any]]) -> HookOutcome:
        raise RuntimeError("no credentials")


def test_a_hook_that_cannot_be_called_fails_closed(call: Any, app: str) -> None:
    campaign = new_campaign(call, app, Hook={"LambdaFunctionName": "homing-hook-filter"})
    tally = sender(BrokenHook()).send(run_of(campaign), members(app, 3), now=NOW)
    assert statuses(tally) == {"0": {"HOOK_FAILURE": 3}}
    assert sent_emails() == 0


def test_a_push_campaign_sends_the_platform_message_over_the_default(call: Any, app: str) -> None:
    from tests.channel_credentials import service_json

    gcm = {"ServiceJson": service_json(), "DefaultAuthenticationMethod": "TOKEN"}
    assert call("PUT", f"/v1/apps/{app}/channels/gcm", gcm).status == 200
    message = {
        "DefaultMessage": {"Title": "Default", "Body": "Hello {{Attributes.City}}"},
        "GCMMessage": {"Title": "For Android", "Action": "OPEN_APP"},
    }
    campaign = new_campaign(call, app, MessageConfiguration=message)
    batch = [member(endpoint_body(app, 1, channel_type="GCM", address="device-token-1", attributes={"City": ["Oslo"]}))]
    tally = sender().send(run_of(campaign), batch, now=NOW)
    assert statuses(tally) == {"0": {"SUCCESS": 1}}
    (event,) = send_events()  # push sends have no channel send event (pinpoint-formats.md §1.9)
    assert event["attributes"]["delivery_type"] == "GCM"
    sns = boto3.client("sns")
    (application,) = sns.list_platform_applications()["PlatformApplications"]
    endpoints = sns.list_endpoints_by_platform_application(PlatformApplicationArn=application["PlatformApplicationArn"])
    assert [e["Attributes"]["Token"] for e in endpoints["Endpoints"]] == ["device-token-1"]
    from homing.local.outbox import Outbox

    (pushed,) = Outbox().rows(channel="GCM")
    assert (pushed["To"], pushed["Subject"], pushed["Body"]) == ("device-token-1", "For Android", "Hello Oslo")
