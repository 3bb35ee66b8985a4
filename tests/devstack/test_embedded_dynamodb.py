"""The embedded DynamoDB answering a botocore session's calls in process (serve_in_process): the
same moto behind the same lock and write reports, DynamoDB's errors as botocore raises them, and
no socket: the write is reported on the caller's own thread. Other endpoints are left alone."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from bench.common import free_port
from devstack.embedded_dynamodb import EmbeddedDynamoDB


@pytest.fixture
def embedded() -> Iterator[tuple[EmbeddedDynamoDB, list[int]]]:
    writes: list[int] = []  # the thread each reported write was seen on
    db = EmbeddedDynamoDB("127.0.0.1", free_port(), lambda: writes.append(threading.get_ident()))
    db.start()
    try:
        yield db, writes
    finally:
        db.stop()


def client(session: Any, endpoint: str) -> Any:
    return session.create_client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )


def make_table(dynamodb: Any) -> str:
    """A new table (moto keeps one database per process): its name."""
    name = f"embedded-test-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_calls_are_answered_in_process_by_the_same_database(
    embedded: tuple[EmbeddedDynamoDB, list[int]],
) -> None:
    db, writes = embedded
    session = botocore.session.Session()
    db.serve_in_process(session)
    local = client(session, db.endpoint)
    over_http = client(botocore.session.Session(), db.endpoint)
    table = make_table(local)

    local.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x00"}})

    assert writes[-1] == threading.get_ident()  # no server thread in between
    seen = over_http.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert seen["Item"] == {"pk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x00"}}
    assert writes[-1] == threading.get_ident()  # a read over HTTP reports nothing


def test_dynamodbs_errors_reach_the_caller_as_over_http(
    embedded: tuple[EmbeddedDynamoDB, list[int]],
) -> None:
    db, _ = embedded
    session = botocore.session.Session()
    db.serve_in_process(session)
    local = client(session, db.endpoint)
    table = make_table(local)
    local.put_item(TableName=table, Item={"pk": {"S": "a"}})

    with pytest.raises(local.exceptions.ConditionalCheckFailedException):
        local.put_item(
            TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)"
        )
    with pytest.raises(local.exceptions.TransactionCanceledException) as cancelled:
        local.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "b"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in local.get_item(TableName=table, Key={"pk": {"S": "b"}})  # rolled back
    with pytest.raises(local.exceptions.ResourceNotFoundException):
        local.get_item(TableName="no-such-table", Key={"pk": {"S": "a"}})


def test_other_endpoints_are_left_alone(embedded: tuple[EmbeddedDynamoDB, list[int]]) -> None:
    db, _ = embedded
    session = botocore.session.Session()
    db.serve_in_process(session)
    nobody = client(session, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(EndpointConnectionError):
        nobody.list_tables()
