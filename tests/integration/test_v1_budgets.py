"""DynamoDB call budgets of the REST API v1, counted at botocore (every client, every call).

Every request starts with exactly one consistent BatchGetItem: the key, its environment and the
items the request names (room, thread, comment, user). After it, a list adds one Query, a write
one UpdateItem or TransactWriteItems. Two kinds of call come on top, each named in the table:

- fan-out: services publish thread/comment events to the room's live WebSocket connections
  (chalicelib/services/channel.py); finding them is one consistent Query of the room's
  `CONN#` rows, made after the write has committed (with none live, nothing is sent);
- purge: a room or thread delete commits in one transaction (the parent and the counters), then
  deletes the children best-effort: a Query of the room's threads (room delete), and per thread
  a keys-only Query of its comments and one BatchWriteItem; then one BatchWriteItem of the
  threads. This grows with what was deleted, by design (docs/architecture.md, "Deletes of big
  things"), and never with the size of the environment.

Every authenticated request is also counted against its rate limits (chalicelib/services/
limits.py): one UpdateItem of the environment's counters of this second, right after the read
(RATE). The caller's failed-authentication counters ride in the read itself.

The key's `lastUsedAt` is recorded at most once a minute (one more UpdateItem). The fixture's
setup uses the key first and the clock stands still, so the budgets below never include it; a
separate test pins that one extra call on a cold key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import streams

from chalicelib import runtime
from chalicelib.clock import FrozenClock, iso
from chalicelib.services.limits import day_of

from .conftest import OWNER, Call, DynamoCalls, Env, is_counter, is_rate_count

READ = "BatchGetItem"  # consistent, key + environment + the named items (+ failure counters)
RATE = "UpdateItem rate"  # the environment's and the key's request counters of this second
TX = "TransactWriteItems"
UPDATE = "UpdateItem"
PUT = "PutItem"
Q_ROOMS = "Query rooms"
Q_THREADS = "Query threads"
Q_COMMENTS = "Query comments"
Q_USERS = "Query users"
Q_GRANTS = "Query grants"  # the rooms that name a user or group (their index partition)
FANOUT = "Query connections"  # the room's live WebSocket connections (fan-out)
Q_EVENTS = "Query events"  # the room's event log, from after a seq
Q_NAMES = "Query names"  # the users under a word of their name
Q_INBOX = "Query inbox"  # a user's inbox entries, newest first
Q_REACTIONS = "Query reactions"  # a thread's reaction items (an export's walk)
Q_PURGES = "Query purges"  # the rooms whose purge is pending (an export's walk)
Q_STATES = "Query read state"  # a user's state of each thread (T#)
Q_SETTINGS = "Query settings"  # a user's notification settings (NOTIFY#)
PURGE_COMMENTS = ["Query comment keys", "BatchWriteItem comments"]  # per thread purged
PURGE_THREADS = "BatchWriteItem threads"

ROOM = "doc:1"
R = "/api/v1/rooms/" + quote(ROOM, safe="")

# operation                      method    path                        DynamoDB calls, in order
BUDGETS: dict[str, tuple[str, str, list[str]]] = {
    "list rooms": ("GET", "/api/v1/rooms", [READ, RATE, Q_ROOMS]),
    "create room": ("POST", "/api/v1/rooms", [READ, RATE, TX]),
    "get room": ("GET", R, [READ, RATE]),
    # An update is one transaction: the item and its event, at the room's next seq (read with
    # the room), then `room.updated` to its connections (issue 15).
    "patch room": ("PATCH", R, [READ, RATE, TX, FANOUT]),
    # the room with its changed index items, then its connections re-evaluated and told
    # `room.updated` (one read of them; none here)
    "patch room access": ("PATCH", R, [READ, RATE, TX, FANOUT]),
    # the room and its last seq in the read, then one Query of its events after `since`
    "list events": ("GET", f"{R}/events?since=0", [READ, RATE, Q_EVENTS]),
    # one Query per holder named, whatever the environment holds (no room names them here,
    # so no BatchGetItem of rooms follows)
    "list rooms by user and groups": (
        "GET",
        "/api/v1/rooms?userId=user-1&groupIds=g1,g2",
        [READ, RATE, Q_GRANTS, Q_GRANTS, Q_GRANTS],
    ),
    "list threads": ("GET", f"{R}/threads", [READ, RATE, Q_THREADS]),
    "list threads ?resolved": ("GET", f"{R}/threads?resolved=false", [READ, RATE, Q_THREADS]),
    "create thread": ("POST", f"{R}/threads", [READ, RATE, TX, FANOUT]),
    "get thread (+comments)": ("GET", f"{R}/threads/{{t}}", [READ, RATE, Q_COMMENTS]),
    "patch thread": ("PATCH", f"{R}/threads/{{t}}", [READ, RATE, TX, FANOUT]),
    "list comments": ("GET", f"{R}/threads/{{t}}/comments", [READ, RATE, Q_COMMENTS]),
    "create comment": ("POST", f"{R}/threads/{{t}}/comments", [READ, RATE, TX, FANOUT]),
    "patch comment": ("PATCH", f"{R}/threads/{{t}}/comments/{{c}}", [READ, RATE, TX, FANOUT]),
    "delete comment": ("DELETE", f"{R}/threads/{{t}}/comments/{{c}}", [READ, RATE, TX, FANOUT]),
    # the read holds the user's reaction too; the reaction item and the comment's summary in the
    # change's transaction (reacting twice: the read alone)
    "add reaction": (
        "POST",
        f"{R}/threads/{{t}}/comments/{{c}}/reactions",
        [READ, RATE, TX, FANOUT],
    ),
    "remove reaction (none there)": (
        "DELETE",
        f"{R}/threads/{{t}}/comments/{{c}}/reactions/%F0%9F%91%8D?userId=user-1",
        [READ, RATE],
    ),
    # the room and the environment's limits in the read, then the record (the POST is signed
    # in process: no call)
    "create attachment": ("POST", f"{R}/attachments", [READ, RATE, PUT]),
    "list users": ("GET", "/api/v1/users", [READ, RATE, Q_USERS]),
    # ids that start so, then name words that do (user-1 is found by id and by name: no
    # BatchGetItem of users found by name alone)
    "search users": ("GET", "/api/v1/users?q=user", [READ, RATE, Q_USERS, Q_NAMES]),
    "get user": ("GET", "/api/v1/users/user-1", [READ, RATE]),
    # the user's next token generation, then its live sockets (the environment's, filtered): none
    "revoke tokens": ("POST", "/api/v1/users/user-1/revoke-tokens", [READ, RATE, UPDATE, FANOUT]),
    # the user's inbox entries, then the page's rooms and threads (is each still readable?)
    "inbox": ("GET", "/api/v1/users/user-1/inbox", [READ, RATE, Q_INBOX, READ]),
    "inbox count": ("GET", "/api/v1/users/user-1/inbox/count", [READ, RATE]),
    # the user's state of the thread in the read; its state, entry and count in one transaction,
    # then the new count and the user's sockets (none here: no rows to read) for inbox.updated,
    # in one read
    "mark thread read": ("POST", "/api/v1/users/user-1/threads/{t}/read", [READ, RATE, TX, READ]),
    # the room, the thread, the user and the room's last seq in the read (it starts after it)
    "subscribe": ("POST", f"{R}/threads/{{t}}/subscribe", [READ, RATE, PUT]),
    "unsubscribe": ("POST", f"{R}/threads/{{t}}/unsubscribe", [READ, RATE, PUT]),
    "get notification settings": ("GET", f"{R}/users/user-1/notification-settings", [READ, RATE]),
    "put notification settings": (
        "PUT",
        f"{R}/users/user-1/notification-settings",
        [READ, RATE, PUT],
    ),
    "active users": ("GET", f"{R}/active_users", [READ, RATE, FANOUT]),
    "broadcast": ("POST", f"{R}/broadcast", [READ, RATE, FANOUT]),
    # the user in the read; the job and its audit event in one transaction (then one SQS
    # message: no DynamoDB call)
    "erase user": ("POST", "/api/v1/users/user-1/erase", [READ, RATE, TX]),
    "get erase job": ("GET", "/api/v1/users/user-1/erase/{j}", [READ, RATE]),
    # the walk of an erase, read only: rooms, each room's threads, each thread's comments and
    # reactions, the user's subscriptions of a page of threads in one read, rooms with a purge
    # pending, then the user's own partitions. It grows with the environment (docs/privacy.md).
    "export user": (
        "GET",
        "/api/v1/users/user-1/export",
        [
            READ,
            RATE,
            Q_ROOMS,
            Q_THREADS,
            READ,
            *[Q_COMMENTS, Q_REACTIONS] * 2,
            Q_PURGES,
            Q_STATES,
            Q_SETTINGS,
        ],
    ),
    # deletes with a purge after the commit
    "delete thread (4 comments)": (
        "DELETE",
        f"{R}/threads/{{t}}",
        [READ, RATE, TX, *PURGE_COMMENTS, FANOUT],
    ),
    "delete the last comment (+ its thread)": (
        "DELETE",
        f"{R}/threads/{{lt}}/comments/{{lc}}",
        [READ, RATE, TX, *PURGE_COMMENTS, FANOUT],
    ),
    "delete room (2 threads)": (
        "DELETE",
        R,
        # room.deleted goes to (and closes) the room's sockets before the purge
        [READ, RATE, TX, FANOUT, Q_THREADS, *PURGE_COMMENTS, *PURGE_COMMENTS, PURGE_THREADS],
    ),
}

BODIES: dict[str, Any] = {
    "create room": {"id": "room-2", "metadata": {"a": 1}},
    "patch room": {"metadata": {"b": 2}},
    "patch room access": {"defaultAccess": "read", "usersAccess": {"user-1": "comment"}},
    "create thread": {"comment": {"userId": "user-1", "body": "Hi"}, "metadata": {"x": 1}},
    "patch thread": {"resolved": True},
    "create comment": {"userId": "user-1", "body": "Reply"},
    "patch comment": {"body": "Edited"},
    "add reaction": {"emoji": "👍", "userId": "user-1"},
    "subscribe": {"userId": "user-1"},
    "unsubscribe": {"userId": "user-1"},
    "put notification settings": {"setting": "mentions"},
    "broadcast": {"event": {"cursor": [1, 2]}},
    "create attachment": {"name": "a.png", "mimeType": "image/png", "size": 3},
    "erase user": {"mode": "anonymize"},
}


@dataclass(frozen=True)
class World:
    """Room doc:1 with thread t (4 comments; c is the second; the last, user-2's, unread by
    user-1) and thread lt (1 comment, lc)."""

    env: Env
    t: str
    c: str
    lt: str
    lc: str
    j: str = ""  # an erase job of user-1, queued (nothing runs it here)


def request(client: Any, env: Env, method: str, path: str, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {env.sk}"}
    data = json.dumps(body).encode() if body is not None else b""
    return client.http.request(method, path, headers=headers, body=data)


def created(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 201, resp.body
    return resp.json_body  # type: ignore[no-any-return]


@pytest.fixture
def world(client: Any, make_env: Callable[..., Env]) -> World:
    env = make_env()
    created(request(client, env, "POST", "/api/v1/rooms", {"id": ROOM}))
    first = {"comment": {"userId": "user-1", "body": "First"}}
    t = created(request(client, env, "POST", f"{R}/threads", first))["id"]
    comments = [
        created(request(client, env, "POST", f"{R}/threads/{t}/comments", BODIES["create comment"]))
        for _ in range(2)
    ]
    lone = created(request(client, env, "POST", f"{R}/threads", first))
    mint = {"userId": "user-1", "name": "Ada"}
    assert request(client, env, "POST", "/auth/token", mint).status_code == 200
    # A reply by someone else, counted in user-1's inbox as the stream would hand it over.
    reply = {"userId": "user-2", "body": "A reply for user-1"}
    created(request(client, env, "POST", f"{R}/threads/{t}/comments", reply))
    fan_out(env.id)
    job = request(client, env, "POST", "/api/v1/users/user-1/erase", {"mode": "anonymize"})
    assert job.status_code == 202, job.body
    return World(
        env, t, comments[0]["id"], lone["id"], lone["comments"][0]["id"], job.json_body["id"]
    )


def fan_out(env_id: str) -> None:
    assert streams.fan_out(runtime.services(), env_id, ROOM) == 1


# --- describing calls ---------------------------------------------------------------------------

QUERY_KINDS = {
    "ROOM#": Q_ROOMS,
    "THREAD#": Q_THREADS,
    "COMMENT#": Q_COMMENTS,
    "USER#": Q_USERS,
    "CONN#": FANOUT,
    "SEQ#": Q_EVENTS,
    "L#": Q_INBOX,
    "REACT#": Q_REACTIONS,
    "PURGE#": Q_PURGES,
    "T#": Q_STATES,
    "NOTIFY#": Q_SETTINGS,
}


def describe(call: Call) -> str:
    """An operation name, with what a Query or BatchWriteItem is about."""
    if is_rate_count(call):
        return RATE
    if call.operation == "Query":
        values = call.params["ExpressionAttributeValues"]
        if "#GRANT#" in values[":0"]["S"]:
            return Q_GRANTS
        if values[":0"]["S"].endswith("#UNAME"):
            return Q_NAMES
        prefix = values.get(":1", {}).get("S")
        if prefix is None:  # the purge's keys-only Query of a whole comment partition
            assert "#THREAD#" in values[":0"]["S"], call.params
            # keys, and the attachments whose files go after the purge
            names = call.params["ExpressionAttributeNames"]
            projected = {names[n] for n in call.params["ProjectionExpression"].split(", ")}
            assert projected == {"pk", "sk", "attachments"}, call
            return "Query comment keys"
        return QUERY_KINDS[prefix.split("#")[0] + "#"]
    if call.operation == "BatchWriteItem":
        kinds = {
            r["DeleteRequest"]["Key"]["sk"]["S"].split("#")[0]
            for requests in call.params["RequestItems"].values()
            for r in requests
        } - {"PURGE", "TPURGE"}  # a purge's marker goes out with its last batch
        assert len(kinds) == 1, kinds
        return f"BatchWriteItem {kinds.pop().lower()}s"
    return call.operation


def check_calls(calls: list[Call]) -> None:
    """What holds for every request: reads are consistent, and no key DynamoDB would refuse
    (sort key over 1,024 bytes, partition key over 2,048) is ever sent."""
    for call in calls:
        if call.operation == "BatchGetItem":
            for table in call.params["RequestItems"].values():
                assert table.get("ConsistentRead") is True, call.params
                for key in table["Keys"]:
                    assert len(key["pk"]["S"].encode()) <= 2048, key
                    assert len(key["sk"]["S"].encode()) <= 1024, key
        if call.operation == "Query":
            assert "ScanIndexForward" not in call.params or isinstance(
                call.params["ScanIndexForward"], bool
            )
        assert call.operation != "Scan", call


def concrete(path: str, world: World) -> str:
    return path.format(t=world.t, c=world.c, lt=world.lt, lc=world.lc, j=world.j)


# --- the budgets ----------------------------------------------------------------------------------


def test_the_budget_table_covers_every_v1_route() -> None:
    from chalicelib.api import v1_inbox, v1_privacy, v1_rooms

    def route_of(method: str, path: str) -> tuple[str, str]:
        path = path.split("?")[0].replace(quote(ROOM, safe=""), "{roomId}")
        for name, segment in (("threadId", "{t}"), ("threadId", "{lt}")):
            path = path.replace(segment, "{" + name + "}")
        path = path.replace("{j}", "{jobId}")
        for segment in ("{c}", "{lc}"):
            path = path.replace(segment, "{commentId}")
        path = path.replace("/reactions/%F0%9F%91%8D", "/reactions/{emoji}")
        return method, path.replace("/users/user-1", "/users/{userId}").replace("?q=user", "")

    covered = {route_of(method, path) for method, path, _ in BUDGETS.values()}
    specs = [*v1_rooms.router.specs, *v1_inbox.router.specs, *v1_privacy.router.specs]
    assert covered == {(s.method, s.path) for s in specs}


@pytest.mark.parametrize("operation", list(BUDGETS))
def test_v1_budget(operation: str, client: Any, world: World, dynamo_calls: DynamoCalls) -> None:
    method, path, budget = BUDGETS[operation]

    with dynamo_calls.record() as calls:
        resp = request(client, world.env, method, concrete(path, world), BODIES.get(operation))

    assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)
    assert [describe(c) for c in calls] == budget
    check_calls(calls)


# --- restricted keys (rk_): their scopes and rooms are checked on the key item the one read holds


def restricted_env(services: runtime.Services, env: Env, rooms: str | None) -> Env:
    """`env` as a backend holding a restricted key with every scope (and `rooms`)."""
    from chalicelib import scopes
    from chalicelib.entities import Actor

    owner = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
    key = services.environments.create_key(
        owner, env.id, "restricted", "bot", scopes=scopes.SCOPES, rooms=rooms
    )
    assert key.key is not None
    return replace(env, sk=key.key, sk_id=key.id)


# Routes a key limited to rooms may not call (they span rooms): priced with an unlimited one.
EVERY_ROOM = {
    "list rooms",
    "list rooms by user and groups",
    "create room",
    "inbox",
    "inbox count",
    "mark thread read",
    "erase user",
    "get erase job",
    "export user",
}


@pytest.mark.parametrize("operation", list(BUDGETS))
def test_a_restricted_key_costs_what_a_secret_key_does(
    operation: str,
    client: Any,
    services: runtime.Services,
    world: World,
    dynamo_calls: DynamoCalls,
) -> None:
    rooms = None if operation in EVERY_ROOM else "doc:*"
    env = restricted_env(services, world.env, rooms)
    assert request(client, env, "GET", "/api/v1/users").status_code == 200  # lastUsedAt, first
    method, path, budget = BUDGETS[operation]

    with dynamo_calls.record() as calls:
        resp = request(client, env, method, concrete(path, world), BODIES.get(operation))

    assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)
    assert [describe(c) for c in calls] == budget
    check_calls(calls)


def test_a_restricted_key_refused_costs_the_one_read_alone(
    client: Any, services: runtime.Services, world: World, dynamo_calls: DynamoCalls
) -> None:
    env = restricted_env(services, world.env, "other:*")
    assert request(client, env, "GET", "/api/v1/users").status_code == 200  # lastUsedAt, first

    for method, path, body in (
        ("GET", R, None),  # a room outside its pattern
        ("GET", "/api/v1/rooms", None),  # every room
        ("POST", "/auth/token", {"userId": "u", "name": "U"}),  # an identity token
    ):
        with dynamo_calls.record() as calls:
            resp = request(client, env, method, path, body)
        assert resp.status_code == 403, (path, resp.body)
        assert [describe(c) for c in calls] == [READ], path


def test_the_one_read_holds_the_key_the_environment_and_every_named_item(
    client: Any, services: runtime.Services, world: World, dynamo_calls: DynamoCalls
) -> None:
    with dynamo_calls.record() as calls:
        path = f"{R}/threads/{world.t}/comments/{world.c}"
        resp = request(client, world.env, "PATCH", path, {"body": "x"})

    assert resp.status_code == 200, resp.body
    env = world.env.id
    control, data = services.settings.control_table, services.settings.data_table
    minute = int(services.clock.now() // 60) * 60
    assert keys_of(calls[0]) == {
        (control, f"RL#fail-ip:127.0.0.1#{minute}", "RL"),
        (control, f"RL#fail-key:{env}#{day_of(minute)}", f"RL#{world.env.sk_id}#{minute}"),
        (control, f"ENV#{env}", "ENV"),
        (control, f"ENV#{env}", f"KEY#{world.env.sk_id}"),
        (data, f"ENV#{env}", f"ROOM#{ROOM}"),
        (data, f"ENV#{env}#ROOM#{ROOM}", f"THREAD#{world.t}"),
        (data, f"ENV#{env}#THREAD#{world.t}", f"COMMENT#{world.c}"),
        (data, f"ENV#{env}#EVENTS#{ROOM}", "HEAD"),  # the room's last seq: the change's is next
    }


def keys_of(call: Call) -> set[tuple[str, str, str]]:
    assert call.operation == "BatchGetItem"
    return {
        (table, key["pk"]["S"], key["sk"]["S"])
        for table, req in call.params["RequestItems"].items()
        for key in req["Keys"]
    }


def test_a_list_is_one_query_whatever_the_page_size(
    client: Any, world: World, dynamo_calls: DynamoCalls
) -> None:
    for n in range(5):
        created(request(client, world.env, "POST", "/api/v1/rooms", {"id": f"r{n}"}))

    for query in ("?limit=1", "?limit=6", "?limit=100"):
        with dynamo_calls.record() as calls:
            resp = request(client, world.env, "GET", "/api/v1/rooms" + query)
        assert resp.status_code == 200
        assert [describe(c) for c in calls] == [READ, RATE, Q_ROOMS], query
        (q,) = [c for c in calls if c.operation == "Query"]
        assert q.params["Limit"] == int(query.split("=")[1]) + 1  # one more: is there a next page?


def test_a_cold_key_adds_one_update_of_last_used_at_once_a_minute(
    client: Any, world: World, clock: FrozenClock, dynamo_calls: DynamoCalls
) -> None:
    clock.advance(61)
    with dynamo_calls.record() as cold:
        request(client, world.env, "GET", R)
    with dynamo_calls.record() as warm:
        request(client, world.env, "GET", R)

    assert [describe(c) for c in cold] == [READ, RATE, UPDATE]
    assert cold[2].params["Key"]["sk"]["S"] == f"KEY#{world.env.sk_id}"
    assert [describe(c) for c in warm] == [READ, RATE]


def test_refusals_cost_at_most_the_one_read(
    client: Any, world: World, dynamo_calls: DynamoCalls
) -> None:
    """Bad keys and bodies: no call; unknown ids: the one read (and the rate count of an
    authenticated request) and nothing after it."""
    cases: list[tuple[str, str, str | None, Any, list[str]]] = [
        ("no key", "GET", None, None, []),
        ("pk_", "GET", world.env.pk, None, []),
        ("malformed key", "GET", "sk_nope", None, []),
        ("bad body", "POST", world.env.sk, {"id": "a b"}, []),
        ("unknown room", "GET", world.env.sk, None, [READ, RATE]),
    ]
    for name, method, key, body, expected in cases:
        path = "/api/v1/rooms" if method == "POST" else f"{R}x"
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode() if body is not None else b""
        with dynamo_calls.record() as calls:
            resp = client.http.request(method, path, headers=headers, body=data)
        assert resp.status_code in (400, 401, 404), (name, resp.status_code)
        assert [describe(c) for c in calls] == expected, name


def test_a_key_with_an_end_and_addresses_costs_what_any_key_does(
    client: Any, world: World, services: runtime.Services, dynamo_calls: DynamoCalls
) -> None:
    """Issue 17: the end and the allowed networks are read with the key in its one read and
    checked in memory; a refusal by address costs that read alone (no rate, no failure count)."""
    clock = services.clock
    ends = iso(clock.now() + 3600)
    key = services.environments.create_key(
        OWNER, world.env.id, "secret", "limited", expires_at=ends, allowed_ips=("50.0.0.0/8",)
    )
    assert key.key is not None
    limited = Env(world.env.id, world.env.pk, key.key, world.env.pk_id, key.id)
    converter = client.http._local_gateway.event_converter
    before = converter.LOCAL_SOURCE_IP
    try:
        converter.LOCAL_SOURCE_IP = "50.1.2.3"
        assert request(client, limited, "GET", R).status_code == 200  # first use: lastUsedAt
        with dynamo_calls.record() as accepted:
            assert request(client, limited, "GET", R).status_code == 200
        converter.LOCAL_SOURCE_IP = "51.1.2.3"
        with dynamo_calls.record() as refused:
            assert request(client, limited, "GET", R).status_code == 403
    finally:
        converter.LOCAL_SOURCE_IP = before

    assert [describe(c) for c in accepted] == [READ, RATE]
    assert [describe(c) for c in refused] == [READ]


IMPOSSIBLE_IDS: dict[str, tuple[str, str]] = {
    "room id too long": ("GET", f"/api/v1/rooms/{'r' * 1100}"),
    "room id with bad characters": ("GET", "/api/v1/rooms/" + quote("a b/c%d", safe="")),
    "thread id too long": ("GET", f"{R}/threads/th_{'x' * 1100}"),
    "comment id too long": ("DELETE", f"{R}/threads/{{t}}/comments/cm_{'x' * 1100}"),
    "user id too long for a mint": ("GET", "/api/v1/users/" + "u" * 129),
    "user id over DynamoDB's key limit": ("GET", "/api/v1/users/" + "u" * 1100),
    "user id of 4-byte characters": ("GET", "/api/v1/users/" + quote("🎉" * 300, safe="")),
}


@pytest.mark.parametrize("case", list(IMPOSSIBLE_IDS))
def test_an_id_no_item_can_have_is_404_from_the_key_read_alone(
    case: str, client: Any, world: World, dynamo_calls: DynamoCalls
) -> None:
    """Ids that fail the id rules (or are longer than any mint accepts) are not looked up: the
    read checks the key and the parents only, and no oversized key reaches DynamoDB (it would
    answer ValidationException, a 500, where moto answers "not found")."""
    with dynamo_calls.record() as calls:
        method, path = IMPOSSIBLE_IDS[case]
        resp = request(client, world.env, method, concrete(path, world))

    assert resp.status_code == 404, resp.body
    assert [describe(c) for c in calls] == [READ, RATE]
    check_calls(calls)
    looked_up = {sk.split("#")[0] for _, pk, sk in keys_of(calls[0]) if not is_counter(pk)}
    assert looked_up <= {"ENV", "KEY", "ROOM", "THREAD", "HEAD"}, looked_up


# --- attachments ----------------------------------------------------------------------------


def uploaded(client: Any, services: runtime.Services, env: Env, n: int) -> list[str]:
    """`n` attachments of the room, each with its file in the bucket (put as the POST would)."""

    from chalicelib.services.attachments import file_key

    s3 = boto3.client("s3")
    out = []
    for i in range(n):
        body = {"name": f"f{i}.png", "mimeType": "image/png", "size": 3}
        att = created(request(client, env, "POST", f"{R}/attachments", body))["attachment"]
        key = file_key(env.id, ROOM, att["id"])
        s3.put_object(Bucket=services.settings.attachments_bucket, Key=key, Body=b"png")
        out.append(att["id"])
    return out


def test_a_comment_with_attachments_costs_what_one_without_does(
    client: Any, services: runtime.Services, world: World, dynamo_calls: DynamoCalls
) -> None:
    """The records ride in the one read, their claims in the one transaction; S3 gets one
    HeadObject per file before it (was it uploaded?) and one PutObjectTagging per file after
    the commit (out of the expiry of unclaimed uploads)."""
    ids = uploaded(client, services, world.env, 3)
    body = {"userId": "user-1", "body": "See", "attachmentIds": ids}

    with dynamo_calls.record() as calls:
        resp = request(client, world.env, "POST", f"{R}/threads/{world.t}/comments", body)

    assert resp.status_code == 201, resp.body
    assert [describe(c) for c in calls] == [READ, RATE, TX, FANOUT]
    read = {sk for _, pk, sk in keys_of(calls[0]) if "#ATT#" in pk}
    assert read == {"ATT"} and sum("#ATT#" in pk for _, pk, _ in keys_of(calls[0])) == 3
    tx = calls[2].params["TransactItems"]
    assert sum("#ATT#" in str(item) for item in tx) == 3
    assert dynamo_calls.others == [("s3", "HeadObject")] * 3 + [("s3", "PutObjectTagging")] * 3


def test_a_thread_with_attachments_costs_what_one_without_does(
    client: Any, services: runtime.Services, world: World, dynamo_calls: DynamoCalls
) -> None:
    ids = uploaded(client, services, world.env, 2)
    body = {"comment": {"userId": "user-1", "body": "See", "attachmentIds": ids}}

    with dynamo_calls.record() as calls:
        resp = request(client, world.env, "POST", f"{R}/threads", body)

    assert resp.status_code == 201, resp.body
    assert [describe(c) for c in calls] == [READ, RATE, TX, FANOUT]
    assert dynamo_calls.others == [("s3", "HeadObject")] * 2 + [("s3", "PutObjectTagging")] * 2


def test_reading_comments_with_attachments_signs_urls_without_a_call(
    client: Any, services: runtime.Services, world: World, dynamo_calls: DynamoCalls
) -> None:
    ids = uploaded(client, services, world.env, 2)
    body = {"userId": "user-1", "body": "See", "attachmentIds": ids}
    created(request(client, world.env, "POST", f"{R}/threads/{world.t}/comments", body))

    with dynamo_calls.record() as calls:
        resp = request(client, world.env, "GET", f"{R}/threads/{world.t}/comments")

    assert [describe(c) for c in calls] == [READ, RATE, Q_COMMENTS]
    assert dynamo_calls.others == []
    (last,) = [c for c in resp.json_body["data"] if c["attachments"]]
    assert [a["id"] for a in last["attachments"]] == ids
    assert all("X-Amz-Signature=" in a["url"] for a in last["attachments"])


def test_deletes_remove_files_after_the_commit_with_one_s3_call(
    client: Any, services: runtime.Services, world: World, dynamo_calls: DynamoCalls
) -> None:
    ids = uploaded(client, services, world.env, 2)
    body = {"userId": "user-1", "body": "See", "attachmentIds": ids}
    c = created(request(client, world.env, "POST", f"{R}/threads/{world.t}/comments", body))

    with dynamo_calls.record() as calls:
        resp = request(client, world.env, "DELETE", f"{R}/threads/{world.t}/comments/{c['id']}")

    assert resp.status_code == 204
    assert [describe(c) for c in calls] == [READ, RATE, TX, FANOUT]
    assert dynamo_calls.others == [("s3", "DeleteObjects")]
