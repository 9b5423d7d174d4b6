"""Campaigns through the real api handler on moto: versions, state, validation, activities, segment usage."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.test_apps_api import create
from tests.integration.test_segments_api import new_segment

EMAIL = {"EmailMessage": {"Title": "Hi", "HtmlBody": "<p>Hello</p>", "FromAddress": "news@example.com"}}
IMMEDIATE = {"StartTime": "IMMEDIATE", "Frequency": "ONCE"}


@pytest.fixture
def api_services(call: Any) -> Any:
    from homing.bootstrap import build_services
    from homing.settings import ApiSettings

    return build_services(ApiSettings.from_env())


def new_campaign(call: Any, app: str, segment: str, **body: Any) -> dict[str, Any]:
    request = {"Name": "c", "SegmentId": segment, "MessageConfiguration": EMAIL, "Schedule": IMMEDIATE, **body}
    r = call("POST", f"/v1/apps/{app}/campaigns", request)
    assert r.status == 201, r.body
    return r.body


def app_and_segment(call: Any) -> tuple[str, str]:
    app = create(call)["Id"]
    return app, new_segment(call, app)["Id"]


def test_create_get_update_versions_delete(call: Any) -> None:
    app, seg = app_and_segment(call)
    c = new_campaign(
        call,
        app,
        seg,
        HoldoutPercent=10,
        AdditionalTreatments=[{"SizePercent": 40, "TreatmentName": "B", "MessageConfiguration": EMAIL}],
        Limits={"Daily": 5, "MessagesPerSecond": 50},
        tags={"team": "growth"},
    )
    assert (c["Version"], c["SegmentId"], c["SegmentVersion"]) == (1, seg, 1)  # the segment's current version
    assert c["State"] == {"CampaignStatus": "SCHEDULED"} == c["DefaultState"]
    assert c["Arn"].endswith(f":apps/{app}/campaigns/{c['Id']}")
    assert c["AdditionalTreatments"][0]["Id"] == "1"
    assert c["AdditionalTreatments"][0]["State"] == {"CampaignStatus": "SCHEDULED"}
    assert c["MessageConfiguration"] == EMAIL
    assert c["Schedule"] == IMMEDIATE
    assert (c["HoldoutPercent"], c["IsPaused"], c["tags"]) == (10, False, {"team": "growth"})
    path = f"/v1/apps/{app}/campaigns/{c['Id']}"
    assert call("GET", path).body == c

    updated = call("PUT", path, {"Name": "renamed", "IsPaused": True})
    assert updated.status == 200, updated.body
    assert (updated.body["Version"], updated.body["Name"]) == (2, "renamed")
    assert updated.body["State"] == {"CampaignStatus": "PAUSED"}
    assert updated.body["Limits"] == {"Daily": 5, "MessagesPerSecond": 50}  # not sent: kept
    assert updated.body["CreationDate"] == c["CreationDate"]
    assert call("GET", f"{path}/versions/1").body == c  # old versions stay readable
    assert call("GET", f"{path}/versions/2").body == updated.body
    assert [v["Version"] for v in call("GET", f"{path}/versions").body["Item"]] == [1, 2]
    assert call("GET", f"{path}/versions/3").status == 404
    assert call("GET", f"{path}/versions/x").status == 400

    deleted = call("DELETE", path)
    assert deleted.status == 200
    assert (deleted.body["Id"], deleted.body["State"]) == (c["Id"], {"CampaignStatus": "DELETED"})
    for p in (path, f"{path}/versions", f"{path}/versions/1", f"{path}/activities"):
        assert call("GET", p).status == 404
    assert call("DELETE", path).error_type == "NotFoundException"


def test_get_campaigns_pages(call: Any) -> None:
    app, seg = app_and_segment(call)
    ids = {new_campaign(call, app, seg)["Id"] for _ in range(5)}
    seen: list[str] = []
    token = None
    while True:
        query = {"page-size": ["2"], **({"token": [token]} if token else {})}
        page = call("GET", f"/v1/apps/{app}/campaigns", query=query).body
        seen += [c["Id"] for c in page["Item"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    assert call("GET", f"/v1/apps/{app}/campaigns", query={"token": ["forged"]}).status == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"SegmentId": None}, "SegmentId"),
        ({"SegmentId": "missing"}, "SegmentId"),
        ({"SegmentId": "s" * 2000}, "SegmentId"),
        ({"SegmentVersion": 7}, "SegmentVersion"),
        ({"HoldoutPercent": 101}, "HoldoutPercent"),
        (
            {"HoldoutPercent": 50, "AdditionalTreatments": [{"SizePercent": 60, "MessageConfiguration": EMAIL}]},
            "SizePercent",
        ),
        ({"AdditionalTreatments": [{"TreatmentName": "x"}]}, "AdditionalTreatments[0].SizePercent"),
        ({"MessageConfiguration": {}}, "MessageConfiguration"),
        ({"MessageConfiguration": {"SMSMessage": {"Body": "x", "MessageType": "LOUD"}}}, "SMSMessage.MessageType"),
        ({"MessageConfiguration": None, "TemplateConfiguration": {"EmailTemplate": {"Name": "nope"}}}, "EmailTemplate"),
        ({"Limits": {"Daily": 101}}, "Limits.Daily"),
        ({"Limits": {"Total": 101}}, "Limits.Total"),
        ({"Limits": {"MessagesPerSecond": 0}}, "Limits.MessagesPerSecond"),
        ({"Limits": {"MessagesPerSecond": 20001}}, "Limits.MessagesPerSecond"),
        ({"Limits": {"MaximumDuration": 59}}, "Limits.MaximumDuration"),
        ({"Schedule": None}, "Schedule"),
        ({"Schedule": {"Frequency": "ONCE"}}, "Schedule.StartTime"),
        ({"Schedule": {"StartTime": "soon"}}, "Schedule.StartTime"),
        ({"Schedule": {"StartTime": "2030-01-02T00:00:00Z", "EndTime": "2030-01-01T00:00:00Z"}}, "Schedule.EndTime"),
        ({"Schedule": {"StartTime": "IMMEDIATE", "Frequency": "YEARLY"}}, "Schedule.Frequency"),
        ({"Schedule": {"StartTime": "IMMEDIATE", "Timezone": "UTC+14"}}, "Schedule.Timezone"),
        ({"Schedule": {"StartTime": "IMMEDIATE", "QuietTime": {"Start": "25:00", "End": "08:00"}}}, "QuietTime.Start"),
        (
            {"Schedule": {"StartTime": "IMMEDIATE", "EventFilter": {"FilterType": "SYSTEM", "Dimensions": {}}}},
            "Schedule.EventFilter",
        ),
        ({"Schedule": {"StartTime": "IMMEDIATE", "Frequency": "EVENT"}}, "Schedule.EventFilter"),
        ({"Hook": {"Mode": "SOMETIMES"}}, "Hook.Mode"),
        ({"Hook": {"LambdaFunctionName": "no spaces allowed"}}, "Hook.LambdaFunctionName"),
        ({"CustomDeliveryConfiguration": {"DeliveryUri": "http://plain.example.com"}}, "DeliveryUri"),
        ({"CustomDeliveryConfiguration": {"EndpointTypes": ["EMAIL"]}}, "DeliveryUri"),
        ({"tags": {"aws:x": "1"}}, "tags"),
        ({"IsPaused": "yes"}, "IsPaused"),
        ({"AdditionalTreatments": 5}, "AdditionalTreatments"),
        ({"AdditionalTreatments": [5]}, "AdditionalTreatments[0]"),
        ({"MessageConfiguration": {"InAppMessage": {"Body": "x"}}}, "InAppMessage"),
        ({"AdditionalTreatments": [{"SizePercent": 5, "MessageConfiguration": {"InAppMessage": {}}}]}, "InAppMessage"),
    ],
)
def test_every_bad_request_is_a_400_naming_the_field_and_writes_nothing(
    call: Any, body: dict[str, Any], field: str
) -> None:
    app, seg = app_and_segment(call)
    request = {"Name": "bad", "SegmentId": seg, "MessageConfiguration": EMAIL, "Schedule": IMMEDIATE, **body}
    r = call("POST", f"/v1/apps/{app}/campaigns", {k: v for k, v in request.items() if v is not None})
    assert (r.status, r.error_type) == (400, "BadRequestException"), r.body
    assert field in r.body["Message"]
    assert call("GET", f"/v1/apps/{app}/campaigns").body == {"Item": []}


def test_valid_shapes_are_accepted(call: Any) -> None:
    app, seg = app_and_segment(call)
    template = call("POST", "/v1/templates/welcome/email", {"Subject": "Hi", "HtmlPart": "<p>{{User.Name}}</p>"})
    assert template.status == 201, template.body
    c = new_campaign(
        call,
        app,
        seg,
        SegmentVersion=1,
        MessageConfiguration=None,
        TemplateConfiguration={"EmailTemplate": {"Name": "welcome"}},
        Schedule={
            "StartTime": "2030-01-01T09:00:00Z",
            "EndTime": "2030-02-01T09:00:00Z",
            "Frequency": "WEEKLY",
            "IsLocalTime": True,
            "Timezone": "UTC+05:45",
            "QuietTime": {"Start": "22:00", "End": "07:30"},
        },
        Hook={"LambdaFunctionName": "arn:aws:lambda:us-east-1:123456789012:function:filter", "Mode": "FILTER"},
        Limits={"Daily": 100, "Total": 100, "MessagesPerSecond": 20000, "MaximumDuration": 60, "Session": 3},
    )
    assert c["TemplateConfiguration"] == {"EmailTemplate": {"Name": "welcome"}}
    assert "MessageConfiguration" not in c
    event = new_campaign(
        call,
        app,
        seg,
        MessageConfiguration={"CustomMessage": {"Data": "{}"}},
        CustomDeliveryConfiguration={"DeliveryUri": "https://hooks.example.com/x", "EndpointTypes": ["EMAIL"]},
        Schedule={
            "StartTime": "IMMEDIATE",
            "Frequency": "EVENT",
            "EventFilter": {
                "FilterType": "ENDPOINT",
                "Dimensions": {
                    "EventType": {"DimensionType": "INCLUSIVE", "Values": ["purchase"]},
                    "Attributes": {"plan": {"AttributeType": "INCLUSIVE", "Values": ["pro"]}},
                    "Metrics": {"price": {"ComparisonOperator": "GREATER_THAN", "Value": 10.0}},
                },
            },
        },
    )
    assert event["Schedule"]["EventFilter"]["Dimensions"]["Metrics"]["price"]["Value"] == 10.0


def test_unknown_app_campaign_and_bodies(call: Any) -> None:
    app, seg = app_and_segment(call)
    assert call("GET", "/v1/apps/nope/campaigns").error_type == "NotFoundException"
    assert call("GET", f"/v1/apps/{app}/campaigns/nope").error_type == "NotFoundException"
    assert call("PUT", f"/v1/apps/{app}/campaigns/nope", {"Name": "x"}).error_type == "NotFoundException"
    assert call("GET", f"/v1/apps/{app}/campaigns/nope/activities").error_type == "NotFoundException"
    assert call("GET", f"/v1/apps/{app}/campaigns/{'x' * 2000}").error_type == "NotFoundException"
    assert call("DELETE", f"/v1/apps/{app}/campaigns/{'x' * 2000}").error_type == "NotFoundException"
    assert call("POST", f"/v1/apps/{app}/campaigns", None).status == 400
    r = call("POST", f"/v1/apps/{app}/campaigns", {"SegmentId": seg, "MessageConfiguration": {"InAppMessage": {}}})
    assert r.status == 400


def test_an_update_can_move_to_another_segment_and_releases_the_first(call: Any) -> None:
    app, seg = app_and_segment(call)
    other = new_segment(call, app)["Id"]
    c = new_campaign(call, app, seg)
    assert call("DELETE", f"/v1/apps/{app}/segments/{seg}").status == 400
    moved = call("PUT", f"/v1/apps/{app}/campaigns/{c['Id']}", {"SegmentId": other})
    assert (moved.body["SegmentId"], moved.body["SegmentVersion"]) == (other, 1)
    assert call("DELETE", f"/v1/apps/{app}/segments/{seg}").status == 200
    assert call("PUT", f"/v1/apps/{app}/campaigns/{c['Id']}", {"SegmentId": seg}).status == 400  # gone now
    refused = call("DELETE", f"/v1/apps/{app}/segments/{other}")
    assert (refused.status, refused.error_type) == (400, "BadRequestException")
    assert c["Id"] in refused.body["Message"]
    assert call("GET", f"/v1/apps/{app}/segments/{other}").status == 200  # the refused delete wrote nothing
    assert call("DELETE", f"/v1/apps/{app}/campaigns/{c['Id']}").status == 200
    assert call("DELETE", f"/v1/apps/{app}/segments/{other}").status == 200


def test_delete_segment_racing_create_campaign_never_leaves_a_campaign_without_its_segment(
    call: Any, api_services: Any, monkeypatch: Any
) -> None:
    """The campaign planned while the segment existed; the segment is deleted before it commits: the
    campaign's transaction fails on the segment check, re-plans, and answers 400 (nothing written)."""
    from homing.domain.campaigns import CampaignDefinition, Schedule
    from homing.domain.errors import BadRequest

    app, seg = app_and_segment(call)
    repo = api_services.campaigns._repo
    original = repo.write
    raced: list[bool] = []

    def racing_write(campaign: Any, read_revision: int | None, previous: str | None) -> None:
        if not raced:
            raced.append(True)
            assert call("DELETE", f"/v1/apps/{app}/segments/{seg}").status == 200
        original(campaign, read_revision, previous)

    monkeypatch.setattr(repo, "write", racing_write)
    definition = CampaignDefinition(
        segment_id=seg, schedule=Schedule(start_time="IMMEDIATE"), message_configuration=_email_config()
    )
    with pytest.raises(BadRequest, match="SegmentId"):
        api_services.campaigns.create(app, definition)
    assert raced == [True]
    assert call("GET", f"/v1/apps/{app}/campaigns").body == {"Item": []}


