"""Faults on the realtime path: DynamoDB failing under the WebSocket handlers, and fan-outs that
die half way. A committed write stays committed and acknowledged, connection rows stay intact,
and no handler raises to Lambda.

The Management API here is the FakeApi of tests/realtime (frames recorded per connection); the
real sender against misbehaving HTTP endpoints is in test_management_api.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from realtime.conftest import (
    Env,
    FakeApi,
    Gateway,
    connection_rows,
    live_count,
    mint,
    rest,
    rest_ok,
    stored_items,
)

from chalicelib.entities import Connection

from .injector import RATE, SERVER, THROTTLE, TIMEOUT, Faults

ROOM = "room-1"


def room_of_three(gw: Gateway, env: Env) -> tuple[str, str, str]:
    ids = tuple(gw.connect(env, user, ROOM) for user in ("ada", "grace", "linus"))
    gw.fake.clear()
    return ids  # type: ignore[return-value]


def thread_of(client: Any, env: Env) -> str:
    body = {"comment": {"userId": "ada", "body": "first"}}
    thread = rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/threads", env.sk, body), 201)
    return str(thread["id"])


def comment_ids(client: Any, env: Env, thread_id: str) -> list[str]:
    path = f"/api/v1/rooms/{ROOM}/threads/{thread_id}/comments"
    return [c["id"] for c in rest_ok(rest(client, "GET", path, env.sk))["data"]]


# --- $connect, $default, $disconnect with DynamoDB failing ----------------------------------------


@pytest.mark.parametrize("kind", [THROTTLE, SERVER, TIMEOUT])
@pytest.mark.parametrize("k", [0, 1])  # the check-and-read BatchGetItem, the transaction
def test_connect_answers_503_and_writes_nothing(
    k: int, kind: str, gw: Gateway, env: Env, faults: Faults
) -> None:
    gw.connect(env, "ada", ROOM)  # the room exists: the second call is the join transaction
    query = {"apiKey": env.pk, "token": mint(env.sk, "grace"), "room": ROOM}
    before = stored_items()

    faults.fail_at(k, kind)
    result = gw.connect_raw(gw.new_id(), query)

    assert faults.failed[0][:2] == (k, ["BatchGetItem", "TransactWriteItems"][k])
    assert result["statusCode"] == 503, result
    assert json.loads(result["body"])["error"]["code"] == "SERVICE_UNAVAILABLE"
    # Nothing but the usage meter's counters (a 503 after the key verified counts as refused).
    assert sorted(map(str, stored_items())) == sorted(map(str, before))
    assert live_count(env.id, ROOM) == 1

    faults.off()  # the client reconnects and gets in
    assert gw.connect_raw(gw.new_id(), query) == {"statusCode": 200}
    assert live_count(env.id, ROOM) == 2


@pytest.mark.parametrize(
    ("message", "operation"),
    [
        ({"type": "ping"}, "UpdateItem"),  # the rate window, before anything else
        ({"type": "join"}, "Query"),
        ({"type": "presence.update", "data": {"x": 1}}, "UpdateItem"),
        ({"type": "thread.create", "body": "hi"}, "TransactWriteItems"),
        ({"type": "threads.list"}, "Query"),
    ],
)
def test_a_message_meets_a_503_as_an_error_frame(
    message: dict[str, Any], operation: str, gw: Gateway, env: Env, client: Any, faults: Faults
) -> None:
    ada, grace, _ = room_of_three(gw, env)
    faults.fail(operation, THROTTLE, at=1 if message["type"] == "presence.update" else 0)
    gw.send_raw(ada, json.dumps({**message, "requestId": "r1"}))  # asserts statusCode 200

    assert faults.failed, faults.calls
    (reply,) = gw.fake.take(ada)
    assert reply == {
        "type": "error",
        "code": "SERVICE_UNAVAILABLE",
        "message": reply["message"],
        "retryAfter": 1,
        "requestId": "r1",
    }
    assert gw.fake.take(grace) == []
    faults.off()
    assert len(connection_rows(ada)) == 3  # still connected
    assert gw.ask(ada, "ping")["type"] == "pong"


def test_disconnect_with_dynamodb_down_still_answers_200(
    gw: Gateway, env: Env, faults: Faults
) -> None:
    ada, _, _ = room_of_three(gw, env)
    faults.fail("TransactWriteItems", THROTTLE)
    gw.disconnect(ada)  # asserts statusCode 200
    assert faults.failed
    # The rows stay until the next fan-out finds the socket gone, or they expire.
    assert len(connection_rows(ada)) == 3


# --- the write commits, the fan-out fails ---------------------------------------------------------


def test_a_rest_write_whose_fan_out_cannot_read_the_room_is_still_a_201(
    gw: Gateway, env: Env, client: Any, faults: Faults
) -> None:
    ada, grace, _ = room_of_three(gw, env)
    thread_id = thread_of(client, env)
    gw.fake.clear()

    faults.fail("Query", THROTTLE)  # the fan-out's read of the room's connections
    path = f"/api/v1/rooms/{ROOM}/threads/{thread_id}/comments"
    resp = rest(client, "POST", path, env.sk, {"userId": "bob", "body": "still here"})
    # the check-and-read, the rate count, the commit, then the fan-out's read fails
    assert faults.names() == ["BatchGetItem", RATE, "TransactWriteItems", "Query"]
    assert faults.failed == [(3, "Query", THROTTLE)], faults.calls

    created = rest_ok(resp, 201)
    faults.off()
    assert created["id"] in comment_ids(client, env, thread_id)  # committed once
    assert gw.fake.take(ada) == [] and gw.fake.take(grace) == []  # nobody could be told
    assert len(connection_rows()) == 9  # and nobody was dropped for it


def test_a_socket_write_whose_fan_out_cannot_read_the_room_is_acknowledged(
    gw: Gateway, env: Env, client: Any, faults: Faults
) -> None:
    """The sender learns its comment exists (its own copy, with its requestId), not an error
    that would make it send the comment again."""
    ada, grace, linus = room_of_three(gw, env)
    thread_id = thread_of(client, env)
    gw.fake.clear()

    faults.fail("Query", THROTTLE)
    gw.send(ada, "comment.create", threadId=thread_id, body="mine", requestId="c1")
    assert faults.failed

    (ack,) = gw.fake.take(ada)
    assert ack["type"] == "comment.created" and ack["requestId"] == "c1"
    faults.off()
    assert ack["comment"]["id"] in comment_ids(client, env, thread_id)
    assert gw.fake.take(grace) == [] and gw.fake.take(linus) == []
    assert len(connection_rows()) == 9


class DyingApi(FakeApi):
    """A FakeApi whose fan-out dies (raises) after `after` posts: a bug or crash half way."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def post(self, c: Connection, data: bytes) -> str:
        if len(self.attempts) >= self.after:
            self.attempts.append(c.id)
            raise RuntimeError("the fan-out died here")
        return super().post(c, data)


