"""``/_local/...``: pages where a developer reads what local mode's asynchronous machinery did.

A WSGI middleware in front of the local API: ``/_local`` and below are answered here (no SigV4:
they exist only locally and show no message bodies or addresses), everything else goes to the
API unchanged. Each page is JSON by default and a plain HTML table with ``?format=html`` or a
browser's ``Accept: text/html``. Pages are registered as callables returning rows, so each part
(event-source mappings, queues, schedules, executions) adds its own without touching this file.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

PREFIX = "/_local"


@dataclass
class Page:
    name: str
    title: str
    rows: Callable[[], list[dict[str, Any]]]


# A POST action: JSON body -> JSON answer (e.g. advancing the local clock).
Action = Callable[[dict[str, Any]], dict[str, Any]]


class LocalPages:
    """Serves the registered pages and actions; passes other requests to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.pages: dict[str, Page] = {}
        self.actions: dict[str, Action] = {}

    def add_page(self, name: str, title: str, rows: Callable[[], list[dict[str, Any]]]) -> None:
        self.pages[name] = Page(name, title, rows)

    def add_action(self, name: str, action: Action) -> None:
        self.actions[name] = action

    def urls(self, base: str) -> list[str]:
        return [f"{base}{PREFIX}/{name}" for name in self.pages]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.app(environ, start_response)
        status, content_type, body = self.handle(environ)
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def handle(self, environ: dict[str, Any]) -> tuple[str, str, bytes]:
        name = environ.get("PATH_INFO", "")[len(PREFIX) :].strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        wants_html = query.get("format", [""])[0] == "html" or (
            "format" not in query and "text/html" in environ.get("HTTP_ACCEPT", "")
        )
        if method == "POST" and name in self.actions:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
                if not isinstance(request, dict):
                    raise ValueError("the body must be a JSON object")
                return _json("200 OK", self.actions[name](request))
            except (ValueError, KeyError, TypeError) as error:
                return _json("400 Bad Request", {"Message": str(error)})
        if method != "GET":
            return _json("405 Method Not Allowed", {"Message": f"{method} is not allowed here"})
        if not name:
            index = [{"Page": f"{PREFIX}/{p.name}", "Shows": p.title} for p in self.pages.values()]
            index += [{"Page": f"{PREFIX}/{a}", "Shows": "POST action"} for a in self.actions]
            return _html("Homing local mode", index) if wants_html else _json("200 OK", {"Pages": index})
        page = self.pages.get(name)
        if page is None:
            return _json("404 Not Found", {"Message": f"no local page {name!r}; see {PREFIX}"})
        rows = page.rows()
        return _html(page.title, rows) if wants_html else _json("200 OK", {"Items": rows})


def _json(status: str, document: dict[str, Any]) -> tuple[str, str, bytes]:
    return status, "application/json", json.dumps(document, default=str, indent=1).encode()


def _html(title: str, rows: list[dict[str, Any]]) -> tuple[str, str, bytes]:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p><a href='{PREFIX}?format=html'>all pages</a></p>"
        f"<table><tr>{head}</tr>{body}</table>{'' if rows else '<p>(none)</p>'}</body></html>"
    )
    return "200 OK", "text/html; charset=utf-8", document.encode()


def _cell(value: Any) -> str:
    if isinstance(value, str) and value.startswith(PREFIX):
        return f"<a href='{html.escape(value)}?format=html'>{html.escape(value)}</a>"
    if isinstance(value, (dict, list)):
        return f"<code>{html.escape(json.dumps(value, default=str))}</code>"
    return html.escape("" if value is None else str(value))


def queue_depths(sqs: Any) -> Callable[[], list[dict[str, Any]]]:
    """The ``queues`` page: every SQS queue in moto with its message counts (dead-letter queues included)."""

    def rows() -> list[dict[str, Any]]:
        out = []
        for url in sqs.list_queues().get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            out.append(
                {
                    "Queue": url.rsplit("/", 1)[-1],
                    "Visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                    "InFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    "Delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                    "RedrivePolicy": json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None,
                }
            )
        return out

    return rows


def recent_executions(sfn: Any, limit: int = 20) -> Callable[[], list[dict[str, Any]]]:
    """The ``executions`` page: the latest Step Functions executions and the states each went through."""

    def rows() -> list[dict[str, Any]]:
        executions: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                listed = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], maxResults=limit)
                executions += listed["executions"]
        executions.sort(key=lambda e: e["startDate"], reverse=True)
        out = []
        for execution in executions[:limit]:
            events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            steps = [
                f"{event['type'].removesuffix('StateEntered')} {event['stateEnteredEventDetails']['name']}"
                for event in events
                if "stateEnteredEventDetails" in event
            ]
            failures = [
                event.get("executionFailedEventDetails") or event.get("taskFailedEventDetails")
                for event in events
                if event["type"] in ("ExecutionFailed", "TaskFailed", "LambdaFunctionFailed")
            ]
            out.append(
                {
                    "ExecutionArn": execution["executionArn"],  # moto names unnamed executions "None"
                    "Status": execution["status"],
                    "Started": execution["startDate"],
                    "Stopped": execution.get("stopDate"),
                    "Steps": steps,
                    "Errors": [f.get("error") for f in failures if f],
                }
            )
        return out

    return rows
