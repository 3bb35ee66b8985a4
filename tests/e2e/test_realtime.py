"""Realtime rooms end to end: the real local stack (`python -m devstack`: embedded DynamoDB, the
Chalice app over HTTP, the WebSocket gateway and its Management API), driven by real WebSocket
clients (`websockets`) and real HTTP (`requests`). One stack for the module; each test makes its
own environment through the admin API."""

from __future__ import annotations

import base64
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests

from chalicelib import ids
from chalicelib.auth import apikeys, tokens
from chalicelib.clock import iso

from .conftest import Stack, stacks
from .realtime_helpers import (
    WAIT,
    Client,
    Clients,
    gather,
    in_thread,
    refusal,
    refused_status,
    run,
    ws_url,
)

pytestmark = pytest.mark.e2e

TABLE_PREFIX = "pulse-dev-"  # the dev stage's, from .chalice/config.json
ISSUER = "pulse:dev"
BANNER_SECONDS = 10


@dataclass
class Realtime:
    stack: Stack
    admin: str  # operator session token
    management_url: str  # http://127.0.0.1:<port>/local
    dynamodb_url: str
    signing_secret: str

    def env(self, name: str) -> Env:
        created = self.stack.create_environment(self.admin, name)
        keys = {k["kind"]: k for k in created["keys"]}
        return Env(
            self,
            created["environment"]["id"],
            keys["publishable"]["key"],
            keys["publishable"]["id"],
            keys["secret"]["key"],
            keys["secret"]["id"],
        )

    def admin_call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response: requests.Response = self.stack.call(method, path, self.admin, **kwargs)
        return response


