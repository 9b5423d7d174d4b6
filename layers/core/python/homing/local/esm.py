"""Event-source mappings run by local mode itself, the way Lambda's pollers run them in AWS.

moto invokes a Kinesis-mapped function synchronously, once per record, inside ``PutRecord(s)``:
no batching, no partial batch response, no bisecting, no retries, no on-failure destination,
and the producer waits for the consumer. ``take_over_kinesis_mappings`` stops that (the
mapping stays in moto's Lambda backend, so List/Get/Update/DeleteEventSourceMapping answer as
before) and ``EsmPoller`` polls every enabled Kinesis mapping instead: one in-order consumer per
shard (ParallelizationFactor 1), honouring BatchSize, MaximumBatchingWindowInSeconds,
StartingPosition, ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts,
MaximumRecordAgeInSeconds and the OnFailure destination (SQS or SNS).

The parts that do not depend on the source are shared with the SQS poller (sqs_esm.py):
``Invoke``, ``Mapping``, ``batch_failures``, and ``MappingPoller``, the one discovery and stop loop
(find the source's mappings through the Lambda API every second, start a consumer per shard or
queue, stop those of deleted, disabled or changed mappings, one row per consumer on the
``/_local/event-source-mappings`` page). ``EsmPoller`` is its Kinesis kind, ``SqsPoller`` its SQS one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

log = logging.getLogger("homing.local")

# (function ARN, event) -> (response payload, function errored): runs the real handler (runner.py).
Invoke = Callable[[str, dict[str, Any]], tuple[bytes, bool]]

POLL_SECONDS = 0.2  # an idle shard is read this often (AWS: about once a second per shard)
DISCOVER_SECONDS = 1.0  # new, changed and deleted mappings are picked up this often
FETCH_LIMIT = 10_000  # GetRecords maximum


@dataclass(frozen=True)
class Mapping:
    """The parts of an event-source mapping the poller acts on (as GetEventSourceMapping returns it)."""

    uuid: str
    function_arn: str
    source_arn: str
    batch_size: int = 100
    batching_window: float = 0.0
    starting_position: str = "TRIM_HORIZON"
    starting_timestamp: datetime | None = None
    report_item_failures: bool = False
    bisect: bool = False
    max_retries: int = -1  # -1: until the record expires
    max_record_age: int = -1  # seconds; -1: no limit
    on_failure: str = ""  # destination ARN

    @classmethod
    def from_api(cls, esm: dict[str, Any]) -> Mapping:
        destination = ((esm.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or ""
        timestamp = esm.get("StartingPositionTimestamp")
        if isinstance(timestamp, (int, float)):
            timestamp = datetime.fromtimestamp(timestamp, UTC)
        retries = esm.get("MaximumRetryAttempts")
        age = esm.get("MaximumRecordAgeInSeconds")
        return cls(
            uuid=esm["UUID"],
            function_arn=esm["FunctionArn"],
            source_arn=esm["EventSourceArn"],
            batch_size=int(esm.get("BatchSize") or 100),
            batching_window=float(esm.get("MaximumBatchingWindowInSeconds") or 0),
            starting_position=esm.get("StartingPosition") or "TRIM_HORIZON",
            starting_timestamp=timestamp if isinstance(timestamp, datetime) else None,
            report_item_failures="ReportBatchItemFailures" in (esm.get("FunctionResponseTypes") or []),
            bisect=bool(esm.get("BisectBatchOnFunctionError")),
            max_retries=-1 if retries is None else int(retries),
            max_record_age=-1 if age is None else int(age),
            on_failure=destination,
        )


def batch_failures(payload: bytes, errored: bool, identifiers: list[str], report_item_failures: bool) -> list[str]:
    """The identifiers (in batch order) Lambda treats as failed after one invocation.

    A function error fails the whole batch. With ReportBatchItemFailures, ``batchItemFailures``
    names the failed items; an answer Lambda cannot read (not JSON, an empty or unknown
    ``itemIdentifier``) also fails the whole batch. Without it, a normal return is success.
    """
    if errored:
        return list(identifiers)
    if not report_item_failures:
        return []
    text = payload.decode("utf-8", "replace").strip() if payload else ""
    if not text or text == "null":
        return []
    try:
        response = json.loads(text)
    except ValueError:
        return list(identifiers)
    if not isinstance(response, dict) or response.get("batchItemFailures") in (None, []):
        return []
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return list(identifiers)
    named: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in identifiers:
            return list(identifiers)
        named.add(identifier)
    return [i for i in identifiers if i in named]


class FailureDestinations:
    """Sends on-failure records to SQS queues or SNS topics (the destinations Kinesis mappings allow)."""

    def __init__(self, sqs: Any, sns: Any) -> None:
        self._sqs = sqs
        self._sns = sns
        self._queue_urls: dict[str, str] = {}

    def send(self, arn: str, record: dict[str, Any]) -> None:
        body = json.dumps(record)
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        if service == "sqs":
            url = self._queue_urls.get(arn)
            if url is None:
                account, name = arn.split(":")[4], arn.split(":")[5]
                url = self._queue_urls[arn] = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                    "QueueUrl"
                ]
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._sns.publish(TopicArn=arn, Message=body)
        else:
            log.warning("on-failure destination %s is not supported locally (SQS and SNS are)", arn)


@dataclass
class KinesisRecord:
    sequence: str
    partition_key: str
    data: bytes
    arrival: datetime


@dataclass
class ConsumerState:
    """What a consumer has done so far (the /_local pages show it)."""

    position: str = ""  # last checkpointed sequence number
    batches: int = 0
    records: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    discarded: int = 0  # records sent to the on-failure destination (or dropped without one)
    last_result: str = "No records processed"
    backlog: int = 0
    caught_up_at: float = 0.0  # epoch start of the last read that found nothing left to do


@dataclass
class _Batch:
    records: list[KinesisRecord]
    attempts: int = 0  # invocations of these records that failed (splits do not count, as in AWS)


class ShardConsumer:
    """Feeds one shard to one function, in order, one batch at a time (ParallelizationFactor 1)."""

    def __init__(
        self,
        mapping: Mapping,
        shard_id: str,
        kinesis: Any,
        invoke: Invoke,
        destinations: FailureDestinations,
        role_arn: str = "",
        retry_delay: float = 0.5,
        resume_after: str = "",
    ) -> None:
        self.mapping = mapping
        self._resume_after = resume_after
        self.shard_id = shard_id
        self.stream_name = mapping.source_arn.split(":", 5)[5].split("/", 1)[1]
        self._kinesis = kinesis
        self._invoke = invoke
        self._destinations = destinations
        self._role_arn = role_arn
        self._retry_delay = retry_delay
        self._iterator: str | None = None
        self._buffer: deque[KinesisRecord] = deque()
        self._first_buffered_at = 0.0
        self.state = ConsumerState(position=resume_after)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"esm-{shard_id}", daemon=True)

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.step()
            except Exception:  # moto stopping, a stream deleted under us: retry, never die
                log.debug("%s %s: poll failed", self.stream_name, self.shard_id, exc_info=True)
                busy = False
            if not busy:
                self._stop.wait(POLL_SECONDS)

    def checkpoint(self) -> str:
        """Where a new consumer of the same mapping and shard goes on from."""
        return self.state.position

    def row(self) -> dict[str, Any]:
        """This shard's columns on the event-source-mappings page."""
        state = self.state
        return {
            "ShardId": self.shard_id,
            "BatchSize": self.mapping.batch_size,
            "MaximumBatchingWindowInSeconds": self.mapping.batching_window,
            "Position": state.position,
            "Backlog": state.backlog,
            "Batches": state.batches,
            "RecordsProcessed": state.records,
            "Invocations": state.invocations,
            "FailedInvocations": state.failed_invocations,
            "RecordsDiscarded": state.discarded,
            "LastProcessingResult": state.last_result,
            "CaughtUpAt": state.caught_up_at,
        }

    # -- one step --------------------------------------------------------------------------
    def step(self) -> bool:
        """Read new records; invoke once if a batch is due. True if a batch was processed."""
        fetch_started = time.time()
        self._fetch()
        self.state.backlog = len(self._buffer)
        if not self._buffer:
            self.state.caught_up_at = fetch_started  # every record put before then is handled
            return False
        full = len(self._buffer) >= self.mapping.batch_size
        waited = time.monotonic() - self._first_buffered_at >= self.mapping.batching_window
        if not (full or waited):
            return False
        batch = [self._buffer.popleft() for _ in range(min(self.mapping.batch_size, len(self._buffer)))]
        if self._buffer:
            self._first_buffered_at = time.monotonic()
        self.process(batch)
        self.state.backlog = len(self._buffer)
        return True

    def _fetch(self) -> None:
        if self._iterator is None:
            self._iterator = self._initial_iterator()
        if len(self._buffer) >= self.mapping.batch_size:
            return
        response = self._kinesis.get_records(ShardIterator=self._iterator, Limit=FETCH_LIMIT)
        self._iterator = response.get("NextShardIterator") or self._iterator
        if response["Records"] and not self._buffer:
            self._first_buffered_at = time.monotonic()
        for raw in response["Records"]:
            arrival = raw.get("ApproximateArrivalTimestamp") or datetime.now(UTC)
            self._buffer.append(KinesisRecord(raw["SequenceNumber"], raw["PartitionKey"], raw["Data"], arrival))

    def _initial_iterator(self) -> str:
        kwargs: dict[str, Any] = {
            "StreamName": self.stream_name,  # moto's iterator forgets a StreamARN
            "ShardId": self.shard_id,
            "ShardIteratorType": self.mapping.starting_position,
        }
        if self._resume_after:  # a re-enabled or updated mapping goes on from its checkpoint, as in AWS
            kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            kwargs["StartingSequenceNumber"] = self._resume_after
        elif self.mapping.starting_position == "AT_TIMESTAMP":
            kwargs["Timestamp"] = self.mapping.starting_timestamp or datetime.now(UTC)
        return str(self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"])

    def process(self, records: list[KinesisRecord]) -> None:
        """Deliver ``records`` until each one succeeded or was discarded (retries, bisecting, age)."""
        self.state.batches += 1
        pending: deque[_Batch] = deque([_Batch(records)])
        while pending and not self._stop.is_set():
            batch = pending.popleft()
            expired = self._expired(batch.records)
            if expired:
                self._discard(_Batch(expired, batch.attempts), "RecordAgeExceeded", None)
                gone = {id(r) for r in expired}
                batch.records = [r for r in batch.records if id(r) not in gone]
                if not batch.records:
                    continue
            identifiers = [r.sequence for r in batch.records]
            request_id = str(uuid.uuid4())
            payload, errored = self._invoke(self.mapping.function_arn, self._event(batch.records))
            self.state.invocations += 1
            failed = batch_failures(payload, errored, identifiers, self.mapping.report_item_failures)
            if not failed:
                self._checkpoint(batch.records)
                self.state.last_result = "OK"
                continue
            self.state.failed_invocations += 1
            self.state.last_result = "PROBLEM: Function call failed"
            # Lambda resumes from the lowest failed sequence number: everything before it succeeded.
            first = identifiers.index(failed[0])
            self._checkpoint(batch.records[:first])
            remaining = batch.records[first:]
            response = {"statusCode": 200, "executedVersion": "$LATEST"}
            if errored:
                response["functionError"] = "Unhandled"
            max_retries = self.mapping.max_retries
            if max_retries >= 0 and batch.attempts >= max_retries:
                self._discard(_Batch(remaining, batch.attempts + 1), "RetryAttemptsExhausted", response, request_id)
            elif self.mapping.bisect and len(remaining) > 1:
                half = len(remaining) // 2
                pending.extendleft([_Batch(remaining[half:], batch.attempts), _Batch(remaining[:half], batch.attempts)])
            else:
                pending.appendleft(_Batch(remaining, batch.attempts + 1))
                self._stop.wait(self._retry_delay)
        if pending:  # stopped mid-way: the records are not checkpointed, as in AWS after a shutdown
            log.debug("%s %s: stopped with %d batches pending", self.stream_name, self.shard_id, len(pending))

    def _expired(self, records: list[KinesisRecord]) -> list[KinesisRecord]:
        if self.mapping.max_record_age < 0:
            return []
        oldest = datetime.now(UTC).timestamp() - self.mapping.max_record_age
        return [r for r in records if r.arrival.timestamp() < oldest]

    def _checkpoint(self, records: list[KinesisRecord], processed: bool = True) -> None:
        if records:
            self.state.position = records[-1].sequence
            if processed:
                self.state.records += len(records)

    def _discard(
        self, batch: _Batch, condition: str, response: dict[str, Any] | None, request_id: str | None = None
    ) -> None:
        """Skip ``batch`` for good, telling the on-failure destination which range was lost."""
        records = batch.records
        self.state.discarded += len(records)
        self._checkpoint(records, processed=False)
        log.warning(
            "%s %s: %d records discarded (%s)%s",
            self.stream_name,
            self.shard_id,
            len(records),
            condition,
            "" if self.mapping.on_failure else "; no on-failure destination",
        )
        if not self.mapping.on_failure:
            return
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": request_id or str(uuid.uuid4()),
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.attempts,
            },
            "version": "1.0",
            "timestamp": _iso(datetime.now(UTC)),
            "KinesisBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": records[0].sequence,
                "endSequenceNumber": records[-1].sequence,
                "approximateArrivalOfFirstRecord": _iso(records[0].arrival),
                "approximateArrivalOfLastRecord": _iso(records[-1].arrival),
                "batchSize": len(records),
                "streamArn": self.mapping.source_arn,
            },
        }
        if response is not None:
            record["responseContext"] = response
        try:
            self._destinations.send(self.mapping.on_failure, record)
        except Exception:
            log.warning("could not send to on-failure destination %s", self.mapping.on_failure, exc_info=True)

    def _event(self, records: list[KinesisRecord]) -> dict[str, Any]:
        region = self.mapping.source_arn.split(":")[3]
        return {
            "Records": [
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": r.partition_key,
                        "sequenceNumber": r.sequence,
                        "data": base64.b64encode(r.data).decode(),
                        "approximateArrivalTimestamp": r.arrival.timestamp(),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{self.shard_id}:{r.sequence}",
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": self._role_arn,
                    "awsRegion": region,
                    "eventSourceARN": self.mapping.source_arn,
                }
                for r in records
            ]
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Consumer(Protocol):
    """One thread feeding one part of a mapping's source (a shard, a queue) to its function."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def checkpoint(self) -> str: ...  # where a new consumer of the same part goes on from ("": nothing kept)

    def row(self) -> dict[str, Any]: ...  # its columns on the event-source-mappings page


@dataclass
class _Running:
    mapping: Mapping
    consumers: dict[str, Consumer] = field(default_factory=dict)


class MappingPoller:
    """Finds the enabled mappings of one source (``source``: the service in the source ARN) through the
    Lambda API and runs a consumer per part of each; the discovery and stop loop every source shares."""

    source: ClassVar[str]

    def __init__(self, lambda_client: Any, batching_window_cap: float | None = None) -> None:
        self._lambda = lambda_client
        self._window_cap = batching_window_cap
        self._running: dict[str, _Running] = {}
        self._positions: dict[tuple[str, str], str] = {}  # (mapping UUID, part) -> checkpoint
        self._disabled: list[Mapping] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{self.source}-esm-discovery", daemon=True)

    # -- what a source provides --------------------------------------------------------------
    def _parts(self, mapping: Mapping) -> list[str]:
        """The parts of the mapping's source to consume (shard ids, a queue URL); [] if it is gone."""
        raise NotImplementedError

    def _consumer(self, mapping: Mapping, part: str, resume_after: str) -> Consumer:
        raise NotImplementedError

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.discover()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for entry in running:
            for consumer in entry.consumers.values():
                consumer.stop()

    def _run(self) -> None:
        while not self._stop.wait(DISCOVER_SECONDS):
            try:
                self.discover()
            except Exception:
                log.debug("%s event-source mapping discovery failed", self.source, exc_info=True)

    def discover(self) -> None:
        """Start consumers for new mappings and parts; stop those of deleted, disabled or changed ones."""
        found: dict[str, Mapping] = {}
        disabled: list[Mapping] = []
        for page in self._lambda.get_paginator("list_event_source_mappings").paginate():
            for esm in page["EventSourceMappings"]:
                if esm.get("EventSourceArn", "").split(":")[2:3] != [self.source]:
                    continue
                if esm.get("State") != "Enabled":
                    disabled.append(Mapping.from_api(esm))
                else:
                    mapping = Mapping.from_api(esm)
                    if self._window_cap is not None and mapping.batching_window > self._window_cap:
                        mapping = replace(mapping, batching_window=self._window_cap)
                    found[esm["UUID"]] = mapping
        with self._lock:
            self._disabled = disabled
            for key in [k for k, r in self._running.items() if found.get(k) != r.mapping]:
                for part, consumer in self._running.pop(key).consumers.items():
                    consumer.stop()
                    if consumer.checkpoint():
                        self._positions[(key, part)] = consumer.checkpoint()
            for key, mapping in found.items():
                entry = self._running.setdefault(key, _Running(mapping))
                for part in self._parts(mapping):
                    if part not in entry.consumers:
                        consumer = self._consumer(mapping, part, self._positions.get((key, part), ""))
                        entry.consumers[part] = consumer
                        consumer.start()

    def states(self) -> list[dict[str, Any]]:
        """One row per (mapping, part), then one per disabled mapping: what the /_local pages show."""
        with self._lock:
            entries = list(self._running.values())
            disabled = list(self._disabled)
        rows: list[dict[str, Any]] = []
        for entry in entries:
            for _, consumer in sorted(entry.consumers.items()):
                mapping = entry.mapping
                head = {"UUID": mapping.uuid, "FunctionArn": mapping.function_arn, "EventSourceArn": mapping.source_arn}
                rows.append({**head, **consumer.row(), "State": "Enabled"})
        for mapping in disabled:
            rows.append(
                {
                    "UUID": mapping.uuid,
                    "FunctionArn": mapping.function_arn,
                    "EventSourceArn": mapping.source_arn,
                    "State": "Disabled",
                }
            )
        return rows


