"""moto performance fixes keep moto's answers (homing.local.moto_fixes)."""

from __future__ import annotations

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from homing.local.moto_fixes import cache_service_folders


def test_cached_service_folders_are_the_ones_moto_lists() -> None:
    listed = list(backends.list_of_moto_modules())
    cache_service_folders()
    cache_service_folders()  # installs once

    assert list(backends.list_of_moto_modules()) == listed
    assert "dynamodb" in backends.list_of_moto_modules()
    assert getattr(backends.list_of_moto_modules, "_homing_fix", False)


def test_server_still_routes_requests_to_their_service() -> None:
    cache_service_folders()
    dispatcher = DomainDispatcherApplication(create_backend_app)

    assert dispatcher.get_backend_for_host("dynamodb") == "dynamodb"
    assert dispatcher.get_backend_for_host("kinesis.us-east-1.amazonaws.com") == "kinesis"
    assert dispatcher.get_backend_for_host("no-such-service") is None


def test_failed_transaction_leaves_every_item_as_it_was() -> None:
    import boto3
    import pytest
    from moto import mock_aws

    from homing.local.moto_fixes import atomic_writes, copy_tables_once_per_transaction

    copy_tables_once_per_transaction()
    atomic_writes()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            BillingMode="PAY_PER_REQUEST",
        )
        for sk in ("a", "b", "c"):
            ddb.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": sk}, "n": {"N": "1"}})
        before = sorted(map(str, ddb.scan(TableName="t")["Items"]))

        with pytest.raises(ddb.exceptions.TransactionCanceledException):
            ddb.transact_write_items(
                TransactItems=[
                    {"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
                                "UpdateExpression": "SET n = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
                    {"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}}},
                    {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "b"}}}},
                    {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "c"}},
                                        "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )  # fmt: skip

        assert sorted(map(str, ddb.scan(TableName="t")["Items"])) == before
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}}}]
        )
        assert len(ddb.scan(TableName="t")["Items"]) == 4


def hammer_shard(shard: object, writers: int = 8, puts: int = 400) -> list[BaseException]:
    """Concurrent put_record and get_records on one moto Shard; the errors the readers and writers hit."""
    import sys
    import threading

    errors: list[BaseException] = []
    done = threading.Event()

    def write(w: int) -> None:
        try:
            for i in range(puts):
                shard.put_record(f"k{w}", f"{w}-{i}", "0")  # type: ignore[attr-defined]
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        while not done.is_set():
            try:
                shard.get_records("0", None)  # type: ignore[attr-defined]
            except BaseException as exc:
                errors.append(exc)
                return

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the races show at once
    try:
        readers = [threading.Thread(target=read) for _ in range(2)]
        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for t in [*readers, *threads]:
            t.start()
        for t in threads:
            t.join()
        done.set()
        for t in readers:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_concurrent_puts_and_reads_on_a_kinesis_shard_lose_nothing() -> None:
    from moto.kinesis.models import Shard

    from homing.local.moto_fixes import serial_kinesis_shards

    serial_kinesis_shards()
    serial_kinesis_shards()  # installs once
    shard = Shard(0, 0, 2**128)

    errors = hammer_shard(shard)

    assert errors == []
    assert len(shard.records) == 8 * 400  # every put kept: no two took the same sequence number
    assert sorted(r.data for r in shard.records.values()) == sorted(f"{w}-{i}" for w in range(8) for i in range(400))
