"""Apps and application settings over the wire, with the stock boto3 ``pinpoint`` client.

Also home of the small helpers the other e2e modules share: unique app names, an app that is
deleted when the test ends, and the (code, HTTP status, message) of a ``ClientError``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

ARN_PATTERN = re.compile(r"^arn:aws:mobiletargeting:us-east-1:\d{12}:apps/(?P<id>[0-9a-f]{32})$")
ISO_UTC_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MAX_PAGES = 200  # a bound for paging loops: the account holds at most 100 apps


def unique_name(prefix: str) -> str:
    return f"e2e-{prefix}-{uuid.uuid4().hex[:10]}"


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """(error code, HTTP status, message) of the ClientError boto3 raised."""
    response: Any = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def delete_app_if_present(pinpoint: Any, app_id: str) -> None:
    try:
        pinpoint.delete_app(ApplicationId=app_id)
    except ClientError as error:
        if error.response["Error"]["Code"] != "NotFoundException":
            raise


@contextmanager
def new_app(pinpoint: Any, prefix: str, tags: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Create an app with a unique name; delete it (if the test did not) when the block ends."""
    request: dict[str, Any] = {"Name": unique_name(prefix)}
    if tags is not None:
        request["tags"] = tags
    app: dict[str, Any] = pinpoint.create_app(CreateApplicationRequest=request)["ApplicationResponse"]
    try:
        yield app
    finally:
        delete_app_if_present(pinpoint, app["Id"])


def all_apps(pinpoint: Any) -> list[dict[str, Any]]:
    """Every app GetApps lists, following NextToken."""
    apps: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = pinpoint.get_apps(**({"Token": token} if token else {}))["ApplicationsResponse"]
        apps += page["Item"]
        token = page.get("NextToken")
        if not token:
            return apps
    raise AssertionError(f"GetApps still returned a NextToken after {MAX_PAGES} pages")


@pytest.fixture
def app(pinpoint: Any) -> Iterator[dict[str, Any]]:
    with new_app(pinpoint, "apps") as created:
        yield created


# --- CreateApp / GetApp / GetApps -------------------------------------------------------------