class EsmPoller(MappingPoller):
    """The Kinesis mappings: one in-order consumer per shard."""

    source = "kinesis"

    def __init__(
        self,
        lambda_client: Any,
        kinesis: Any,
        invoke: Invoke,
        destinations: FailureDestinations,
        retry_delay: float = 0.5,
        batching_window_cap: float | None = None,
    ) -> None:
        super().__init__(lambda_client, batching_window_cap)
        self._kinesis = kinesis
        self._invoke = invoke
        self._destinations = destinations
        self._retry_delay = retry_delay
        self._roles: dict[str, str] = {}

    def _parts(self, mapping: Mapping) -> list[str]:
        with contextlib.suppress(self._kinesis.exceptions.ResourceNotFoundException):
            shards = self._kinesis.list_shards(StreamName=mapping.source_arn.split("/", 1)[1])["Shards"]
            return [shard["ShardId"] for shard in shards]
        return []

    def _consumer(self, mapping: Mapping, part: str, resume_after: str) -> Consumer:
        role = self._role(mapping.function_arn)
        return ShardConsumer(
            mapping, part, self._kinesis, self._invoke, self._destinations, role, self._retry_delay, resume_after
        )

    def _role(self, function_arn: str) -> str:
        if function_arn not in self._roles:
            try:
                configuration = self._lambda.get_function_configuration(FunctionName=function_arn)
                self._roles[function_arn] = str(configuration.get("Role", ""))
            except Exception:
                return ""
        return self._roles[function_arn]


