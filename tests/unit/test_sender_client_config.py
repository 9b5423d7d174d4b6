"""Senders' boto3 clients make exactly one attempt per call: a lost answer is never sent again by botocore.

A 500 is retryable in botocore's standard mode, so a server that always answers 500 counts the
attempts a client makes; SES has no idempotency token, so a second attempt could deliver twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.exceptions import ClientError

from homing.adapters.senders.common import CLIENT_CONFIG


@pytest.fixture
def failing_server() -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []

    class Always500(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            calls.append(self.path)
            body = b'{"message": "boom"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Always500)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()


def test_a_failed_send_is_attempted_once(failing_server: tuple[str, list[str]]) -> None:
    url, calls = failing_server
    ses = boto3.client(
        "sesv2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=CLIENT_CONFIG,
    )
    with pytest.raises(ClientError):
        ses.send_email(
            FromEmailAddress="a@example.com",
            Destination={"ToAddresses": ["b@example.com"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
        )
    assert len(calls) == 1
