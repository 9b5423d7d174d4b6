"""The AWS CLI's ``aws pinpoint`` commands against the local stack, unchanged."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import AwsCli
from tests.e2e.test_apps_e2e import MAX_PAGES, delete_app_if_present, new_app, unique_name


def ok(result: tuple[int, Any, str]) -> Any:
    """The parsed output of a command that must succeed."""
    returncode, output, stderr = result
    assert returncode == 0, stderr
    return output


@pytest.fixture
def cli_apps(pinpoint: Any) -> Iterator[list[str]]:
    """Ids of apps a test creates through the CLI; whatever the test leaves behind is deleted."""
    created: list[str] = []
    yield created
    for app_id in created:
        delete_app_if_present(pinpoint, app_id)


@pytest.fixture
def app_id(pinpoint: Any) -> Iterator[str]:
    with new_app(pinpoint, "cli") as app:
        yield str(app["Id"])


def test_cli_creates_lists_gets_and_deletes_an_app(aws_cli: AwsCli, cli_apps: list[str]) -> None:
    name = unique_name("cli")
    request = json.dumps({"Name": name, "tags": {"team": "cli"}})

    app = ok(aws_cli("create-app", "--create-application-request", request))["ApplicationResponse"]
    cli_apps.append(app["Id"])

    assert app["Name"] == name
    assert app["tags"] == {"team": "cli"}
    assert app["Arn"].endswith(f":apps/{app['Id']}")

    # get-apps, paged by hand (Pinpoint has no paginators) until the new app shows up
    listed: dict[str, Any] = {}
    token: str | None = None
    for _ in range(MAX_PAGES):
        paging = ["--page-size", "2", *(["--token", token] if token else [])]
        page = ok(aws_cli("get-apps", *paging))["ApplicationsResponse"]
        assert len(page["Item"]) <= 2
        listed.update({item["Id"]: item for item in page["Item"]})
        token = page.get("NextToken")
        if app["Id"] in listed or not token:
            break
    assert listed[app["Id"]] == app

    assert ok(aws_cli("get-app", "--application-id", app["Id"]))["ApplicationResponse"] == app

    assert ok(aws_cli("delete-app", "--application-id", app["Id"]))["ApplicationResponse"] == app

    returncode, _, stderr = aws_cli("get-app", "--application-id", app["Id"])
    assert returncode != 0
    assert "NotFoundException" in stderr


def test_cli_writes_reads_and_deletes_endpoints(aws_cli: AwsCli, app_id: str) -> None:
    endpoint_request = {
        "ChannelType": "EMAIL",
        "Address": "ana@example.com",
        "Attributes": {"interests": ["shoes"]},
        "Location": {"Latitude": 48.8566, "Longitude": 2.3522},
        "User": {"UserId": "ana", "UserAttributes": {"tier": ["gold"]}},
    }

    written = ok(
        aws_cli(
            "update-endpoint",
            "--application-id",
            app_id,
            "--endpoint-id",
            "Ana Mail/1",
            "--endpoint-request",
            json.dumps(endpoint_request),
        )
    )

    assert written["MessageBody"]["Message"] == "Accepted"
    endpoint = ok(aws_cli("get-endpoint", "--application-id", app_id, "--endpoint-id", "Ana Mail/1"))[
        "EndpointResponse"
    ]
    assert endpoint["Id"] == "Ana Mail/1"
    assert endpoint["ApplicationId"] == app_id
    assert endpoint["Address"] == "ana@example.com"
    assert endpoint["Attributes"] == {"interests": ["shoes"]}
    assert endpoint["Location"] == {"Latitude": 48.9, "Longitude": 2.4}
    assert endpoint["User"] == endpoint_request["User"]
    assert endpoint["EndpointStatus"] == "ACTIVE"
    assert endpoint["RequestId"] == written["MessageBody"]["RequestID"]

    batch_request = {
        "Item": [
            {"Id": "ana-sms", "ChannelType": "SMS", "Address": "+15550100", "User": {"UserId": "ana"}},
            {"Id": "ana-push", "ChannelType": "GCM", "Address": "token-1", "User": {"UserId": "ana"}},
        ]
    }
    batched = ok(
        aws_cli(
            "update-endpoints-batch",
            "--application-id",
            app_id,
            "--endpoint-batch-request",
            json.dumps(batch_request),
        )
    )
    assert batched["MessageBody"]["Message"] == "Accepted"

    user = ok(aws_cli("get-user-endpoints", "--application-id", app_id, "--user-id", "ana"))["EndpointsResponse"]
    assert sorted(e["Id"] for e in user["Item"]) == ["Ana Mail/1", "ana-push", "ana-sms"]

    deleted = ok(aws_cli("delete-endpoint", "--application-id", app_id, "--endpoint-id", "ana-sms"))
    assert deleted["EndpointResponse"]["Id"] == "ana-sms"
    returncode, _, stderr = aws_cli("get-endpoint", "--application-id", app_id, "--endpoint-id", "ana-sms")
    assert returncode != 0
    assert "NotFoundException" in stderr


def test_cli_tags_an_app(aws_cli: AwsCli, pinpoint: Any) -> None:
    with new_app(pinpoint, "cli-tags", tags={"a": "1"}) as app:
        tagged = aws_cli("tag-resource", "--resource-arn", app["Arn"], "--tags-model", json.dumps({"tags": {"b": "2"}}))
        assert ok(tagged) is None  # 204, no output

        listed = ok(aws_cli("list-tags-for-resource", "--resource-arn", app["Arn"]))

        assert listed["TagsModel"]["tags"] == {"a": "1", "b": "2"}


def test_cli_get_app_of_an_unknown_id_fails_with_not_found(aws_cli: AwsCli) -> None:
    unknown = uuid.uuid4().hex

    returncode, output, stderr = aws_cli("get-app", "--application-id", unknown)

    assert returncode != 0
    assert output is None
    assert "NotFoundException" in stderr
    assert unknown in stderr


def test_cli_update_endpoint_with_a_bad_channel_type_fails_with_bad_request(aws_cli: AwsCli, app_id: str) -> None:
    request = json.dumps({"ChannelType": "PIGEON", "Address": "coop-7"})

    returncode, _, stderr = aws_cli(
        "update-endpoint", "--application-id", app_id, "--endpoint-id", "bird", "--endpoint-request", request
    )

    assert returncode != 0
    assert "BadRequestException" in stderr
    assert "ChannelType" in stderr
    returncode, _, stderr = aws_cli("get-endpoint", "--application-id", app_id, "--endpoint-id", "bird")
    assert returncode != 0
    assert "NotFoundException" in stderr
