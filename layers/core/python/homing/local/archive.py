"""Stand-in for Firehose delivery streams that read a Kinesis stream and write to S3.

moto's Firehose cannot use a Kinesis stream as its source (and moto's CloudFormation cannot create
the resource, so the deployer strips it). Local mode reads each such
``AWS::KinesisFirehose::DeliveryStream`` from the synthesized template instead, and a background
thread does its job: every ``flush_seconds`` (and once more on stop) it reads the new records of
every shard of the source stream, with its own position per shard (independent of the Lambda
event-source mapping), and writes them to the destination bucket as Firehose would:

- key ``<Prefix evaluated><name>-1-<yyyy-MM-dd-HH-mm-ss>-<uuid><.gz>``; ``!{timestamp:...}`` is
  the arrival time (UTC, or CustomTimeZone) of the oldest record in the object;
- body: the records' data concatenated (no separator added), GZIP-compressed if configured;
- an object holds at most ``BufferingHints.SizeInMBs``. ``IntervalInSeconds`` (up to 900 s in
  AWS) is shortened to ``flush_seconds`` so a developer sees the archive grow right away.

Delivery is at least once, like Firehose's: a failed write is retried from the same records.
Bucket encryption is left to the bucket's default. No product logic lives here.
"""

from __future__ import annotations

import gzip
import logging
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("homing.local")

FIREHOSE_TYPE = "AWS::KinesisFirehose::DeliveryStream"
FLUSH_SECONDS = 2.0
DEFAULT_TIME_PREFIX = "!{timestamp:yyyy/MM/dd/HH/}"  # what Firehose adds to a prefix without expressions
DEFAULT_SIZE_MB = 5
DEFAULT_INTERVAL_SECONDS = 300
EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}
_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
_JAVA_RUN = re.compile(r"([A-Za-z])\1*")  # a run of one pattern letter: yyyy, MM, dd, ...
_JAVA_FIELDS = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_RANDOM_ALPHABET = string.ascii_letters + string.digits


def java_time(pattern: str, at: datetime) -> str:
    """Format ``at`` with the subset of Java DateTimeFormatter patterns Firehose prefixes use."""

    def field(match: re.Match[str]) -> str:
        run = match.group(0)
        if run not in _JAVA_FIELDS:
            raise ValueError(f"timestamp pattern {run!r} is not supported locally")
        return at.strftime(_JAVA_FIELDS[run])

    return _JAVA_RUN.sub(field, pattern)


def expand_prefix(prefix: str, at: datetime) -> str:
    """Evaluate a Firehose S3 prefix at ``at`` (already in the stream's time zone)."""
    if not _EXPRESSION.search(prefix):
        prefix += DEFAULT_TIME_PREFIX

    def expression(match: re.Match[str]) -> str:
        namespace, value = match.groups()
        if namespace == "timestamp":
            return java_time(value, at)
        if namespace == "firehose" and value == "random-string":
            return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(11))
        raise ValueError(f"prefix expression !{{{namespace}:{value}}} is not supported locally")

    return _EXPRESSION.sub(expression, prefix)


@dataclass(frozen=True)
class StreamRecord:
    """One record read from the source stream."""

    arrival: datetime  # ApproximateArrivalTimestamp, timezone-aware
    data: bytes


def batches(records: Sequence[StreamRecord], max_bytes: int) -> list[list[StreamRecord]]:
    """Split records (kept in order) into objects of at most ``max_bytes`` of data each.

    A record is never split; one larger than ``max_bytes`` becomes an object of its own.
    """
    out: list[list[StreamRecord]] = []
    size = 0
    for record in records:
        if out and size + len(record.data) <= max_bytes:
            out[-1].append(record)
            size += len(record.data)
        else:
            out.append([record])
            size = len(record.data)
    return out


@dataclass(frozen=True)
class DeliveryStream:
    """What the emulator needs from one delivery stream's definition (names already resolved)."""

    name: str
    source_stream: str
    bucket: str
    prefix: str
    compression: str = "UNCOMPRESSED"
    max_bytes: int = DEFAULT_SIZE_MB * 1024 * 1024
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    time_zone: str = "UTC"
    file_extension: str | None = None

    def object_key(self, oldest_arrival: datetime, unique: str | None = None) -> str:
        at = oldest_arrival.astimezone(UTC if self.time_zone == "UTC" else ZoneInfo(self.time_zone))
        extension = self.file_extension if self.file_extension is not None else EXTENSIONS[self.compression]
        stamp = at.strftime("%Y-%m-%d-%H-%M-%S")
        return f"{expand_prefix(self.prefix, at)}{self.name}-1-{stamp}-{unique or uuid.uuid4()}{extension}"

    def body(self, records: Iterable[StreamRecord]) -> bytes:
        data = b"".join(r.data for r in records)
        return gzip.compress(data) if self.compression == "GZIP" else data


def _name(value: str) -> str:
    """Resource name from an ARN (``arn:aws:s3:::b`` -> b, ``...:stream/s`` -> s), or the name as is."""
    if not value.startswith("arn:"):
        return value
    return value.split(":", 5)[5].split("/", 1)[-1]


Resolve = Callable[[Any], str]


def resolver(physical_ids: dict[str, str], exports: dict[str, str]) -> Resolve:
    """Resolve the intrinsics a delivery stream's names use: literal, Ref, GetAtt, ImportValue.

    ``GetAtt X.Arn`` resolves to X's physical id: for buckets and streams the name, which is all
    the emulator needs.
    """

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::ImportValue" and arg in exports:
                return exports[arg]
            if key == "Ref" and arg in physical_ids:
                return physical_ids[arg]
            if key == "Fn::GetAtt":
                target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
                if target in physical_ids:
                    return physical_ids[target]
        raise ValueError(f"cannot resolve {value!r} locally")

    return resolve


