"""SQS event-source mappings run by local mode, the way Lambda's SQS pollers run them in AWS.

moto delivers to an SQS-mapped function synchronously inside ``SendMessage``: the sender waits for
the consumer (DeleteApp would run the whole clean-up in the API request, and a function that sends
its own continuation recurses until the worker pool is exhausted), a message sent with
``DelaySeconds`` is never delivered (nothing polls later), a failed batch is made visible again at
once, and ``batchItemFailures`` is ignored.

``take_over_sqs_mappings`` stops that: moto's queues no longer see their mappings (the mappings
stay in moto's Lambda backend, so List/Get/Update/DeleteEventSourceMapping answer as before).
``SqsPoller`` polls every enabled SQS mapping instead, through moto's own SQS API, so delays,
visibility timeouts and the redrive policy (a message received ``maxReceiveCount`` times moves to
the dead-letter queue) are moto's: it receives up to ``BatchSize`` messages (at most 10), invokes
the function with an SQS batch event, and then deletes every message on success, all but the
reported ``batchItemFailures`` with ReportBatchItemFailures, or none if the function failed (they
come back after the visibility timeout, as in AWS).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from homing.local.esm import Invoke, batch_failures  # the same reading of a partial batch response as Kinesis'

log = logging.getLogger("homing.local")

# (function ARN, event) -> (response payload, function errored): runs the real handler (runner.py).

WAIT_SECONDS = 1  # long poll per ReceiveMessage (AWS's pollers use 20 s)
DISCOVER_SECONDS = 1.0  # new and deleted mappings are picked up this often
MAX_BATCH = 10  # ReceiveMessage returns at most 10 messages


def take_over_sqs_mappings() -> None:
    """moto's queues forget their Lambda mappings: SendMessage no longer invokes anything."""
    from moto.sqs.models import Queue

    if isinstance(getattr(Queue, "lambda_event_source_mappings", None), property):
        return

    def _get(self: Any) -> dict[str, Any]:
        return {}  # nothing for add_message to deliver to; the poller delivers instead

    def _set(self: Any, value: Any) -> None:
        pass

    Queue.lambda_event_source_mappings = property(_get, _set)  # type: ignore[assignment]


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller sends, from ReceiveMessage's messages."""
    region = queue_arn.split(":")[3]
    records = []
    for m in messages:
        attributes = dict(m.get("Attributes") or {})
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value.get("DataType"),
            }
            for name, value in (m.get("MessageAttributes") or {}).items()
        }
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class SqsPoller:
    """One consumer thread per enabled SQS mapping, found in moto's Lambda backend."""

    def __init__(self, lambda_backend: Any, sqs: Any, invoke: Invoke) -> None:
        self._backend, self._sqs, self._invoke = lambda_backend, sqs, invoke
        self._stop = threading.Event()
        self._consumers: dict[str, threading.Thread] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._discover, name="sqs-esm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in [self._thread, *self._consumers.values()]:
            if thread is not None:
                thread.join(timeout=30)

    def _mappings(self) -> dict[str, Any]:
        esms = list(self._backend._event_source_mappings.values())
        return {e.uuid: e for e in esms if e.event_source_arn.startswith("arn:aws:sqs:") and e.enabled}

    def _discover(self) -> None:
        while not self._stop.is_set():
            for uuid, esm in self._mappings().items():
                if uuid not in self._consumers or not self._consumers[uuid].is_alive():
                    thread = threading.Thread(target=self._consume, args=(uuid, esm), name=f"sqs-esm-{uuid}")
                    thread.daemon = True
                    self._consumers[uuid] = thread
                    thread.start()
            self._stop.wait(DISCOVER_SECONDS)

    def _consume(self, uuid: str, esm: Any) -> None:
        name, account = esm.event_source_arn.split(":")[5], esm.event_source_arn.split(":")[4]
        url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        while not self._stop.is_set() and uuid in self._mappings():
            try:
                self.poll_once(esm, url)
            except Exception:  # a consumer never dies of one bad poll; the next one tries again
                log.warning("SQS mapping %s: poll failed", uuid, exc_info=True)
                self._stop.wait(DISCOVER_SECONDS)

    def poll_once(self, esm: Any, url: str) -> int:
        """Receive one batch and deliver it; the number of messages delivered."""
        messages = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=max(1, min(MAX_BATCH, int(esm.batch_size or MAX_BATCH))),
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        payload, errored = self._invoke(esm.function_arn, sqs_event(messages, esm.event_source_arn))
        if errored:
            log.info(
                "SQS mapping %s: function failed; %d message(s) return after the visibility timeout",
                esm.uuid,
                len(messages),
            )
            return len(messages)
        report = "ReportBatchItemFailures" in (esm.function_response_types or [])
        keep = set(batch_failures(payload, False, [m["MessageId"] for m in messages], report))
        for m in messages:
            if m["MessageId"] not in keep:
                with contextlib.suppress(Exception):  # already deleted (e.g. a purge): nothing to do
                    self._sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages)


def start_sqs_poller(moto: Any, invoke: Invoke, account_id: str) -> SqsPoller:
    """Poll the SQS mappings of the deployed stacks (call take_over_sqs_mappings before deploying)."""
    from botocore.config import Config
    from moto.awslambda.models import lambda_backends

    config = Config(connect_timeout=5, read_timeout=WAIT_SECONDS + 30, retries={"max_attempts": 3})
    poller = SqsPoller(lambda_backends[account_id][moto.region], moto.client("sqs", config), invoke)
    poller.start()
    return poller
