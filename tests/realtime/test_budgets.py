"""DynamoDB call budgets of the WebSocket routes, counted at botocore (every client, every call).

Every DynamoDB call a handler makes is recorded, in order, and must be exactly the listed one:

| Operation                                  | DynamoDB calls, in order                          |
|--------------------------------------------|---------------------------------------------------|
| $connect, new room                         | BatchGetItem (pk_, env, minting sk_, room, the    |
|                                            | user's live connections, the user (its token      |
|                                            | generation), the caller's two failure counters)   |
|                                            | + TransactWriteItems (3 rows, room, STATS.rooms,  |
|                                            | the user's live connections, a check that the     |
|                                            | user's tokens were not revoked meanwhile)         |
| $connect, existing room                    | BatchGetItem + TransactWriteItems (3 rows, +1,    |
|                                            | the user's live connections)                      |
| $connect, the user's second connection     | BatchGetItem + TransactWriteItems (as above + the |
|                                            | first connection flagged `shared`)                |
| $connect refused offline (bad or missing   | nothing                                           |
| pk_, sk_, garbage/missing token, bad room) |                                                   |
| $connect refused after the read: forged    | BatchGetItem + UpdateItem of the source's failure |
| token                                      | counter (the token failed, not the pk_)           |
| $connect refused after the read: revoked   | BatchGetItem (stale credentials are no guess: not |
| pk_, expired token                         | counted)                                          |
| $default, invalid frame (JSON/type/field)  | nothing                                           |
| $default, same second ("rate")             | UpdateItem (rate window; returns the connection)  |
| $default, new second ("rate")              | UpdateItem (condition fails) + UpdateItem         |
| $default from an unknown connection        | UpdateItem + UpdateItem (both conditional, no-op) |
| $default over the rate                     | UpdateItem                                        |
| $default of a user with two connections    | rate + UpdateItem (the user's count this second)  |
| ping                                       | rate                                              |
| join                                       | rate + BatchGetItem (env, the room's last seq) +  |
|                                            | Query (members)                                   |
| join with sinceSeq                         | rate + BatchGetItem (env, room, last seq) + Query |
|                                            | (the events after it) + Query (members)           |
| presence.update                            | rate + UpdateItem (presence) + Query              |
| broadcast                                  | rate + Query                                      |
| threads.list                               | rate + BatchGetItem (env, room) + Query           |
|                                            | + BatchGetItem (the user's unread state and       |
|                                            | subscription of each thread listed)               |
| thread.markRead                            | rate + BatchGetItem (env, room, thread, state)    |
|                                            | (+ TransactWriteItems when unread, and the count  |
|                                            | and the user's sockets for inbox.updated)         |
| thread.subscribe, thread.unsubscribe       | rate + BatchGetItem (+ last seq) + PutItem        |
| notifications.get / .set                   | rate + BatchGetItem (+ PutItem)                   |
| inbox.list                                 | rate + BatchGetItem (env, user, count) + Query    |
|                                            | (+ BatchGetItem: the entries' rooms and threads)  |
| users.search                               | rate + BatchGetItem (env, room) + Query (ids) +   |
|                                            | Query (name words) + BatchGetItem (users found by |
|                                            | name only; none when the ids fill the answer)     |
| thread.create, comment.create              | rate + BatchGetItem + TransactWriteItems + Query  |
|   (with attachmentIds: the same; their     |   (+ per file one S3 HeadObject before the tx and |
|                                            |   one PutObjectTagging after it)                  |
|   records in the read, claims in the tx)   |                                                   |
| attachment.create                          | rate + BatchGetItem (env, room) + PutItem         |
| comment.update, thread.resolve             | rate + BatchGetItem + TransactWriteItems + Query  |
| reaction.add, reaction.remove              | rate + BatchGetItem + TransactWriteItems + Query  |
|   (reacting twice: rate + BatchGetItem)    |                                                   |
|   (the same with a clientMutationId: its   |                                                   |
|   earlier acknowledgement is in the read)  |                                                   |
| $disconnect                                | GetItem + TransactWriteItems + Query (to tell)    |
| $disconnect, already gone                  | GetItem                                           |
| GET active_users, POST broadcast (REST)    | BatchGetItem (key, env, room) + UpdateItem (rate  |
|                                            | counters) + Query                                 |
| POST users/{id}/revoke-tokens (REST)       | BatchGetItem (key, env) + UpdateItem (rate) +     |
|                                            | UpdateItem (the user's generation) + Query (the   |
|                                            | user's sockets) + per closed socket: its removal  |
|                                            | + Query (survivors, to tell)                      |

"rate" is one UpdateItem when the connection already counted a message this second, two when a
new second starts. Every BatchGetItem, GetItem and connection Query is a consistent read (a
thread listing need not be)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.services.limits import day_of

from .conftest import OWNER, DynamoCalls, Env, Gateway, mint, rest, rest_ok

ROOM = "room-1"
RATE = ["UpdateItem"]  # within the connection's current second
NEW_RATE = ["UpdateItem", "UpdateItem"]  # the first message of a second


def ops(calls: list[Any]) -> list[str]:
    return [c.operation for c in calls]


def assert_consistent(calls: list[Any]) -> None:
    for call in calls:
        if call.operation == "BatchGetItem":
            tables = call.params["RequestItems"]
            assert tables and all(t.get("ConsistentRead") is True for t in tables.values())
        if call.operation == "GetItem" or (
            call.operation == "Query" and "CONN#" in json.dumps(call.params)
        ):
            assert call.params.get("ConsistentRead") is True, call.params


def batch_keys(call: Any) -> set[tuple[str, str]]:
    return {
        (key["pk"]["S"], key["sk"]["S"])
        for request in call.params["RequestItems"].values()
        for key in request["Keys"]
    }


# --- $connect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("room_state", ["new room", "existing room"])
def test_connect_is_one_consistent_read_and_one_transaction(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls, room_state: str
) -> None:
    if room_state == "existing room":
        gw.connect(env, "grace", ROOM)
    query = {"apiKey": env.pk, "token": mint(env.sk, "ada"), "room": ROOM}

    with dynamo_calls.record() as calls:
        assert gw.connect_raw(gw.new_id(), query) == {"statusCode": 200}

    assert ops(calls) == ["BatchGetItem", "TransactWriteItems"]  # within "<= 2 writes"
    assert_consistent(calls)
    minute = int(gw.clock.now() // 60) * 60
    assert batch_keys(calls[0]) == {
        (f"RL#fail-ip:203.0.113.9#{minute}", "RL"),  # the caller's failed attempts, checked first
        (f"RL#fail-key:{env.id}#{day_of(minute)}", f"RL#{env.pk_id}#{minute}"),
        (f"ENV#{env.id}", f"KEY#{env.pk_id}"),
        (f"ENV#{env.id}", "ENV"),
        (f"ENV#{env.id}", f"KEY#{env.sk_id}"),
        (f"ENV#{env.id}", f"ROOM#{ROOM}"),
        (f"ENV#{env.id}#USER#ada", "CONNS"),  # the user's live connections (per-user limits)
        (f"ENV#{env.id}", "USER#ada"),  # the user's token generation (revoke-tokens)
    }
    items = calls[1].params["TransactItems"]
    # 3 rows + room (+ STATS when new) + user's connections + a check of its token generation
    expected = 7 if room_state == "new room" else 6
    assert len(items) == expected
    checks = [i["ConditionCheck"]["Key"] for i in items if "ConditionCheck" in i]
    assert checks == [{"pk": {"S": f"ENV#{env.id}"}, "sk": {"S": "USER#ada"}}]


def _refusal(case: str, gw: Gateway, env: Env) -> dict[str, str]:
    token = mint(env.sk, "eve")
    if case == "missing pk_":
        return {"token": token, "room": ROOM}
    if case == "malformed pk_":
        return {"apiKey": "pk_nonsense", "token": token, "room": ROOM}
    if case == "sk_ as apiKey":
        return {"apiKey": env.sk, "token": token, "room": ROOM}
    if case == "missing token":
        return {"apiKey": env.pk, "room": ROOM}
    if case == "garbage token":
        return {"apiKey": env.pk, "token": "garbage", "room": ROOM}
    if case == "bad room":
        return {"apiKey": env.pk, "token": token, "room": "no spaces"}
    if case == "expired token":
        gw.clock.advance(3600)
        return {"apiKey": env.pk, "token": token, "room": ROOM}
    if case == "forged token":
        head, body, sig = token.split(".")
        forged = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        return {"apiKey": env.pk, "token": f"{head}.{body}.{forged}", "room": ROOM}
    if case == "revoked pk_":
        gw.graph.environments.revoke(OWNER, env.id, env.pk_id)
        return {"apiKey": env.pk, "token": token, "room": ROOM}
    raise AssertionError(case)


REFUSALS: dict[str, list[str]] = {
    # refused offline: not a single call
    "missing pk_": [],
    "malformed pk_": [],
    "sk_ as apiKey": [],
    "missing token": [],
    "garbage token": [],
    "bad room": [],
    # refused after the one read; a guess is counted as a failed attempt of the source (the
    # token's fault), a stale credential (expired token, revoked pk_) is not
    "expired token": ["BatchGetItem"],
    "forged token": ["BatchGetItem", "UpdateItem"],
    "revoked pk_": ["BatchGetItem"],
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_connect_writes_nothing(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls, case: str
) -> None:
    gw.connect(env, "grace", ROOM)
    query = _refusal(case, gw, env)

    with dynamo_calls.record() as calls:
        result = gw.connect_raw(gw.new_id(), query)

    assert result["statusCode"] in (400, 401), result
    assert ops(calls) == REFUSALS[case]
    assert all(c.params["Key"]["pk"]["S"].startswith("RL#fail-") for c in calls[1:]), calls
    assert_consistent(calls)


# --- $default ----------------------------------------------------------------------------------


def _member(gw: Gateway, env: Env) -> tuple[str, str]:
    """Two connections in a room; ada has sent one message this second (a ping)."""
    gw.clock.current = int(gw.clock.now()) + 1.25  # well inside a fresh second
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.send(ada, "ping")
    gw.fake.clear()
    return ada, grace


def test_rate_window_costs_one_update_or_two_at_a_new_second(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.clock.current = int(gw.clock.now()) + 1.25

    with dynamo_calls.record() as first:
        gw.send(ada, "ping")
    with dynamo_calls.record() as second:
        gw.send(ada, "ping")
    gw.clock.advance(1)
    with dynamo_calls.record() as next_second:
        gw.send(ada, "ping")

    assert ops(first) == NEW_RATE
    assert ops(second) == RATE
    assert ops(next_second) == NEW_RATE
    assert gw.fake.take(ada) == [{"type": "pong"}] * 3


def _thread(gw: Gateway, ada: str) -> tuple[str, str]:
    gw.send(ada, "thread.create", body="Budget?")
    thread = gw.fake.take_one(ada)["thread"]
    gw.fake.clear()
    return thread["id"], thread["comments"][0]["id"]


MESSAGES: dict[str, tuple[dict[str, Any] | str, list[str]]] = {
    "ping": ({"type": "ping"}, RATE),
    # The room's last seq rides in the environment check's read (issue 15).
    "join": ({"type": "join"}, [*RATE, "BatchGetItem", "Query"]),
    "join since a seq": (
        {"type": "join", "sinceSeq": 0},
        [*RATE, "BatchGetItem", "Query", "Query"],
    ),
    "presence.update": (
        {"type": "presence.update", "data": {"x": 1}},
        [*RATE, "UpdateItem", "Query"],
    ),
    "broadcast": ({"type": "broadcast", "event": {"a": 1}}, [*RATE, "Query"]),
    "threads.list": ({"type": "threads.list"}, [*RATE, "BatchGetItem", "Query"]),
    # the page's threads, then the user's unread state and subscription of each in one read
    "threads.list (a thread)": (
        {"type": "threads.list"},
        [*RATE, "BatchGetItem", "Query", "BatchGetItem"],
    ),
    # the user's state of the thread with the room and the thread: nothing unread, no write
    "thread.markRead": (
        {"type": "thread.markRead", "threadId": "<thread>"},
        [*RATE, "BatchGetItem"],
    ),
    # the room, the thread and its last seq (the subscription starts after it) in the read
    "thread.subscribe": (
        {"type": "thread.subscribe", "threadId": "<thread>"},
        [*RATE, "BatchGetItem", "PutItem"],
    ),
    "notifications.get": ({"type": "notifications.get"}, [*RATE, "BatchGetItem"]),
    # the user and their count with the environment, then the entries (none here)
    "inbox.list": ({"type": "inbox.list"}, [*RATE, "BatchGetItem", "Query"]),
    "notifications.set": (
        {"type": "notifications.set", "setting": "mentions"},
        [*RATE, "BatchGetItem", "PutItem"],
    ),
    # the room's access with the environment, then the ids and the name words that start so;
    # the users found by name in one BatchGetItem (ada is found by her id here)
    "users.search": (
        {"type": "users.search", "q": "ad"},
        [*RATE, "BatchGetItem", "Query", "Query"],
    ),
    "thread.create": (
        {"type": "thread.create", "body": "Hi"},
        [*RATE, "BatchGetItem", "TransactWriteItems", "Query"],
    ),
    "comment.create": (
        {"type": "comment.create", "threadId": "<thread>", "body": "Hi"},
        [*RATE, "BatchGetItem", "TransactWriteItems", "Query"],
    ),
    "comment.create, named": (
        {"type": "comment.create", "threadId": "<thread>", "body": "Hi", "clientMutationId": "m1"},
        [*RATE, "BatchGetItem", "TransactWriteItems", "Query"],
    ),
    # The change and its event in one transaction (the webhooks' source, issue 15).
    "comment.update": (
        {"type": "comment.update", "threadId": "<thread>", "commentId": "<comment>", "body": "E"},
        [*RATE, "BatchGetItem", "TransactWriteItems", "Query"],
    ),
    "thread.resolve": (
        {"type": "thread.resolve", "threadId": "<thread>", "resolved": True},
        [*RATE, "BatchGetItem", "TransactWriteItems", "Query"],
    ),
    # the read holds the user's reaction; its item and the comment's summary in the transaction
    "reaction.add": (
        {"type": "reaction.add", "threadId": "<thread>", "commentId": "<comment>", "emoji": "👍"},
        [*RATE, "BatchGetItem", "TransactWriteItems", "Query"],
    ),
    # the room and the environment's limits in the read, then the record; the POST is signed
    # in process (no call)
    "attachment.create": (
        {"type": "attachment.create", "name": "a.png", "mimeType": "image/png", "size": 3},
        [*RATE, "BatchGetItem", "PutItem"],
    ),
    "invalid JSON": ("{nope", []),
    "unknown type": ({"type": "launch"}, []),
    "unknown field": ({"type": "ping", "x": 1}, []),
}


@pytest.mark.parametrize("name", list(MESSAGES))
def test_message_budget(gw: Gateway, env: Env, dynamo_calls: DynamoCalls, name: str) -> None:
    message, expected = MESSAGES[name]
    ada, _ = _member(gw, env)
    if isinstance(message, dict) and message.get("sinceSeq") == 0:
        _thread(gw, ada)  # one event to catch up on
        gw.send(ada, "ping")
        gw.fake.clear()
    if name.endswith("(a thread)"):
        _thread(gw, ada)
        gw.send(ada, "ping")
        gw.fake.clear()
    if isinstance(message, dict) and "<thread>" in message.values():
        thread_id, comment_id = _thread(gw, ada)
        message = {
            k: {"<thread>": thread_id, "<comment>": comment_id}.get(v, v)
            for k, v in message.items()
        }
        gw.send(ada, "ping")  # keep ada's rate window at this second
        gw.fake.clear()
    body = message if isinstance(message, str) else json.dumps(message)

    with dynamo_calls.record() as calls:
        gw.send_raw(ada, body)

    assert ops(calls) == expected
    assert_consistent(calls)
    frames = gw.fake.frames
    assert frames, "the message had no visible effect"
    if expected == []:
        assert gw.fake.take_one(ada)["type"] == "error"


def test_unknown_and_rate_limited_connections(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    with dynamo_calls.record() as unknown:
        gw.send("GhostConnId0000=", "ping")
    assert ops(unknown) == ["UpdateItem", "UpdateItem"]
    assert gw.fake.take_one("GhostConnId0000=")["code"] == "NOT_CONNECTED"

    ada, _ = _member(gw, env)
    for _ in range(gw.graph.settings.ws_messages_per_second - 1):
        gw.send(ada, "ping")
    gw.fake.clear()
    with dynamo_calls.record() as over:
        gw.send(ada, "broadcast", event=1)
    assert ops(over) == RATE
    assert gw.fake.take_one(ada)["code"] == "RATE_LIMITED"


# --- $disconnect and REST ---------------------------------------------------------------------


def test_disconnect_budget(gw: Gateway, env: Env, dynamo_calls: DynamoCalls) -> None:
    ada, _ = _member(gw, env)

    with dynamo_calls.record() as calls:
        gw.disconnect(ada)
    assert ops(calls) == ["GetItem", "TransactWriteItems", "Query"]
    assert_consistent(calls)

    with dynamo_calls.record() as again:
        gw.disconnect(ada)
    assert ops(again) == ["GetItem"]


@pytest.mark.parametrize(
    "method,suffix,body",
    [("GET", "active_users", None), ("POST", "broadcast", {"event": 1})],
)
def test_rest_room_endpoints_budget(
    gw: Gateway,
    env: Env,
    client: Any,
    dynamo_calls: DynamoCalls,
    method: str,
    suffix: str,
    body: Any,
) -> None:
    gw.connect(env, "ada", ROOM)  # minting just touched the sk_: no lastUsedAt write is due

    with dynamo_calls.record() as calls:
        resp = rest(client, method, f"/api/v1/rooms/{ROOM}/{suffix}", env.sk, body)

    rest_ok(resp, 200 if method == "GET" else 202)
    assert ops(calls) == ["BatchGetItem", "UpdateItem", "Query"]  # read, rate count, members
    assert_consistent(calls)


def test_revoking_a_users_tokens(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls
) -> None:
    gw.connect(env, "ada", ROOM)
    mint(env.sk, "grace")
    with dynamo_calls.record() as calls:
        rest_ok(rest(client, "POST", "/api/v1/users/grace/revoke-tokens", env.sk))
    # no socket to close: the read, the rate, the revocation, the sweep
    assert ops(calls) == ["BatchGetItem", "UpdateItem", "UpdateItem", "Query"]
    assert_consistent(calls)
    with dynamo_calls.record() as calls:
        body = rest_ok(rest(client, "POST", "/api/v1/users/ada/revoke-tokens", env.sk))
    assert body["closedConnections"] == 1
    # + the closed socket's rows (one transaction) and its room's survivors (none: no frame)
    assert ops(calls) == [
        "BatchGetItem",
        "UpdateItem",
        "UpdateItem",
        "Query",
        "TransactWriteItems",
        "Query",
    ]
    assert_consistent(calls)