def delivery_streams(stack_name: str, template: dict[str, Any], resolve: Resolve) -> list[DeliveryStream]:
    """The Kinesis-to-S3 delivery streams of a (synthesized, unprepared) template."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != FIREHOSE_TYPE:
            continue
        props = resource.get("Properties", {})
        destination = props.get("ExtendedS3DestinationConfiguration") or props.get("S3DestinationConfiguration")
        source = props.get("KinesisStreamSourceConfiguration")
        if props.get("DeliveryStreamType") != "KinesisStreamAsSource" or not source or not destination:
            log.warning("%s/%s: only Kinesis-to-S3 delivery streams are emulated locally", stack_name, logical_id)
            continue
        hints = destination.get("BufferingHints") or {}
        try:
            stream = DeliveryStream(
                name=props.get("DeliveryStreamName") or f"{stack_name}-{logical_id}",
                source_stream=_name(resolve(source["KinesisStreamARN"])),
                bucket=_name(resolve(destination["BucketARN"])),
                prefix=destination.get("Prefix") or "",
                compression=destination.get("CompressionFormat") or "UNCOMPRESSED",
                max_bytes=int(hints.get("SizeInMBs", DEFAULT_SIZE_MB)) * 1024 * 1024,
                interval_seconds=int(hints.get("IntervalInSeconds", DEFAULT_INTERVAL_SECONDS)),
                time_zone=destination.get("CustomTimeZone") or "UTC",
                file_extension=destination.get("FileExtension"),
            )
            if stream.compression not in EXTENSIONS:
                raise ValueError(f"CompressionFormat {stream.compression} is not supported locally")
            expand_prefix(stream.prefix, datetime.now(UTC))  # unsupported expressions fail now, not later
        except ValueError as error:
            log.warning("%s/%s: not emulated: %s", stack_name, logical_id, error)
            continue
        found.append(stream)
    return found


class ArchiveEmulator:
    """Polls the source streams and writes objects; ``start`` / ``stop`` (which flushes)."""

    def __init__(
        self, streams: Sequence[DeliveryStream], kinesis: Any, s3: Any, flush_seconds: float = FLUSH_SECONDS
    ) -> None:
        self.streams = list(streams)
        self.flush_seconds = flush_seconds
        self._kinesis, self._s3 = kinesis, s3
        self._positions: dict[tuple[str, str], str] = {}  # (delivery stream, shard id) -> last sequence read
        self._lock = threading.Lock()  # the poller and the final flush never overlap
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.streams and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="homing-local-archive", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling, then deliver what is still on the streams."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.flush()
        except Exception as error:  # shutting down: report, never block the rest of the stop
            log.warning("event archive: final flush failed: %s", error)

    def _run(self) -> None:
        while not self._stopping.wait(self.flush_seconds):
            try:
                self.flush()
            except Exception as error:  # moto busy or restarting: the same records are retried next time
                log.warning("event archive: delivery failed, retrying: %s", error)

    def flush(self) -> int:
        """Deliver every record that arrived since the last flush; returns the number of objects written."""
        written = 0
        with self._lock:
            for stream in self.streams:
                records, positions = self._read(stream)
                for batch in batches(records, stream.max_bytes):
                    key = stream.object_key(batch[0].arrival)
                    self._s3.put_object(Bucket=stream.bucket, Key=key, Body=stream.body(batch))
                    written += 1
                self._positions.update(positions)  # only once written: a failure re-reads the same records
        return written

    def _read(self, stream: DeliveryStream) -> tuple[list[StreamRecord], dict[tuple[str, str], str]]:
        records: list[StreamRecord] = []
        positions: dict[tuple[str, str], str] = {}
        for page in self._kinesis.get_paginator("list_shards").paginate(StreamName=stream.source_stream):
            for shard in page["Shards"]:
                position = (stream.name, shard["ShardId"])
                last = self._positions.get(position)
                where = (
                    {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": last}
                    if last
                    else {"ShardIteratorType": "TRIM_HORIZON"}
                )
                iterator = self._kinesis.get_shard_iterator(
                    StreamName=stream.source_stream, ShardId=shard["ShardId"], **where
                )["ShardIterator"]
                while iterator:
                    out = self._kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                    if not out["Records"]:
                        break
                    for r in out["Records"]:
                        records.append(StreamRecord(r["ApproximateArrivalTimestamp"].astimezone(UTC), r["Data"]))
                    positions[position] = out["Records"][-1]["SequenceNumber"]
                    iterator = out.get("NextShardIterator")
        records.sort(key=lambda r: r.arrival)  # stable: a shard's records keep their order
        return records, positions


def from_deployment(stacks: Iterable[Any], cloudformation: Any, kinesis: Any, s3: Any) -> ArchiveEmulator:
    """An emulator for every Kinesis-to-S3 delivery stream of the deployed stacks (``DeployedStack``s)."""
    exports: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_exports").paginate():
        exports.update({e["Name"]: e["Value"] for e in page.get("Exports", [])})
    streams: list[DeliveryStream] = []
    for stack in stacks:
        streams += delivery_streams(stack.name, stack.source_template, resolver(stack.physical_ids, exports))
    return ArchiveEmulator(streams, kinesis, s3)
