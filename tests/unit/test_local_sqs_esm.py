"""Local SQS event-source mappings (homing.local.sqs_esm): the event shape and partial batch responses."""

from __future__ import annotations

import json

from homing.local.esm import batch_failures
from homing.local.sqs_esm import sqs_event

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


def test_sqs_event_has_lambdas_record_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "h1",
        "Body": '{"app_id": "a"}',
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
        "MessageAttributes": {"k": {"StringValue": "v", "DataType": "String"}},
    }
    (record,) = sqs_event([message], QUEUE_ARN)["Records"]
    assert record["messageId"] == "m1"
    assert record["receiptHandle"] == "h1"
    assert record["body"] == '{"app_id": "a"}'
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["k"]["stringValue"] == "v"
    assert record["messageAttributes"]["k"]["dataType"] == "String"
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", QUEUE_ARN, "us-east-1")


def failed_message_ids(payload: bytes, ids: list[str]) -> set[str]:
    return set(batch_failures(payload, False, ids, report_item_failures=True))


def test_partial_batch_responses_as_lambda_reads_them() -> None:
    ids = ["a", "b", "c"]
    assert failed_message_ids(b"null", ids) == set()
    assert failed_message_ids(json.dumps({"batchItemFailures": []}).encode(), ids) == set()
    assert failed_message_ids(json.dumps({"batchItemFailures": [{"itemIdentifier": "b"}]}).encode(), ids) == {"b"}
    # An identifier that is not in the batch, a missing one, or an unreadable response fails the whole batch.
    assert failed_message_ids(json.dumps({"batchItemFailures": [{"itemIdentifier": "z"}]}).encode(), ids) == set(ids)
    assert failed_message_ids(json.dumps({"batchItemFailures": [{}]}).encode(), ids) == set(ids)
    assert failed_message_ids(b"not json", ids) == set(ids)
    assert failed_message_ids(json.dumps({"batchItemFailures": "b"}).encode(), ids) == set(ids)
