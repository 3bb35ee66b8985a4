"""DynamoDB round trips per operation, counted at botocore, beside the minimum possible.

    .venv/bin/python -m bench.round_trips

Every operation runs through the entry points Lambda calls (the Chalice app for REST, app.py's
`ws_*` handlers with API Gateway-shaped events), against moto in memory: counts do not depend on
the backend. Pushes go through the real Management API client to a local sink and are counted
apart. The suite holds each count to its budget (tests/integration/test_budgets.py,
test_v1_budgets.py, test_admin_budgets.py; tests/realtime/test_budgets.py,
test_fanout_budgets.py); this script reports them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .calls import Call, DynamoCalls, count_requests, installed
from .common import machine, management_api, mint, table, use_bench_environ, ws_event

PASSWORD = "correct horse battery staple"
Thunk = Callable[[], Any]


@dataclass
class Env:
    id: str
    pk: str
    sk: str
    pk_id: str
    sk_id: str


class Harness:
    """The app in memory (moto), an owner session, and helpers that assert success."""

    def __init__(self, client: Any, graph: Any, domain: str) -> None:
        self.client = client
        self.graph = graph
        self.domain = domain
        self._ids = itertools.count(1)
        self.owner_token = ""

    def n(self) -> int:
        return next(self._ids)

    # --- setup (not recorded) ---

    def env(self, name: str = "Bench") -> Env:
        from chalicelib.entities import Actor

        owner = Actor(id="op_bench", email="bench@example.com", role="owner")
        env, (pk, sk) = self.graph.environments.create(owner, name)
        assert pk.key and sk.key
        made = Env(env.id, pk.key, sk.key, pk.id, sk.id)
        self.rest(made, "GET", "/api/v1/rooms")  # the key was just used: no lastUsedAt write due
        return made

    def token(self, env: Env, user: str) -> str:
        return mint(self.graph, env.sk, user, user.title())

    # --- requests ---

    def rest(self, env: Env, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {env.sk}"}
        return self._ok(self.client.http.request(method, path, headers=headers, body=_json(body)))

    def admin(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token != "":
            headers["Authorization"] = f"Bearer {token or self.owner_token}"
        path = "/admin/api" + path
        return self._ok(self.client.http.request(method, path, headers=headers, body=_json(body)))

    def login(self, email: str, password: str = PASSWORD) -> str:
        body = self.admin("POST", "/login", {"email": email, "password": password}, token="")
        return str(body["token"])

    def connect_query(self, env: Env, room: str, user: str | None = None) -> dict[str, str]:
        user = user or f"user-{self.n()}"
        return {"apiKey": env.pk, "token": self.token(env, user), "room": room}

    def connect(self, env: Env, room: str, query: dict[str, str] | None = None) -> str:
        from app import ws_connect

        connection_id = f"Conn{self.n():08d}Bench="
        query = query or self.connect_query(env, room)
        event = ws_event("$connect", connection_id, domain=self.domain, query=query)
        result = ws_connect(event, None)
        assert result == {"statusCode": 200}, result
        return connection_id

    def send(self, connection_id: str, message: dict[str, Any]) -> None:
        from app import ws_message

        event = ws_event("$default", connection_id, domain=self.domain, body=json.dumps(message))
        assert ws_message(event, None) == {"statusCode": 200}

    def disconnect(self, connection_id: str) -> None:
        from app import ws_disconnect

        event = ws_event("$disconnect", connection_id, domain=self.domain)
        assert ws_disconnect(event, None) == {"statusCode": 200}

    @staticmethod
    def _ok(resp: Any) -> Any:
        assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)
        return resp.json_body


def _json(body: Any) -> bytes:
    return json.dumps(body).encode() if body is not None else b""


ROOM = "doc:1"
R = "/api/v1/rooms/" + quote(ROOM, safe="")


@dataclass
class World:
    """An environment with room doc:1, thread t (3 comments; c the second) and thread lt
    (1 comment, lc), as in tests/integration/test_v1_budgets.py."""

    env: Env
    t: str
    c: str
    lt: str
    lc: str


def world(h: Harness) -> World:
    env = h.env()
    h.rest(env, "POST", "/api/v1/rooms", {"id": ROOM})
    first = {"comment": {"userId": "user-1", "body": "First"}}
    t = h.rest(env, "POST", f"{R}/threads", first)["id"]
    replies = [h.rest(env, "POST", f"{R}/threads/{t}/comments", REPLY) for _ in range(2)]
    c = replies[0]["id"]  # the thread's second comment
    lone = h.rest(env, "POST", f"{R}/threads", first)
    h.rest(env, "POST", "/auth/token", {"userId": "user-1", "name": "Ada"})
    return World(env, t, c, lone["id"], lone["comments"][0]["id"])


# --- the operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    group: str
    name: str
    prepare: Callable[[Harness], Thunk]  # sets the scene (not counted); returns what is counted
    minimum: int | str
    note: str = ""


def v1(method: str, path: str, body: Any = None) -> Callable[[Harness], Thunk]:
    def prepare(h: Harness) -> Thunk:
        w = world(h)
        concrete = path.format(t=w.t, c=w.c, lt=w.lt, lc=w.lc)
        return lambda: h.rest(w.env, method, concrete, body)

    return prepare


def mint_first(h: Harness) -> Thunk:
    env = h.env()
    return lambda: h.rest(env, "POST", "/auth/token", {"userId": "ada", "name": "Ada"})


def mint_again(h: Harness) -> Thunk:
    env = h.env()
    h.rest(env, "POST", "/auth/token", {"userId": "ada", "name": "Ada"})
    return lambda: h.rest(env, "POST", "/auth/token", {"userId": "ada", "name": "Ada"})


def connect_new_room(h: Harness) -> Thunk:
    env = h.env()
    query = h.connect_query(env, "room-1")
    return lambda: h.connect(env, "room-1", query)


def connect_existing_room(h: Harness) -> Thunk:
    env = h.env()
    h.connect(env, "room-1")
    query = h.connect_query(env, "room-1")
    return lambda: h.connect(env, "room-1", query)


def in_room(
    h: Harness, n: int, first_message: dict[str, Any] | None = None
) -> tuple[Env, list[str]]:
    """n live connections in room-1; the first has sent a ping this second (its rate window
    is open, so the counted message pays one UpdateItem for it, not two)."""
    env = h.env()
    members = [h.connect(env, "room-1") for _ in range(n)]
    h.send(members[0], first_message or {"type": "ping"})
    return env, members


def ws_message(message: dict[str, Any], n: int = 2) -> Callable[[Harness], Thunk]:
    def prepare(h: Harness) -> Thunk:
        env, members = in_room(h, n)
        msg = dict(message)
        if "threadId" in msg or message.get("type") == "comment.create":
            thread = h.rest(
                env,
                "POST",
                "/api/v1/rooms/room-1/threads",
                {"comment": {"userId": "u", "body": "First"}},
            )
            msg["threadId"] = thread["id"]
            if "commentId" in msg:
                msg["commentId"] = thread["comments"][0]["id"]
            h.send(members[0], {"type": "ping"})
        return lambda: h.send(members[0], msg)

    return prepare


def rest_fanout(n: int) -> Callable[[Harness], Thunk]:
    def prepare(h: Harness) -> Thunk:
        env, _ = in_room(h, n)
        first = {"comment": {"userId": "u", "body": "First"}}
        thread = h.rest(env, "POST", "/api/v1/rooms/room-1/threads", first)
        path = f"/api/v1/rooms/room-1/threads/{thread['id']}/comments"
        return lambda: h.rest(env, "POST", path, {"userId": "u", "body": "Reply"})

    return prepare


def first_of_a_second(h: Harness) -> Thunk:
    _, members = in_room(h, 2)
    h.graph.clock.advance(1)
    return lambda: h.send(members[0], {"type": "ping"})


def pk_id(h: Harness, env: Env) -> dict[str, str]:
    return {"key": env.pk_id}


def disconnect(h: Harness) -> Thunk:
    _, members = in_room(h, 2)
    return lambda: h.disconnect(members[0])


def admin(
    method: str, path: str, body: Any = None, *, setup: Callable[[Harness, Env], dict[str, str]]
) -> Callable[[Harness], Thunk]:
    def prepare(h: Harness) -> Thunk:
        env = h.env()
        values = {"env": env.id, **setup(h, env)}
        concrete = path.format(**values)
        return lambda: h.admin(method, concrete, body)

    return prepare


def nothing(h: Harness, env: Env) -> dict[str, str]:
    return {}


def operator(role: str = "viewer") -> Callable[[Harness, Env], dict[str, str]]:
    def setup(h: Harness, env: Env) -> dict[str, str]:
        op = h.graph.operators.create(None, f"op{h.n()}@example.com", PASSWORD, role)
        return {"op": op.id}

    return setup


def browse(threads: int) -> Callable[[Harness, Env], dict[str, str]]:
    def setup(h: Harness, env: Env) -> dict[str, str]:
        h.rest(env, "POST", "/api/v1/rooms", {"id": "room-1"})
        made = [
            h.rest(
                env,
                "POST",
                "/api/v1/rooms/room-1/threads",
                {"comment": {"userId": "u", "body": "x"}},
            )
            for _ in range(threads)
        ]
        return {"t": made[0]["id"], "c": made[0]["comments"][0]["id"]}

    return setup


def login_op(h: Harness) -> Thunk:
    email = f"login{h.n()}@example.com"
    h.graph.operators.create(None, email, PASSWORD, "admin")
    return lambda: h.login(email)


def failed_login(h: Harness) -> Thunk:
    email = f"login{h.n()}@example.com"
    h.graph.operators.create(None, email, PASSWORD, "admin")

    def attempt() -> None:
        resp = h.client.http.post(
            "/admin/api/login",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"email": email, "password": "wrong password, long"}),
        )
        assert resp.status_code == 401, resp.body

    return attempt


def logout(h: Harness) -> Thunk:
    email = f"logout{h.n()}@example.com"
    h.graph.operators.create(None, email, PASSWORD, "admin")
    token = h.login(email)
    return lambda: h.admin("POST", "/logout", token=token)


PRESENCE = {"type": "presence.update", "data": {"x": 1}}
COMMENT = {"type": "comment.create", "threadId": "", "body": "Hi"}
BROADCAST = {"type": "broadcast", "event": {"x": 1}}
FIRST = {"comment": {"userId": "user-1", "body": "Hi"}}
REPLY = {"userId": "user-1", "body": "Reply"}
EDIT = {"body": "Edited"}
NAME = {"name": "Renamed"}
SECRET = {"kind": "secret"}
CONFIRM = {"confirmName": "Bench"}  # Harness.env's name: a disable names its environment
NEW_OP = {"email": "new@example.com", "password": PASSWORD, "role": "viewer"}
ROLE = {"role": "admin"}
AUDIT_IN_TX = "auth read + audit in the tx"
TOKENS_WS = "Tokens and WebSocket"
V1 = "REST API v1 (`Bearer sk_`)"
ADMIN = "Admin API (operator session)"
DATA = "Admin data browser and analytics"
E = "/environments/{env}"
ER = E + "/rooms/room-1"
ER_LAST = ER + "/threads/{t}/comments/{c}"
LAST = f"{R}/threads/{{lt}}/comments/{{lc}}"

# Minimum possible: the fewest calls any design could make for the same guarantees (consistent
# reads that see a revocation at once, counters exact by transaction, one Query per partition).
# Where it is below what Pulse makes, the note says what it would take.
AUTH_FOLD = "the auth read could carry it"
ANALYTICS = "auth, environment, STATS: 1 read"
OPS: list[Op] = [
    Op(TOKENS_WS, "mint, first-time user", mint_first, 2, "user + counters + key use: 1 tx"),
    Op(TOKENS_WS, "mint, returning user (< 60 s)", mint_again, 1, "no write due"),
    Op(TOKENS_WS, "$connect, new room", connect_new_room, 2, "3 rows + room + STATS + user: 1 tx"),
    Op(TOKENS_WS, "$connect, existing room", connect_existing_room, 2, ""),
    Op(TOKENS_WS, "$default ping (rate window open)", ws_message({"type": "ping"}), 1, "rate"),
    Op(
        TOKENS_WS,
        "$default ping, first of a second",
        first_of_a_second,
        1,
        "a failed conditional write resets the window",
    ),
    Op(TOKENS_WS, "$default join", ws_message({"type": "join"}), 2, "rate + members"),
    Op(TOKENS_WS, "$default presence.update", ws_message(PRESENCE), 3, "rate + save + members"),
    Op(TOKENS_WS, "$default threads.list", ws_message({"type": "threads.list"}), 3, ""),
    Op(TOKENS_WS, "$default comment.create", ws_message(COMMENT), 4, "rate + check + tx + fan-out"),
    Op(TOKENS_WS, "$disconnect", disconnect, 3, "by id, then 3 rows + count: 1 tx, whom to tell"),
    *[
        Op(TOKENS_WS, f"$default broadcast to {n}", ws_message(BROADCAST, n + 1), 2, "")
        for n in (1, 10, 99)
    ],
    *[
        Op(TOKENS_WS, f"REST create comment, fanned out to {n}", rest_fanout(n), 3, "")
        for n in (1, 10, 100)
    ],
    Op(V1, "list rooms", v1("GET", "/api/v1/rooms"), 2, "check + 1 Query"),
    Op(V1, "create room", v1("POST", "/api/v1/rooms", {"id": "room-2"}), 2, "room + STATS: 1 tx"),
    Op(V1, "get room", v1("GET", R), 1, "the room is in the check"),
    Op(V1, "patch room", v1("PATCH", R, {"metadata": {"b": 2}}), 2, ""),
    Op(V1, "delete room (2 threads, 4 comments)", v1("DELETE", R), 7, "purge: 1 BatchWrite"),
    Op(V1, "list threads", v1("GET", f"{R}/threads"), 2, ""),
    Op(V1, "create thread", v1("POST", f"{R}/threads", FIRST), 3, "check + tx + fan-out"),
    Op(V1, "get thread (+ comments)", v1("GET", f"{R}/threads/{{t}}"), 2, ""),
    Op(V1, "patch thread", v1("PATCH", f"{R}/threads/{{t}}", {"resolved": True}), 3, ""),
    Op(V1, "delete thread (3 comments)", v1("DELETE", f"{R}/threads/{{t}}"), 5, "+ purge"),
    Op(V1, "list comments", v1("GET", f"{R}/threads/{{t}}/comments"), 2, ""),
    Op(V1, "create comment", v1("POST", f"{R}/threads/{{t}}/comments", REPLY), 3, ""),
    Op(V1, "patch comment", v1("PATCH", f"{R}/threads/{{t}}/comments/{{c}}", EDIT), 3, ""),
    Op(V1, "delete comment", v1("DELETE", f"{R}/threads/{{t}}/comments/{{c}}"), 3, ""),
    Op(V1, "delete the last comment", v1("DELETE", LAST), 5, "+ its thread, purged"),
    Op(V1, "list users", v1("GET", "/api/v1/users"), 2, ""),
    Op(V1, "get user", v1("GET", "/api/v1/users/user-1"), 1, ""),
    Op(V1, "active users", v1("GET", f"{R}/active_users"), 2, ""),
    Op(V1, "broadcast", v1("POST", f"{R}/broadcast", {"event": {"x": 1}}), 2, ""),
    Op(ADMIN, "login", login_op, 3, "if the email claim held the hash"),
    Op(ADMIN, "login, wrong password", failed_login, 3, "same"),
    Op(ADMIN, "logout", logout, 2, ""),
    Op(ADMIN, "me", admin("GET", "/me", setup=nothing), 1, "auth read the operator already"),
    Op(ADMIN, "list environments", admin("GET", "/environments", setup=nothing), 2, ""),
    Op(ADMIN, "create environment", admin("POST", "/environments", NAME, setup=nothing), 2, ""),
    Op(ADMIN, "get environment", admin("GET", E, setup=nothing), 1, AUTH_FOLD),
    Op(ADMIN, "rename environment", admin("PATCH", E, NAME, setup=nothing), 2, AUTH_FOLD),
    Op(ADMIN, "disable environment", admin("DELETE", E, CONFIRM, setup=nothing), 3, AUTH_FOLD),
    Op(ADMIN, "list keys", admin("GET", E + "/keys", setup=nothing), 2, AUTH_FOLD),
    Op(ADMIN, "create key", admin("POST", E + "/keys", SECRET, setup=nothing), 2, AUTH_FOLD),
    Op(ADMIN, "rotate keys", admin("POST", E + "/keys/rotate", setup=nothing), 3, AUTH_FOLD),
    Op(ADMIN, "revoke key", admin("POST", E + "/keys/{key}/revoke", setup=pk_id), 3, AUTH_FOLD),
    Op(ADMIN, "environment audit", admin("GET", E + "/audit", setup=nothing), 2, AUTH_FOLD),
    Op(ADMIN, "list operators", admin("GET", "/operators", setup=operator()), 2, ""),
    Op(ADMIN, "create operator", admin("POST", "/operators", NEW_OP, setup=nothing), 2, ""),
    Op(
        ADMIN,
        "change a role",
        admin("PATCH", "/operators/{op}", ROLE, setup=operator()),
        2,
        AUTH_FOLD,
    ),
    Op(
        ADMIN, "delete operator", admin("DELETE", "/operators/{op}", setup=operator()), 2, AUTH_FOLD
    ),
    Op(ADMIN, "operators audit", admin("GET", "/audit", setup=nothing), 2, ""),
    Op(DATA, "analytics", admin("GET", E + "/analytics", setup=nothing), 2, ANALYTICS),
    Op(DATA, "browse rooms", admin("GET", E + "/rooms", setup=browse(1)), 2, AUTH_FOLD),
    Op(DATA, "browse users", admin("GET", E + "/users", setup=browse(1)), 2, AUTH_FOLD),
    Op(
        DATA,
        "browse threads, page of 3",
        admin("GET", ER + "/threads", setup=browse(3)),
        5,
        AUTH_FOLD,
    ),
    Op(DATA, "get thread", admin("GET", ER + "/threads/{t}", setup=browse(1)), 2, AUTH_FOLD),
    Op(
        DATA,
        "list comments",
        admin("GET", ER + "/threads/{t}/comments", setup=browse(1)),
        2,
        AUTH_FOLD,
    ),
    Op(DATA, "delete the last comment", admin("DELETE", ER_LAST, setup=browse(1)), 5, AUDIT_IN_TX),
    Op(
        DATA, "delete thread", admin("DELETE", ER + "/threads/{t}", setup=browse(1)), 5, AUDIT_IN_TX
    ),
    Op(
        DATA,
        "delete room (1 thread)",
        admin("DELETE", ER, setup=browse(1)),
        6,
        AUDIT_IN_TX + ", 1 BatchWrite",
    ),
]


# --- running and reporting ---------------------------------------------------------------------


def describe(calls: list[Call]) -> str:
    """'BatchGetItem, Query x2, TransactWriteItems' (in order, repeats folded)."""
    parts: list[str] = []
    for op, group in itertools.groupby(c.operation for c in calls):
        count = len(list(group))
        parts.append(op if count == 1 else f"{op} x{count}")
    return ", ".join(parts) or "none"


@dataclass
class Measured:
    op: Op
    calls: list[Call]
    pushes: int


def measure(h: Harness, recorder: DynamoCalls, ops: list[Op]) -> Iterator[Measured]:
    sent = count_requests(h.graph.realtime.channel.api)  # the sender's own requests: its posts
    for op in ops:
        thunk = op.prepare(h)
        sent.clear()
        with recorder.record() as calls:
            thunk()
        yield Measured(op, list(calls), sent["post"])


def report(results: list[Measured]) -> str:
    out = [machine(), ""]
    for group in dict.fromkeys(r.op.group for r in results):
        rows = []
        for r in (r for r in results if r.op.group == group):
            rows.append(
                [
                    r.op.name,
                    len(r.calls),
                    describe(r.calls),
                    r.op.minimum,
                    r.pushes or "",
                    r.op.note,
                ]
            )
        out += [f"**{group}**", ""]
        out.append(
            table(
                ["operation", "calls", "DynamoDB calls, in order", "minimum", "pushes", "note"],
                rows,
            )
        )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="operations whose name contains this text")
    args = parser.parse_args(argv)
    ops = [op for op in OPS if not args.only or args.only.lower() in op.name.lower()]

    with ExitStack() as stack:
        domain = stack.enter_context(management_api())
        use_bench_environ(PULSE_STAGE="bench-rt")
        import boto3
        from moto import mock_aws

        stack.enter_context(mock_aws())
        from chalice.test import Client

        from app import app
        from chalicelib import runtime

        logging.getLogger("pulse").setLevel(logging.WARNING)  # no access log lines
        from chalicelib.clock import FrozenClock
        from chalicelib.config import get_settings
        from infra.tables import create_tables

        settings = get_settings()
        create_tables(boto3.client("dynamodb"), settings.table_prefix)
        graph = runtime.build(settings, FrozenClock(time.time()))
        runtime.install(graph)
        client = stack.enter_context(Client(app))
        h = Harness(client, graph, domain)
        h.graph.operators.create(None, "owner@example.com", PASSWORD, "owner")
        h.owner_token = h.login("owner@example.com")
        recorder = stack.enter_context(installed())
        results = list(measure(h, recorder, ops))
    print(report(results))


if __name__ == "__main__":
    main()
