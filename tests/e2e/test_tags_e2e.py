"""TagResource / UntagResource / ListTagsForResource over the wire (boto3 percent-encodes the ARN in the path)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_apps_e2e import error_of, new_app


@pytest.fixture
def app(pinpoint: Any) -> Iterator[dict[str, Any]]:
    with new_app(pinpoint, "tags", tags={"a": "1"}) as created:
        yield created


def tags_of(client: Any, arn: str) -> dict[str, str]:
    response = client.list_tags_for_resource(ResourceArn=arn)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    tags: dict[str, str] = response["TagsModel"]["tags"]
    return tags


def test_tag_list_and_untag_round_trip(pinpoint: Any, app: dict[str, Any]) -> None:
    arn = app["Arn"]
    assert tags_of(pinpoint, arn) == {"a": "1"}

    tagged = pinpoint.tag_resource(ResourceArn=arn, TagsModel={"tags": {"b": "2", "a": "one"}})

    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(pinpoint, arn) == {"a": "one", "b": "2"}

    untagged = pinpoint.untag_resource(ResourceArn=arn, TagKeys=["a", "not-there"])

    assert untagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(pinpoint, arn) == {"b": "2"}
    assert pinpoint.get_app(ApplicationId=app["Id"])["ApplicationResponse"]["tags"] == {"b": "2"}


def test_tags_of_an_app_created_without_tags_are_empty(pinpoint: Any) -> None:
    with new_app(pinpoint, "untagged") as untagged:
        assert tags_of(pinpoint, untagged["Arn"]) == {}


def test_unknown_arn_is_not_found(pinpoint: Any, app: dict[str, Any]) -> None:
    unknown_id = "0" * 32
    unknown = app["Arn"].replace(app["Id"], unknown_id)
    calls = {
        "ListTagsForResource": lambda: pinpoint.list_tags_for_resource(ResourceArn=unknown),
        "TagResource": lambda: pinpoint.tag_resource(ResourceArn=unknown, TagsModel={"tags": {"k": "v"}}),
        "UntagResource": lambda: pinpoint.untag_resource(ResourceArn=unknown, TagKeys=["k"]),
    }
    for operation, call in calls.items():
        with pytest.raises(ClientError) as caught:
            call()
        code, status, message = error_of(caught)
        assert (code, status) == ("NotFoundException", 404), operation
        assert unknown_id in message, operation


def test_tags_of_a_deleted_app_are_not_found(pinpoint: Any) -> None:
    with new_app(pinpoint, "tags-deleted", tags={"k": "v"}) as deleted:
        pinpoint.delete_app(ApplicationId=deleted["Id"])

        with pytest.raises(ClientError) as caught:
            pinpoint.list_tags_for_resource(ResourceArn=deleted["Arn"])

        assert error_of(caught)[:2] == ("NotFoundException", 404)


@pytest.mark.parametrize(
    "malformed",
    [
        "not-an-arn",
        "arn:aws:s3:::my-bucket",
        "arn:aws:mobiletargeting:us-east-1:123456789012:campaigns/abc",
    ],
)
def test_malformed_arn_is_bad_request(pinpoint: Any, malformed: str) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.list_tags_for_resource(ResourceArn=malformed)

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "ResourceArn" in message


def test_arn_with_extra_path_segments_is_bad_request(pinpoint: Any, app: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.tag_resource(ResourceArn=f"{app['Arn']}/segments/x", TagsModel={"tags": {"k": "v"}})

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "ResourceArn" in message
    assert tags_of(pinpoint, app["Arn"]) == {"a": "1"}


@pytest.mark.parametrize(
    "tags",
    [
        {f"k{i}": "v" for i in range(50)},  # 51 with the app's own tag "a"
        {"aws:reserved": "x"},
        {"k": "v" * 257},
    ],
)
def test_invalid_tags_are_rejected_naming_tags_and_change_nothing(
    pinpoint: Any, app: dict[str, Any], tags: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as caught:
        pinpoint.tag_resource(ResourceArn=app["Arn"], TagsModel={"tags": tags})

    code, status, message = error_of(caught)
    assert (code, status) == ("BadRequestException", 400)
    assert "tags" in message
    assert tags_of(pinpoint, app["Arn"]) == {"a": "1"}


def test_execute_api_client_tags_the_same_way(pinpoint_execute_api: Any, app: dict[str, Any]) -> None:
    pinpoint_execute_api.tag_resource(ResourceArn=app["Arn"], TagsModel={"tags": {"via": "execute-api"}})

    assert tags_of(pinpoint_execute_api, app["Arn"]) == {"a": "1", "via": "execute-api"}

    pinpoint_execute_api.untag_resource(ResourceArn=app["Arn"], TagKeys=["a"])

    assert tags_of(pinpoint_execute_api, app["Arn"]) == {"via": "execute-api"}


def test_sixteen_concurrent_tag_resource_calls_keep_all_sixteen_tags(pinpoint: Any, app: dict[str, Any]) -> None:
    """Each call reads the app, adds one tag and writes it back: without a version check most were lost."""
    from concurrent.futures import ThreadPoolExecutor

    arn = app["Arn"]

    def tag(i: int) -> int:
        response = pinpoint.tag_resource(ResourceArn=arn, TagsModel={"tags": {f"k{i}": str(i)}})
        return int(response["ResponseMetadata"]["HTTPStatusCode"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(tag, range(16)))
    assert statuses == [204] * 16
    assert tags_of(pinpoint, arn) == {"a": "1", **{f"k{i}": str(i) for i in range(16)}}