def test_concurrent_deletes_and_creates_on_one_segment_stay_consistent(call: Any, api_services: Any) -> None:
    """Real threads: DeleteSegment and CreateCampaign race; either the segment is gone and no campaign
    names it, or it stays with every campaign created."""
    app, seg = app_and_segment(call)

    def create_one(_: int) -> int:
        return int(
            call(
                "POST",
                f"/v1/apps/{app}/campaigns",
                {"SegmentId": seg, "MessageConfiguration": EMAIL, "Schedule": IMMEDIATE},
            ).status
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        creates = [pool.submit(create_one, i) for i in range(3)]
        delete = pool.submit(lambda: call("DELETE", f"/v1/apps/{app}/segments/{seg}").status)
        statuses = [f.result() for f in creates]
        deleted = delete.result()
    campaigns = call("GET", f"/v1/apps/{app}/campaigns").body["Item"]
    assert len(campaigns) == statuses.count(201)
    if deleted == 200:
        assert campaigns == []
    else:
        assert deleted == 400
        assert call("GET", f"/v1/apps/{app}/segments/{seg}").status == 200


def _email_config() -> Any:
    from homing.codec import build
    from homing.domain.campaigns import MessageConfiguration, wire_name

    return build(MessageConfiguration, EMAIL, "", wire_name)


def test_concurrent_updates_each_make_a_version_and_none_is_lost(call: Any, api_services: Any) -> None:
    from homing.domain.campaigns import CampaignDefinition

    app, seg = app_and_segment(call)
    cid = new_campaign(call, app, seg)["Id"]
    names = [f"n{i}" for i in range(6)]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        written = list(
            pool.map(lambda n: api_services.campaigns.update(app, cid, CampaignDefinition(name=n)).version, names)
        )
    assert sorted(written) == list(range(2, 2 + len(names)))
    versions = call("GET", f"/v1/apps/{app}/campaigns/{cid}/versions").body["Item"]
    assert [v["Version"] for v in versions] == list(range(1, 2 + len(names)))
    assert sorted(v["Name"] for v in versions[1:]) == names
    assert call("GET", f"/v1/apps/{app}/campaigns/{cid}").body == versions[-1]


def test_a_state_change_and_an_update_never_overwrite_each_other(
    call: Any, api_services: Any, monkeypatch: Any
) -> None:
    """set_state planned from revision 1 while an update wrote revision 2: it re-plans and keeps the update."""
    app, seg = app_and_segment(call)
    cid = new_campaign(call, app, seg)["Id"]
    repo = api_services.campaigns._repo
    original = repo.write_head
    raced: list[int] = []

    def racing_write_head(campaign: Any, read_revision: int) -> None:
        if not raced:
            raced.append(read_revision)
            assert call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"Name": "other"}).status == 200
        original(campaign, read_revision)

    monkeypatch.setattr(repo, "write_head", racing_write_head)
    api_services.campaigns.set_state(app, cid, "EXECUTING")
    assert raced == [1]
    head = call("GET", f"/v1/apps/{app}/campaigns/{cid}").body
    assert (head["Name"], head["Version"], head["State"]) == ("other", 2, {"CampaignStatus": "EXECUTING"})
    # and an update keeps the recorded state; a late EXECUTING does not undo COMPLETED
    api_services.campaigns.set_state(app, cid, "COMPLETED")
    api_services.campaigns.set_state(app, cid, "EXECUTING", unless=("COMPLETED",))
    after = call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"Description": "d"}).body
    assert after["State"] == {"CampaignStatus": "COMPLETED"}
    paused = call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"IsPaused": True}).body
    assert paused["State"] == {"CampaignStatus": "PAUSED"}
    assert call("PUT", f"/v1/apps/{app}/campaigns/{cid}", {"IsPaused": False}).body["State"] == {
        "CampaignStatus": "COMPLETED"
    }