def take_over_kinesis_mappings() -> None:
    """Stop moto from invoking Kinesis-mapped functions inside PutRecord(s); ``EsmPoller`` does it.

    moto's ``create_event_source_mapping`` registers a Kinesis mapping on the stream object,
    whose ``put_record`` then invokes the function per record. We keep the mapping in the
    Lambda backend (the API still sees it) and take it off the stream. Idempotent.
    """
    from moto.awslambda.models import LambdaBackend
    from moto.kinesis.models import kinesis_backends

    original = LambdaBackend.create_event_source_mapping
    if getattr(original, "_homing_local", False):
        return

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = original(self, spec)
        if esm.event_source_arn.split(":")[2] == "kinesis":
            for stream in kinesis_backends[self.account_id][self.region_name].streams.values():
                if stream.arn == esm.event_source_arn:
                    stream.lambda_event_source_mappings.pop(esm.event_source_arn, None)
        return esm

    create_event_source_mapping._homing_local = True  # type: ignore[attr-defined]
    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def start_poller(moto: Any, invoke: Invoke, batching_window_cap: float | None = None) -> EsmPoller:
    """Local mode's hook: poll every Kinesis mapping deployed into ``moto`` (a MotoStack)."""
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3})
    destinations = FailureDestinations(moto.client("sqs", config), moto.client("sns", config))
    poller = EsmPoller(
        moto.client("lambda", config),
        moto.client("kinesis", config),
        invoke,
        destinations,
        batching_window_cap=batching_window_cap,
    )
    poller.start()
    return poller