@dataclass
class Env:
    rt: Realtime
    id: str
    pk: str
    pk_id: str
    sk: str
    sk_id: str

    def token(self, user_id: str, name: str, sk: str | None = None) -> str:
        response = self.rt.stack.call(
            "POST",
            "/auth/token",
            sk or self.sk,
            json={"userId": user_id, "name": name, "avatar": f"https://example.com/{user_id}.png"},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response: requests.Response = self.rt.stack.call(
            method, "/api/v1" + path, self.sk, **kwargs
        )
        return response

    def active(self, room: str) -> list[dict[str, Any]]:
        response = self.api("GET", f"/rooms/{room}/active_users")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def active_ids(self, room: str) -> set[str]:
        return {u["connectionId"] for u in self.active(room)}

    def url(self, token: str, room: str, pk: str | None = None) -> str:
        return ws_url(self.rt.stack.ws_url, pk or self.pk, token, room)


def banner_value(stack: Stack, label: str) -> str:
    """A URL from the stack's start banner (printed once the gateway is up), bounded wait."""
    pattern = re.compile(rf"^\s*{label}:\s+(http://\S+)", re.MULTILINE)
    deadline = time.monotonic() + BANNER_SECONDS
    while True:
        found = pattern.search(stack.log())
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, f"no {label} line in the banner:\n{stack.log()}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realtime]:
    tmp = tmp_path_factory.mktemp("realtime")
    # Known secrets, so a test can sign a token the way the server does (an expired one).
    signing = secrets.token_urlsafe(48)
    with stacks(tmp) as start:
        stack = start(
            tmp / "data",
            PULSE_EPHEMERAL="1",
            PULSE_KEY_PEPPER=secrets.token_urlsafe(48),
            PULSE_SIGNING_SECRET=signing,
        )
        yield Realtime(
            stack=stack,
            admin=stack.login(),
            management_url=banner_value(stack, "Mgmt API"),
            dynamodb_url=banner_value(stack, "DynamoDB"),
            signing_secret=signing,
        )


def new_room() -> str:
    return f"doc-{uuid.uuid4().hex[:12]}"


def member_of(client: Client, user_id: str, name: str) -> dict[str, Any]:
    return {"connectionId": client.id, "userId": user_id, "name": name}


def subset(frame: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(frame.get(k) == v for k, v in expected.items())


# --- 1. two users in one room -------------------------------------------------------------------


def test_two_users_see_each_other_presence_broadcasts_and_comments(rt: Realtime) -> None:
    env = rt.env("Two users")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.open("A", env.pk, tok_a, room)
            joined_a = await a.join()
            assert joined_a["others"] == []
            assert subset(
                joined_a["self"],
                {"userId": "alice", "name": "Alice", "avatar": "https://example.com/alice.png"},
            )
            assert re.fullmatch(r"#[0-9a-fA-F]{6}", joined_a["self"]["color"])
            # Presence set before B arrives is what B sees in room.joined.
            await a.send({"type": "presence.update", "data": {"cursor": [1, 2]}})
            await a.quiet()  # handled (and nobody else there to tell)

            b = await clients.open("B", env.pk, tok_b, room)
            joined_b = await b.join()
            (other,) = joined_b["others"]
            assert subset(other, member_of(a, "alice", "Alice"))
            assert other["presence"] == {"cursor": [1, 2]}
            assert other["color"] == joined_a["self"]["color"]
            user_joined = await a.expect("user.joined", connectionId=b.id)
            assert subset(user_joined, {**member_of(b, "bob", "Bob"), "presence": None})
            assert user_joined["avatar"] == "https://example.com/bob.png"

            # presence.update: the others get presence.updated, the sender nothing.
            await a.send({"type": "presence.update", "data": {"cursor": [120, 80]}})
            updated = await b.expect("presence.updated")
            assert updated == {
                "type": "presence.updated",
                "connectionId": a.id,
                "userId": "alice",
                "data": {"cursor": [120, 80]},
            }

            # broadcast, both directions; no echo to the sender.
            await a.send({"type": "broadcast", "event": {"hello": "from a"}})
            assert (await b.expect("broadcast")) == {
                "type": "broadcast",
                "connectionId": a.id,
                "userId": "alice",
                "event": {"hello": "from a"},
            }
            await b.send({"type": "broadcast", "event": ["from", "b", 1]})
            got = await a.expect("broadcast")
            assert (got["connectionId"], got["userId"], got["event"]) == (
                b.id,
                "bob",
                ["from", "b", 1],
            )
            await gather(a.quiet(), b.quiet())

            # thread.create: both get thread.created; only A's copy echoes the requestId.
            created = await a.request(
                {"type": "thread.create", "body": "Is the budget final?"}, "thread.created"
            )
            thread = created["thread"]
            assert thread["roomId"] == room and thread["createdBy"] == "alice"
            assert [c["body"] for c in thread["comments"]] == ["Is the budget final?"]
            b_copy = await b.expect("thread.created")
            assert "requestId" not in b_copy
            assert b_copy["thread"] == thread
            thread_id = thread["id"]

            # comment.create from B: both get comment.created.
            made = await b.request(
                {"type": "comment.create", "threadId": thread_id, "body": "Almost."},
                "comment.created",
            )
            comment = made["comment"]
            assert subset(
                comment,
                {"threadId": thread_id, "roomId": room, "userId": "bob", "body": "Almost."},
            )
            assert (await a.expect("comment.created"))["comment"] == comment

            # comment.update of one's own: both get comment.updated.
            edited = await b.request(
                {
                    "type": "comment.update",
                    "threadId": thread_id,
                    "commentId": comment["id"],
                    "body": "Almost final.",
                },
                "comment.updated",
            )
            assert edited["comment"]["body"] == "Almost final."
            assert edited["comment"]["editedAt"]
            assert (await a.expect("comment.updated"))["comment"] == edited["comment"]

            # Editing or deleting the other's comment: an error to the sender only.
            for attempt in (
                {"type": "comment.update", "body": "Mine now."},
                {"type": "comment.delete"},
            ):
                error = await a.error(
                    {**attempt, "threadId": thread_id, "commentId": comment["id"]}
                )
                assert error["code"] == "NOT_COMMENT_AUTHOR", error
            # B's reply is unread for A, who started the thread: A's socket is told (the
            # stream's fan-out, a moment after the write).
            told = await a.expect("inbox.updated", timeout=20, threadId=thread_id)
            assert (told["roomId"], told["unreadCount"], told["count"]) == (room, 1, 1)
            await gather(a.quiet(), b.quiet())

            # threads.list: only the sender gets threads.listed.
            listed = await a.request({"type": "threads.list"}, "threads.listed")
            assert [t["id"] for t in listed["data"]] == [thread_id]
            assert listed["data"][0]["commentCount"] == 2
            assert listed["nextCursor"] is None

            # thread.resolve: everyone gets thread.updated.
            resolved = await a.request(
                {"type": "thread.resolve", "threadId": thread_id, "resolved": True},
                "thread.updated",
            )
            assert resolved["thread"]["resolved"] is True
            assert (await b.expect("thread.updated"))["thread"]["resolved"] is True

            # comment.delete of one's own: both get comment.deleted.
            deleted = await b.request(
                {"type": "comment.delete", "threadId": thread_id, "commentId": comment["id"]},
                "comment.deleted",
            )
            expected = {"commentId": comment["id"], "threadId": thread_id, "roomId": room}
            assert subset(deleted, expected)
            assert subset(await a.expect("comment.deleted"), expected)
            await gather(a.quiet(), b.quiet())

            # The connection stays up after an invalid message.
            bad = await a.error({"type": "broadcast"})
            assert bad["code"] == "MISSING_FIELD"
            assert await in_thread(env.active_ids, room) == {a.id, b.id}

            # B leaves: A gets user.left with B's connectionId.
            b_id = b.id
            await b.close()
            left = await a.expect("user.left", connectionId=b_id)
            assert left == {"type": "user.left", "connectionId": b_id, "userId": "bob"}
            assert await in_thread(env.active_ids, room) == {a.id}
            await a.quiet()

    run(main)


# --- 2. REST writes reach the sockets -----------------------------------------------------------


def test_rest_comment_and_broadcast_reach_both_sockets(rt: Realtime) -> None:
    env = rt.env("REST pushes")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)

            active = await in_thread(env.active, room)
            assert {(u["connectionId"], u["userId"], u["name"], u["avatar"]) for u in active} == {
                (a.id, "alice", "Alice", "https://example.com/alice.png"),
                (b.id, "bob", "Bob", "https://example.com/bob.png"),
            }
            assert all(
                set(u) == {"connectionId", "userId", "name", "avatar", "color", "access"}
                for u in active
            )
            assert {u["access"] for u in active} == {"write"}

            response = await in_thread(
                env.api,
                "POST",
                f"/rooms/{room}/threads",
                json={"comment": {"userId": "carol", "body": "From the backend"}},
            )
            assert response.status_code == 201, response.text
            thread = response.json()
            for client in (a, b):
                assert (await client.expect("thread.created"))["thread"] == thread

            response = await in_thread(
                env.api,
                "POST",
                f"/rooms/{room}/threads/{thread['id']}/comments",
                json={"userId": "carol", "body": "A REST comment"},
            )
            assert response.status_code == 201, response.text
            comment = response.json()
            assert comment["body"] == "A REST comment"
            for client in (a, b):
                got = await client.expect("comment.created")
                assert got == {"type": "comment.created", "comment": comment, "seq": 2}

            response = await in_thread(
                env.api, "POST", f"/rooms/{room}/broadcast", json={"event": {"deploy": "v2"}}
            )
            assert response.status_code == 202, response.text
            for client in (a, b):
                assert (await client.expect("broadcast")) == {
                    "type": "broadcast",
                    "connectionId": None,
                    "userId": None,
                    "event": {"deploy": "v2"},
                }
            await gather(a.quiet(), b.quiet())

            b_id = b.id
            await b.close()
            await a.expect("user.left", connectionId=b_id)
            assert await in_thread(env.active_ids, room) == {a.id}

    run(main)


# --- 3. dead keys kick their sockets ------------------------------------------------------------


def test_revoking_the_pk_closes_its_sockets(rt: Realtime) -> None:
    env = rt.env("Revoke pk")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            assert await in_thread(env.active_ids, room) == {a.id, b.id}

            revoked = await in_thread(
                rt.admin_call, "POST", f"/admin/api/environments/{env.id}/keys/{env.pk_id}/revoke"
            )
            assert revoked.status_code == 200, revoked.text
            codes = await gather(a.closed(), b.closed())
            assert codes == [1000, 1000], codes
            assert await gather(a.leftovers(), b.leftovers()) == [[], []]
            assert await in_thread(env.active_ids, room) == set()
            assert await refused_status(env.url(tok_a, room)) == 401

    run(main)


def test_rotating_the_keys_closes_every_socket(rt: Realtime) -> None:
    env = rt.env("Rotate")
    room = new_room()
    tok_a = env.token("alice", "Alice")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            rotated = await in_thread(
                rt.admin_call, "POST", f"/admin/api/environments/{env.id}/keys/rotate"
            )
            assert rotated.status_code == 201, rotated.text
            assert await a.closed() == 1000
            keys = {k["kind"]: k["key"] for k in rotated.json()["keys"]}
            env.pk, env.sk = keys["publishable"], keys["secret"]
            assert await in_thread(env.active_ids, room) == set()
            # The old token (its sk_ is dead) is refused even with the new pk_.
            assert await refused_status(env.url(tok_a, room)) == 401
            tok_fresh = await in_thread(env.token, "alice", "Alice")
            fresh = await clients.enter("A2", env.pk, tok_fresh, room)
            assert await in_thread(env.active_ids, room) == {fresh.id}

    run(main)


def test_revoking_the_sk_that_minted_a_token_kicks_only_that_user(rt: Realtime) -> None:
    env = rt.env("Revoke sk")
    room = new_room()
    second = rt.admin_call(
        "POST", f"/admin/api/environments/{env.id}/keys", json={"kind": "secret", "name": "CI"}
    )
    assert second.status_code == 201, second.text
    sk2, sk2_id = second.json()["key"], second.json()["id"]
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob", sk=sk2)

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)

            revoked = await in_thread(
                rt.admin_call, "POST", f"/admin/api/environments/{env.id}/keys/{sk2_id}/revoke"
            )
            assert revoked.status_code == 200, revoked.text
            assert await b.closed() == 1000
            await a.expect("user.left", connectionId=b.id, userId="bob")
            await a.quiet()  # A's socket (pk_ and its token's sk_ alive) is still up
            assert await in_thread(env.active_ids, room) == {a.id}
            assert await refused_status(env.url(tok_b, room)) == 401

    run(main)


