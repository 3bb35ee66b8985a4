"""The dev stack's changes to moto (devstack/moto_fixes.py) answer what moto answers: item
operations encoded directly give the JSON moto's serializer gives, and a Query that reads only
its partition returns what DynamoDB returns (key order, filters, limits, paging, GSIs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.responses import ActionResult

from devstack.moto_fixes import (
    ITEM_OPERATIONS,
    install_fast_item_answers,
    install_partition_query,
    install_untracked_models,
)

TABLE = "fixes-test"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    install_fast_item_answers()
    install_partition_query()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byG",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    """Each item operation's answer from the fast path and from moto's serializer."""
    fast = ActionResult.execute_result
    moto = fast.moto  # type: ignore[attr-defined]
    seen: list[tuple[str, Any, Any]] = []

    def both(self: Any, context: Any) -> Any:
        answer = fast(self, context)
        name = context.operation_model.name
        if name in ITEM_OPERATIONS and not isinstance(self.result, Exception):
            reference = moto(self, context)
            seen.append(
                (name, (answer[0], json.loads(answer[2])), (reference[0], json.loads(reference[2])))
            )
        return answer

    monkeypatch.setattr(ActionResult, "execute_result", both)
    return seen


def item(pk: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **extra}


def test_item_answers_are_what_motos_serializer_writes(
    dynamodb: Any, compared: list[tuple[str, Any, Any]]
) -> None:
    rich = item(
        "p",
        "a",
        n={"N": "1.50"},
        b={"B": b"\x00\xffbytes"},
        bs={"BS": [b"\x01", b"\x02"]},
        ss={"SS": ["x", "y"]},
        ns={"NS": ["1", "2"]},
        m={"M": {"deep": {"L": [{"S": "é"}, {"NULL": True}, {"BOOL": False}]}}},
        g={"S": "G"},
    )
    dynamodb.put_item(TableName=TABLE, Item=rich, ReturnConsumedCapacity="TOTAL")
    dynamodb.put_item(TableName=TABLE, Item=item("p", "b", g={"S": "G"}), ReturnValues="ALL_OLD")
    dynamodb.put_item(TableName=TABLE, Item=rich, ReturnValues="ALL_OLD")
    dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "a"}}, ConsistentRead=True
    )
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "none"}})
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "b"}},
        UpdateExpression="ADD c :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
        ReturnConsumedCapacity="INDEXES",
    )
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Limit=1,
    )
    dynamodb.query(
        TableName=TABLE,
        IndexName="byG",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "G"}},
        Select="COUNT",
    )
    dynamodb.scan(TableName=TABLE, Limit=1, ReturnConsumedCapacity="TOTAL")
    dynamodb.batch_get_item(
        RequestItems={TABLE: {"Keys": [{"pk": {"S": "p"}, "sk": {"S": k}} for k in "abz"]}}
    )
    dynamodb.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": item("q", str(n))}} for n in range(3)]}
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item("t", "1")}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "q"}, "sk": {"S": "0"}}}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    dynamodb.transact_get_items(
        TransactItems=[{"Get": {"TableName": TABLE, "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}}}}]
    )
    dynamodb.delete_item(
        TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "a"}}, ReturnValues="ALL_OLD"
    )

    assert {name for name, _, _ in compared} == ITEM_OPERATIONS
    for name, fast, reference in compared:
        assert fast == reference, name


def test_errors_keep_motos_answers(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("p", "a"))
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException) as failed:
        dynamodb.put_item(
            TableName=TABLE,
            Item=item("p", "a"),
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert failed.value.response["Item"] == item("p", "a")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": item("p", "b")}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]


def test_a_query_reads_its_partition_in_key_order_with_filters_and_pages(dynamodb: Any) -> None:
    for pk in ("room#1", "room#2", "room#3"):
        for n in range(30):
            dynamodb.put_item(
                TableName=TABLE,
                Item=item(pk, f"c#{n:03d}", n={"N": str(n)}, g={"S": pk}),
            )

    def query(**options: Any) -> list[str]:
        keys: list[str] = []
        start: dict[str, Any] | None = None
        while True:
            page = dynamodb.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :p AND begins_with(sk, :c)",
                ExpressionAttributeValues={
                    ":p": {"S": "room#2"},
                    ":c": {"S": "c#"},
                    ":h": {"N": "9"},
                },
                ConsistentRead=True,
                Limit=7,
                **({"ExclusiveStartKey": start} if start else {}),
                **options,
            )
            keys += [i["sk"]["S"] for i in page["Items"]]
            assert all(i["pk"]["S"] == "room#2" for i in page["Items"])
            start = page.get("LastEvaluatedKey")
            if start is None:
                return keys

    assert query() == [f"c#{n:03d}" for n in range(30)]
    assert query(ScanIndexForward=False) == [f"c#{n:03d}" for n in reversed(range(30))]
    assert query(FilterExpression="n > :h") == [f"c#{n:03d}" for n in range(10, 30)]
    by_index = dynamodb.query(
        TableName=TABLE,
        IndexName="byG",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "room#3"}},
    )
    assert [i["sk"]["S"] for i in by_index["Items"]] == [f"c#{n:03d}" for n in range(30)]


def test_items_answered_are_not_kept_by_moto(dynamodb: Any) -> None:
    """moto tracks every model instance it creates (query results are copies); the dev stack's
    memory would grow with every answer. The table keeps its data; the copies are let go."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item

    install_untracked_models()
    for n in range(20):
        dynamodb.put_item(TableName=TABLE, Item=item("room#1", f"c#{n:03d}"))
    for _ in range(50):
        dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "room#1"}},
            ConsistentRead=True,
        )
    gc.collect()

    assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]
    live = [o for o in gc.get_objects() if type(o) is Item]
    assert len(live) < 200  # the table's 20 and their kin, not 50 answers x 20 copies
    answered = dynamodb.scan(TableName=TABLE)["Items"]
    assert len(answered) == 20  # the data itself stays
