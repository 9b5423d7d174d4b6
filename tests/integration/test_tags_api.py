"""TagResource / UntagResource / ListTagsForResource."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.conftest import tags_path
from tests.integration.test_apps_api import create


def test_tag_list_untag_round_trip(call: Any) -> None:
    app = create(call, tags={"a": "1"})
    path = tags_path(app["Arn"])
    assert call("GET", path).body == {"tags": {"a": "1"}}
    assert call("POST", path, {"tags": {"b": "2", "a": "one"}}).status == 204
    assert call("GET", path).body == {"tags": {"a": "one", "b": "2"}}
    r = call("DELETE", path, query={"tagKeys": ["a", "missing"]})
    assert r.status == 204
    assert call("GET", path).body == {"tags": {"b": "2"}}
    assert call("GET", f"/v1/apps/{app['Id']}").body["tags"] == {"b": "2"}


def test_only_the_sdk_encoding_of_the_arn_is_accepted(call: Any) -> None:
    """One spelling per resource (docs/decisions.md): a decoded or half-encoded ARN is refused, not routed."""
    app = create(call, tags={"a": "1"})
    assert call("GET", tags_path(app["Arn"])).body == {"tags": {"a": "1"}}
    # ":" unencoded is not the SDK's spelling (400); a real "/" makes it a path with no route (404).
    for spelling, status in (("/v1/tags/" + app["Arn"], 400), ("/v1/tags/" + quote(app["Arn"], safe="/"), 404)):
        assert call("GET", spelling).status == status
        assert call("POST", spelling, {"tags": {"b": "2"}}).status == status
    assert call("GET", tags_path(app["Arn"])).body == {"tags": {"a": "1"}}


def test_tag_errors(call: Any) -> None:
    app = create(call)
    path = tags_path(app["Arn"])
    r = call("POST", path, {"tags": {f"k{i}": "v" for i in range(51)}})
    assert (r.status, r.error_type) == (400, "BadRequestException")
    assert call("GET", path).body == {"tags": {}}
    assert call("POST", path, {}).status == 400
    assert call("DELETE", path).status == 400
    assert call("GET", tags_path("arn:aws:s3:::bucket")).error_type == "BadRequestException"
    unknown = app["Arn"].replace(app["Id"], "0" * 32)
    assert call("GET", tags_path(unknown)).error_type == "NotFoundException"
