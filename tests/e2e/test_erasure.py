"""Erasure and export against the real local stack (`python -m devstack`), over real HTTP: the
erase job runs through the stack's SQS queue and its stream pipeline, as on AWS. After a job
succeeds, a full dump of both tables (a Scan, in the test only) holds nothing of the user but the
erasure's own records, others' items are as they were, and every counter equals a recount.

The stack runs with 60-second tokens (the shortest a stage allows): a `delete` removes the
user's item only once every token minted before its revocation has expired."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from erasure_world import (
    AVATAR,
    NAME,
    TARGET,
    build,
    erasure_records,
    names_user,
    of_env,
    others,
    reaction_summaries,
    recount,
)

from .conftest import Stack, stacks

JOB_SECONDS = 180  # a delete waits out its user's last token (60 s) first
INLINE_BYTES = 1500  # exports above this come as a presigned download
LOCAL = {
    "region_name": "us-east-1",
    "aws_access_key_id": "pulse-local",
    "aws_secret_access_key": "pulse-local",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("erasure")
    with stacks(tmp) as start:
        yield start(
            tmp / "data",
            PULSE_EPHEMERAL="1",
            PULSE_TOKEN_TTL_SECONDS="60",
            PULSE_EXPORT_INLINE_BYTES=str(INLINE_BYTES),
        )


class Env:
    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.admin = stack.login()
        created = stack.create_environment(self.admin, name)
        self.id = created["environment"]["id"]
        self.sk = next(k["key"] for k in created["keys"] if k["kind"] == "secret")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        kwargs = {"json": body} if body is not None else {}
        resp = self.stack.call(method, path, self.sk, **kwargs)
        return resp.status_code, resp.json() if resp.content else None

    def wait_for(self, job: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + JOB_SECONDS
        path = f"/api/v1/users/{TARGET}/erase/{job['id']}"
        while time.monotonic() < deadline:
            status, got = self.call("GET", path)
            assert status == 200, got
            if got["status"] in ("succeeded", "failed"):
                return dict(got)
            time.sleep(0.5)
        pytest.fail(f"the job did not finish in {JOB_SECONDS}s: {got}\n{self.stack.log()[-4000:]}")


def dump(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    client = boto3.client("dynamodb", endpoint_url=stack.dynamodb_url, **LOCAL)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in client.list_tables()["TableNames"]:
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items += page["Items"]
        tables["data" if name.endswith("data") else "control"] = items
    return tables


def s3(stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.dynamodb_url,
        config=boto3.session.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        **LOCAL,
    )


def attach(env: Env, room: str, thread_id: str) -> str:
    """A comment of the user's with a file (uploaded to S3 with its presigned POST): its key."""
    body = {"name": "notes.txt", "mimeType": "text/plain", "size": 5}
    status, created = env.call("POST", f"/api/v1/rooms/{quote(room)}/attachments", body)
    assert status == 201, created
    post = created["upload"]
    uploaded = requests.post(
        post["url"], data=post["fields"], files={"file": ("f", b"hello")}, timeout=10
    )
    assert uploaded.status_code in (200, 201, 204), uploaded.text
    comment = {
        "userId": TARGET,
        "body": "See attached",
        "attachmentIds": [created["attachment"]["id"]],
    }
    status, made = env.call(
        "POST", f"/api/v1/rooms/{quote(room)}/threads/{thread_id}/comments", comment
    )
    assert status == 201, made
    return str(post["fields"]["key"])


def settle(env: Env) -> None:
    """Let the stream pipeline hand over the world's events (inbox fan-out) before a dump."""
    time.sleep(2)