def test_revoking_a_users_tokens_tells_and_closes_its_sockets(rt: Realtime) -> None:
    env = rt.env("Revoke user")
    rooms = [new_room(), new_room()]
    old, bob = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a1 = await clients.enter("A1", env.pk, old, rooms[0])
            a2 = await clients.enter("A2", env.pk, old, rooms[1])
            b = await clients.enter("B", env.pk, bob, rooms[0])
            revoked = await in_thread(env.api, "POST", "/users/alice/revoke-tokens")
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["closedConnections"] == 2
            for client in (a1, a2):
                error = await client.expect("error", code="TOKEN_REVOKED")
                assert "revoked" in error["message"]
                assert await client.closed() == 1000
            await b.expect("user.left", connectionId=a1.id, userId="alice")
            await b.quiet()  # Bob's socket is untouched
            status, body = await refusal(env.url(old, rooms[0]))
            assert (status, body["error"]["code"]) == (401, "TOKEN_REVOKED")
            fresh = await in_thread(env.token, "alice", "Alice")
            await clients.enter("A3", env.pk, fresh, rooms[0])  # B gets its user.joined

    run(main)


def test_disabling_the_environment_closes_its_sockets_in_every_room(rt: Realtime) -> None:
    env = rt.env("Disable")
    rooms = [new_room(), new_room()]
    toks = [env.token("alice", "Alice"), env.token("bob", "Bob")]

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, toks[0], rooms[0])
            b = await clients.enter("B", env.pk, toks[1], rooms[1])
            disabled = await in_thread(
                rt.admin_call,
                "DELETE",
                f"/admin/api/environments/{env.id}",
                json={"confirmName": "Disable"},
            )
            assert disabled.status_code == 204, disabled.text
            assert await gather(a.closed(), b.closed()) == [1000, 1000]
            assert await gather(a.leftovers(), b.leftovers()) == [[], []]
            assert await refused_status(env.url(toks[0], rooms[0])) == 401

    run(main)


