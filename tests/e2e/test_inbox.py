"""Unread counts and reactions on the real local stack, under concurrent writers and readers: the
fan-out runs on moto's DynamoDB stream, as it runs on AWS's, and afterwards every counter agrees
with a full walk of the data table (each user's inbox count with their unread states and entries,
each comment's reaction summary with its reaction items). A user's socket, in another room, is
told of a new unread thread (`inbox.updated`) and marks it read over the socket."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from .conftest import Stack
from .realtime_helpers import Client, Clients, run
from .test_webhooks import wait_until

USERS = [f"u{i}" for i in range(6)]
ROOM = "board"
WRITES = 60
READS = 40
REACTORS = 24
EMOJI = ["👍", "🎉", "👀"]


class Env:
    def __init__(self, stack: Stack) -> None:
        admin = stack.login()
        created = stack.create_environment(admin, "Inbox")
        self.stack = stack
        self.id: str = created["environment"]["id"]
        (self.sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
        (self.pk,) = [k["key"] for k in created["keys"] if k["kind"] == "publishable"]

    def api(self, method: str, path: str, body: Any = None, ok: int = 200) -> Any:
        response = self.stack.call(method, "/api/v1" + path, self.sk, json=body)
        assert response.status_code == ok, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def mint(self, user: str) -> str:
        response = self.stack.call(
            "POST", "/auth/token", self.sk, json={"userId": user, "name": user.upper()}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def count(self, user: str) -> int:
        return int(self.api("GET", f"/users/{user}/inbox/count")["count"])


def walk(stack: Stack, env_id: str) -> list[dict[str, Any]]:
    """Every item of the environment in the data table (a Scan: the test's ground truth)."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="pulse-local",
        aws_secret_access_key="pulse-local",
    )
    (table,) = [t for t in client.list_tables()["TableNames"] if t.endswith("data")]
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += [i for i in page["Items"] if i["pk"]["S"].startswith(f"ENV#{env_id}#")]
    return items


@pytest.fixture(scope="module")
def env(shared_stack: Stack) -> Env:
    e = Env(shared_stack)
    for user in [*USERS, "zed"]:
        e.mint(user)
    e.api("POST", "/rooms", {"id": ROOM}, ok=201)
    return e


def test_inbox_counts_match_a_full_walk_after_concurrent_writers_and_readers(env: Env) -> None:
    rng = random.Random(7)
    threads = [
        env.api(
            "POST",
            f"/rooms/{ROOM}/threads",
            {"comment": {"userId": user, "body": f"topic of {user}"}},
            ok=201,
        )["id"]
        for user in USERS[:4]
    ]

    def write(i: int) -> None:
        author, named = rng.sample(USERS, 2)
        body = f"note {i} for <@{named}>" if i % 3 == 0 else f"note {i}"
        path = f"/rooms/{ROOM}/threads/{rng.choice(threads)}/comments"
        env.api("POST", path, {"userId": author, "body": body}, ok=201)

    def read(i: int) -> None:
        user, thread = rng.choice(USERS), rng.choice(threads)
        env.api("POST", f"/users/{user}/threads/{thread}/read")

    jobs = [(write, i) for i in range(WRITES)] + [(read, i) for i in range(READS)]
    rng.shuffle(jobs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(job, i) for job, i in jobs]:
            future.result()
    # A last comment mentioning a user nobody else names: the stream hands a room's events over
    # in order, so once it is counted every earlier one is.
    env.api(
        "POST",
        f"/rooms/{ROOM}/threads/{threads[0]}/comments",
        {"userId": "u0", "body": "last, <@zed>"},
        ok=201,
    )
    assert wait_until(lambda: env.count("zed") == 1, timeout=60)

    items = walk(env.stack, env.id)
    counted = 0
    for user in USERS:
        pk = f"ENV#{env.id}#INBOX#{user}"
        mine = [i for i in items if i["pk"]["S"] == pk]
        states = {i["sk"]["S"][2:]: int(i["unread"]["N"]) for i in mine if i["sk"]["S"][:2] == "T#"}
        entries = {
            i["thread_id"]["S"]: int(i["unread"]["N"]) for i in mine if i["sk"]["S"][:2] == "L#"
        }
        total = [int(i["total"]["N"]) for i in mine if i["sk"]["S"] == "COUNT"]
        unread = {t: n for t, n in states.items() if n > 0}
        assert entries == unread, user
        assert (total or [0]) == [len(unread)], user
        assert env.count(user) == len(unread), user
        listed = env.api("GET", f"/users/{user}/inbox?limit=100")["data"]
        assert {e["threadId"]: e["unreadCount"] for e in listed} == unread, user
        counted += sum(unread.values())
    assert counted > 0  # the load left something unread to check


