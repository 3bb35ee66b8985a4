"""The Admin API's room inspector against the real local stack, with real WebSocket clients:
who is connected now (user, access, presence, since when), the room's last events and those
after a seq, and closing one connection (it is told why and closed, the room is told it left,
the operator's action is audited)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests

from .realtime_helpers import Clients, in_thread, run
from .test_realtime import Realtime, new_room, rt  # noqa: F401 (rt: the stack fixture)

pytestmark = pytest.mark.e2e


def inspector(rt: Realtime, env_id: str, room: str, tail: str = "", **kwargs: Any) -> Any:  # noqa: F811
    path = f"/admin/api/environments/{env_id}/rooms/{quote(room, safe='')}{tail}"
    return rt.admin_call(kwargs.pop("method", "GET"), path, **kwargs)


def test_the_inspector_lists_the_live_connections_and_closes_one(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Inspector")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")
    closed_id: list[str] = []

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            closed_id.append(a.id)
            b = await clients.enter("B", env.pk, tok_b, room)
            await a.send({"type": "presence.update", "data": {"cursor": [3, 4]}})
            await b.expect("presence.updated", connectionId=a.id)

            listed: requests.Response = await in_thread(inspector, rt, env.id, room, "/connections")
            assert listed.status_code == 200, listed.text
            rows = {r["connectionId"]: r for r in listed.json()["data"]}
            assert set(rows) == {a.id, b.id}
            assert rows[a.id]["userId"] == "alice" and rows[a.id]["name"] == "Alice"
            assert rows[a.id]["presence"] == {"cursor": [3, 4]}
            assert rows[b.id]["presence"] is None
            assert rows[a.id]["access"] == "write"
            assert rows[a.id]["connectedAt"] <= rows[b.id]["connectedAt"]

            closed: requests.Response = await in_thread(
                inspector, rt, env.id, room, f"/connections/{quote(a.id, safe='')}", method="DELETE"
            )
            assert closed.status_code == 204, closed.text
            told = await a.expect("error", code="CONNECTION_CLOSED")
            assert told["message"] == "An administrator closed this connection."
            assert await a.closed() is not None
            await b.expect("user.left", connectionId=a.id)

            after: requests.Response = await in_thread(inspector, rt, env.id, room, "/connections")
            assert [r["connectionId"] for r in after.json()["data"]] == [b.id]
            again: requests.Response = await in_thread(
                inspector, rt, env.id, room, f"/connections/{quote(a.id, safe='')}", method="DELETE"
            )
            assert again.status_code == 404
            assert again.json()["error"]["code"] == "CONNECTION_NOT_FOUND"

    run(main)
    audit = rt.admin_call("GET", f"/admin/api/environments/{env.id}/audit")
    assert audit.status_code == 200, audit.text
    (closing,) = [e for e in audit.json()["data"] if e["action"] == "connection.closed"]
    assert closing["target"] == {"type": "connection", "id": closed_id[0]}
    assert closing["details"] == {"roomId": room, "userId": "alice"}
    assert closing["actor"]["email"]


def test_the_inspector_shows_the_last_50_events_then_those_after_a_seq(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Inspector events")
    room = new_room()
    assert env.api("POST", "/rooms", json={"id": room}).status_code == 201
    made = env.api(
        "POST", f"/rooms/{room}/threads", json={"comment": {"userId": "bob", "body": "c0"}}
    )
    assert made.status_code == 201, made.text
    thread = made.json()["id"]
    for n in range(1, 55):
        reply = env.api(
            "POST",
            f"/rooms/{room}/threads/{thread}/comments",
            json={"userId": "bob", "body": f"c{n}"},
        )
        assert reply.status_code == 201, reply.text

    recent = inspector(rt, env.id, room, "/events")
    assert recent.status_code == 200, recent.text
    events = recent.json()["data"]
    seqs = [e["seq"] for e in events]
    assert len(events) == 50 and seqs == sorted(seqs)
    last = seqs[-1]
    assert seqs[0] == last - 49
    every = env.api("GET", f"/rooms/{room}/events?since=0&limit=100").json()["data"]
    assert events == every[-50:]

    env.api(
        "POST", f"/rooms/{room}/threads/{thread}/comments", json={"userId": "bob", "body": "new"}
    )
    newer = inspector(rt, env.id, room, f"/events?since={last}")
    assert newer.status_code == 200, newer.text
    (fresh,) = newer.json()["data"]
    assert fresh["seq"] == last + 1 and fresh["type"] == "comment.created"
    beyond = inspector(rt, env.id, room, f"/events?since={last + 5}")
    assert beyond.status_code == 410
    assert beyond.json()["error"]["code"] == "RESYNC_REQUIRED"
    missing = inspector(rt, env.id, "no-such-room", "/events")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ROOM_NOT_FOUND"
