"""The embedded moto server that stands in for the AWS account in local mode.

moto runs in a thread of the local-mode process (ThreadedMotoServer) on a free loopback port,
so the deployer and the Lambda runner can also reach its backends in-process. ``MOTO_PORT`` is
set because moto's Step Functions interpreter calls back to ``localhost:$MOTO_PORT``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import boto3

REGION = "us-east-1"
# Credentials of the local-mode process itself (deployer, moto's Step Functions interpreter).
# moto does not check them; they keep a developer's real credentials out of every call.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoStack:
    """Start/stop moto and hand out boto3 clients pointed at it."""

    def __init__(self, region: str = REGION, host: str = "127.0.0.1", port: int = 0) -> None:
        self.region = region
        self._host = host
        self._port = port
        self._server: Any = None
        self.url = ""

    def start(self) -> str:
        """Start the server (port 0 = any free port) and return its URL."""
        # Imported here: `import moto` costs ~1 s and client.py/http tests must not pay it.
        from moto.server import ThreadedMotoServer

        from homing.local import cfn_shims, gateway_responses, moto_fixes

        gateway_responses.keep_method_integrations()
        cfn_shims.register()
        moto_fixes.copy_tables_once_per_transaction()
        moto_fixes.atomic_writes()
        moto_fixes.cache_service_folders()
        moto_fixes.index_queries()
        moto_fixes.serial_kinesis_shards()
        for key, value in FAKE_CREDENTIALS.items():
            os.environ[key] = value
        os.environ["AWS_DEFAULT_REGION"] = self.region
        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        os.environ["MOTO_PORT"] = str(port)
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str, config: Any = None) -> Any:
        """A boto3 client for ``service`` against moto (fake credentials, local region)."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            config=config,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def set_config(self, config: dict[str, Any]) -> None:
        """POST moto's runtime config (e.g. enable real Step Functions execution)."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/config",
            data=json.dumps(config).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