def test_reaction_summaries_match_a_full_walk_after_concurrent_reactors(env: Env) -> None:
    thread = env.api(
        "POST", f"/rooms/{ROOM}/threads", {"comment": {"userId": "u0", "body": "react"}}, ok=201
    )
    comment = thread["comments"][0]["id"]
    path = f"/rooms/{ROOM}/threads/{thread['id']}/comments/{comment}/reactions"
    rng = random.Random(11)
    plan = {f"r{i}": (rng.choice(EMOJI), rng.random() < 0.3) for i in range(REACTORS)}

    def send(method: str, url: str, body: Any = None) -> None:
        """As a client following the API: a 409 CONCURRENT_CHANGE changed nothing and says
        "Retry the request" (eight writers on one comment and its room's seq, on a busy
        machine, can each lose the server's own ten tries)."""
        for _ in range(5):
            response = env.stack.call(method, "/api/v1" + url, env.sk, json=body)
            if response.status_code != 409:
                break
            assert response.json()["error"]["code"] == "CONCURRENT_CHANGE", response.text
        assert response.status_code == 200, response.text

    def react(user: str) -> None:
        emoji, removes = plan[user]
        send("POST", path, {"emoji": emoji, "userId": user})
        if removes:
            send("DELETE", f"{path}/{quote(emoji, safe='')}?userId={user}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(react, u) for u in plan]:
            future.result()

    items = walk(env.stack, env.id)
    reactions = [i for i in items if i["sk"]["S"].startswith(f"REACT#{comment}#")]
    kept = {(user, emoji) for user, (emoji, removes) in plan.items() if not removes}
    assert {(i["user_id"]["S"], i["emoji"]["S"]) for i in reactions} == kept
    stored = Counter(i["emoji"]["S"] for i in reactions)
    answered = env.api("GET", f"/rooms/{ROOM}/threads/{thread['id']}/comments")["data"][0]
    assert {r["emoji"]: r["count"] for r in answered["reactions"]} == dict(stored)
    assert sum(stored.values()) > 0


def test_a_socket_in_another_room_is_told_and_marks_read(env: Env) -> None:
    env.api("POST", "/rooms", {"id": "elsewhere"}, ok=201)
    thread = env.api(
        "POST", f"/rooms/{ROOM}/threads", {"comment": {"userId": "u5", "body": "mine"}}, ok=201
    )["id"]
    token = env.mint("u5")

    async def main() -> None:
        async with Clients(env.stack.ws_url) as clients:
            await told_and_read(
                await clients.enter("away", env.pk, token, "elsewhere"),
                await clients.enter("here", env.pk, token, ROOM),
            )

    async def told_and_read(away: Client, here: Client) -> None:
        path = f"/rooms/{ROOM}/threads/{thread}/comments"
        env.api("POST", path, {"userId": "u1", "body": "a reply"}, ok=201)
        told = await away.expect("inbox.updated", timeout=20, threadId=thread)
        assert (told["roomId"], told["unreadCount"]) == (ROOM, 1)
        assert told["count"] == env.count("u5")
        listed = await here.request({"type": "threads.list"}, "threads.listed")
        mine = [t for t in listed["data"] if t["id"] == thread]
        assert (mine[0]["unreadCount"], mine[0]["subscribed"]) == (1, True)
        done = await here.request({"type": "thread.markRead", "threadId": thread}, "thread.read")
        assert done["unreadCount"] == 0
        cleared = await away.expect("inbox.updated", timeout=20, threadId=thread, unreadCount=0)
        assert cleared["count"] == env.count("u5")

    run(main)
