"""The /_local pages middleware: routing, JSON and HTML, POST actions, pass-through to the API."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from homing.local.pages import LocalPages


def api(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("202 Accepted", [("Content-Type", "application/json")])
    return [b'{"api": true}']


def call(
    pages: LocalPages, path: str, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[str, str, bytes]:
    path, _, query = path.partition("?")
    environ = {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{f"HTTP_{k.upper()}": v for k, v in (headers or {}).items()},
    }
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(response_headers)

    data = b"".join(pages(environ, start_response))
    return seen["status"], seen["headers"].get("Content-Type", ""), data


def pages() -> LocalPages:
    local = LocalPages(api)
    local.add_page("things", "Things", lambda: [{"Name": "a", "Count": 1, "Link": "/_local/other"}])
    local.add_action("clock", lambda request: {"advanced": request["advance_seconds"]})
    return local


def test_other_paths_go_to_the_api() -> None:
    assert call(pages(), "/v1/apps")[0] == "202 Accepted"
    assert call(pages(), "/_localish")[0] == "202 Accepted"


def test_a_page_is_json_by_default_and_html_on_request() -> None:
    status, content_type, body = call(pages(), "/_local/things")
    assert (status, content_type) == ("200 OK", "application/json")
    assert json.loads(body) == {"Items": [{"Name": "a", "Count": 1, "Link": "/_local/other"}]}

    cases: list[tuple[str, dict[str, str]]] = [
        ("/_local/things?format=html", {}),
        ("/_local/things", {"accept": "text/html"}),
    ]
    for path, headers in cases:
        status, content_type, body = call(pages(), path, headers=headers)
        assert content_type.startswith("text/html")
        assert b"<th>Count</th>" in body
        assert b"<td>1</td>" in body
        assert b"href='/_local/other?format=html'" in body


def test_the_index_lists_pages_and_actions() -> None:
    body = json.loads(call(pages(), "/_local")[2])

    assert body["Pages"] == [
        {"Page": "/_local/things", "Shows": "Things"},
        {"Page": "/_local/clock", "Shows": "POST action"},
    ]


def test_actions_take_a_json_object() -> None:
    assert json.loads(call(pages(), "/_local/clock", "POST", b'{"advance_seconds": 5}')[2]) == {"advanced": 5}
    assert call(pages(), "/_local/clock", "POST", b"[1]")[0] == "400 Bad Request"
    assert call(pages(), "/_local/clock", "POST", b"{}")[0] == "400 Bad Request"  # KeyError in the action
    assert call(pages(), "/_local/things", "DELETE")[0] == "405 Method Not Allowed"


def test_an_unknown_page_is_not_found() -> None:
    status, _, body = call(pages(), "/_local/nope")

    assert status == "404 Not Found"
    assert "nope" in json.loads(body)["Message"]


def test_the_event_source_mappings_page_shows_the_kinesis_and_the_sqs_pollers() -> None:
    from types import SimpleNamespace

    from homing.local.__main__ import local_pages

    kinesis = SimpleNamespace(states=lambda: [{"UUID": "k", "ShardId": "shardId-0", "State": "Enabled"}])
    sqs = SimpleNamespace(states=lambda: [{"UUID": "q", "QueueUrl": "http://x/q", "State": "Enabled"}])

    def none(*args: Any) -> list[Any]:
        return []

    scheduler = SimpleNamespace(schedule_rows=none, history_rows=none, clock_rows=none, clock_action=none)
    local = local_pages(api, SimpleNamespace(client=lambda name: None), [kinesis, sqs], scheduler)

    status, _, body = call(local, "/_local/event-source-mappings")

    assert status == "200 OK"
    assert [row["UUID"] for row in json.loads(body)["Items"]] == ["k", "q"]