def test_create_app_with_tags_returns_the_application_and_get_app_reads_it_back(pinpoint: Any) -> None:
    name = unique_name("create")

    created = pinpoint.create_app(CreateApplicationRequest={"Name": name, "tags": {"team": "growth", "env": "e2e"}})
    try:
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        app = created["ApplicationResponse"]
        assert set(app) == {"Arn", "Id", "Name", "tags", "CreationDate"}
        match = ARN_PATTERN.match(app["Arn"])
        assert match is not None, app["Arn"]
        assert match["id"] == app["Id"]
        assert app["Name"] == name
        assert app["tags"] == {"team": "growth", "env": "e2e"}
        assert ISO_UTC_MILLIS.match(app["CreationDate"]), app["CreationDate"]

        fetched = pinpoint.get_app(ApplicationId=app["Id"])

        assert fetched["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert fetched["ApplicationResponse"] == app
    finally:
        delete_app_if_present(pinpoint, created["ApplicationResponse"]["Id"])


def test_get_apps_pages_with_page_size_and_token_until_every_app_is_seen(pinpoint: Any) -> None:
    with new_app(pinpoint, "page-a") as a, new_app(pinpoint, "page-b") as b, new_app(pinpoint, "page-c") as c:
        mine = {created["Id"]: created for created in (a, b, c)}
        seen: dict[str, dict[str, Any]] = {}
        pages = 0
        token: str | None = None

        while not mine.keys() <= seen.keys():
            assert pages < MAX_PAGES, "paging did not end"
            response = pinpoint.get_apps(PageSize="2", **({"Token": token} if token else {}))
            page = response["ApplicationsResponse"]
            pages += 1
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert len(page["Item"]) <= 2
            for listed in page["Item"]:
                assert listed["Id"] not in seen, "an app was listed twice"
                seen[listed["Id"]] = listed
            token = page.get("NextToken")
            if not token:
                break

        assert mine.keys() <= seen.keys(), f"apps never listed: {mine.keys() - seen.keys()}"
        assert pages >= 2  # three apps cannot fit one page of two
        for app_id, created in mine.items():
            assert seen[app_id] == created


@pytest.mark.parametrize(
    ("paging", "field"),
    [
        ({"PageSize": "0"}, "page-size"),
        ({"PageSize": "1001"}, "page-size"),
        ({"PageSize": "ten"}, "page-size"),
        ({"Token": "%%% not a token"}, "token"),
    ],
)
def test_get_apps_rejects_bad_paging_parameters(pinpoint: Any, paging: dict[str, str], field: str) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.get_apps(**paging)

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert field in message


def test_get_unknown_app_is_not_found(pinpoint: Any) -> None:
    unknown = uuid.uuid4().hex

    with pytest.raises(ClientError) as caught:
        pinpoint.get_app(ApplicationId=unknown)

    code, status, message = error_of(caught)
    assert (code, status) == ("NotFoundException", 404)
    assert unknown in message


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"Name": "   "}, "Name"),
        ({"Name": unique_name("bad-tags"), "tags": {"aws:reserved": "x"}}, "tags"),
        ({"Name": unique_name("bad-tags"), "tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
    ],
)
def test_create_app_with_invalid_input_is_bad_request_and_creates_nothing(
    pinpoint: Any, request_body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.create_app(CreateApplicationRequest=request_body)

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert field in message
    assert request_body["Name"] not in {listed["Name"] for listed in all_apps(pinpoint)}


# --- Application settings ---------------------------------------------------------------------

SETTINGS = {
    "Limits": {"Daily": 5, "MessagesPerSecond": 50, "MaximumDuration": 60, "Total": 10},
    "QuietTime": {"Start": "22:00", "End": "07:30"},
    "CampaignHook": {"LambdaFunctionName": "hook", "Mode": "FILTER"},
}


def test_application_settings_start_empty(pinpoint: Any, app: dict[str, Any]) -> None:
    response = pinpoint.get_application_settings(ApplicationId=app["Id"])

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    settings = response["ApplicationSettingsResource"]
    assert settings["ApplicationId"] == app["Id"]
    assert ISO_UTC_MILLIS.match(settings["LastModifiedDate"]), settings["LastModifiedDate"]
    assert settings["Limits"] == {}
    assert settings["QuietTime"] == {}
    assert settings["CampaignHook"] == {}


def test_update_application_settings_then_read_back(pinpoint: Any, app: dict[str, Any]) -> None:
    updated = pinpoint.update_application_settings(ApplicationId=app["Id"], WriteApplicationSettingsRequest=SETTINGS)

    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 200
    resource = updated["ApplicationSettingsResource"]
    assert resource["ApplicationId"] == app["Id"]
    for key, value in SETTINGS.items():
        assert resource[key] == value
    assert pinpoint.get_application_settings(ApplicationId=app["Id"])["ApplicationSettingsResource"] == resource

    # A structure that is not sent is kept.
    quiet = {"Start": "23:00", "End": "06:00"}
    again = pinpoint.update_application_settings(
        ApplicationId=app["Id"], WriteApplicationSettingsRequest={"QuietTime": quiet}
    )["ApplicationSettingsResource"]

    assert again["QuietTime"] == quiet
    assert again["Limits"] == SETTINGS["Limits"]
    assert again["CampaignHook"] == SETTINGS["CampaignHook"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"Limits": {"Daily": 101}, "QuietTime": {"Start": "01:00", "End": "02:00"}}, "Limits.Daily"),
        ({"Limits": {"Total": 101}}, "Limits.Total"),
        ({"Limits": {"MessagesPerSecond": 0}}, "Limits.MessagesPerSecond"),
        ({"Limits": {"MaximumDuration": 59}}, "Limits.MaximumDuration"),
        ({"QuietTime": {"Start": "25:00", "End": "07:00"}}, "QuietTime.Start"),
        ({"CampaignHook": {"Mode": "SOMETIMES"}}, "CampaignHook.Mode"),
    ],
)
def test_invalid_application_settings_are_rejected_naming_the_field_and_change_nothing(
    pinpoint: Any, app: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    pinpoint.update_application_settings(ApplicationId=app["Id"], WriteApplicationSettingsRequest=SETTINGS)
    before = pinpoint.get_application_settings(ApplicationId=app["Id"])["ApplicationSettingsResource"]

    with pytest.raises(ClientError) as caught:
        pinpoint.update_application_settings(ApplicationId=app["Id"], WriteApplicationSettingsRequest=changes)

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert field in message
    assert pinpoint.get_application_settings(ApplicationId=app["Id"])["ApplicationSettingsResource"] == before


def test_settings_of_an_unknown_app_are_not_found(pinpoint: Any) -> None:
    unknown = uuid.uuid4().hex

    with pytest.raises(ClientError) as read:
        pinpoint.get_application_settings(ApplicationId=unknown)
    with pytest.raises(ClientError) as write:
        pinpoint.update_application_settings(ApplicationId=unknown, WriteApplicationSettingsRequest=SETTINGS)

    for caught in (read, write):
        code, status, message = error_of(caught)
        assert (code, status) == ("NotFoundException", 404)
        assert unknown in message


# --- DeleteApp --------------------------------------------------------------------------------


def test_delete_app_returns_the_app_and_removes_what_it_owns(pinpoint: Any) -> None:
    with new_app(pinpoint, "delete", tags={"k": "v"}) as app:
        app_id = app["Id"]
        items = [
            {
                "Id": f"ep-{i}",
                "ChannelType": "EMAIL",
                "Address": f"u{i}@example.com",
                "User": {"UserId": f"owner-{i % 3}"},
            }
            for i in range(30)
        ]
        pinpoint.update_endpoints_batch(ApplicationId=app_id, EndpointBatchRequest={"Item": items})
        assert pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="ep-0")["EndpointResponse"]["Id"] == "ep-0"

        deleted = pinpoint.delete_app(ApplicationId=app_id)

        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert deleted["ApplicationResponse"] == app
        with pytest.raises(ClientError) as get_app:
            pinpoint.get_app(ApplicationId=app_id)
        code, status, message = error_of(get_app)
        assert (code, status) == ("NotFoundException", 404)
        assert app_id in message
        with pytest.raises(ClientError) as get_endpoint:
            pinpoint.get_endpoint(ApplicationId=app_id, EndpointId="ep-0")
        assert error_of(get_endpoint)[:2] == ("NotFoundException", 404)
        with pytest.raises(ClientError) as get_user:
            pinpoint.get_user_endpoints(ApplicationId=app_id, UserId="owner-0")
        assert error_of(get_user)[:2] == ("NotFoundException", 404)
        with pytest.raises(ClientError) as delete_again:
            pinpoint.delete_app(ApplicationId=app_id)
        assert error_of(delete_again)[:2] == ("NotFoundException", 404)
        assert app_id not in {listed["Id"] for listed in all_apps(pinpoint)}


# --- The execute-api-signing client -----------------------------------------------------------


def test_execute_api_client_manages_apps_the_same_way(pinpoint_execute_api: Any) -> None:
    created = pinpoint_execute_api.create_app(CreateApplicationRequest={"Name": unique_name("exec-api")})
    app = created["ApplicationResponse"]
    try:
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert pinpoint_execute_api.get_app(ApplicationId=app["Id"])["ApplicationResponse"] == app
        settings = pinpoint_execute_api.update_application_settings(
            ApplicationId=app["Id"], WriteApplicationSettingsRequest={"Limits": {"Daily": 7}}
        )["ApplicationSettingsResource"]
        assert settings["Limits"] == {"Daily": 7}
        assert pinpoint_execute_api.delete_app(ApplicationId=app["Id"])["ApplicationResponse"] == app
    finally:
        delete_app_if_present(pinpoint_execute_api, app["Id"])