def test_deleting_the_room_tells_and_closes_its_sockets(rt: Realtime) -> None:
    env = rt.env("Room delete")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            deleted = await in_thread(env.api, "DELETE", f"/rooms/{room}")
            assert deleted.status_code == 204, deleted.text
            for client in (a, b):
                assert await client.expect("room.deleted") == {
                    "type": "room.deleted",
                    "roomId": room,
                    "seq": 1,
                }
            assert await gather(a.closed(), b.closed()) == [1000, 1000]
            assert (
                await in_thread(env.api, "GET", f"/rooms/{room}/active_users")
            ).status_code == 404
            assert await gather(a.leftovers(), b.leftovers()) == [[], []]

    run(main)


# --- 4. gone connections ------------------------------------------------------------------------


def test_a_dropped_tcp_connection_is_cleaned_up(rt: Realtime) -> None:
    env = rt.env("TCP drop")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            b.ws.transport.abort()  # no close frame: the TCP connection just ends
            await a.expect("user.left", connectionId=b.id, userId="bob")
            assert await in_thread(env.active_ids, room) == {a.id}

    run(main)


def test_a_connection_deleted_through_the_management_api_is_cleaned_up(rt: Realtime) -> None:
    env = rt.env("Mgmt delete")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            url = f"{rt.management_url}/@connections/{quote(b.id, safe='')}"
            assert (await in_thread(requests.get, url, timeout=WAIT)).status_code == 200
            deleted = await in_thread(requests.delete, url, timeout=WAIT)
            assert deleted.status_code == 204, deleted.text
            assert await b.closed() == 1000
            await a.expect("user.left", connectionId=b.id)
            assert (await in_thread(requests.get, url, timeout=WAIT)).status_code == 410

            response = await in_thread(
                env.api, "POST", f"/rooms/{room}/broadcast", json={"event": "after"}
            )
            assert response.status_code == 202, response.text
            assert (await a.expect("broadcast"))["event"] == "after"
            assert await in_thread(env.active_ids, room) == {a.id}
            await a.quiet()

    run(main)


