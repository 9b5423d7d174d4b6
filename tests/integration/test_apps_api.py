"""Apps and settings through the real api handler against moto."""

from __future__ import annotations

from typing import Any

from tests.conftest import app_arn


def create(call: Any, name: str = "shop", **extra: Any) -> dict[str, Any]:
    r = call("POST", "/v1/apps", {"Name": name, **extra})
    assert r.status == 201, r.body
    return r.body


def test_create_app_returns_pinpoint_application_response(call: Any) -> None:
    app = create(call, tags={"team": "growth"})
    assert set(app) == {"Arn", "Id", "Name", "tags", "CreationDate"}
    assert app["Arn"] == app_arn(app["Id"])
    assert app["Name"] == "shop"
    assert app["tags"] == {"team": "growth"}
    assert app["CreationDate"].endswith("Z")


def test_create_app_without_name_is_bad_request(call: Any) -> None:
    r = call("POST", "/v1/apps", {"tags": {}})
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert "Name" in r.body["Message"]
    assert r.body["RequestID"]


def test_create_app_rejects_invalid_json_and_bad_tags(call: Any) -> None:
    assert call("POST", "/v1/apps", "{not json").error_type == "BadRequestException"
    r = call("POST", "/v1/apps", {"Name": "a", "tags": {"aws:x": "y"}})
    assert r.status == 400
    assert "tags" in r.body["Message"]
    r = call("POST", "/v1/apps", {"Name": "a", "tags": {f"k{i}": "v" for i in range(51)}})
    assert r.status == 400
    assert call("GET", "/v1/apps").body["Item"] == []


def test_app_quota_is_enforced(aws: None) -> None:
    from datetime import UTC, datetime

    import pytest

    from homing.adapters.dynamodb.apps import AppRepository
    from homing.domain.errors import BadRequest
    from homing.domain.limits import Quotas
    from homing.services.apps import AppService

    scheduled: list[str] = []

    class Scheduler:
        def schedule(self, app_id: str) -> None:
            scheduled.append(app_id)

    svc = AppService(
        AppRepository(),
        arn_prefix="arn:aws:mobiletargeting:us-east-1:1",
        clock=lambda: datetime.now(UTC),
        cleanup=Scheduler(),
        quotas=Quotas(apps_per_account=2),
    )
    svc.create("a", None)
    b = svc.create("b", None)
    with pytest.raises(BadRequest, match="maximum of 2 applications"):
        svc.create("c", None)
    svc.delete(b.id)  # a deleted app (its tombstone) no longer counts
    assert scheduled == [b.id]
    svc.create("c", None)


def test_get_unknown_app_is_not_found(call: Any) -> None:
    r = call("GET", "/v1/apps/nope")
    assert (r.status, r.error_type) == (404, "NotFoundException")
    assert "nope" in r.body["Message"]