def test_activities_start_once_finish_once_and_page_latest_first(call: Any, api_services: Any) -> None:
    from homing.domain.campaigns import ActivityCounts
    from homing.domain.errors import BadRequest, NotFound

    app, seg = app_and_segment(call)
    cid = new_campaign(call, app, seg)["Id"]
    svc = api_services.campaigns
    runs = [datetime(2030, 1, d, 9, tzinfo=UTC) for d in (1, 2, 3)]
    first = svc.start_activity(app, cid, "0", runs[0], campaign_version=1, timezones_total_count=1)
    again = svc.start_activity(app, cid, "0", runs[0])  # a retried start
    assert again == first
    other_treatment = svc.start_activity(app, cid, "1", runs[0])
    assert other_treatment.id != first.id
    later = [svc.start_activity(app, cid, "0", when) for when in runs[1:]]

    counts = ActivityCounts(total_endpoint_count=10, successful_endpoint_count=9, execution_metrics={"x": "1"})
    done = svc.finish_activity(app, cid, first.id, counts)
    assert (done.state, done.result, done.total_endpoint_count, done.successful_endpoint_count) == (
        "COMPLETED", "SUCCESS", 10, 9,
    )  # fmt: skip
    retried = svc.finish_activity(
        app, cid, first.id, ActivityCounts(total_endpoint_count=99, successful_endpoint_count=99)
    )
    assert retried == done  # never counted twice
    with pytest.raises(NotFound):
        svc.finish_activity(app, cid, "0" * 32, counts)
    with pytest.raises(BadRequest):
        svc.finish_activity(app, cid, first.id, ActivityCounts(1, 1, result="MAYBE"))

    listed = call("GET", f"/v1/apps/{app}/campaigns/{cid}/activities").body["Item"]
    assert [a["Id"] for a in listed][:2] == [later[1].id, later[0].id]  # the latest scheduled first
    assert len(listed) == 4
    row = next(a for a in listed if a["Id"] == first.id)
    assert row == {
        "ApplicationId": app,
        "CampaignId": cid,
        "Id": first.id,
        "TreatmentId": "0",
        "State": "COMPLETED",
        "Result": "SUCCESS",
        "ScheduledStart": "2030-01-01T09:00:00.000Z",
        "Start": first.start,
        "End": done.end,
        "SuccessfulEndpointCount": 9,
        "TotalEndpointCount": 10,
        "TimezonesCompletedCount": 1,
        "TimezonesTotalCount": 1,
        "ExecutionMetrics": {"x": "1"},
    }
    page = call("GET", f"/v1/apps/{app}/campaigns/{cid}/activities", query={"page-size": ["3"]}).body
    assert len(page["Item"]) == 3
    assert page["NextToken"]
    rest = call(
        "GET", f"/v1/apps/{app}/campaigns/{cid}/activities", query={"page-size": ["3"], "token": [page["NextToken"]]}
    ).body
    assert [a["Id"] for a in page["Item"] + rest["Item"]] == [a["Id"] for a in listed]
    assert svc.version(app, cid, 1).id == cid