def copy_connection(rt: Realtime, env: Env, room: str, real_id: str) -> str:
    """A stale connection in the room: the three rows of `real_id` copied under a made-up id
    (as if its $disconnect never ran), with the room's live count raised to match. It connected
    a minute ago: a younger one answered 410 may still be in its `$connect`, and is kept."""
    fake_id = base64_id()
    connected_at = iso(time.time() - 60)
    db = boto3.client(
        "dynamodb",
        endpoint_url=rt.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="pulse-local",
        aws_secret_access_key="pulse-local",
    )
    table = f"{TABLE_PREFIX}data"
    keys = [
        ((f"CONN#{real_id}", "CONN"), (f"CONN#{fake_id}", "CONN")),
        ((f"ENV#{env.id}#ROOM#{room}", f"CONN#{real_id}"), None),
        ((f"ENV#{env.id}#CONNS", f"CONN#{real_id}"), None),
    ]
    try:
        for (pk, sk), new_key in keys:
            item = db.get_item(
                TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
            )["Item"]
            new_pk, new_sk = new_key or (pk, f"CONN#{fake_id}")
            item.update(
                pk={"S": new_pk},
                sk={"S": new_sk},
                id={"S": fake_id},
                connected_at={"S": connected_at},
            )
            db.put_item(TableName=table, Item=item)
        db.update_item(
            TableName=table,
            Key={"pk": {"S": f"ENV#{env.id}"}, "sk": {"S": f"ROOM#{room}"}},
            UpdateExpression="ADD connections :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    finally:
        db.close()
    return fake_id


def base64_id() -> str:
    """Shaped like API Gateway's connection ids (and the gateway's), never a live one."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def test_a_stale_connection_row_is_cleaned_up_by_the_next_room_event(rt: Realtime) -> None:
    env = rt.env("Stale row")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            fake_id = await in_thread(copy_connection, rt, env, room, a.id)
            assert await in_thread(env.active_ids, room) == {a.id, b.id, fake_id}
            gone = f"{rt.management_url}/@connections/{quote(fake_id, safe='')}"
            assert (await in_thread(requests.get, gone, timeout=WAIT)).status_code == 410

            # A room event pushes to the stale row too: 410, so it is dropped and announced.
            await b.send({"type": "broadcast", "event": "tick"})
            assert (await a.expect("broadcast"))["event"] == "tick"
            for client in (a, b):
                left = await client.expect("user.left", connectionId=fake_id)
                assert left["userId"] == "alice"
            assert await in_thread(env.active_ids, room) == {a.id, b.id}
            await gather(a.quiet(), b.quiet())

            # The room's live count was counted down too: a newcomer joins, its rows stay.
            tok_c = await in_thread(env.token, "carol", "Carol")
            c = await clients.open("C", env.pk, tok_c, room)
            joined = await c.join()
            assert {o["connectionId"] for o in joined["others"]} == {a.id, b.id}
            for client in (a, b):
                await client.expect("user.joined", connectionId=c.id)
            assert await in_thread(env.active_ids, room) == {a.id, b.id, c.id}
            await gather(a.quiet(), b.quiet(), c.quiet())

    run(main)


def test_several_stale_rows_found_by_one_event_are_announced_in_one_frame(rt: Realtime) -> None:
    env = rt.env("Stale rows")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            stale = {
                await in_thread(copy_connection, rt, env, room, a.id): "alice",
                await in_thread(copy_connection, rt, env, room, b.id): "bob",
            }
            assert await in_thread(env.active_ids, room) == {a.id, b.id, *stale}

            # Both answer 410 to one broadcast: each survivor gets one frame naming both.
            await b.send({"type": "broadcast", "event": "tick"})
            assert (await a.expect("broadcast"))["event"] == "tick"
            for client in (a, b):
                left = await client.expect("users.left")
                assert {x["connectionId"]: x["userId"] for x in left["left"]} == stale
            assert await in_thread(env.active_ids, room) == {a.id, b.id}
            await gather(a.quiet(), b.quiet())  # no user.left after it

    run(main)


# --- 5. refused at connect ----------------------------------------------------------------------


def signed_token(rt: Realtime, env: Env, *, issued: int, ttl: int) -> str:
    """A token signed as the server signs them (its secret is the fixture's)."""
    token, _ = tokens.mint(
        server_secret=rt.signing_secret.encode(),
        issuer=ISSUER,
        env_id=env.id,
        key_id=env.sk_id,
        user_id="mallory",
        name="Mallory",
        avatar=None,
        color="#123456",
        now=issued,
        ttl_seconds=ttl,
    )
    return token


def forged(token: str) -> str:
    """One character of the signature changed (a middle one: every bit of it counts)."""
    head, _, signature = token.rpartition(".")
    i = len(signature) // 2
    swapped = "A" if signature[i] != "A" else "B"
    return f"{head}.{signature[:i]}{swapped}{signature[i + 1 :]}"


def test_bad_credentials_and_rooms_are_refused_at_connect(rt: Realtime) -> None:
    env = rt.env("Refusals")
    other = rt.env("Refusals elsewhere")
    room = new_room()
    untouched = new_room()  # a room only refused connects name: never created
    tok_a = env.token("alice", "Alice")
    tok_other = other.token("olga", "Olga")
    now = int(time.time())
    fresh_signed = signed_token(rt, env, issued=now, ttl=300)
    expired = signed_token(rt, env, issued=now - 3600, ttl=600)
    unknown_key = apikeys.generate("publishable", env.id, ids.new_id("key"))
    unknown_env = apikeys.generate("publishable", ids.new_id("env"), ids.new_id("key"))

    unauthorized = {
        "expired token": env.url(expired, room),
        "forged token": env.url(forged(tok_a), room),
        "env A's token with env B's pk_": ws_url(rt.stack.ws_url, other.pk, tok_a, room),
        "env B's token with env A's pk_": env.url(tok_other, room),
        "a sk_ as apiKey": env.url(tok_a, room, pk=env.sk),
        "an unknown pk_": env.url(tok_a, room, pk=unknown_key),
        "a pk_ of an unknown environment": env.url(tok_a, room, pk=unknown_env),
        "a pk_ with a typo": env.url(
            tok_a, room, pk=env.pk[:-1] + ("x" if env.pk[-1] != "x" else "y")
        ),
        "no token": ws_url(rt.stack.ws_url, env.pk, None, room),
        "no apiKey": ws_url(rt.stack.ws_url, None, tok_a, room),
        "expired token, new room": env.url(expired, untouched),
    }
    bad_request = {
        "bad room id": env.url(tok_a, "no spaces allowed"),
        "too long room id": env.url(tok_a, "r" * 129),
        "no room": ws_url(rt.stack.ws_url, env.pk, tok_a, None),
        "empty room": ws_url(rt.stack.ws_url, env.pk, tok_a, ""),
    }

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            # The hand-signed token is accepted while valid: the expired one fails for its age.
            a = await clients.enter("A", env.pk, tok_a, room)
            probe = await clients.enter("probe", env.pk, fresh_signed, room)
            assert probe.joined["self"]["userId"] == "mallory"
            probe_id = probe.id
            await probe.close()
            await a.expect("user.left", connectionId=probe_id, userId="mallory")
            before = await in_thread(env.active, room)
            assert [u["connectionId"] for u in before] == [a.id]

            statuses = {}
            for why, url in {**unauthorized, **bad_request}.items():
                statuses[why] = await refused_status(url)
                assert await in_thread(env.active, room) == before, why
            assert statuses == {
                **{why: 401 for why in unauthorized},
                **{why: 400 for why in bad_request},
            }
            response = await in_thread(env.api, "GET", f"/rooms/{untouched}")
            assert response.status_code == 404, response.text
            assert (await in_thread(other.api, "GET", f"/rooms/{room}")).status_code == 404
            await a.quiet()

    run(main)


# --- 5b. one user cannot take a room ------------------------------------------------------------

USER_ROOM_LIMIT = 10  # PULSE_RATE_USER_CONNECTIONS_PER_ROOM of the dev stage


def stale_entry(rt: Realtime, env: Env, room: str, user_id: str, real_id: str) -> str:
    """A socket of the user that ended without a $disconnect: a copy of `real_id`'s rows under a
    made-up id (copy_connection), entered in the user's live connections as a connect would."""
    fake_id = copy_connection(rt, env, room, real_id)
    db = boto3.client(
        "dynamodb",
        endpoint_url=rt.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="pulse-local",
        aws_secret_access_key="pulse-local",
    )
    try:
        entry = {"r": {"S": room}, "x": {"N": str(time.time() + 3600)}, "s": {"BOOL": True}}
        db.update_item(
            TableName=f"{TABLE_PREFIX}data",
            Key={"pk": {"S": f"ENV#{env.id}#USER#{user_id}"}, "sk": {"S": "CONNS"}},
            UpdateExpression="SET conns.#c = :e ADD version :one",
            ExpressionAttributeNames={"#c": fake_id},
            ExpressionAttributeValues={":e": {"M": entry}, ":one": {"N": "1"}},
        )
    finally:
        db.close()
    return fake_id


def test_one_user_cannot_take_a_room(rt: Realtime) -> None:
    """One token could open every place of a room. Now the user stops at its own limit (429
    with the code in the body), the others still get in, a closed socket gives its place back,
    and one that ended without a $disconnect is asked about (GET @connections) and removed."""
    env = rt.env("One user")
    room = new_room()
    tok_m, tok_b, tok_c = (env.token(u, u.title()) for u in ("mallory", "bob", "carol"))

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            b = await clients.enter("B", env.pk, tok_b, room)
            first = await clients.enter("M0", env.pk, tok_m, room)
            mine = [first] + [
                await clients.open(f"M{n}", env.pk, tok_m, room) for n in range(1, USER_ROOM_LIMIT)
            ]

            status, body = await refusal(env.url(tok_m, room))
            assert status == 429, body
            assert body["error"]["code"] == "TOO_MANY_ROOM_CONNECTIONS", body
            c = await clients.enter("C", env.pk, tok_c, room)  # everyone else still gets in

            await mine[-1].close()  # its $disconnect removes it: user.left once it is done
            for client in (b, c):
                await client.expect("user.left", userId="mallory")
            mine[-1] = await clients.open("M-again", env.pk, tok_m, room)
            assert (await refusal(env.url(tok_m, room)))[0] == 429

            await mine[-1].close()
            for client in (b, c):
                await client.expect("user.left", userId="mallory")
            fake_id = await in_thread(stale_entry, rt, env, room, "mallory", first.id)
            assert (await in_thread(env.active_ids, room)) >= {fake_id}
            await clients.open("M-after-stale", env.pk, tok_m, room)
            for client in (b, c):
                await client.expect("user.left", connectionId=fake_id, userId="mallory")
            assert fake_id not in await in_thread(env.active_ids, room)
            assert (await refusal(env.url(tok_m, room)))[0] == 429

    run(main)


# --- 6. frame size ------------------------------------------------------------------------------


def test_a_frame_over_32_kb_closes_the_socket_with_1009(rt: Realtime) -> None:
    env = rt.env("Frames")
    room = new_room()
    tok_a, tok_b = env.token("alice", "Alice"), env.token("bob", "Bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)

            # Just under the limit passes through.
            big = "x" * (31 * 1024)
            await b.send({"type": "broadcast", "event": big})
            assert (await a.expect("broadcast"))["event"] == big

            await b.ws.send('{"type": "broadcast", "event": "' + "y" * (32 * 1024) + '"}')
            assert await b.closed() == 1009
            await a.expect("user.left", connectionId=b.id)
            assert await in_thread(env.active_ids, room) == {a.id}
            await a.quiet()

    run(main)
