"""Kinesis and Firehose adapters: the events stream (PutEvents) and each app's own event stream."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from homing.domain.events import external_id, partition_key
from homing.observability import logger

PUT_ATTEMPTS = 3
MAX_BATCH = 500  # PutRecords and PutRecordBatch take at most 500 records
MAX_BATCH_BYTES = 5 * 1024 * 1024 - 64 * 1024  # PutRecords takes at most 5 MiB (data + partition keys)


def _chunks(sizes: Sequence[int]) -> list[list[int]]:
    """Indexes grouped into PutRecords calls within both the record count and the byte limit."""
    chunks: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, size in enumerate(sizes):
        if current and (len(current) == MAX_BATCH or used + size > MAX_BATCH_BYTES):
            chunks.append(current)
            current, used = [], 0
        current.append(i)
        used += size
    if current:
        chunks.append(current)
    return chunks


class KinesisPublisher:
    """Puts records on the Homing events stream, retrying the records Kinesis reports as failed."""

    def __init__(self, stream_name: str, client: Any = None) -> None:
        self._stream, self._client = stream_name, client or boto3.client("kinesis")

    def publish(self, records: Sequence[tuple[str, bytes]]) -> list[bool]:
        stored = [False] * len(records)
        pending = list(range(len(records)))
        for attempt in range(PUT_ATTEMPTS):
            failed: list[int] = []
            sizes = [len(records[i][1]) + len(records[i][0].encode()) for i in pending]
            for positions in _chunks(sizes):
                chunk = [pending[p] for p in positions]
                response = self._client.put_records(
                    StreamName=self._stream,
                    Records=[{"PartitionKey": records[i][0], "Data": records[i][1]} for i in chunk],
                )
                for i, result in zip(chunk, response["Records"], strict=True):
                    if "ErrorCode" in result:
                        failed.append(i)
                    else:
                        stored[i] = True
            if not failed:
                break
            pending = failed
            time.sleep(0.05 * 2**attempt)
        return stored


class StreamForwarder:
    """Forwards records to the Kinesis stream or Firehose delivery stream an app configured
    (PutEventStream), with the role the customer gave. Delivery is at least once, as Pinpoint's was.

    A destination that cannot be reached is logged and skipped: it must never hold back analytics.
    """

    def __init__(
        self, lookup: Callable[[str], tuple[str, str] | None], session_factory: Callable[[], Any] = boto3.Session
    ) -> None:
        self._lookup, self._session_factory = lookup, session_factory
        self._clients: dict[tuple[str, str, str], tuple[float, Any]] = {}

    def forward(self, records: Sequence[tuple[str, dict[str, Any]]]) -> None:
        by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for app_id, record in records:
            by_app[app_id].append(record)
        for app_id, app_records in by_app.items():
            target = self._lookup(app_id)
            if target is None:
                continue
            arn, role = target
            try:
                self._send(app_id, arn, role, app_records)
            except Exception:  # the customer's stream or role is broken: report, never block
                logger.exception("event stream forwarding failed", extra={"application_id": app_id, "destination": arn})

    def _client(self, app_id: str, arn: str, role: str) -> Any:
        service = "firehose" if ":firehose:" in arn else "kinesis"
        cached = self._clients.get((app_id, arn, role))
        if cached and cached[0] > time.time():
            return cached[1]
        region = arn.split(":")[3]
        sts = self._session_factory().client("sts", region_name=region)
        creds = sts.assume_role(
            RoleArn=role,
            RoleSessionName="homing-event-stream",
            ExternalId=external_id(app_id),  # the role's trust policy binds it to this app
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        )
        client = session.client("firehose") if service == "firehose" else session.client("kinesis")
        self._clients[(app_id, arn, role)] = (time.time() + 45 * 60, client)
        return client

    def _send(self, app_id: str, arn: str, role: str, records: list[dict[str, Any]]) -> None:
        client = self._client(app_id, arn, role)
        name = arn.split("/", 1)[1]
        for start in range(0, len(records), MAX_BATCH):
            chunk = records[start : start + MAX_BATCH]
            data = [(json.dumps(r, separators=(",", ":")) + "\n").encode() for r in chunk]
            if ":firehose:" in arn:
                out = client.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in data])
                failed = out.get("FailedPutCount", 0)
            else:
                out = client.put_records(
                    StreamName=name,
                    Records=[
                        {"PartitionKey": partition_key(str(r["client"]["client_id"])), "Data": d}
                        for r, d in zip(chunk, data, strict=True)
                    ],
                )
                failed = out.get("FailedRecordCount", 0)
            if failed:
                logger.warning("event stream rejected records", extra={"destination": arn, "failed": failed})
