"""SQS event-source mappings run by local mode, the way Lambda's SQS pollers run them in AWS.

moto delivers to an SQS-mapped function synchronously inside ``SendMessage``: the sender waits for
the consumer (DeleteApp would run the whole clean-up in the API request, and a function that sends
its own continuation recurses until the worker pool is exhausted), a message sent with
``DelaySeconds`` is never delivered (nothing polls later), a failed batch is made visible again at
once, and ``batchItemFailures`` is ignored.

``take_over_sqs_mappings`` stops that: moto's queues no longer see their mappings (the mappings
stay in moto's Lambda backend, so List/Get/Update/DeleteEventSourceMapping answer as before).
``SqsPoller`` (the SQS kind of esm.py's ``MappingPoller``: the same discovery through the Lambda API,
stop loop and page rows as the Kinesis poller) runs one ``QueueConsumer`` per enabled SQS mapping,
polling through moto's own SQS API, so delays,
visibility timeouts and the redrive policy (a message received ``maxReceiveCount`` times moves to
the dead-letter queue) are moto's: it receives up to ``BatchSize`` messages (at most 10), invokes
the function with an SQS batch event, and then deletes every message on success, all but the
reported ``batchItemFailures`` with ReportBatchItemFailures, or none if the function failed (they
come back after the visibility timeout, as in AWS). Each consumer is a row of
``/_local/event-source-mappings``: messages processed and returned, invocations, and ``CaughtUpAt``,
the start of its last receive that found nothing to receive (so ``settle`` in the e2e tests waits for
queued work too; a delayed or in-flight message is not receivable yet, as for Lambda's poller).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

# The same mapping record, partial batch response reading and discovery loop as Kinesis'.
from homing.local.esm import DISCOVER_SECONDS, Consumer, Invoke, Mapping, MappingPoller, batch_failures

log = logging.getLogger("homing.local")

WAIT_SECONDS = 1  # long poll per ReceiveMessage (AWS's pollers use 20 s)
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


@dataclass
class QueueState:
    """What a queue consumer has done so far (the /_local pages show it)."""

    batches: int = 0
    processed: int = 0  # messages deleted after their invocation succeeded
    returned: int = 0  # messages left in the queue after a failure (back after the visibility timeout)
    invocations: int = 0
    failed_invocations: int = 0
    last_result: str = "No records processed"
    caught_up_at: float = 0.0  # epoch start of the last receive that found nothing to receive


class QueueConsumer:
    """Feeds one queue to one function, a batch at a time, as Lambda's SQS poller does."""

    def __init__(self, mapping: Mapping, queue_url: str, sqs: Any, invoke: Invoke) -> None:
        self.mapping, self.queue_url = mapping, queue_url
        self._sqs, self._invoke = sqs, invoke
        self.state = QueueState()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-esm-{mapping.uuid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)

    def checkpoint(self) -> str:
        return ""  # the queue itself keeps what is left

    def row(self) -> dict[str, Any]:
        state = self.state
        return {
            "QueueUrl": self.queue_url,
            "BatchSize": self.mapping.batch_size,
            "Batches": state.batches,
            "RecordsProcessed": state.processed,
            "RecordsReturned": state.returned,
            "Invocations": state.invocations,
            "FailedInvocations": state.failed_invocations,
            "LastProcessingResult": state.last_result,
            "CaughtUpAt": state.caught_up_at,
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a consumer never dies of one bad poll; the next one tries again
                log.warning("SQS mapping %s: poll failed", self.mapping.uuid, exc_info=True)
                self._stop.wait(DISCOVER_SECONDS)

    def poll_once(self) -> int:
        """Receive one batch and deliver it; the number of messages delivered."""
        started = time.time()
        messages = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(MAX_BATCH, int(self.mapping.batch_size or MAX_BATCH))),
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            self.state.caught_up_at = started
            return 0
        self.state.batches += 1
        self.state.invocations += 1
        payload, errored = self._invoke(self.mapping.function_arn, sqs_event(messages, self.mapping.source_arn))
        ids = [m["MessageId"] for m in messages]
        keep = set(batch_failures(payload, errored, ids, self.mapping.report_item_failures))
        if keep:
            self.state.failed_invocations += 1
            self.state.last_result = "PROBLEM: Function call failed"
            log.info("SQS mapping %s: %d message(s) return after the visibility timeout", self.mapping.uuid, len(keep))
        else:
            self.state.last_result = "OK"
        for m in messages:
            if m["MessageId"] not in keep:
                with contextlib.suppress(Exception):  # already deleted (e.g. a purge): nothing to do
                    self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.state.processed += len(messages) - len(keep)
        self.state.returned += len(keep)
        return len(messages)


class SqsPoller(MappingPoller):
    """The SQS mappings: one consumer per mapping."""

    source = "sqs"

    def __init__(self, lambda_client: Any, sqs: Any, invoke: Invoke) -> None:
        super().__init__(lambda_client)
        self._sqs, self._invoke = sqs, invoke

    def _parts(self, mapping: Mapping) -> list[str]:
        account, name = mapping.source_arn.split(":")[4], mapping.source_arn.split(":")[5]
        with contextlib.suppress(self._sqs.exceptions.QueueDoesNotExist):
            return [str(self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])]
        return []

    def _consumer(self, mapping: Mapping, part: str, resume_after: str) -> Consumer:
        return QueueConsumer(mapping, part, self._sqs, self._invoke)


def start_sqs_poller(moto: Any, invoke: Invoke) -> SqsPoller:
    """Poll the SQS mappings of the deployed stacks (call take_over_sqs_mappings before deploying)."""
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=WAIT_SECONDS + 30, retries={"max_attempts": 3})
    poller = SqsPoller(moto.client("lambda", config), moto.client("sqs", config), invoke)
    poller.start()
    return poller
