"""The local Firehose stand-in: prefix expressions, object batching and naming, template reading, polling."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homing.local.archive import (
    ArchiveEmulator,
    DeliveryStream,
    StreamRecord,
    batches,
    delivery_streams,
    expand_prefix,
    java_time,
    resolver,
)

AT = datetime(2026, 3, 7, 9, 5, 4, tzinfo=UTC)
HOMING_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"


def record(data: bytes, seconds: int = 0) -> StreamRecord:
    return StreamRecord(AT + timedelta(seconds=seconds), data)


# --- prefixes -------------------------------------------------------------------------------------


def test_homing_prefix_is_hive_partitioned_by_hour() -> None:
    assert expand_prefix(HOMING_PREFIX, AT) == "events/year=2026/month=03/day=07/hour=09/"


def test_java_patterns_inside_one_expression() -> None:
    assert java_time("yyyy/MM/dd/HH/mm/ss", AT) == "2026/03/07/09/05/04"
    assert java_time("yy-MM", AT) == "26-03"


def test_prefix_without_expressions_gets_firehose_default_time_folders() -> None:
    assert expand_prefix("", AT) == "2026/03/07/09/"
    assert expand_prefix("raw/", AT) == "raw/2026/03/07/09/"


def test_random_string_expression() -> None:
    first = expand_prefix("x/!{firehose:random-string}/", AT)
    assert first.startswith("x/")
    assert len(first) == len("x/") + 11 + 1
    assert first != expand_prefix("x/!{firehose:random-string}/", AT)


@pytest.mark.parametrize(
    "prefix",
    ["!{timestamp:EEE}/", "!{partitionKeyFromQuery:customer}/", "!{firehose:error-output-type}/"],
)
def test_unsupported_expressions_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="not supported locally"):
        expand_prefix(prefix, AT)


# --- batching and objects -------------------------------------------------------------------------


def test_batches_respect_the_size_hint_and_keep_order() -> None:
    records = [record(b"a" * 4, 0), record(b"b" * 4, 1), record(b"c" * 4, 2), record(b"d" * 2, 3)]

    out = batches(records, max_bytes=8)

    assert [[r.data[:1] for r in batch] for batch in out] == [[b"a", b"b"], [b"c", b"d"]]


def test_a_record_larger_than_the_hint_is_an_object_of_its_own() -> None:
    out = batches([record(b"s"), record(b"L" * 20), record(b"t")], max_bytes=8)

    assert [len(batch) for batch in out] == [1, 1, 1]


def test_no_records_no_objects() -> None:
    assert batches([], max_bytes=8) == []


def test_object_key_uses_the_oldest_arrival_and_the_compression_suffix() -> None:
    stream = DeliveryStream(name="fh", source_stream="s", bucket="b", prefix=HOMING_PREFIX, compression="GZIP")

    key = stream.object_key(AT, unique="u-1")

    assert key == "events/year=2026/month=03/day=07/hour=09/fh-1-2026-03-07-09-05-04-u-1.gz"


def test_object_key_in_a_custom_time_zone_and_extension() -> None:
    stream = DeliveryStream(name="fh", source_stream="s", bucket="b", prefix="", time_zone="Asia/Tokyo")
    assert stream.object_key(AT, unique="u") == "2026/03/07/18/fh-1-2026-03-07-18-05-04-u"
    custom = DeliveryStream(name="fh", source_stream="s", bucket="b", prefix="", file_extension=".json")
    assert custom.object_key(AT, unique="u").endswith("-u.json")


def test_body_concatenates_records_and_gzips_when_configured() -> None:
    records = [record(b'{"a":1}\n'), record(b'{"a":2}\n')]
    plain = DeliveryStream(name="fh", source_stream="s", bucket="b", prefix="")
    zipped = DeliveryStream(name="fh", source_stream="s", bucket="b", prefix="", compression="GZIP")

    assert plain.body(records) == b'{"a":1}\n{"a":2}\n'
    assert gzip.decompress(zipped.body(records)) == b'{"a":1}\n{"a":2}\n'


# --- reading the template -------------------------------------------------------------------------


def firehose(**overrides: Any) -> dict[str, Any]:
    """An ``AWS::KinesisFirehose::DeliveryStream`` shaped like the synthesized EventArchive's."""
    destination = {
        "BucketARN": {"Fn::ImportValue": "Data:ArchiveArn"},
        "BufferingHints": {"IntervalInSeconds": 300, "SizeInMBs": 5},
        "CompressionFormat": "GZIP",
        "Prefix": HOMING_PREFIX,
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "RoleARN": {"Fn::GetAtt": ["DestinationRole", "Arn"]},
    }
    properties = {
        "DeliveryStreamType": "KinesisStreamAsSource",
        "ExtendedS3DestinationConfiguration": {**destination, **overrides},
        "KinesisStreamSourceConfiguration": {
            "KinesisStreamARN": {"Fn::ImportValue": "Data:EventsArn"},
            "RoleARN": {"Fn::GetAtt": ["ServiceRole", "Arn"]},
        },
    }
    return {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": properties}


EXPORTS = {
    "Data:ArchiveArn": "arn:aws:s3:::data-archive-1",
    "Data:EventsArn": "arn:aws:kinesis:us-east-1:123456789012:stream/Data-Events-1",
}


def test_delivery_stream_is_read_from_the_template_with_names_resolved() -> None:
    template = {"Resources": {"Archive": firehose(), "Other": {"Type": "AWS::S3::Bucket"}}}

    (stream,) = delivery_streams("Events", template, resolver({}, EXPORTS))

    assert stream == DeliveryStream(
        name="Events-Archive",
        source_stream="Data-Events-1",
        bucket="data-archive-1",
        prefix=HOMING_PREFIX,
        compression="GZIP",
        max_bytes=5 * 1024 * 1024,
        interval_seconds=300,
    )


def test_refs_and_getatts_resolve_to_physical_names() -> None:
    resource = firehose(BucketARN={"Fn::GetAtt": ["Bucket", "Arn"]})
    resource["Properties"]["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] = {"Fn::GetAtt": "Stream.Arn"}
    resource["Properties"]["DeliveryStreamName"] = "named"
    physical = {"Bucket": "my-bucket", "Stream": "my-stream"}

    (stream,) = delivery_streams("Events", {"Resources": {"Archive": resource}}, resolver(physical, {}))

    assert (stream.name, stream.source_stream, stream.bucket) == ("named", "my-stream", "my-bucket")


def test_streams_that_cannot_be_emulated_are_skipped() -> None:
    direct_put = firehose()
    direct_put["Properties"]["DeliveryStreamType"] = "DirectPut"
    template = {
        "Resources": {
            "DirectPut": direct_put,
            "Snappy": firehose(CompressionFormat="Snappy"),
            "Dynamic": firehose(Prefix="!{partitionKeyFromQuery:app}/"),
            "Unresolvable": firehose(BucketARN={"Fn::ImportValue": "Data:Missing"}),
        }
    }

    assert delivery_streams("Events", template, resolver({}, EXPORTS)) == []


# --- polling a stream (moto) ----------------------------------------------------------------------


@pytest.fixture
def moto_clients() -> Iterator[tuple[Any, Any]]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        kinesis, s3 = boto3.client("kinesis"), boto3.client("s3")
        kinesis.create_stream(StreamName="events", ShardCount=2)
        s3.create_bucket(Bucket="archive")
        yield kinesis, s3


def _objects(s3: Any) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket="archive").get("Contents", [])
    return {o["Key"]: gzip.decompress(s3.get_object(Bucket="archive", Key=o["Key"])["Body"].read()) for o in listing}


def test_flush_delivers_every_shard_once(moto_clients: tuple[Any, Any]) -> None:
    kinesis, s3 = moto_clients
    stream = DeliveryStream(
        name="fh", source_stream="events", bucket="archive", prefix=HOMING_PREFIX, compression="GZIP"
    )
    archive = ArchiveEmulator([stream], kinesis, s3)
    lines = [f'{{"n":{i}}}\n'.encode() for i in range(6)]
    entries = [{"PartitionKey": f"p{i}", "Data": data} for i, data in enumerate(lines)]
    kinesis.put_records(StreamName="events", Records=entries)
    shards = {s["ShardId"] for s in kinesis.list_shards(StreamName="events")["Shards"]}
    assert len(shards) == 2

    assert archive.flush() == 1
    assert archive.flush() == 0  # nothing new
    kinesis.put_record(StreamName="events", PartitionKey="p0", Data=b'{"n":6}\n')
    assert archive.flush() == 1

    objects = _objects(s3)
    now = datetime.now(UTC)
    assert all(key.startswith(f"events/year={now:%Y}/month={now:%m}/") and key.endswith(".gz") for key in objects)
    delivered = sorted(line for body in objects.values() for line in body.splitlines(keepends=True))
    assert delivered == sorted([*lines, b'{"n":6}\n'])


def test_a_failed_write_is_retried_with_the_same_records(moto_clients: tuple[Any, Any]) -> None:
    kinesis, s3 = moto_clients
    stream = DeliveryStream(name="fh", source_stream="events", bucket="archive", prefix="", compression="GZIP")

    class FailingOnce:
        def __init__(self) -> None:
            self.failed = False

        def put_object(self, **kwargs: Any) -> Any:
            if not self.failed:
                self.failed = True
                raise ConnectionError("moto went away")
            return s3.put_object(**kwargs)

    archive = ArchiveEmulator([stream], kinesis, FailingOnce())
    kinesis.put_record(StreamName="events", PartitionKey="p", Data=b"x\n")

    with pytest.raises(ConnectionError):
        archive.flush()
    assert archive.flush() == 1
    assert list(_objects(s3).values()) == [b"x\n"]


def test_start_and_stop_flushes_what_is_left(moto_clients: tuple[Any, Any]) -> None:
    kinesis, s3 = moto_clients
    stream = DeliveryStream(name="fh", source_stream="events", bucket="archive", prefix="", compression="GZIP")
    archive = ArchiveEmulator([stream], kinesis, s3, flush_seconds=3600)
    archive.start()
    kinesis.put_record(StreamName="events", PartitionKey="p", Data=b"last\n")

    archive.stop()

    assert list(_objects(s3).values()) == [b"last\n"]
