"""Many connections found gone at once (bench/fanout.py: a room of 1,000 with 50 stale rows took
50 Queries of the whole room and 50 transactions): their rows go in one transaction per room per
REMOVE_BATCH, the room's survivors are read once, and each survivor is told once: `user.left` for
one gone connection, one `users.left` naming them all for several. A refused batch falls back to
one connection at a time."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.repositories import connections as conn_repo

from .conftest import (
    DynamoCalls,
    Env,
    Gateway,
    active_user_ids,
    connection_rows,
    delete_rows,
    live_count,
)

ROOM = "room-1"


def left(connection_id: str, user_id: str) -> dict[str, Any]:
    return {"type": "user.left", "connectionId": connection_id, "userId": user_id}


def all_left(*named: tuple[str, str]) -> dict[str, Any]:
    """One `users.left` naming (connection id, user id) pairs, in order."""
    return {"type": "users.left", "left": [{"connectionId": c, "userId": u} for c, u in named]}


def ops(calls: list[Any]) -> list[str]:
    return [c.operation for c in calls]


def room(gw: Gateway, env: Env, users: list[str], room_id: str = ROOM) -> dict[str, str]:
    ids = {user: gw.connect(env, user, room_id) for user in users}
    gw.fake.clear()
    return ids


def test_gone_connections_of_a_broadcast_cost_one_transaction_and_one_read(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls
) -> None:
    ids = room(gw, env, ["ada", "grace", "linus", "alan", "edsger", "barbara"])
    gone = ["alan", "edsger", "barbara"]
    gw.fake.gone.update(ids[u] for u in gone)
    gw.send(ids["ada"], "ping")  # the rate window's second is open: one UpdateItem below
    gw.fake.clear()

    with dynamo_calls.record() as calls:
        gw.send(ids["ada"], "broadcast", event="hi")

    # rate + the room's members + the three removals + the survivors, once
    assert ops(calls) == ["UpdateItem", "Query", "TransactWriteItems", "Query"]
    assert len(calls[2].params["TransactItems"]) == 3 * 3 + 1 + 3  # rows, room, 3 users' items
    for user in gone:
        assert connection_rows(ids[user]) == []
    assert live_count(env.id, ROOM) == 3
    assert active_user_ids(client, env, ROOM) == sorted(ids[u] for u in ("ada", "grace", "linus"))
    told = all_left(*((ids[u], u) for u in gone))
    broadcast = {"type": "broadcast", "connectionId": ids["ada"], "userId": "ada", "event": "hi"}
    assert gw.fake.take(ids["grace"]) == [broadcast, told]
    assert gw.fake.take(ids["linus"]) == [broadcast, told]
    assert gw.fake.take(ids["ada"]) == [told]


def test_a_refused_batch_falls_back_to_one_at_a_time(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls
) -> None:
    ids = room(gw, env, ["ada", "grace", "alan", "edsger"])
    gw.fake.gone.update({ids["alan"], ids["edsger"]})
    members = runtime.services().realtime.channel.members(env.id, ROOM)
    gone = [c for c in members if c.id in (ids["alan"], ids["edsger"])]
    delete_rows(ids["edsger"])  # its $disconnect got there first (without the count, here)

    with dynamo_calls.record() as calls:
        runtime.services().realtime.channel.drop(gone)

    # the batch (refused), alan alone, edsger alone (already gone: refused), then the survivors
    assert ops(calls) == ["TransactWriteItems"] * 3 + ["Query"]
    assert connection_rows(ids["alan"]) == []
    assert live_count(env.id, ROOM) == 3  # 4, less alan (edsger's rows went behind its back)
    assert active_user_ids(client, env, ROOM) == sorted([ids["ada"], ids["grace"]])
    for survivor in ("ada", "grace"):
        assert gw.fake.take(ids[survivor]) == [left(ids["alan"], "alan")]  # edsger: not by us


def test_batches_are_per_room_and_at_most_remove_batch(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conn_repo, "REMOVE_BATCH", 2)
    first = room(gw, env, ["ada", "u1", "u2", "u3", "u4", "u5"])
    second = room(gw, env, ["grace", "v1"], "room-2")
    channel = runtime.services().realtime.channel
    gone = [c for c in channel.members(env.id, ROOM) if c.user_id.startswith("u")]
    gone += [c for c in channel.members(env.id, "room-2") if c.user_id == "v1"]

    with dynamo_calls.record() as calls:
        channel.drop(gone)

    # room-1: 2 + 2 + 1 (the last alone); room-2: 1; then each room's survivors once. Each
    # batch: 3 rows per connection, the room's count, and each user's live connections.
    writes = [c for c in calls if c.operation == "TransactWriteItems"]
    assert [len(c.params["TransactItems"]) for c in writes] == [9, 9, 5, 5]
    assert ops(calls).count("Query") == 2
    assert live_count(env.id, ROOM) == 1 and live_count(env.id, "room-2") == 1
    assert active_user_ids(client, env, ROOM) == [first["ada"]]
    assert active_user_ids(client, env, "room-2") == [second["grace"]]
    # one frame for the room's five (removed in three batches), the one of room-2 as ever
    assert gw.fake.take(first["ada"]) == [
        all_left(*((first[f"u{i}"], f"u{i}") for i in range(1, 6)))
    ]
    assert gw.fake.take(second["grace"]) == [left(second["v1"], "v1")]


def test_a_survivor_found_gone_while_announcing_is_told_nothing_more(
    gw: Gateway, env: Env, client: Any
) -> None:
    ids = room(gw, env, ["ada", "grace", "alan", "edsger"])
    gw.fake.gone.update({ids["alan"], ids["edsger"]})
    channel = runtime.services().realtime.channel
    alan = [c for c in channel.members(env.id, ROOM) if c.id == ids["alan"]]

    channel.drop(alan)  # edsger is found gone while being told alan left

    attempts = gw.fake.attempts
    assert attempts.count(ids["edsger"]) == 1  # not told again about anyone
    assert connection_rows(ids["alan"]) == [] and connection_rows(ids["edsger"]) == []
    assert live_count(env.id, ROOM) == 2
    for survivor in ("ada", "grace"):
        assert gw.fake.take(ids[survivor]) == [
            left(ids["alan"], "alan"),
            left(ids["edsger"], "edsger"),
        ]
