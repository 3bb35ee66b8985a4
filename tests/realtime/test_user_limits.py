"""One user must not take a room: live connections per user per room and per environment, and
messages per user per second across its connections (chalicelib/services/user_limits.py and
services/limits.py), at the WebSocket API, with hand-built API Gateway events.

A user is a token's `sub`: a second token of the same user, minted with another key, is the same
user. Each test sets the limits it is about (`limits`) and turns the others off."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from integration.conftest import atomic_moto  # noqa: F401 (a fixture)

from chalicelib import runtime
from chalicelib.config import RATE_FIELDS

from .conftest import (
    OWNER,
    DynamoCalls,
    Env,
    Gateway,
    active_user_ids,
    connection_rows,
    live_count,
    mint,
    rest,
    rest_ok,
)

ROOM = "room-1"
OFF = {attribute: 0 for attribute in RATE_FIELDS.values()}


def limits(gw: Gateway, **values: int) -> None:
    """These per-user limits, every other abuse limit off, the per-connection rate far away."""
    gw.reconfigure(**{**OFF, "ws_messages_per_second": 1000, **values})


def query(env: Env, token: str, room: str = ROOM) -> dict[str, str]:
    return {"apiKey": env.pk, "token": token, "room": room}


def refused(gw: Gateway, env: Env, token: str, room: str, code: str) -> dict[str, Any]:
    result = gw.connect_raw(gw.new_id(), query(env, token, room))
    assert result["statusCode"] == 429, result
    error: dict[str, Any] = json.loads(result["body"])["error"]
    assert error["code"] == code, error
    return error


def user_item(env_id: str, user_id: str) -> dict[str, Any] | None:
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    key = {"pk": {"S": f"ENV#{env_id}#USER#{user_id}"}, "sk": {"S": "CONNS"}}
    item = client.get_item(TableName=settings.data_table, Key=key, ConsistentRead=True).get("Item")
    return item  # type: ignore[no-any-return]


def entries(env_id: str, user_id: str) -> list[str]:
    """The connection ids the user's item holds."""
    item = user_item(env_id, user_id)
    return sorted(item["conns"]["M"]) if item else []


def expire_entry(env_id: str, user_id: str, connection_id: str, at: float) -> None:
    """Move one entry's expiry (as if its socket had ended long ago, API Gateway's 2 hours)."""
    settings = runtime.services().settings
    boto3.client("dynamodb", region_name=settings.region).update_item(
        TableName=settings.data_table,
        Key={"pk": {"S": f"ENV#{env_id}#USER#{user_id}"}, "sk": {"S": "CONNS"}},
        UpdateExpression="SET conns.#c.x = :x",
        ExpressionAttributeNames={"#c": connection_id},
        ExpressionAttributeValues={":x": {"N": str(at)}},
    )


# --- connections per user per room ---------------------------------------------------------------


def test_one_token_cannot_take_every_place_of_a_room(gw: Gateway, env: Env) -> None:
    """The report: one token opened all of a room's connections and everyone else got
    ROOM_FULL. Now the user stops at its own limit and the room keeps places for others."""
    limits(gw, user_connections_per_room=3)
    gw.reconfigure(room_connection_cap=5)
    token = mint(env.sk, "mallory")
    mine = [gw.connect(env, token=token) for _ in range(3)]

    error = refused(gw, env, token, ROOM, "TOO_MANY_ROOM_CONNECTIONS")

    assert "3 live connections in this room" in error["message"]
    assert live_count(env.id, ROOM) == 3
    assert len(connection_rows()) == 3 * 3  # nothing written for the refused one
    # Everyone else still gets in, up to the room's own cap.
    others = [gw.connect(env, user) for user in ("ada", "grace")]
    assert live_count(env.id, ROOM) == 5
    assert sorted(entries(env.id, "mallory")) == sorted(mine)
    assert others


