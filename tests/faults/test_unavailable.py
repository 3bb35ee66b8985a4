"""DynamoDB throttling and failures answer 503 with Retry-After, never 500: every route that
touches DynamoDB, with each of its DynamoDB calls failing in turn.

For each route the request is first made with no fault, to learn its DynamoDB calls; then it is
made again (on fresh things where it changes them) once per call, with that call failing. Every
answer must be the route's success (the failed call was best-effort, after the commit) or a 503
in the one error shape with `Retry-After: 1` and code SERVICE_UNAVAILABLE.

Every REST v1 request and token mint counts itself against its environment's rate limits, in
one UpdateItem right after its read (RATE): that count is best-effort before any commit, so with
it failing the route must succeed (services/limits.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api.helpers import PASSWORD

from chalicelib.api import (
    admin_data,
    admin_environments,
    admin_operators,
    auth_tokens,
    v1_inbox,
    v1_privacy,
    v1_rooms,
)

from .conftest import OWNER, World
from .injector import KINDS, RATE, THROTTLE, TIMEOUT, TX_THROTTLED, UNREACHABLE, Faults

V1 = "/api/v1"
ADMIN = "/admin/api"


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: Any = None
    token: str | None = None


@dataclass(frozen=True)
class Case:
    route: tuple[str, str]  # (method, registered path): every DynamoDB route needs a case
    ok: int
    build: Callable[[World], Req]


def _targets(w: World, method: str) -> tuple[str, str, str]:
    """Reads and idempotent updates share one room; writes that use things up get fresh ones."""
    if method in ("GET", "PATCH"):
        return w.shared()
    room = w.room()
    thread = w.thread(room, comments=2)
    return room, thread, w.comment(room, thread)


def _v1(method: str, path: str, body: Any = None) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        room, thread, comment = _targets(w, method)
        return Req(method, V1 + path.format(r=room, t=thread, c=comment, u="ada"), body, w.sk)

    return build


def _erase_job(w: World) -> Req:
    """A read of an erase job made just now (before any fault is armed)."""
    made = w.request("POST", f"{V1}/users/ada/erase", {"mode": "anonymize"}, token=w.sk)
    assert made.status_code == 202, made.body
    return Req("GET", f"{V1}/users/ada/erase/{made.json_body['id']}", None, w.sk)


def _admin_env(method: str, path: str, body: Any = None) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        room, thread, comment = _targets(w, method)
        full = path.format(r=room, t=thread, c=comment, u="ada")
        return Req(method, f"{ADMIN}/environments/{w.env_id}{full}", body, w.owner_token)

    return build


def _fresh_env(method: str, suffix: str, body: Any = None) -> Callable[[World], Req]:
    """Admin key routes on an environment of their own (they revoke the keys they rotate)."""

    def build(w: World) -> Req:
        env_id, pk_id, _ = w.environment()
        path = f"{ADMIN}/environments/{env_id}{suffix.format(k=pk_id)}"
        return Req(method, path, body, w.owner_token)

    return build


def _disable_env(w: World) -> Req:
    """`disable` of an environment of its own, naming it."""
    env_id, _, _ = w.environment()
    body = {"confirmName": w.graph.environments.get(env_id).name}
    return Req("DELETE", f"{ADMIN}/environments/{env_id}", body, w.owner_token)


def _leaked_key(w: World) -> Req:
    """`report-leak` of the secret key of an environment of its own."""
    _, _, sk = w.environment()
    return Req("POST", f"{ADMIN}/keys/report-leak", {"key": sk}, w.owner_token)


def _leak_shown(w: World) -> Req:
    """`leak/dismiss` on an environment of its own whose secret key was reported leaked."""
    env_id, _, sk = w.environment()
    w.graph.environments.report_leak(OWNER, sk)
    return Req("POST", f"{ADMIN}/environments/{env_id}/leak/dismiss", None, w.owner_token)


def _suspended_env(w: World) -> Req:
    """`resume` on an environment of its own, suspended first."""
    env_id, _, _ = w.environment()
    w.graph.environments.suspend(OWNER, env_id)
    return Req("POST", f"{ADMIN}/environments/{env_id}/resume", None, w.owner_token)


CASES: dict[str, Case] = {
    # REST v1 (secret key)
    "list rooms": Case(("GET", "/rooms"), 200, _v1("GET", "/rooms")),
    "create room": Case(
        ("POST", "/rooms"),
        201,
        lambda w: Req("POST", f"{V1}/rooms", {"id": w.fresh("new")}, w.sk),
    ),
    "get room": Case(("GET", "/rooms/{roomId}"), 200, _v1("GET", "/rooms/{r}")),
    "update room": Case(
        ("PATCH", "/rooms/{roomId}"), 200, _v1("PATCH", "/rooms/{r}", {"metadata": {"a": 1}})
    ),
    "delete room": Case(("DELETE", "/rooms/{roomId}"), 204, _v1("DELETE", "/rooms/{r}")),
    "active users": Case(
        ("GET", "/rooms/{roomId}/active_users"), 200, _v1("GET", "/rooms/{r}/active_users")
    ),
    "broadcast": Case(
        ("POST", "/rooms/{roomId}/broadcast"),
        202,
        _v1("POST", "/rooms/{r}/broadcast", {"event": {"x": 1}}),
    ),
    "list threads": Case(("GET", "/rooms/{roomId}/threads"), 200, _v1("GET", "/rooms/{r}/threads")),
    "create thread": Case(
        ("POST", "/rooms/{roomId}/threads"),
        201,
        _v1("POST", "/rooms/{r}/threads", {"comment": {"userId": "ada", "body": "hi"}}),
    ),
    "get thread": Case(
        ("GET", "/rooms/{roomId}/threads/{threadId}"), 200, _v1("GET", "/rooms/{r}/threads/{t}")
    ),
    "update thread": Case(
        ("PATCH", "/rooms/{roomId}/threads/{threadId}"),
        200,
        _v1("PATCH", "/rooms/{r}/threads/{t}", {"resolved": True}),
    ),
    "delete thread": Case(
        ("DELETE", "/rooms/{roomId}/threads/{threadId}"),
        204,
        _v1("DELETE", "/rooms/{r}/threads/{t}"),
    ),
    "list comments": Case(
        ("GET", "/rooms/{roomId}/threads/{threadId}/comments"),
        200,
        _v1("GET", "/rooms/{r}/threads/{t}/comments"),
    ),
    "create comment": Case(
        ("POST", "/rooms/{roomId}/threads/{threadId}/comments"),
        201,
        _v1("POST", "/rooms/{r}/threads/{t}/comments", {"userId": "bob", "body": "yo"}),
    ),
    "update comment": Case(
        ("PATCH", "/rooms/{roomId}/threads/{threadId}/comments/{commentId}"),
        200,
        _v1("PATCH", "/rooms/{r}/threads/{t}/comments/{c}", {"body": "edited"}),
    ),
    "delete comment": Case(
        ("DELETE", "/rooms/{roomId}/threads/{threadId}/comments/{commentId}"),
        204,
        _v1("DELETE", "/rooms/{r}/threads/{t}/comments/{c}"),
    ),
    "list events": Case(
        ("GET", "/rooms/{roomId}/events"), 200, _v1("GET", "/rooms/{r}/events?since=0")
    ),
    "add reaction": Case(
        ("POST", "/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions"),
        200,
        _v1(
            "POST", "/rooms/{r}/threads/{t}/comments/{c}/reactions", {"emoji": "👍", "userId": "u"}
        ),
    ),
    "remove reaction": Case(
        ("DELETE", "/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions/{emoji}"),
        200,
        _v1("DELETE", "/rooms/{r}/threads/{t}/comments/{c}/reactions/%F0%9F%91%8D?userId=u"),
    ),
    "create attachment": Case(
        ("POST", "/rooms/{roomId}/attachments"),
        201,
        _v1("POST", "/rooms/{r}/attachments", {"name": "a", "mimeType": "text/plain", "size": 1}),
    ),
    "list users": Case(("GET", "/users"), 200, _v1("GET", "/users")),
    "get user": Case(("GET", "/users/{userId}"), 200, _v1("GET", "/users/{u}")),
    "revoke tokens": Case(
        ("POST", "/users/{userId}/revoke-tokens"), 200, _v1("POST", "/users/{u}/revoke-tokens")
    ),
    "erase user": Case(
        ("POST", "/users/{userId}/erase"),
        202,
        _v1("POST", "/users/{u}/erase", {"mode": "anonymize"}),
    ),
    "get erase job": Case(("GET", "/users/{userId}/erase/{jobId}"), 200, _erase_job),
    "export user": Case(("GET", "/users/{userId}/export"), 200, _v1("GET", "/users/{u}/export")),
    # unread state and the inbox
    "inbox": Case(("GET", "/users/{userId}/inbox"), 200, _v1("GET", "/users/{u}/inbox")),
    "inbox count": Case(
        ("GET", "/users/{userId}/inbox/count"), 200, _v1("GET", "/users/{u}/inbox/count")
    ),
    "mark read": Case(
        ("POST", "/users/{userId}/threads/{threadId}/read"),
        200,
        _v1("POST", "/users/{u}/threads/{t}/read"),
    ),
    "subscribe": Case(
        ("POST", "/rooms/{roomId}/threads/{threadId}/subscribe"),
        200,
        _v1("POST", "/rooms/{r}/threads/{t}/subscribe", {"userId": "ada"}),
    ),
    "unsubscribe": Case(
        ("POST", "/rooms/{roomId}/threads/{threadId}/unsubscribe"),
        200,
        _v1("POST", "/rooms/{r}/threads/{t}/unsubscribe", {"userId": "ada"}),
    ),
    "get notification settings": Case(
        ("GET", "/rooms/{roomId}/users/{userId}/notification-settings"),
        200,
        _v1("GET", "/rooms/{r}/users/{u}/notification-settings"),
    ),
    "put notification settings": Case(
        ("PUT", "/rooms/{roomId}/users/{userId}/notification-settings"),
        200,
        _v1("PUT", "/rooms/{r}/users/{u}/notification-settings", {"setting": "mentions"}),
    ),
    # tokens
    "mint token": Case(
        ("POST", "/token"),
        200,
        lambda w: Req("POST", "/auth/token", {"userId": w.fresh("u"), "name": "U"}, w.sk),
    ),
    # Admin API: sessions and operators
    # (each login as a new operator: one that failed half way holds its email for a while)
    "login": Case(
        ("POST", "/login"),
        200,
        lambda w: Req("POST", f"{ADMIN}/login", {"email": w.email(), "password": PASSWORD}),
    ),
    "logout": Case(
        ("POST", "/logout"), 204, lambda w: Req("POST", f"{ADMIN}/logout", None, w.session())
    ),
    "me": Case(("GET", "/me"), 200, lambda w: Req("GET", f"{ADMIN}/me", None, w.owner_token)),
    "list operators": Case(
        ("GET", "/operators"), 200, lambda w: Req("GET", f"{ADMIN}/operators", None, w.owner_token)
    ),
    "create operator": Case(
        ("POST", "/operators"),
        201,
        lambda w: Req(
            "POST",
            f"{ADMIN}/operators",
            {"email": f"{w.fresh('n')}@example.com", "password": PASSWORD, "role": "viewer"},
            w.owner_token,
        ),
    ),
    "update operator": Case(
        ("PATCH", "/operators/{operatorId}"),
        200,
        lambda w: Req(
            "PATCH", f"{ADMIN}/operators/{w.operator()}", {"role": "admin"}, w.owner_token
        ),
    ),
    "delete operator": Case(
        ("DELETE", "/operators/{operatorId}"),
        204,
        lambda w: Req("DELETE", f"{ADMIN}/operators/{w.operator()}", None, w.owner_token),
    ),
    "operators audit": Case(
        ("GET", "/audit"), 200, lambda w: Req("GET", f"{ADMIN}/audit", None, w.owner_token)
    ),
    # Admin API: environments and keys
    "list environments": Case(
        ("GET", "/environments"),
        200,
        lambda w: Req("GET", f"{ADMIN}/environments", None, w.owner_token),
    ),
    "create environment": Case(
        ("POST", "/environments"),
        201,
        lambda w: Req("POST", f"{ADMIN}/environments", {"name": w.fresh("E")}, w.owner_token),
    ),
    "get environment": Case(("GET", "/environments/{envId}"), 200, _fresh_env("GET", "")),
    "rename environment": Case(
        ("PATCH", "/environments/{envId}"), 200, _fresh_env("PATCH", "", {"name": "Renamed"})
    ),
    "disable environment": Case(("DELETE", "/environments/{envId}"), 204, _disable_env),
    "suspend environment": Case(
        ("POST", "/environments/{envId}/suspend"), 200, _fresh_env("POST", "/suspend")
    ),
    "resume environment": Case(("POST", "/environments/{envId}/resume"), 200, _suspended_env),
    "list keys": Case(("GET", "/environments/{envId}/keys"), 200, _fresh_env("GET", "/keys")),
    "create key": Case(
        ("POST", "/environments/{envId}/keys"),
        201,
        _fresh_env("POST", "/keys", {"kind": "secret"}),
    ),
    "rotate keys": Case(
        ("POST", "/environments/{envId}/keys/rotate"), 201, _fresh_env("POST", "/keys/rotate")
    ),
    "revoke key": Case(
        ("POST", "/environments/{envId}/keys/{keyId}/revoke"),
        200,
        _fresh_env("POST", "/keys/{k}/revoke"),
    ),
    "roll key": Case(
        ("POST", "/environments/{envId}/keys/{keyId}/roll"),
        201,
        _fresh_env("POST", "/keys/{k}/roll", {"expiresIn": "24h"}),
    ),
    "keys usage": Case(
        ("GET", "/environments/{envId}/keys/usage"), 200, _fresh_env("GET", "/keys/usage")
    ),
    "environment audit": Case(
        ("GET", "/environments/{envId}/audit"), 200, _fresh_env("GET", "/audit")
    ),
    "report a leaked key": Case(("POST", "/keys/report-leak"), 202, _leaked_key),
    "dismiss a leak": Case(("POST", "/environments/{envId}/leak/dismiss"), 200, _leak_shown),
    # Admin API: the data browser
    "analytics": Case(("GET", "/analytics"), 200, _admin_env("GET", "/analytics")),
    "cost": Case(("GET", "/cost"), 200, _admin_env("GET", "/cost")),
    "browse rooms": Case(("GET", "/rooms"), 200, _admin_env("GET", "/rooms")),
    "admin delete room": Case(
        ("DELETE", "/rooms/{roomId}"), 204, _admin_env("DELETE", "/rooms/{r}")
    ),
    "browse threads": Case(
        ("GET", "/rooms/{roomId}/threads"), 200, _admin_env("GET", "/rooms/{r}/threads")
    ),
    "admin get thread": Case(
        ("GET", "/rooms/{roomId}/threads/{threadId}"),
        200,
        _admin_env("GET", "/rooms/{r}/threads/{t}"),
    ),
    "admin delete thread": Case(
        ("DELETE", "/rooms/{roomId}/threads/{threadId}"),
        204,
        _admin_env("DELETE", "/rooms/{r}/threads/{t}"),
    ),
    "admin list comments": Case(
        ("GET", "/rooms/{roomId}/threads/{threadId}/comments"),
        200,
        _admin_env("GET", "/rooms/{r}/threads/{t}/comments"),
    ),
    "admin delete comment": Case(
        ("DELETE", "/rooms/{roomId}/threads/{threadId}/comments/{commentId}"),
        204,
        _admin_env("DELETE", "/rooms/{r}/threads/{t}/comments/{c}"),
    ),
    "browse users": Case(("GET", "/users"), 200, _admin_env("GET", "/users")),
    # Admin API: the room inspector
    "inspect connections": Case(
        ("GET", "/rooms/{roomId}/connections"), 200, _admin_env("GET", "/rooms/{r}/connections")
    ),
    "inspect events": Case(
        ("GET", "/rooms/{roomId}/events"), 200, _admin_env("GET", "/rooms/{r}/events")
    ),
    # (no live connection in this world: the room and its connections are read, then 404)
    "close a connection": Case(
        ("DELETE", "/rooms/{roomId}/connections/{connectionId}"),
        404,
        _admin_env("DELETE", "/rooms/{r}/connections/gone-connection"),
    ),
}

ROUTERS = {
    "v1": v1_rooms.router,
    "inbox": v1_inbox.router,
    "privacy": v1_privacy.router,
    "token": auth_tokens.router,
    "operators": admin_operators.router,
    "environments": admin_environments.router,
    "data": admin_data.router,
}


def send(w: World, req: Req) -> Any:
    return w.request(req.method, req.path, req.body, token=req.token)


def assert_unavailable(resp: Any) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.body)
    assert resp.headers.get("Retry-After") == "1", resp.headers
    assert resp.json_body == {
        "error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": resp.json_body["error"]["message"],
        }
    }
    assert "retry" in resp.json_body["error"]["message"]


def test_every_dynamodb_route_has_a_case() -> None:
    """A new route must join the sweep below (the static ones never touch DynamoDB)."""
    registered = {(s.method, s.path) for r in ROUTERS.values() for s in r.specs}
    covered = set()
    for case in CASES.values():
        method, path = case.route
        covered |= {(m, p) for m, p in registered if m == method and p.endswith(path)}
    assert registered - covered == set()


@pytest.mark.parametrize("kind", [THROTTLE, TIMEOUT])
@pytest.mark.parametrize("name", list(CASES))
def test_each_dynamodb_call_failing_is_a_503_never_a_500(
    name: str, kind: str, world: World, faults: Faults
) -> None:
    case = CASES[name]
    request = case.build(world)
    faults.record()
    resp = send(world, request)
    assert resp.status_code == case.ok, (resp.status_code, resp.body)
    calls = faults.names()
    assert calls, "the route made no DynamoDB call"
    # A secret key's request (REST v1, a mint) is counted once, right after its read; an
    # operator's never.
    if request.token == world.sk:
        assert calls[:2] == ["BatchGetItem", RATE] and calls.count(RATE) == 1, calls
    else:
        assert RATE not in calls, calls
    outcomes = []
    for k in range(len(calls)):
        request = case.build(world)
        faults.fail_at(k, kind)
        resp = send(world, request)
        assert faults.failed == [(k, faults.calls[k], kind)], (faults.failed, calls)
        assert faults.names()[: k + 1] == calls[: k + 1], (k, faults.names(), calls)
        if calls[k] == RATE:  # not counted, and served all the same
            assert resp.status_code == case.ok, (k, calls[k], resp.status_code, resp.body)
            assert faults.names() == calls, (k, faults.names(), calls)
        elif resp.status_code != 503:
            assert resp.status_code == case.ok, (k, calls[k], resp.status_code, resp.body)
        else:
            assert_unavailable(resp)
        outcomes.append(resp.status_code)
    faults.off()
    assert outcomes[0] == 503  # the first call is never best-effort: nothing is known yet


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_dynamodb_failure_is_a_503(kind: str, world: World, faults: Faults) -> None:
    room = world.room()
    operation = "TransactWriteItems" if kind == TX_THROTTLED else "BatchGetItem"
    path = f"{V1}/rooms/{room}/threads"
    faults.fail(operation, kind)
    resp = world.request("POST", path, {"comment": {"userId": "a", "body": "b"}}, token=world.sk)
    assert faults.failed and faults.failed[0][1:] == (operation, kind)
    assert_unavailable(resp)


def test_a_transaction_cancelled_for_a_condition_is_not_a_503(world: World) -> None:
    """Only throughput is 'retry later': a real conflict stays the route's own 409."""
    room = world.room()
    resp = world.request("POST", f"{V1}/rooms", {"id": room}, token=world.sk)
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "ROOM_EXISTS"


@pytest.mark.parametrize("kind", [TIMEOUT, UNREACHABLE])
def test_botocore_retries_are_spent_before_the_503(kind: str, world: World, faults: Faults) -> None:
    """A transport failure on one attempt is retried by botocore (standard mode, 3 attempts):
    the request succeeds. Three in a row and the caller gets the 503."""
    faults.arm().transient(1, kind)
    resp = world.request("GET", f"{V1}/rooms", token=world.sk)
    assert resp.status_code == 200
    assert faults.attempts[:2] == ["BatchGetItem", "BatchGetItem"]  # failed, then retried

    faults.arm().transient(3, kind)
    resp = world.request("GET", f"{V1}/rooms", token=world.sk)
    assert_unavailable(resp)
    assert faults.attempts == ["BatchGetItem"] * 3
