"""The functions' IAM policy (.chalice/policy-<stage>.json): generated from the models and the
stage's settings, and exactly what the app uses. A scenario that touches every access pattern
records each DynamoDB action on each table and index; every one must be allowed, and every
allowed action must have been used (least privilege)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from realtime.conftest import Env, FakeApi, Gateway

from chalicelib import runtime
from chalicelib.config import SECRET_PARAMETERS
from infra.__main__ import main
from infra.policy import (
    FUNCTION_STATEMENTS,
    function_policy_document,
    policy_document,
    policy_files,
    policy_json,
)
from infra.stages import Stage, load_stage, read_config, stage_names

ROOT = Path(__file__).resolve().parents[2]
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("name", stage_names())
def test_committed_policy_is_the_generated_one(name: str) -> None:
    stage = load_stage(name)
    assert stage.policy_file.read_text(encoding="utf-8") == policy_json(stage), (
        f"{stage.policy_file.name} is out of date: run `make policy` and commit the result"
    )


def test_policy_command_prints_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--stage", "prod"]) == 0
    assert capsys.readouterr().out == (ROOT / ".chalice" / "policy-prod.json").read_text()


@pytest.mark.parametrize("name", stage_names())
def test_policy_names_only_the_stage_resources(name: str) -> None:
    stage = load_stage(name)
    by_sid = {s["Sid"]: s for s in policy_document(stage)["Statement"]}
    prefix = stage.table_prefix
    assert by_sid["ControlTable"]["Resource"] == [f"arn:aws:dynamodb:*:*:table/{prefix}control"]
    assert by_sid["DataTable"]["Resource"] == [f"arn:aws:dynamodb:*:*:table/{prefix}data"]
    assert by_sid["Indexes"]["Resource"] == [
        f"arn:aws:dynamodb:*:*:table/{prefix}control/index/gsi1"
    ]
    assert by_sid["Indexes"]["Action"] == ["dynamodb:Query"]
    assert by_sid["Secrets"] == {
        "Sid": "Secrets",
        "Effect": "Allow",
        "Action": ["ssm:GetParameters"],
        "Resource": [
            f"arn:aws:ssm:*:*:parameter/pulse/{name}/{parameter}" for parameter in SECRET_PARAMETERS
        ],
    }
    assert by_sid["WebSocketPush"]["Action"] == ["execute-api:ManageConnections"]
    assert all("/api/" in arn for arn in by_sid["WebSocketPush"]["Resource"])
    # sockets/sender.py posts, closes, and asks whether a socket a user's limit counts is open
    methods = {arn.split("/")[-3] for arn in by_sid["WebSocketPush"]["Resource"]}
    assert methods == {"POST", "GET", "DELETE"}
    assert all(s["Effect"] == "Allow" for s in by_sid.values())
    everything = json.dumps(policy_document(stage))
    assert '"*"' not in everything  # no action or resource is a bare wildcard
    other = "prod" if name == "dev" else "dev"
    assert f"pulse-{other}" not in everything and f"/pulse/{other}/" not in everything


# --- what the app really does -----------------------------------------------------------------


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[tuple[str, str]]]:
    """(IAM action, resource ARN) of every DynamoDB call, as IAM authorizes it: a transaction's
    items by their own actions, a Query on an index against the index."""
    seen: set[tuple[str, str]] = set()
    original = BaseClient._make_api_call

    def arn(table: str, index: str | None = None) -> str:
        base = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
        return f"{base}/index/{index}" if index else base

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            if operation in ("BatchGetItem", "BatchWriteItem"):
                seen.update((f"dynamodb:{operation}", arn(t)) for t in params["RequestItems"])
            elif operation == "TransactWriteItems":
                for item in params["TransactItems"]:
                    ((kind, body),) = item.items()
                    seen.add((f"dynamodb:{TRANSACT_ACTIONS[kind]}", arn(body["TableName"])))
            else:
                table = params.get("TableName", "*")
                seen.add((f"dynamodb:{operation}", arn(table, params.get("IndexName"))))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    yield seen


@pytest.fixture
def fake(services: runtime.Services) -> FakeApi:
    api = FakeApi()  # the Management API, as in tests/realtime
    services.realtime.channel.api = api  # type: ignore[assignment]
    return api


@pytest.fixture
def gw(fake: FakeApi) -> Gateway:
    return Gateway(fake)


def call(client: Any, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = dict(JSON)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = None if body is None else json.dumps(body)
    resp = getattr(client.http, method.lower())(path, headers=headers, body=payload)
    assert resp.status_code < 300, (method, path, resp.status_code, resp.body)
    return resp.json_body


def every_access_pattern(client: Any, services: runtime.Services, gw: Gateway) -> None:
    services.operators.create(None, "owner@example.com", "a-long-enough-password", "owner")
    op = call(
        client,
        "POST",
        "/admin/api/login",
        None,
        {"email": "owner@example.com", "password": "a-long-enough-password"},
    )["token"]
    admin = "/admin/api"
    call(client, "GET", f"{admin}/me", op)
    created = call(client, "POST", f"{admin}/environments", op, {"name": "Acme"})
    env_id = created["environment"]["id"]
    env = f"{admin}/environments/{env_id}"
    call(client, "GET", f"{admin}/environments", op)
    call(client, "GET", env, op)
    call(client, "PATCH", env, op, {"name": "Acme Inc"})
    extra = call(client, "POST", f"{env}/keys", op, {"kind": "secret", "name": "Second"})
    call(client, "POST", f"{env}/keys/{extra['id']}/revoke", op)
    keys = call(client, "POST", f"{env}/keys/rotate", op)["keys"]
    pk = next(k["key"] for k in keys if k["kind"] == "publishable")
    sk = next(k["key"] for k in keys if k["kind"] == "secret")
    call(client, "GET", f"{env}/keys", op)
    call(client, "GET", f"{env}/audit", op)
    other = call(
        client,
        "POST",
        f"{admin}/operators",
        op,
        {"email": "viewer@example.com", "password": "another-long-password", "role": "viewer"},
    )
    call(client, "GET", f"{admin}/operators", op)
    call(client, "PATCH", f"{admin}/operators/{other['id']}", op, {"role": "admin"})
    call(client, "DELETE", f"{admin}/operators/{other['id']}", op)
    call(client, "GET", f"{admin}/audit", op)
    # Webhook endpoints and their deliveries (control table)
    hooks = f"{env}/webhooks"
    hook = call(client, "POST", hooks, op, {"url": "https://hooks.example.com/in"})
    call(client, "GET", hooks, op)
    call(client, "PATCH", f"{hooks}/{hook['id']}", op, {"events": ["comment.created"]})
    call(client, "POST", f"{hooks}/{hook['id']}/rotate-secret", op)
    call(client, "POST", f"{hooks}/{hook['id']}/test", op)
    call(client, "GET", f"{hooks}/{hook['id']}/deliveries", op)
    call(client, "POST", f"{hooks}/{hook['id']}/replay", op, {"since": "2026-01-01T00:00:00Z"})

    token = call(client, "POST", "/auth/token", sk, {"userId": "ada", "name": "Ada"})["token"]
    rooms = "/api/v1/rooms"
    call(client, "POST", rooms, sk, {"id": "room-1"})
    # Idempotent retries (chalicelib/api/idempotency.py), in the data table: the claim (PutItem),
    # the answer (UpdateItem), a replay (BatchGetItem), and a claim released (DeleteItem) because
    # its answer, a 409, is not kept.
    keyed = {**JSON, "Authorization": f"Bearer {sk}"}
    for key, status in (("policy-1", 201), ("policy-1", 201), ("policy-2", 409)):
        headers = {**keyed, "Idempotency-Key": key}
        resp = client.http.post(rooms, headers=headers, body=json.dumps({"id": "room-9"}))
        assert resp.status_code == status, resp.body
    call(client, "GET", rooms, sk)
    call(client, "PATCH", f"{rooms}/room-1", sk, {"metadata": {"title": "One"}})
    thread = call(
        client, "POST", f"{rooms}/room-1/threads", sk, {"comment": {"userId": "ada", "body": "Hi"}}
    )
    threads = f"{rooms}/room-1/threads"
    call(client, "GET", threads, sk)
    call(client, "GET", f"{threads}/{thread['id']}", sk)
    call(client, "PATCH", f"{threads}/{thread['id']}", sk, {"resolved": True})
    comments = f"{threads}/{thread['id']}/comments"
    comment = call(client, "POST", comments, sk, {"userId": "ada", "body": "Reply"})
    call(client, "GET", comments, sk)
    call(client, "PATCH", f"{comments}/{comment['id']}", sk, {"body": "Edited"})
    call(client, "DELETE", f"{comments}/{comment['id']}", sk)
    call(client, "GET", "/api/v1/users", sk)
    call(client, "GET", "/api/v1/users/ada", sk)

    socket = gw.connect(Env(env_id, pk, sk, "", ""), token=token, room="room-1")
    gw.join(socket)
    gw.send(socket, "broadcast", event={"hello": "world"})
    gw.send(socket, "presence.update", presence={"cursor": 1})
    call(client, "GET", f"{rooms}/room-1/active_users", sk)
    call(client, "POST", f"{rooms}/room-1/broadcast", sk, {"event": {"x": 1}})
    gw.disconnect(socket)

    call(client, "DELETE", f"{threads}/{thread['id']}", sk)
    call(client, "POST", f"{rooms}/room-1/threads", sk, {"comment": {"userId": "ada", "body": "2"}})
    call(client, "DELETE", f"{rooms}/room-1", sk)  # purges its threads: BatchWriteItem
    gw.connect(Env(env_id, pk, sk, "", ""), token=token, room="room-2")
    call(client, "GET", f"{env}/analytics", op)
    call(client, "DELETE", env, op, {"confirmName": "Acme Inc"})  # disables it, kicks its sockets
    call(client, "POST", f"{admin}/logout", op)


def test_the_policy_allows_exactly_what_the_app_does(
    client: Any,
    services: runtime.Services,
    fake: FakeApi,
    gw: Gateway,
    used: set[tuple[str, str]],
) -> None:
    every_access_pattern(client, services, gw)
    stage = Stage(
        name="test",
        app_name="pulse",
        env={
            "PULSE_STAGE": "test",
            "PULSE_TABLE_PREFIX": services.settings.table_prefix,
            "PULSE_SECRETS_SSM_PREFIX": "/pulse/test/",
        },
        policy_file=ROOT / "unused",
        api_gateway_stage="api",
    )
    allowed = [
        (action, resource)
        for statement in policy_document(stage)["Statement"]
        # The stream is read by Lambda's event source mapping with the role, never by the app's
        # own calls (which this records); its statement is checked by itself below.
        if statement["Sid"] != "EventStream"
        for action in statement["Action"]
        if action.startswith("dynamodb:")
        for resource in statement["Resource"]
    ]

    def permits(action: str, arn: str) -> bool:
        return any(a == action and fnmatch.fnmatchcase(arn, r) for a, r in allowed)

    denied = sorted(u for u in used if not permits(*u))
    assert not denied, f"the app would be denied: {denied}"
    unused = sorted(
        (a, r)
        for a, r in allowed
        if not any(a == u and fnmatch.fnmatchcase(arn, r) for u, arn in used)
    )
    assert not unused, f"allowed but never used (not least privilege): {unused}"
    (stream,) = [s for s in policy_document(stage)["Statement"] if s["Sid"] == "EventStream"]
    data = f"arn:aws:dynamodb:*:*:table/{services.settings.data_table}"
    assert stream["Resource"] == [f"{data}/stream/*"]  # the data table's stream, nothing else
    assert sorted(stream["Action"]) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ]


# --- each function's own policy ---------------------------------------------------------------

# Statements no handler's own call shows: CloudWatch Logs (Lambda's runtime writes), the secrets
# (tests read local ones; every function reads them at its first request), X-Ray's (the runtime),
# and what an event source mapping does with the function's role (the stream; the queue's
# receive and delete).
NOT_RECORDED = {"Logs", "Secrets", "Tracing", "EventStream"}
MAPPING_ONLY = {("webhook_attempts", "WebhookQueue")}
HANDLERS = {
    ("chalicelib.realtime.handlers", "connect"): "websocket_connect",
    ("chalicelib.realtime.handlers", "message"): "websocket_message",
    ("chalicelib.realtime.handlers", "disconnect"): "websocket_disconnect",
    ("chalicelib.webhook_handlers", "stream"): "webhook_events",
    ("chalicelib.webhook_handlers", "attempts"): "webhook_attempts",
    ("chalicelib.webhook_handlers", "retention"): "retention",
}


@pytest.fixture
def by_function(monkeypatch: pytest.MonkeyPatch, fake: FakeApi) -> set[tuple[str, str]]:
    """(function, policy statement) of every call the app makes, the function being the entry
    point the call happened under (REST requests: api_handler). A module-wide cell, not a
    context variable: fan-out posts from a thread pool."""
    import importlib

    from chalicelib.outbound.files import S3Files
    from chalicelib.outbound.queue import NoQueue, SqsQueue

    seen: set[tuple[str, str]] = set()
    current = ["api_handler"]
    tables = {"control": "ControlTable", "data": "DataTable"}

    def note(statement: str) -> None:
        seen.add((current[0], statement))

    def under(function: str, inner: Any) -> Any:
        def entry(*args: Any) -> Any:
            before, current[0] = current[0], function
            try:
                return inner(*args)
            finally:
                current[0] = before

        return entry

    for (module_name, name), function in HANDLERS.items():
        module = importlib.import_module(module_name)
        monkeypatch.setattr(module, name, under(function, getattr(module, name)))

    original = BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if service == "dynamodb":
            names = (
                [i[next(iter(i))]["TableName"] for i in params["TransactItems"]]
                if "TransactItems" in params
                else list(params.get("RequestItems") or [params.get("TableName", "")])
            )
            for table in names:
                note(tables[table.rsplit("-", 1)[-1]])
            if params.get("IndexName"):
                note("Indexes")
        elif service == "s3":
            note("AttachmentList" if operation.startswith("ListObjects") else "AttachmentFiles")
        elif service == "sqs":
            note("WebhookQueue")
        elif service == "ssm":
            note("Secrets")
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)

    def wrap(cls: Any, method: str, statement: str) -> None:
        inner = getattr(cls, method)

        def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            note(statement)
            return inner(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, recorded)

    # Presigned URLs are signed in process: the browser's upload and download act with the
    # signer's rights, so signing one uses them.
    wrap(S3Files, "upload", "AttachmentFiles")
    wrap(S3Files, "download_url", "AttachmentFiles")
    for queue in (NoQueue, SqsQueue):
        wrap(queue, "send", "WebhookQueue")
    for method in ("post", "close", "gone_of"):
        wrap(FakeApi, method, "WebSocketPush")
    return seen


def pipeline_and_files(client: Any, services: runtime.Services, gw: Gateway, fake: FakeApi) -> None:
    """What the first scenario leaves out: files (REST and socket), the stream's events handed to
    webhook_events, a queued key end and the steps of an erase handed to webhook_attempts."""
    import boto3
    from streams import stream_records

    from chalicelib import webhook_handlers
    from chalicelib.services.environments import KEY_EXPIRY_JOB

    services.operators.create(None, "files@example.com", "a-long-enough-password", "owner")
    login = {"email": "files@example.com", "password": "a-long-enough-password"}
    op = call(client, "POST", "/admin/api/login", None, login)["token"]
    created = call(client, "POST", "/admin/api/environments", op, {"name": "Files"})
    env_id = created["environment"]["id"]
    env = f"/admin/api/environments/{env_id}"
    call(client, "POST", f"{env}/webhooks", op, {"url": "https://hooks.example.com/in"})
    keys = call(client, "POST", f"{env}/keys/rotate", op)["keys"]
    pk = next(k for k in keys if k["kind"] == "publishable")
    sk = next(k["key"] for k in keys if k["kind"] == "secret")
    rooms = "/api/v1/rooms"
    call(client, "POST", rooms, sk, {"id": "files"})
    bucket = services.settings.attachments_bucket

    def uploaded() -> str:
        body = {"name": "a.png", "mimeType": "image/png", "size": 3}
        att = call(client, "POST", f"{rooms}/files/attachments", sk, body)
        boto3.client("s3").put_object(Bucket=bucket, Key=att["upload"]["fields"]["key"], Body=b"x")
        return str(att["attachment"]["id"])

    thread = call(
        client,
        "POST",
        f"{rooms}/files/threads",
        sk,
        {"comment": {"userId": "ada", "body": "Files", "attachmentIds": [uploaded()]}},
    )
    call(client, "GET", f"{rooms}/files/threads/{thread['id']}", sk)
    # One socket per user and room: a second of ada's is refused after asking API Gateway
    # whether the first is still open ($connect's GET @connections).
    gw.reconfigure(user_connections_per_room=1)
    tenant = Env(env_id, pk["key"], sk, "", "")
    ada, bob = (
        call(client, "POST", "/auth/token", sk, {"userId": user, "name": user})["token"]
        for user in ("ada", "bob")
    )
    socket = gw.connect(tenant, token=ada, room="files")
    gw.join(socket)
    gw.refused({"apiKey": pk["key"], "token": ada, "room": "files"}, 429)
    other = gw.connect(tenant, "bob", token=bob, room="files")
    gw.join(other)
    gw.send(
        socket, "comment.create", threadId=thread["id"], body="More", attachmentIds=[uploaded()]
    )
    gw.disconnect(other)  # the room is told
    # The retention run: a resolved thread with a file, long untouched, goes (its file deleted,
    # ada's socket told), and so does what a dead thread purge left.
    call(client, "PATCH", env, op, {"retentionDays": 1})
    old = call(
        client,
        "POST",
        f"{rooms}/files/threads",
        sk,
        {"comment": {"userId": "bob", "body": "Old", "attachmentIds": [uploaded()]}},
    )
    call(client, "PATCH", f"{rooms}/files/threads/{old['id']}", sk, {"resolved": True})
    boto3.client("dynamodb").update_item(  # last changed long ago (the clock stays)
        TableName=services.settings.data_table,
        Key={"pk": {"S": f"ENV#{env_id}#ROOM#files"}, "sk": {"S": f"THREAD#{old['id']}"}},
        UpdateExpression="SET updated_at = :old",
        ExpressionAttributeValues={":old": {"S": "2000-01-01T00:00:00.000Z"}},
    )
    assert webhook_handlers.retention({})["threadsDeleted"] == 1
    records = stream_records(services.settings.data_table, env_id, "files")
    assert records
    webhook_handlers.stream({"Records": records})
    # The pk rolled with a grace: at its end, the queued job closes the sockets opened with it.
    call(client, "POST", f"{env}/keys/{pk['id']}/roll", op, {"expiresIn": "1h"})
    gw.clock.advance(3601)
    job = {"job": KEY_EXPIRY_JOB, "envId": env_id, "keyId": pk["id"], "at": 0}
    webhook_handlers.attempts({"Records": [{"body": json.dumps(job)}]})
    assert socket in fake.closed
    # An export (REST), then an erase of ada whose steps webhook_attempts runs: her comments'
    # files are deleted there, after her last token's life has passed.
    call(client, "GET", "/api/v1/users/ada/export", sk)
    erase = call(client, "POST", "/api/v1/users/ada/erase", sk, {"mode": "delete"})
    step = {"job": "erase", "envId": env_id, "jobId": erase["id"]}
    for _ in range(20):
        webhook_handlers.attempts({"Records": [{"body": json.dumps(step)}]})
        got = services.erasure.store.get_job(env_id, erase["id"])
        if got is not None and got.job.status == "succeeded":
            break
        gw.clock.advance(services.settings.token_ttl_seconds)
    assert got is not None and got.job.status == "succeeded" and got.job.files_deleted == 2
    call(client, "DELETE", f"{rooms}/files", sk)  # its files go: the prefix is listed


def test_each_function_s_policy_grants_what_it_calls_and_nothing_more(
    client: Any,
    services: runtime.Services,
    fake: FakeApi,
    gw: Gateway,
    by_function: set[tuple[str, str]],
) -> None:
    every_access_pattern(client, services, gw)
    pipeline_and_files(client, services, gw, fake)
    called = {function for function, _ in by_function}
    assert called == set(FUNCTION_STATEMENTS)  # every function's code paths ran
    denied = sorted(
        (function, statement)
        for function, statement in by_function
        if statement not in FUNCTION_STATEMENTS[function]
    )
    assert denied == [], f"these calls would be denied: {denied}"
    unused = sorted(
        (function, statement)
        for function, statements in FUNCTION_STATEMENTS.items()
        for statement in statements
        if statement not in NOT_RECORDED
        and (function, statement) not in MAPPING_ONLY
        and (function, statement) not in by_function
    )
    assert unused == [], f"granted but never called (not least privilege): {unused}"


@pytest.mark.parametrize("name", stage_names())
def test_each_function_s_committed_policy_is_the_generated_one(name: str) -> None:
    stage = load_stage(name)
    for file_name, text in policy_files(stage).items():
        path = stage.policy_file.with_name(file_name)
        assert path.read_text(encoding="utf-8") == text, f"{file_name}: run `make policy`"
    config = read_config()["stages"][name]["lambda_functions"]
    for function in FUNCTION_STATEMENTS:  # chalice gives each function its own file
        assert config[function]["iam_policy_file"] == stage.function_policy_file(function).name


@pytest.mark.parametrize("name", stage_names())
def test_a_function_s_policy_is_the_stage_s_statements_it_needs(name: str) -> None:
    stage = load_stage(name)
    whole = {s["Sid"]: s for s in policy_document(stage)["Statement"]}
    for function, statements in FUNCTION_STATEMENTS.items():
        document = function_policy_document(stage, function)
        own = {s["Sid"]: s for s in document["Statement"]}
        assert set(own) - {"Tracing"} == set(statements)
        assert all(own[sid] == whole[sid] for sid in statements)
    assert "AttachmentList" not in FUNCTION_STATEMENTS["websocket_message"]
    assert "EventStream" in FUNCTION_STATEMENTS["webhook_events"]
    assert all(
        "EventStream" not in s for f, s in FUNCTION_STATEMENTS.items() if f != "webhook_events"
    )