def test_delete_leaves_nothing_of_the_user_and_others_as_they_were(stack: Stack) -> None:
    env = Env(stack, "Erase delete")
    world = build(env.call)
    file_key = attach(env, world.rooms[0], world.threads["started"])
    settle(env)
    bucket = s3(stack)
    assert bucket.head_object(Bucket="pulse-dev-attachments", Key=file_key)
    before = dump(stack)
    kept = others(before["data"], env.id)

    status, job = env.call("POST", f"/api/v1/users/{TARGET}/erase", {"mode": "delete"})
    assert status == 202, job
    assert (job["status"], job["mode"], job["userId"]) == ("queued", "delete", TARGET)
    done = env.wait_for(job)

    assert done["status"] == "succeeded", done
    assert done["phase"] == "done" and done["finishedAt"] is not None
    # started: its first comment a tombstone (bob replied), the reply with the file deleted;
    # alone: a tombstone, the reply deleted, then the thread with its lone tombstone; own-reply:
    # a tombstone (cy replied) and the reply deleted; others: the reply deleted
    assert done["commentsTombstoned"] == 3
    assert done["commentsDeleted"] == 4
    assert done["threadsDeleted"] == 1
    assert done["filesDeleted"] == 1
    assert done["reactionsRemoved"] == 2
    assert done["mentionsReplaced"] == 3
    after = dump(stack)
    data = of_env(after["data"], env.id)
    left = [i for i in data if names_user(i) and not erasure_records(i, env.id)]
    assert left == []
    control = [i for i in after["control"] if names_user(i) and not erasure_records(i, env.id)]
    assert control == []
    still = others(after["data"], env.id)
    assert {k: v for k, v in kept.items() if still.get(k) != v} == {}
    assert recount(data, env.id) == []
    assert reaction_summaries(data, env.id) == []
    with pytest.raises(bucket.exceptions.ClientError):
        bucket.head_object(Bucket="pulse-dev-attachments", Key=file_key)
    # the tombstones: no author, no body, the replies kept
    status, thread = env.call(
        "GET", f"/api/v1/rooms/{world.rooms[0]}/threads/{world.threads['started']}"
    )
    assert status == 200
    first, *replies = thread["comments"]
    assert (first["userId"], first["body"]) == ("~deleted", "")
    assert [c["userId"] for c in replies] == ["bob"]
    assert "@Deleted user" in replies[0]["body"]
    status, gone = env.call("GET", f"/api/v1/users/{TARGET}")
    assert (status, gone["error"]["code"]) == (404, "USER_NOT_FOUND")
    audit = stack.call("GET", f"/admin/api/environments/{env.id}/audit", env.admin).json()
    erasures = [e for e in audit["data"] if e["action"].startswith("user.erase")]
    assert sorted(e["action"] for e in erasures) == ["user.erase.requested", "user.erase.succeeded"]
    for event in erasures:
        details = event["details"]
        assert (details["mode"], details["userId"], details["jobId"]) == (
            "delete",
            TARGET,
            job["id"],
        )
        assert details["keyId"].startswith("key_")
    assert {e["details"]["outcome"] for e in erasures} == {"queued", "succeeded"}


def test_anonymize_keeps_the_comments_and_leaves_only_the_placeholder(stack: Stack) -> None:
    env = Env(stack, "Erase anonymize")
    world = build(env.call)
    settle(env)
    before = dump(stack)
    mine_before = sorted(
        i["sk"]["S"]
        for i in of_env(before["data"], env.id)
        if i["sk"]["S"].startswith("COMMENT#") and i["user_id"]["S"] == TARGET
    )

    status, job = env.call("POST", f"/api/v1/users/{TARGET}/erase", {"mode": "anonymize"})
    assert status == 202, job
    done = env.wait_for(job)

    assert done["status"] == "succeeded", done
    assert done["mentionsReplaced"] == 3
    assert done["commentsDeleted"] == done["threadsDeleted"] == 0
    data = of_env(dump(stack)["data"], env.id)
    text = json.dumps(data, ensure_ascii=False)
    assert NAME not in text and AVATAR not in text and f"<@{TARGET}>" not in text
    assert NAME.split()[1] not in text  # not a word of it (the name index is gone too)
    mine_after = sorted(
        i["sk"]["S"]
        for i in data
        if i["sk"]["S"].startswith("COMMENT#") and i["user_id"]["S"] == TARGET
    )
    assert mine_after == mine_before  # every comment kept, under the user's id
    assert recount(data, env.id) == []
    assert reaction_summaries(data, env.id) == []
    status, user = env.call("GET", f"/api/v1/users/{TARGET}")
    assert status == 200
    assert (user["name"], user["avatar"]) == ("Deleted user", None)
    status, found = env.call("GET", "/api/v1/users?q=quibble")
    assert found["data"] == []
    path = f"/api/v1/rooms/{world.rooms[1]}/threads/{world.threads['others']}"
    first = env.call("GET", path)[1]["comments"][0]
    assert first["body"] == "Review please @Deleted user and <@cy>"
    assert first["mentions"] == ["cy"]