def test_racing_finishes_count_once(call: Any, api_services: Any) -> None:
    from homing.domain.campaigns import ActivityCounts

    app, seg = app_and_segment(call)
    cid = new_campaign(call, app, seg)["Id"]
    svc = api_services.campaigns
    activity = svc.start_activity(app, cid, "0", datetime(2030, 1, 1, tzinfo=UTC))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda n: svc.finish_activity(app, cid, activity.id, ActivityCounts(n, n)).total_endpoint_count,
                range(1, 5),
            )
        )
    stored = svc.activities(app, cid, 10, None)[0][0].total_endpoint_count
    assert set(results) == {stored}  # every caller sees the one recorded total


def test_one_hostile_value_in_a_valid_request_is_never_a_5xx_and_a_4xx_writes_nothing(call: Any) -> None:
    """A valid CreateCampaign body (a real segment) with one value replaced by a hostile one."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.integration.test_hostile_requests import one_hostile_value

    app, seg = app_and_segment(call)
    valid = {
        "Name": "c",
        "SegmentId": seg,
        "SegmentVersion": 1,
        "HoldoutPercent": 10,
        "MessageConfiguration": {**EMAIL, "SMSMessage": {"Body": "hi", "MessageType": "PROMOTIONAL"}},
        "Schedule": {
            "StartTime": "2030-01-01T00:00:00Z",
            "EndTime": "2030-02-01T00:00:00Z",
            "Frequency": "EVENT",
            "Timezone": "UTC+01",
            "QuietTime": {"Start": "22:00", "End": "07:00"},
            "EventFilter": {"FilterType": "SYSTEM", "Dimensions": {"EventType": {"Values": ["buy"]}}},
        },
        "AdditionalTreatments": [{"SizePercent": 20, "MessageConfiguration": EMAIL, "TreatmentName": "B"}],
        "Limits": {"Daily": 1, "Total": 2, "MessagesPerSecond": 3, "MaximumDuration": 60},
        "Hook": {"LambdaFunctionName": "f", "Mode": "FILTER"},
        "CustomDeliveryConfiguration": {"DeliveryUri": "https://x.example.com", "EndpointTypes": ["EMAIL"]},
        "tags": {"a": "b"},
    }
    assert call("POST", f"/v1/apps/{app}/campaigns", valid).status == 201

    @settings(derandomize=True, max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data: st.DataObject) -> None:
        body = data.draw(one_hostile_value(valid))
        before = call("GET", f"/v1/apps/{app}/campaigns", query={"page-size": ["1000"]}).body["Item"]
        r = call("POST", f"/v1/apps/{app}/campaigns", body)
        assert r.status in (201, 400), (r.status, r.body)
        after = call("GET", f"/v1/apps/{app}/campaigns", query={"page-size": ["1000"]}).body["Item"]
        assert len(after) == len(before) + (1 if r.status == 201 else 0)

    check()
