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