def test_the_limit_is_per_user_whatever_the_token_key_or_room(gw: Gateway, env: Env) -> None:
    limits(gw, user_connections_per_room=2)
    graph = runtime.services()
    spare = graph.environments.create_key(OWNER, env.id, "secret", "spare")
    assert spare.key is not None
    gw.connect(env, token=mint(env.sk, "mallory"))
    gw.connect(env, token=mint(spare.key, "mallory"))  # another key, another token

    refused(gw, env, mint(env.sk, "mallory"), ROOM, "TOO_MANY_ROOM_CONNECTIONS")
    refused(gw, env, mint(spare.key, "mallory"), ROOM, "TOO_MANY_ROOM_CONNECTIONS")
    gw.connect(env, room="room-2", token=mint(env.sk, "mallory"))  # per room
    gw.connect(env, token=mint(env.sk, "ada"))  # per user


def test_a_closed_connection_gives_its_place_back(gw: Gateway, env: Env) -> None:
    limits(gw, user_connections_per_room=2)
    token = mint(env.sk, "mallory")
    first = gw.connect(env, token=token)
    gw.connect(env, token=token)
    refused(gw, env, token, ROOM, "TOO_MANY_ROOM_CONNECTIONS")
    gw.fake.probed.clear()

    gw.disconnect(first)

    gw.connect(env, token=token)
    assert gw.fake.probed == []  # counted exactly: the $disconnect removed its entry
    assert first not in entries(env.id, "mallory")


# --- connections per user per environment --------------------------------------------------------


def test_one_user_is_limited_across_the_rooms_of_its_environment(gw: Gateway, env: Env) -> None:
    limits(gw, user_connections_per_env=3)
    token = mint(env.sk, "mallory")
    for n in range(3):
        gw.connect(env, token=token, room=f"room-{n}")

    error = refused(gw, env, token, "room-9", "TOO_MANY_CONNECTIONS")

    assert "3 live connections in this environment" in error["message"]
    gw.connect(env, "ada", "room-9")
    other = runtime.services().environments.create(OWNER, "Elsewhere")[1]
    assert other[0].key is not None and other[1].key is not None
    # The same user id in another environment is another user.
    other_env = Env(other[0].env_id, other[0].key, other[1].key, other[0].id, other[1].id)
    gw.connect(other_env, "mallory", "room-9")