def test_export_answers_everything_inline_or_as_a_download(stack: Stack) -> None:
    env = Env(stack, "Export")
    world = build(env.call)
    settle(env)

    status, answer = env.call("GET", f"/api/v1/users/{TARGET}/export")
    assert status == 200, answer
    assert answer["document"] is None and answer["expiresAt"]
    downloaded = requests.get(answer["url"], timeout=10)
    assert downloaded.status_code == 200
    document = downloaded.json()
    assert len(downloaded.content) > INLINE_BYTES
    assert document["userId"] == TARGET
    assert (document["profile"]["name"], document["profile"]["avatar"]) == (NAME, AVATAR)
    mine = {c["id"] for c in document["comments"]}
    assert mine == set(world.comments[TARGET])
    assert {(c["roomId"], c["threadId"]) for c in document["comments"]} <= {
        (room, thread) for room in world.rooms for thread in world.threads.values()
    }
    assert sorted(r["emoji"] for r in document["reactions"]) == sorted(["👀", "🎉"])
    assert {s["threadId"] for s in document["subscriptions"]} >= {world.threads["untouched"]}
    assert document["notificationSettings"] == [{"roomId": world.rooms[0], "setting": "mentions"}]
    assert {t["id"] for t in document["threadsStarted"]} == {
        world.threads[n] for n in ("started", "alone", "own-reply")
    }

    # A user with little held about them: the document inline.
    assert env.call("POST", "/auth/token", {"userId": "dee", "name": "Dee"})[0] == 200
    status, small = env.call("GET", "/api/v1/users/dee/export")
    assert status == 200, small
    assert (small["url"], small["expiresAt"]) == (None, None)
    document = small["document"]
    assert document["profile"]["name"] == "Dee"
    assert document["comments"] == document["reactions"] == document["subscriptions"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "named"),
    [
        ("POST", f"/api/v1/users/{TARGET}/erase", {"mode": "forget"}, 400, "INVALID_INPUT", "mode"),
        ("POST", f"/api/v1/users/{TARGET}/erase", {}, 400, "MISSING_FIELD", "mode"),
        (
            "POST",
            f"/api/v1/users/{TARGET}/erase",
            {"mode": "delete", "x": 1},
            400,
            "UNKNOWN_FIELD",
            "x",
        ),
        ("POST", "/api/v1/users/nobody/erase", {"mode": "delete"}, 404, "USER_NOT_FOUND", "user"),
        (
            "GET",
            f"/api/v1/users/{TARGET}/erase/job_0000000000000000",
            None,
            404,
            "JOB_NOT_FOUND",
            "job",
        ),
        ("GET", f"/api/v1/users/{TARGET}/erase/not-a-job", None, 404, "JOB_NOT_FOUND", "job"),
        ("GET", "/api/v1/users/nobody/export", None, 404, "USER_NOT_FOUND", "user"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_starts_nothing(
    stack: Stack, method: str, path: str, body: Any, status: int, code: str, named: str
) -> None:
    env = Env(stack, "Erase refusals")
    assert env.call("POST", "/auth/token", {"userId": TARGET, "name": NAME})[0] == 200
    before = dump(stack)["control"]

    got, answer = env.call(method, path, body)

    assert (got, answer["error"]["code"]) == (status, code), answer
    assert named in answer["error"]["message"].lower()
    after = dump(stack)["control"]
    jobs = [i for i in of_env(dump(stack)["data"], env.id) if i["pk"]["S"].endswith("#JOBS")]
    assert jobs == []
    assert [i for i in after if i not in before and "AUDIT#" in i["sk"]["S"]] == []


def test_a_job_of_another_user_is_not_found(stack: Stack) -> None:
    env = Env(stack, "Erase other")
    for user in (TARGET, "bob"):
        assert env.call("POST", "/auth/token", {"userId": user, "name": user})[0] == 200
    status, job = env.call("POST", "/api/v1/users/bob/erase", {"mode": "anonymize"})
    assert status == 202, job

    got, answer = env.call("GET", f"/api/v1/users/{TARGET}/erase/{job['id']}")

    assert (got, answer["error"]["code"]) == (404, "JOB_NOT_FOUND")
