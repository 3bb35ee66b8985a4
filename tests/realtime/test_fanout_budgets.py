"""A message fanned out to N connections costs the same DynamoDB calls whatever N is: one
consistent Query of the room's live connections, then N Management API posts (no read or write
per recipient). Counted at botocore; the posts are counted by the FakeApi."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import DynamoCalls, Env, Gateway, rest, rest_ok

ROOM = "room-1"
RATE = ["UpdateItem"]  # the sender's rate window is open (it pinged this second)
SIZES = [1, 30]  # constant in N; bench/round_trips.py shows 1, 10 and 100 (the room cap)


def room_of(gw: Gateway, env: Env, n: int) -> list[str]:
    gw.clock.current = int(gw.clock.now()) + 1.25  # well inside a fresh second
    members = [gw.connect(env, f"user-{i}", ROOM) for i in range(n)]
    gw.send(members[0], "ping")
    gw.fake.clear()
    return members


def ops(calls: list[Any]) -> list[str]:
    return [c.operation for c in calls]


@pytest.mark.parametrize("n", SIZES)
def test_a_socket_broadcast_to_n_is_two_calls(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls, n: int
) -> None:
    sender, *others = room_of(gw, env, n)

    with dynamo_calls.record() as calls:
        gw.send(sender, "broadcast", event={"x": 1})

    assert ops(calls) == [*RATE, "Query"]
    assert calls[1].params["ConsistentRead"] is True
    assert sorted(gw.fake.attempts) == sorted(others)  # everyone but the sender, once each


@pytest.mark.parametrize("n", SIZES)
def test_a_socket_comment_to_n_is_four_calls(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls, n: int
) -> None:
    members = room_of(gw, env, n)
    body = {"comment": {"userId": "u", "body": "First"}}
    thread = rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/threads", env.sk, body), 201)
    gw.send(members[0], "ping")  # keep the sender's rate window at this second
    gw.fake.clear()

    with dynamo_calls.record() as calls:
        gw.send(members[0], "comment.create", threadId=thread["id"], body="Hi")

    assert ops(calls) == [*RATE, "BatchGetItem", "TransactWriteItems", "Query"]
    assert sorted(gw.fake.attempts) == sorted(members)  # the sender too (with its requestId)


@pytest.mark.parametrize("n", SIZES)
def test_a_rest_comment_to_n_is_four_calls(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls, n: int
) -> None:
    members = room_of(gw, env, n)
    body = {"comment": {"userId": "u", "body": "First"}}
    thread = rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/threads", env.sk, body), 201)
    gw.fake.clear()
    path = f"/api/v1/rooms/{ROOM}/threads/{thread['id']}/comments"

    with dynamo_calls.record() as calls:
        rest_ok(rest(client, "POST", path, env.sk, {"userId": "u", "body": "Hi"}), 201)

    # the check, the rate count (chalicelib/services/limits.py), the write, the members
    assert ops(calls) == ["BatchGetItem", "UpdateItem", "TransactWriteItems", "Query"]
    assert sorted(gw.fake.attempts) == sorted(members)