def test_a_refused_connect_writes_nothing_and_costs_the_one_read(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    limits(gw, user_connections_per_room=2, user_connections_per_env=3)
    token = mint(env.sk, "mallory")
    first = gw.connect(env, token=token)
    elsewhere = gw.connect(env, token=token, room="room-2")
    second = gw.connect(env, token=token)
    before = (connection_rows(), user_item(env.id, "mallory"), live_count(env.id, ROOM))

    # API Gateway is asked (GET @connections) about those that fill the limit, each once.
    for room, code, asked in (
        (ROOM, "TOO_MANY_ROOM_CONNECTIONS", [first, second]),
        ("room-3", "TOO_MANY_CONNECTIONS", [elsewhere]),
        ("room-3", "TOO_MANY_CONNECTIONS", []),
    ):
        gw.fake.probed.clear()
        with dynamo_calls.record() as calls:
            refused(gw, env, token, room, code)
        assert [c.operation for c in calls] == ["BatchGetItem"]
        assert sorted(gw.fake.probed) == sorted(asked)

    assert (connection_rows(), user_item(env.id, "mallory"), live_count(env.id, ROOM)) == before


# --- sockets that died without $disconnect -------------------------------------------------------


def test_sockets_closed_without_a_disconnect_are_asked_about_and_removed(
    gw: Gateway, env: Env, client: Any
) -> None:
    """$disconnect is best effort: before refusing, the service asks API Gateway whether the
    connections filling the limit are open (GET @connections) and removes the closed ones."""
    limits(gw, user_connections_per_room=3)
    token = mint(env.sk, "mallory")
    dead = [gw.connect(env, token=token) for _ in range(2)]
    alive = gw.connect(env, token=token)
    watcher = gw.connect(env, "ada")
    gw.join(watcher)
    gw.fake.gone.update(dead)  # their sockets closed; API Gateway never ran $disconnect
    gw.fake.clear()

    again = gw.connect(env, token=token)

    assert sorted(entries(env.id, "mallory")) == sorted([alive, again])
    for c in dead:
        assert connection_rows(c) == []
    assert active_user_ids(client, env, ROOM) == sorted([alive, again, watcher])
    assert live_count(env.id, ROOM) == 3
    left = [f for f in gw.fake.take(watcher) if f["type"] in ("user.left", "users.left")]
    assert len(left) == 1 and left[0]["type"] == "users.left"  # both in one frame
    assert sorted(x["connectionId"] for x in left[0]["left"]) == sorted(dead)


def test_while_every_counted_socket_is_open_the_user_is_asked_about_once(
    gw: Gateway, env: Env
) -> None:
    """A user retrying at its limit does not make the service ask API Gateway each time."""
    limits(gw, user_connections_per_room=2)
    token = mint(env.sk, "mallory")
    mine = [gw.connect(env, token=token) for _ in range(2)]
    gw.fake.probed.clear()

    for _ in range(5):
        refused(gw, env, token, ROOM, "TOO_MANY_ROOM_CONNECTIONS")

    assert sorted(gw.fake.probed) == sorted(mine)


def test_expired_entries_do_not_count(gw: Gateway, env: Env) -> None:
    """An entry past its expiry (API Gateway ends every socket within 2 hours) is no live
    connection, even before DynamoDB's TTL or a removal gets to it; the next connect drops it."""
    limits(gw, user_connections_per_room=2)
    token = mint(env.sk, "mallory")
    old, current = gw.connect(env, token=token), gw.connect(env, token=token)
    expire_entry(env.id, "mallory", old, gw.clock.now() - 1)

    new = gw.connect(env, token=token)

    assert gw.fake.probed == []
    assert sorted(entries(env.id, "mallory")) == sorted([current, new])


@pytest.mark.usefixtures("atomic_moto")
def test_two_connects_racing_for_the_last_place_get_one(
    gw: Gateway, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read one connection of the user's two before either writes: the version condition
    on the user's item lets one transaction through; the other reads again and is refused."""
    from chalicelib.repositories import connections as conn_repo

    limits(gw, user_connections_per_room=2)
    token = mint(env.sk, "mallory")
    gw.connect(env, token=token)
    barrier = threading.Barrier(2, timeout=30)
    add = conn_repo.add
    waited: list[bool] = []

    def add_together(*args: Any, **kwargs: Any) -> None:
        if len(waited) < 2:
            waited.append(True)
            barrier.wait()
        add(*args, **kwargs)

    monkeypatch.setattr(conn_repo, "add", add_together)
    results: list[dict[str, Any]] = []

    def connect() -> None:
        results.append(gw.connect_raw(gw.new_id(), query(env, token)))

    threads = [threading.Thread(target=connect) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r["statusCode"] for r in results) == [200, 429]
    assert len(entries(env.id, "mallory")) == 2
    assert live_count(env.id, ROOM) == 2


# --- removals keep the count exact ---------------------------------------------------------------


def test_kicked_and_deleted_room_connections_leave_the_count(
    gw: Gateway, env: Env, client: Any
) -> None:
    limits(gw, user_connections_per_env=2)
    graph = runtime.services()
    gw.connect(env, token=mint(env.sk, "mallory"), room="room-a")
    gw.connect(env, token=mint(env.sk, "mallory"), room="room-b")
    rest_ok(rest(client, "DELETE", "/api/v1/rooms/room-a", env.sk), 204)
    assert len(entries(env.id, "mallory")) == 1

    graph.environments.revoke(OWNER, env.id, env.sk_id)  # kicks its tokens' sockets
    assert entries(env.id, "mallory") == []

    spare = graph.environments.create_key(OWNER, env.id, "secret", "spare")
    assert spare.key is not None
    gw.connect(env, token=mint(spare.key, "mallory"), room="room-c")
    gw.connect(env, token=mint(spare.key, "mallory"), room="room-d")
    assert gw.fake.probed == []


# --- messages per user ---------------------------------------------------------------------------


def second_start(gw: Gateway) -> None:
    gw.clock.current = int(gw.clock.now()) + 1.25  # well inside a fresh second


def test_ten_sockets_of_one_user_share_one_message_rate(gw: Gateway, env: Env) -> None:
    """The report: ten sockets of one token sent ten times the per-connection rate."""
    limits(gw, user_messages_per_second=6)
    gw.reconfigure(ws_messages_per_second=4)
    token = mint(env.sk, "mallory")
    sockets = [gw.connect(env, token=token) for _ in range(10)]
    second_start(gw)
    gw.fake.clear()

    answers = []
    for c in sockets:
        for _ in range(4):  # each socket within its own rate
            answers.append(gw.ask(c, "ping"))

    assert [a["type"] for a in answers].count("pong") == 6
    errors = [a for a in answers if a["type"] == "error"]
    assert len(errors) == 34
    assert {(e["code"], e["retryAfter"]) for e in errors} == {("USER_RATE_LIMITED", 1)}
    assert "6 messages per second" in errors[0]["message"]
    ada = gw.connect(env, "ada")
    assert gw.ask(ada, "ping") == {"type": "pong"}  # another user is not held back
    gw.clock.advance(1)
    assert gw.ask(sockets[0], "ping") == {"type": "pong"}  # a new second


def test_a_refused_message_is_not_fanned_out(gw: Gateway, env: Env) -> None:
    limits(gw, user_messages_per_second=1)
    token = mint(env.sk, "mallory")
    a, b = gw.connect(env, token=token), gw.connect(env, token=token)
    watcher = gw.connect(env, "ada")
    second_start(gw)
    gw.fake.clear()

    gw.send(a, "broadcast", event="one", requestId="r1")
    gw.send(b, "broadcast", event="two", requestId="r2")

    assert [f["event"] for f in gw.fake.take(watcher)] == ["one"]
    *_, error = gw.fake.take(b)  # a's broadcast, then its own refusal
    assert (error["type"], error["code"], error["requestId"]) == (
        "error",
        "USER_RATE_LIMITED",
        "r2",
    )
    assert gw.fake.take(a) == []


def test_a_users_only_connection_costs_no_extra_call_and_a_second_one_costs_one(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    """A user's only connection is held by the per-connection rate (the lower one): its
    messages cost the one UpdateItem they always did. Once the user opens another, each of
    its connections (the first is flagged by the second's connect) counts the user too."""
    limits(gw, user_messages_per_second=50, user_connections_per_room=10)
    gw.reconfigure(ws_messages_per_second=20)
    first = gw.connect(env, token=mint(env.sk, "mallory"))
    second_start(gw)
    gw.send(first, "ping")

    with dynamo_calls.record() as alone:
        gw.send(first, "ping")
    second = gw.connect(env, token=mint(env.sk, "mallory"))
    gw.send(second, "ping")
    with dynamo_calls.record() as together:
        gw.send(first, "ping")
        gw.send(second, "ping")

    assert [c.operation for c in alone] == ["UpdateItem"]
    assert [c.operation for c in together] == ["UpdateItem", "UpdateItem"] * 2
    user_counts = [c for c in together[1::2]]
    assert all("RL#user:" in c.params["Key"]["pk"]["S"] for c in user_counts)


# --- settings ------------------------------------------------------------------------------------


def test_each_limit_set_to_zero_is_off_on_its_own(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    limits(gw, user_connections_per_room=0, user_connections_per_env=3)
    token = mint(env.sk, "mallory")
    sockets = [gw.connect(env, token=token) for _ in range(3)]  # no limit in the room

    refused(gw, env, token, ROOM, "TOO_MANY_CONNECTIONS")  # but one in the environment

    limits(gw)  # every per-user limit 0: nothing is read, written or refused
    with dynamo_calls.record() as calls:
        gw.connect(env, token=token)
    assert "#USER#" not in json.dumps(calls[0].params)
    assert len(entries(env.id, "mallory")) == 3  # the new connection is not entered
    second_start(gw)
    assert all(gw.ask(c, "ping") == {"type": "pong"} for c in sockets for _ in range(3))
