"""moto's queries answered from an index (homing.local.moto_fixes.index_queries) give moto's own answers.

Random writes through every write path (put, update that moves an item between index values,
delete, transactions that succeed and that are cancelled) and after each step every query — on
the table, on a global index, forwards and backwards, paged — is compared with moto's own
answer (its query walking the whole table) and with the same question answered by a Scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from homing.local.moto_fixes import atomic_writes, copy_tables_once_per_transaction, index_queries

PKS, SKS, GS = ("p1", "p2", "p3"), ("a", "b", "c", "d"), ("g1", "g2", "g3")


@pytest.fixture(scope="module")
def ddb() -> Iterator[Any]:
    copy_tables_once_per_transaction()
    atomic_writes()
    index_queries()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield client


def _fresh(ddb: Any) -> None:
    if "t" in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName="t")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


op = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(PKS), st.sampled_from(SKS), st.sampled_from((*GS, None))),
    st.tuples(st.just("move"), st.sampled_from(PKS), st.sampled_from(SKS), st.sampled_from((*GS, None))),
    st.tuples(st.just("delete"), st.sampled_from(PKS), st.sampled_from(SKS), st.none()),
    st.tuples(st.just("txn"), st.sampled_from(PKS), st.sampled_from(SKS[:3]), st.sampled_from(GS)),
    st.tuples(st.just("cancelled"), st.sampled_from(PKS), st.sampled_from(SKS[:3]), st.sampled_from(GS)),
)


def _apply(ddb: Any, step: tuple[str, str, str, str | None]) -> None:
    kind, pk, sk, g = step
    if kind == "put":
        ddb.put_item(TableName="t", Item={**_key(pk, sk), **({"g": {"S": g}} if g else {})})
    elif kind == "move":  # an update that adds, changes or removes the index key in place
        expr = ("SET g = :g", {":g": {"S": g}}) if g else ("REMOVE g", None)
        ddb.update_item(
            TableName="t",
            Key=_key(pk, sk),
            UpdateExpression=expr[0],
            **({"ExpressionAttributeValues": expr[1]} if expr[1] else {}),
        )
    elif kind == "delete":
        ddb.delete_item(TableName="t", Key=_key(pk, sk))
    else:
        items = [
            {"Put": {"TableName": "t", "Item": {**_key(pk, sk), "g": {"S": g}}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": _key(pk, "d"),
                    "UpdateExpression": "SET g = :g",
                    "ExpressionAttributeValues": {":g": {"S": g}},
                }
            },
        ]
        if kind == "cancelled":
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": _key("nobody", "x"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException:
            assert kind == "cancelled"


def _moto_answer(ddb: Any, **kwargs: Any) -> list[Any]:
    """The query answered by moto's own code, walking the whole table."""
    from moto.dynamodb.models.table import Table

    indexed = Table.query
    Table.query = indexed._homing_original  # type: ignore[attr-defined,method-assign]
    try:
        return _query_all(ddb, **kwargs)
    finally:
        Table.query = indexed  # type: ignore[method-assign]


def _query_all(ddb: Any, **kwargs: Any) -> list[Any]:
    items, start = [], None
    while True:
        page = ddb.query(TableName="t", Limit=2, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, max_size=25))
def test_indexed_queries_answer_as_a_full_walk_does(ddb: Any, steps: list[Any]) -> None:
    _fresh(ddb)
    for step in steps:
        _apply(ddb, step)
        everything = ddb.scan(TableName="t")["Items"]
        for g in GS:
            question: dict[str, Any] = {
                "IndexName": "by-g",
                "KeyConditionExpression": "g = :g",
                "ExpressionAttributeValues": {":g": {"S": g}},
            }
            got = _query_all(ddb, **question)
            assert got == _moto_answer(ddb, **question), (step, g)
            assert sorted(map(str, got)) == sorted(str(i) for i in everything if i.get("g", {}).get("S") == g)
        for pk in PKS:
            questions: tuple[dict[str, Any], ...] = (
                {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}},
                {
                    "KeyConditionExpression": "pk = :p AND sk > :s",
                    "ScanIndexForward": False,
                    "ExpressionAttributeValues": {":p": {"S": pk}, ":s": {"S": "a"}},
                },
            )
            for question in questions:
                got = _query_all(ddb, **question)
                assert got == _moto_answer(ddb, **question), (step, question)
            expected = sorted((i for i in everything if i["pk"]["S"] == pk), key=lambda i: i["sk"]["S"])
            assert (
                _query_all(ddb, **{"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}})
                == expected
            )