def test_get_apps_pages_with_page_size_and_token(call: Any) -> None:
    ids = {create(call, f"app{i}")["Id"] for i in range(5)}
    seen: list[str] = []
    token = None
    for _ in range(10):
        query = {"page-size": ["2"], **({"token": [token]} if token else {})}
        page = call("GET", "/v1/apps", query=query).body
        assert len(page["Item"]) <= 2
        seen += [a["Id"] for a in page["Item"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)


def test_get_apps_rejects_bad_paging(call: Any) -> None:
    assert call("GET", "/v1/apps", query={"page-size": ["0"]}).error_type == "BadRequestException"
    assert call("GET", "/v1/apps", query={"page-size": ["x"]}).error_type == "BadRequestException"
    assert call("GET", "/v1/apps", query={"token": ["%%%"]}).error_type == "BadRequestException"


def test_delete_app_removes_everything_it_owns(call: Any, clean_up: Any) -> None:
    app = create(call)
    other = create(call, "other")
    for i in range(3):
        body = {
            "ChannelType": "EMAIL",
            "Address": f"u{i}@example.com",
            "User": {"UserId": "u"},
            "Attributes": {"a": ["1"]},
        }
        assert call("PUT", f"/v1/apps/{app['Id']}/endpoints/e{i}", body).status == 202
    assert call("PUT", f"/v1/apps/{other['Id']}/endpoints/keep", {"ChannelType": "SMS", "Address": "+1"}).status == 202
    r = call("DELETE", f"/v1/apps/{app['Id']}")
    assert r.status == 200
    assert r.body == app
    assert call("GET", f"/v1/apps/{app['Id']}").status == 404  # at once; the rest goes asynchronously
    clean_up()

    from homing.adapters.dynamodb.catalog import CatalogItem
    from homing.adapters.dynamodb.endpoints import EndpointItem

    assert list(EndpointItem.query(app["Id"])) == []
    assert list(CatalogItem.query(app["Id"])) == []
    assert call("GET", f"/v1/apps/{app['Id']}").status == 404
    assert call("GET", f"/v1/apps/{other['Id']}/endpoints/keep").status == 200
    assert call("DELETE", f"/v1/apps/{app['Id']}").status == 404


def test_settings_default_then_update_and_read_back(call: Any) -> None:
    app = create(call)
    r = call("GET", f"/v1/apps/{app['Id']}/settings")
    assert r.status == 200
    assert r.body["ApplicationId"] == app["Id"]
    assert r.body["LastModifiedDate"]
    update = {
        "Limits": {"Daily": 5, "MessagesPerSecond": 50, "MaximumDuration": 60, "Total": 10},
        "QuietTime": {"Start": "22:00", "End": "07:30"},
        "CampaignHook": {"LambdaFunctionName": "hook", "Mode": "FILTER"},
        "JourneyLimits": {"DailyCap": 3, "TimeframeCap": {"Cap": 2, "Days": 7}},
        "CloudWatchMetricsEnabled": True,
    }
    r = call("PUT", f"/v1/apps/{app['Id']}/settings", update)
    assert r.status == 200, r.body
    for key in ("Limits", "QuietTime", "CampaignHook", "JourneyLimits"):
        assert r.body[key] == update[key]
    assert call("GET", f"/v1/apps/{app['Id']}/settings").body == r.body
    # a structure not sent is kept
    r2 = call("PUT", f"/v1/apps/{app['Id']}/settings", {"QuietTime": {"Start": "23:00", "End": "06:00"}})
    assert r2.body["Limits"] == update["Limits"]
    assert r2.body["QuietTime"] == {"Start": "23:00", "End": "06:00"}


def test_settings_validation_names_the_field_and_keeps_stored_values(call: Any) -> None:
    app = create(call)
    call("PUT", f"/v1/apps/{app['Id']}/settings", {"Limits": {"Daily": 5}})
    cases = [
        ({"Limits": {"Daily": 101}}, "Limits.Daily"),
        ({"Limits": {"MessagesPerSecond": 0}}, "Limits.MessagesPerSecond"),
        ({"Limits": {"MaximumDuration": 10}}, "Limits.MaximumDuration"),
        ({"Limits": {"Daily": "five"}}, "Limits.Daily"),
        ({"QuietTime": {"Start": "25:00"}}, "QuietTime.Start"),
        ({"CampaignHook": {"Mode": "X"}}, "CampaignHook.Mode"),
        ({"JourneyLimits": {"TimeframeCap": {"Days": 31}}}, "JourneyLimits.TimeframeCap.Days"),
    ]
    for body, field in cases:
        r = call("PUT", f"/v1/apps/{app['Id']}/settings", body)
        assert (r.status, r.error_type) == (400, "BadRequestException"), body
        assert field in r.body["Message"], (field, r.body)
    assert call("GET", f"/v1/apps/{app['Id']}/settings").body["Limits"] == {"Daily": 5}
    assert call("PUT", "/v1/apps/nope/settings", {"Limits": {}}).status == 404


def test_unknown_route_is_not_found_exception(call: Any) -> None:
    r = call("GET", "/v1/nothing-here")
    assert (r.status, r.error_type) == (404, "NotFoundException")
