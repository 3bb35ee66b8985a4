"""A room's order end to end (issue 15), over the real local stack with real HTTP and WebSocket
clients: concurrent writers get a gapless `seq`; a client that was away catches up with `join`
`sinceSeq`; a write resent with its `clientMutationId` after a dropped socket is stored once."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import pytest

from .realtime_helpers import Clients, in_thread, run
from .test_realtime import Env, Realtime, new_room, rt  # noqa: F401 (rt: the stack fixture)

pytestmark = pytest.mark.e2e

WRITERS = 6
EACH = 5


def events_of(env: Env, room: str, since: int = 0) -> list[dict[str, Any]]:
    """Every event after `since`, following the cursor pages (7 at a time)."""
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"since": since, "limit": 7}
    while True:
        response = env.api("GET", f"/rooms/{room}/events", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        if page["nextCursor"] is None:
            return found
        query = {"cursor": page["nextCursor"], "limit": 7}


def new_thread(env: Env, room: str) -> dict[str, Any]:
    assert env.api("POST", "/rooms", json={"id": room}).status_code == 201
    body = {"comment": {"userId": "srv", "body": "First"}}
    response = env.api("POST", f"/rooms/{room}/threads", json=body)
    assert response.status_code == 201, response.text
    thread: dict[str, Any] = response.json()
    return thread


def test_concurrent_writers_get_every_seq_once_with_no_gaps(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Concurrent writers")
    room = new_room()
    thread = new_thread(env, room)

    def writer(n: int) -> list[str]:
        made = []
        for k in range(EACH):
            body = {"userId": f"w{n}", "body": f"{n}-{k}"}
            response = env.api("POST", f"/rooms/{room}/threads/{thread['id']}/comments", json=body)
            assert response.status_code == 201, response.text
            made.append(response.json()["id"])
        return made

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        written = [c for made in pool.map(writer, range(WRITERS)) for c in made]

    events = events_of(env, room)
    assert [e["seq"] for e in events] == list(range(1, WRITERS * EACH + 2))
    created = [e["data"]["id"] for e in events if e["type"] == "comment.created"]
    assert sorted(created) == sorted(written)  # each write once, in some order
    for n in range(WRITERS):  # one writer's comments keep its order
        mine = [e["data"]["body"] for e in events if e["data"].get("userId") == f"w{n}"]
        assert mine == [f"{n}-{k}" for k in range(EACH)]


def test_a_client_away_catches_up_with_since_seq(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Catch-up")
    room = new_room()
    thread = new_thread(env, room)
    token = env.token("ada", "Ada")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, token, room)
            position = a.joined["seq"]
            assert position == 1
            await a.close()
            for n in range(3):
                body = {"userId": "srv", "body": f"while away {n}"}
                path = f"/rooms/{room}/threads/{thread['id']}/comments"
                made = await in_thread(env.api, "POST", path, json=body)
                assert made.status_code == 201, made.text

            b = await clients.open("A again", env.pk, token, room)
            joined = await b.request({"type": "join", "sinceSeq": position}, "room.joined")
            assert joined["seq"] == 4
            batch = await b.expect("room.events", requestId=joined["requestId"])
            assert [e["data"]["body"] for e in batch["events"]] == [
                f"while away {n}" for n in range(3)
            ]
            assert [e["seq"] for e in batch["events"]] == [2, 3, 4]
            await b.expect("room.caughtUp", seq=4)

            stale = await b.request({"type": "join", "sinceSeq": 40}, "room.joined")
            assert (await b.expect("resync.required", requestId=stale["requestId"]))["seq"] == 4
            await b.quiet()

    run(main)


def test_a_write_resent_after_a_dropped_socket_is_stored_once(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Resend")
    room = new_room()
    thread = new_thread(env, room)
    token = env.token("ada", "Ada")
    write = {
        "type": "comment.create",
        "threadId": thread["id"],
        "body": "Ship it",
        "clientMutationId": "c0ffee-1",
    }
    comments = f"/rooms/{room}/threads/{thread['id']}/comments"

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, token, room)
            await a.send(write)  # its acknowledgement is never read: the socket drops
            for _ in range(100):  # until the write is stored (the gateway handles it in order)
                listed = (await in_thread(env.api, "GET", comments)).json()["data"]
                if len(listed) == 2:
                    break
                await asyncio.sleep(0.05)
            a.ws.transport.abort()
            a.room = ""  # gone: the next client's entry waits for no user.joined here
            for _ in range(100):  # until the gateway has run its $disconnect
                if a.id not in await in_thread(env.active_ids, room):
                    break
                await asyncio.sleep(0.05)

            b = await clients.enter("A again", env.pk, token, room)
            ack = await b.request(write, "comment.created")
            assert ack["replay"] is True and ack["comment"]["body"] == "Ship it"
            assert ack["seq"] == 2

    run(main)
    listed = env.api("GET", comments).json()["data"]
    assert [c["body"] for c in listed] == ["First", "Ship it"]
    assert [e["seq"] for e in events_of(env, room)] == [1, 2]
