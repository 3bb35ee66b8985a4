"""The dev stack's set-up: environment, secrets, and the embedded DynamoDB (moto's server)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import boto3
import pytest

from devstack.embedded_dynamodb import EmbeddedDynamoDB
from devstack.localenv import LocalEnvError, load_or_create_secrets
from devstack.stack import prepare_environment


def shell(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"PULSE_DATA_DIR": str(data_dir), **extra}


def test_first_start_generates_private_secrets_that_later_starts_reuse(tmp_path: Path) -> None:
    first = shell(tmp_path / "data")
    prepare_environment(first)
    path = Path(first["PULSE_SECRETS_FILE"])
    saved = json.loads(path.read_text())

    second = shell(tmp_path / "data")
    prepare_environment(second)

    assert second["PULSE_SECRETS_FILE"] == str(path)
    assert json.loads(path.read_text()) == saved
    assert min(len(saved["keyPepper"]), len(saved["signingSecret"])) >= 32
    assert saved["keyPepper"] != saved["signingSecret"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_damaged_secrets_file_is_refused_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text('{"keyPepper": "short"}')
    with pytest.raises(LocalEnvError):
        load_or_create_secrets(tmp_path)
    assert (tmp_path / "secrets.json").read_text() == '{"keyPepper": "short"}'


def test_ephemeral_start_keeps_secrets_in_memory_only(tmp_path: Path) -> None:
    env = shell(tmp_path / "data", PULSE_EPHEMERAL="1")
    prepare_environment(env)
    assert len(env["PULSE_KEY_PEPPER"]) >= 32
    assert len(env["PULSE_SIGNING_SECRET"]) >= 32
    assert "PULSE_SECRETS_FILE" not in env
    assert not (tmp_path / "data").exists()


def test_secrets_already_configured_are_used_as_they_are(tmp_path: Path) -> None:
    env = shell(tmp_path / "data", PULSE_KEY_PEPPER="p" * 40, PULSE_SIGNING_SECRET="s" * 40)
    prepare_environment(env)
    assert env["PULSE_KEY_PEPPER"] == "p" * 40
    assert "PULSE_SECRETS_FILE" not in env
    assert not (tmp_path / "data").exists()


def test_app_settings_point_at_the_embedded_database_with_the_dev_stage(tmp_path: Path) -> None:
    env = shell(
        tmp_path / "data",
        PULSE_DYNAMODB_PORT="18123",
        PULSE_DYNAMODB_ENDPOINT="http://elsewhere:1",
    )
    plan = prepare_environment(env)
    assert env["PULSE_DYNAMODB_ENDPOINT"] == "http://127.0.0.1:18123"
    assert (env["PULSE_STAGE"], env["PULSE_TABLE_PREFIX"]) == ("dev", "pulse-dev-")
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert (plan.http_port, plan.dynamodb_port) == (8000, 18123)


def test_the_developers_own_settings_win_over_the_defaults(tmp_path: Path) -> None:
    env = shell(
        tmp_path / "data",
        PULSE_TABLE_PREFIX="mine-",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
    )
    prepare_environment(env)
    assert env["PULSE_TABLE_PREFIX"] == "mine-"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE"


@pytest.mark.parametrize(
    "extra",
    [
        {"PULSE_HTTP_PORT": "eighty"},
        {"PULSE_DYNAMODB_PORT": "70000"},
        {"PULSE_ADMIN_EMAIL": "a@example.com"},  # no password
    ],
)
def test_bad_settings_stop_the_start_with_a_message(tmp_path: Path, extra: dict[str, str]) -> None:
    with pytest.raises(LocalEnvError):
        prepare_environment(shell(tmp_path / "data", **extra))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_embedded_dynamodb_reports_writes_and_not_reads() -> None:
    writes: list[int] = []
    server = EmbeddedDynamoDB("127.0.0.1", free_port(), lambda: writes.append(1), 0.05)
    server.start()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1")
        client.create_table(
            TableName="pulse-embedded-t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        after_create = len(writes)
        client.put_item(TableName="pulse-embedded-t", Item={"pk": {"S": "a"}})
        after_put = len(writes)
        got = client.get_item(
            TableName="pulse-embedded-t", Key={"pk": {"S": "a"}}, ConsistentRead=True
        )
        client.scan(TableName="pulse-embedded-t")
        client.delete_table(TableName="pulse-embedded-t")
    finally:
        server.stop()
    assert got["Item"] == {"pk": {"S": "a"}}
    assert after_create == 1
    assert after_put == 2
    assert len(writes) == 3  # the delete; the get and scan added nothing


def _counter_tx(table: str, token: str, *, by: int = 1, must_exist: str = "") -> dict:
    """A transaction adding `by` to item a's counter, and (with `must_exist`) a condition on
    another item that fails when it is absent."""
    items: list[dict] = [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "a"}},
                "UpdateExpression": "ADD n :by",
                "ExpressionAttributeValues": {":by": {"N": str(by)}},
            }
        }
    ]
    if must_exist:
        items.append(
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": {"S": must_exist}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        )
    return {"TransactItems": items, "ClientRequestToken": token}


def test_embedded_dynamodb_applies_a_transaction_once_per_client_request_token() -> None:
    """As DynamoDB: a retried transaction (botocore keeps its token when it retries after a
    timeout) succeeds without writing twice; the token with other parameters is refused; a
    cancelled transaction leaves every item as it was."""
    server = EmbeddedDynamoDB("127.0.0.1", free_port(), lambda: None, 0.05)
    server.start()
    table = "pulse-embedded-tx"
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1")
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def count() -> str:
            item = client.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)
            return str(item["Item"]["n"]["N"])

        client.transact_write_items(**_counter_tx(table, "token-1"))
        client.transact_write_items(**_counter_tx(table, "token-1"))  # the retry
        after_retry = count()
        with pytest.raises(client.exceptions.IdempotentParameterMismatchException):
            client.transact_write_items(**_counter_tx(table, "token-1", by=5))
        client.transact_write_items(**_counter_tx(table, "token-2"))  # another request
        after_second = count()
        with pytest.raises(client.exceptions.TransactionCanceledException):
            client.transact_write_items(**_counter_tx(table, "token-3", must_exist="missing"))
        after_cancel = count()
    finally:
        server.stop()
    assert (after_retry, after_second, after_cancel) == ("1", "2", "2")


def test_embedded_dynamodb_on_a_busy_port_fails_instead_of_hanging() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = EmbeddedDynamoDB("127.0.0.1", busy.getsockname()[1], lambda: None)
        outcome: list[BaseException | None] = []

        def start() -> None:
            try:
                server.start()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "start() hung on a port in use"
    assert isinstance(outcome[0], OSError)
    server.stop()  # harmless after a failed start