@pytest.mark.parametrize("after", [0, 1, 2, 3])
def test_a_fan_out_that_dies_half_way_leaves_the_write_and_the_room_intact(
    after: int, gw: Gateway, env: Env, client: Any
) -> None:
    ada, grace, linus = room_of_three(gw, env)
    thread_id = thread_of(client, env)
    before = live_count(env.id, ROOM)
    rows = connection_rows()
    dying = DyingApi(after)
    gw.graph.realtime.channel.api = dying  # type: ignore[assignment]

    gw.send(ada, "comment.create", threadId=thread_id, body="half way", requestId="h")

    assert len(dying.attempts) == min(after + 1, 3)  # it did die (or reached everyone)
    delivered = {cid: frames for cid, frames in dying.frames.items()}
    assert [f["type"] for f in delivered.get(ada, [])] == (["comment.created"] if after else [])
    # The comment is there once, its counters moved once, and nobody lost their connection.
    comments = comment_ids(client, env, thread_id)
    assert len(comments) == 2
    thread = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/threads/{thread_id}", env.sk))
    assert thread["commentCount"] == 2
    assert connection_rows() == rows
    assert live_count(env.id, ROOM) == before
    errors = [f for frames in delivered.values() for f in frames if f["type"] == "error"]
    assert errors == []

    # The next fan-out reaches everyone.
    gw.graph.realtime.channel.api = gw.fake  # type: ignore[assignment]
    gw.send(grace, "broadcast", event="after")
    assert gw.fake.take(ada)[-1]["event"] == "after"
    assert gw.fake.take(linus)[-1]["event"] == "after"


def test_a_failing_gone_cleanup_does_not_fail_the_delivery(
    gw: Gateway, env: Env, client: Any, faults: Faults
) -> None:
    """A push answering 410 removes that connection; if DynamoDB refuses the removal, the
    broadcast still reaches the others and the sender gets no error."""
    ada, grace, linus = room_of_three(gw, env)
    gw.fake.gone.add(grace)
    faults.fail("TransactWriteItems", THROTTLE)

    gw.send(ada, "broadcast", event="hi", requestId="b")

    assert faults.failed
    assert [f["event"] for f in gw.fake.take(linus)] == ["hi"]
    assert gw.fake.take(ada) == []  # no error frame
    faults.off()
    assert len(connection_rows(grace)) == 3  # left for the next fan-out to find
    gw.send(ada, "broadcast", event="again")
    assert connection_rows(grace) == []
