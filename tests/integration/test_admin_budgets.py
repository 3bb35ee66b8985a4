"""DynamoDB call budgets of the Admin API and the admin data browser, counted at botocore.

Every admin request starts with "auth": one consistent BatchGetItem of the operator and the
session. What follows is listed per route, in order (docs/architecture.md, "Access patterns";
docs/performance.md, section 2, sets each beside the minimum possible). Key changes, disables
and suspensions end with the kick's consistent Query of the environment's live connections (none
are live here, so nothing more happens). Admin deletes of data add the audit event (PutItem) after
the purge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import ids, runtime
from chalicelib.auth import apikeys

from .conftest import Call, DynamoCalls, Env

PASSWORD = "correct horse battery staple"
AUTH = "BatchGetItem"  # operator + session
READ = "BatchGetItem"
TX = "TransactWriteItems"
Q = "Query"
KICK = "Query"  # the environment's live connections, after a key change commits
E = "/admin/api/environments/{env}"
ER = E + "/rooms/room-1"

#  operation                          method    path                           calls, in order
BUDGETS: dict[str, tuple[str, str, list[str]]] = {
    "me": ("GET", "/admin/api/me", [AUTH, READ]),
    "logout": ("POST", "/admin/api/logout", [AUTH, "DeleteItem"]),
    "list environments": ("GET", "/admin/api/environments", [AUTH, Q]),
    "create environment": ("POST", "/admin/api/environments", [AUTH, TX]),
    "get environment": ("GET", E, [AUTH, READ]),
    "rename environment": ("PATCH", E, [AUTH, READ, TX]),
    "disable environment": ("DELETE", E, [AUTH, READ, TX, KICK]),
    # the environment, then its suspendedAt and the audit event in one transaction
    "suspend environment": ("POST", E + "/suspend", [AUTH, READ, TX, KICK]),
    "resume environment": ("POST", E + "/resume", [AUTH, READ, TX]),
    "list keys": ("GET", E + "/keys", [AUTH, READ, Q]),
    "create key": ("POST", E + "/keys", [AUTH, READ, TX]),
    "rotate keys": ("POST", E + "/keys/rotate", [AUTH, READ, TX, KICK]),
    "revoke key": ("POST", E + "/keys/{key}/revoke", [AUTH, READ, TX, KICK]),
    # the environment and the key; the successor, the old key's end and the audit event in one
    # transaction; `now` then closes the old key's sockets (a grace queues that: SQS, no call)
    # the environment, then per day of the last 30 one Query of its request counters and one of
    # its keys' failure counters (each one page here): the request path writes nothing for it
    "keys usage": ("GET", E + "/keys/usage", [AUTH, READ, *[Q, Q] * 30]),
    "roll key now": ("POST", E + "/keys/{key}/roll", [AUTH, READ, TX, KICK]),
    "roll key with a grace": ("POST", E + "/keys/{key}/roll", [AUTH, READ, TX]),
    "environment audit": ("GET", E + "/audit", [AUTH, READ, Q]),
    # the key's environment and item (its ids are inside it), then the revoke with its audit
    # event, then the connections of the dead key closed (one Query). Any other string costs the
    # same read (at placeholder ids when it carries none) and nothing more: the answer is the same
    "report a leaked key": ("POST", "/admin/api/keys/report-leak", [AUTH, READ, TX, KICK]),
    "report a publishable key": ("POST", "/admin/api/keys/report-leak", [AUTH, READ]),
    "report an unknown key": ("POST", "/admin/api/keys/report-leak", [AUTH, READ]),
    "report a string that is no key": ("POST", "/admin/api/keys/report-leak", [AUTH, READ]),
    "dismiss a leak": ("POST", E + "/leak/dismiss", [AUTH, READ, TX]),
    "list operators": ("GET", "/admin/api/operators", [AUTH, Q]),
    "create operator": ("POST", "/admin/api/operators", [AUTH, TX]),
    "change an operator's role": ("PATCH", "/admin/api/operators/{op}", [AUTH, READ, TX]),
    "delete operator": ("DELETE", "/admin/api/operators/{op}", [AUTH, READ, TX]),
    "operators audit": ("GET", "/admin/api/audit", [AUTH, Q]),
    # the data browser: the environment check replaces the key check
    # the environment; the usage counters and the peaks of the days (one Query each); the totals
    # and the days' comments; the days' busiest rooms (docs/analytics.md)
    "analytics": ("GET", E + "/analytics", [AUTH, READ, Q, Q, READ, Q, Q]),
    "cost": ("GET", E + "/cost", [AUTH, READ, Q, Q]),
    "browse rooms": ("GET", E + "/rooms", [AUTH, READ, Q]),
    "get room": ("GET", ER, [AUTH, READ]),
    # the room with its changed index items; the room's connections re-evaluated (a Query);
    # then the audit event
    # connections re-evaluated and told `room.updated` (one Q), then the audit event
    "change a room's access": ("PATCH", ER, [AUTH, READ, TX, Q, "PutItem"]),
    "browse users": ("GET", E + "/users", [AUTH, READ, Q]),
    # the environment and the user in the one consistent BatchGetItem
    "get user": ("GET", E + "/users/user-1", [AUTH, READ]),
    # one Query of threads, then one of comments per thread on the page (3 here)
    "browse threads (+ comments)": ("GET", ER + "/threads", [AUTH, READ, Q, Q, Q, Q]),
    "get thread": ("GET", ER + "/threads/{t}", [AUTH, READ, Q]),
    "list comments": ("GET", ER + "/threads/{t}/comments", [AUTH, READ, Q]),
    # the room inspector: the environment and the room, then the room's connection rows
    "room's live connections": ("GET", ER + "/connections", [AUTH, READ, Q]),
    # the environment, the room and its head (last seq), then one Query of the last 50 events
    "room's last events": ("GET", ER + "/events", [AUTH, READ, Q]),
    # the environment and the room, the room's connections (to find it), the connection's rows
    # removed (one transaction), the room's survivors read to tell them (none here), then the
    # audit event; the socket is told and closed by the Management API (no DynamoDB call)
    "close a connection": ("DELETE", ER + "/connections/{conn}", [AUTH, READ, Q, TX, Q, "PutItem"]),
    # deletes: the REST delete (check, transaction, fan-out Query, purge), then the audit event
    "delete comment": ("DELETE", ER + "/threads/{t}/comments/{c}", [AUTH, READ, TX, Q, "PutItem"]),
    "delete the last comment (+ its thread)": (
        "DELETE",
        ER + "/threads/{lt}/comments/{lc}",
        [AUTH, READ, TX, Q, "BatchWriteItem", Q, "PutItem"],
    ),
    "delete thread": (
        "DELETE",
        ER + "/threads/{lt}",
        [AUTH, READ, TX, Q, "BatchWriteItem", Q, "PutItem"],
    ),
    "delete room (3 threads)": (
        "DELETE",
        ER,
        # fan-out Query, the room's threads, then per thread its comment keys and their delete,
        # then the threads' delete
        [AUTH, READ, TX, Q, Q, *[Q, "BatchWriteItem"] * 3, "BatchWriteItem", "PutItem"],
    ),
}

BODIES: dict[str, Any] = {
    "create environment": {"name": "New"},
    "rename environment": {"name": "Renamed"},
    "change a room's access": {"defaultAccess": "read", "usersAccess": {"ada": "write"}},
    "disable environment": {"confirmName": "Acme"},
    "create key": {"kind": "secret"},
    "report a leaked key": {"key": "{sk}"},
    "roll key now": {"expiresIn": "now"},
    "roll key with a grace": {"expiresIn": "24h"},
    "report a publishable key": {"key": "{pk}"},
    "report an unknown key": {"key": "{unknown}"},
    "report a string that is no key": {"key": "not a pulse key"},
    "create operator": {"email": "new@example.com", "password": PASSWORD, "role": "viewer"},
    "change an operator's role": {"role": "admin"},
}

# Done (and not counted) before the operation: what it needs to find.
BEFORE: dict[str, tuple[str, str, Any]] = {
    "resume environment": ("POST", E + "/suspend", None),
    "dismiss a leak": ("POST", "/admin/api/keys/report-leak", {"key": "{sk}"}),
}


def filled(body: Any, values: dict[str, str]) -> Any:
    """A body whose string values name world values (`{sk}`), filled in."""
    if not isinstance(body, dict):
        return body
    return {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}


# POST /admin/api/login: the email claim and the throttles in one read; one conditional write
# reserving the one running password check (of the address, and the account's hourly attempt:
# a transaction of two; of a recognised browser: one UpdateItem); the operator; then one
# transaction (session, lastLoginAt, the throttle released) or, on a wrong password, one
# UpdateItem (the failure).
LOGIN_BUDGETS: dict[str, list[str]] = {
    "right password": [READ, TX, READ, TX],
    "wrong password": [READ, TX, READ, "UpdateItem"],
    "right password, recognised browser": [READ, "UpdateItem", READ, TX],
    "wrong password, recognised browser": [READ, "UpdateItem", READ, "UpdateItem"],
}


@dataclass(frozen=True)
class World:
    """An owner's session; environment env with room-1: thread t (2 comments; c the second),
    thread lt (1 comment, lc) and a third thread; a viewer operator op."""

    token: str
    env: Env
    values: dict[str, str]


def login(client: Any, email: str, password: str = PASSWORD, cookie: str | None = None) -> Any:
    body = json.dumps({"email": email, "password": password})
    headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
    return client.http.post("/admin/api/login", headers=headers, body=body)


def call(client: Any, token: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    data = json.dumps(body).encode() if body is not None else b""
    return client.http.request(method, path, headers=headers, body=data)


def rest(client: Any, env: Env, method: str, path: str, body: Any) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {env.sk}"}
    resp = client.http.request(method, path, headers=headers, body=json.dumps(body).encode())
    assert resp.status_code == 201, resp.body
    return resp.json_body


@pytest.fixture
def world(client: Any, services: runtime.Services, make_env: Callable[..., Env]) -> World:
    services.operators.create(None, "owner@example.com", PASSWORD, "owner")
    op = services.operators.create(None, "viewer@example.com", PASSWORD, "viewer")
    resp = login(client, "owner@example.com")
    assert resp.status_code == 200, resp.body
    env = make_env()
    rest(client, env, "POST", "/api/v1/rooms", {"id": "room-1"})
    threads = "/api/v1/rooms/room-1/threads"
    first = {"comment": {"userId": "user-1", "body": "First"}}
    t = rest(client, env, "POST", threads, first)["id"]
    comments = f"{threads}/{t}/comments"
    c = [rest(client, env, "POST", comments, {"userId": "user-1", "body": "x"}) for _ in "ab"]
    lone = rest(client, env, "POST", threads, first)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {env.sk}"}
    minted = json.dumps({"userId": "user-1", "name": "Ada"}).encode()  # the user "get user" reads
    assert client.http.post("/auth/token", headers=headers, body=minted).status_code == 200
    rest(client, env, "POST", threads, first)
    values = {
        "env": env.id,
        "key": env.pk_id,
        "sk": env.sk,
        "pk": env.pk,
        "unknown": apikeys.generate("secret", ids.new_id("env"), ids.new_id("key")),
        "op": op.id,
        "t": t,
        "c": c[0]["id"],
        "lt": lone["id"],
        "lc": lone["comments"][0]["id"],
        "conn": CONNECTION,
    }
    return World(resp.json_body["token"], env, values)


CONNECTION = "conn-budget-1"
# Operations that need a live socket in room-1 (made before, not counted; only for them, as a
# live connection adds the kick's closes to every key change).
CONNECTED = {"close a connection", "room's live connections"}


def live_connection(client: Any, env: Env) -> None:
    """A socket of user-1 in room-1, through the $connect handler as API Gateway calls it."""
    from realtime.conftest import LAMBDA_CONTEXT, ws_event

    from app import ws_connect

    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {env.sk}"}
    body = json.dumps({"userId": "user-1", "name": "Ada"}).encode()
    token = client.http.post("/auth/token", headers=headers, body=body).json_body["token"]
    query = {"apiKey": env.pk, "token": token, "room": "room-1"}
    event = ws_event("$connect", CONNECTION, query=query)
    assert ws_connect(event, LAMBDA_CONTEXT) == {"statusCode": 200}


def ops(calls: list[Call]) -> list[str]:
    return [c.operation for c in calls]


def assert_consistent_reads(calls: list[Call]) -> None:
    for call in calls:
        if call.operation == "BatchGetItem":
            tables = call.params["RequestItems"]
            assert tables and all(t.get("ConsistentRead") is True for t in tables.values())
        assert call.operation != "Scan", call


def test_the_budget_table_covers_every_admin_route() -> None:
    from chalicelib.api import admin_data, admin_environments, admin_operators

    def route_of(method: str, path: str) -> tuple[str, str]:
        for value, name in (
            ("{env}", "{envId}"),
            ("{key}", "{keyId}"),
            ("{op}", "{operatorId}"),
            ("room-1", "{roomId}"),
            ("user-1", "{userId}"),
            ("{t}", "{threadId}"),
            ("{lt}", "{threadId}"),
            ("{c}", "{commentId}"),
            ("{lc}", "{commentId}"),
            ("{conn}", "{connectionId}"),
        ):
            path = path.replace(value, name)
        return method, path

    covered = {route_of(method, path) for method, path, _ in BUDGETS.values()}
    covered.add(("POST", "/admin/api/login"))  # LOGIN_BUDGETS
    routers = (admin_environments.router, admin_operators.router, admin_data.router)
    assert covered == {(s.method, s.path) for r in routers for s in r.specs}


@pytest.mark.parametrize("operation", list(BUDGETS))
def test_admin_budget(operation: str, client: Any, world: World, dynamo_calls: DynamoCalls) -> None:
    method, path, budget = BUDGETS[operation]
    if operation in BEFORE:
        before_method, before_path, before_body = BEFORE[operation]
        before_body = filled(before_body, world.values)
        resp = call(
            client, world.token, before_method, before_path.format(**world.values), before_body
        )
        assert 200 <= resp.status_code < 300, resp.body

    if operation in CONNECTED:
        live_connection(client, world.env)
    with dynamo_calls.record() as calls:
        body = filled(BODIES.get(operation), world.values)
        resp = call(client, world.token, method, path.format(**world.values), body)

    assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)
    assert ops(calls) == budget
    assert_consistent_reads(calls)
    auth = calls[0]
    assert auth.operation == "BatchGetItem"
    (keys,) = [r["Keys"] for r in auth.params["RequestItems"].values()]
    assert sorted(k["sk"]["S"].split("#")[0] for k in keys) == ["OP", "SESSION"]


@pytest.mark.parametrize("case", list(LOGIN_BUDGETS))
def test_login_budget(
    case: str, client: Any, services: runtime.Services, dynamo_calls: DynamoCalls
) -> None:
    services.operators.create(None, "login@example.com", PASSWORD, "admin")
    right = case.startswith("right password")
    password = PASSWORD if right else "not the password at all"
    cookie = None
    if case.endswith("recognised browser"):
        cookie = login(client, "login@example.com").headers["Set-Cookie"].split(";")[0]

    with dynamo_calls.record() as calls:
        resp = login(client, "login@example.com", password, cookie)

    assert resp.status_code == (200 if right else 401), resp.body
    assert ops(calls) == LOGIN_BUDGETS[case]
    assert_consistent_reads(calls)
    first = {
        k["sk"]["S"].split("#")[0]
        for r in calls[0].params["RequestItems"].values()
        for k in r["Keys"]
    }
    assert first == ({"EMAIL", "LOGIN", "HOUR", "DEVICE"} if cookie else {"EMAIL", "LOGIN", "HOUR"})


def test_browsing_threads_costs_one_comment_query_per_thread_on_the_page(
    client: Any, world: World, dynamo_calls: DynamoCalls
) -> None:
    path = ER.format(**world.values) + "/threads"
    for limit, threads in ((1, 1), (2, 2), (20, 3)):
        with dynamo_calls.record() as calls:
            resp = call(client, world.token, "GET", f"{path}?limit={limit}")
        assert resp.status_code == 200, resp.body
        assert ops(calls) == [AUTH, READ, Q] + [Q] * threads, limit


@pytest.mark.parametrize(
    "key", ["{sk}", "{pk}", "{unknown}", "not a pulse key"], ids=["sk", "pk", "unknown", "junk"]
)
def test_report_leak_reads_two_items_whatever_the_key(
    key: str, client: Any, world: World, dynamo_calls: DynamoCalls
) -> None:
    """The lookup is the same read for every string (the answer is the same too): an environment
    item and a key item, in one consistent BatchGetItem."""
    with dynamo_calls.record() as calls:
        resp = call(
            client,
            world.token,
            "POST",
            "/admin/api/keys/report-leak",
            filled({"key": key}, world.values),
        )

    assert (resp.status_code, resp.json_body) == (202, {"received": True})
    lookup = calls[1]
    assert lookup.operation == "BatchGetItem"
    (keys,) = [r["Keys"] for r in lookup.params["RequestItems"].values()]
    assert sorted(k["sk"]["S"].split("#")[0] for k in keys) == ["ENV", "KEY"]
