"""Admin API analytics and data browser: exact counters that follow REST writes and mints (and
come back down after deletes), a 30-day zero-filled daily series, browsing rooms, threads with
comments, comments and users, deletes from the browser (admin role, audited), and the roles."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.api import admin_data
from chalicelib.clock import FrozenClock
from chalicelib.entities import ROLES

from .helpers import (
    API,
    Login,
    Tenant,
    audit_actions,
    call,
    create_environment,
    each,
    enc,
    error,
    list_all,
    login_as,
    make_comment,
    make_room,
    make_thread,
    mint,
    ok,
    secret_of,
    v1,
)

UNKNOWN_ENV = "env_0000000000000000"
NO_THREAD = "th_0000000000000000"
NO_COMMENT = "cm_0000000000000000"


@pytest.fixture
def tenant(client: Any, owner: Login) -> Tenant:
    created = create_environment(client, owner.token, "Acme")
    env = created["environment"]
    keys = {k["kind"]: k for k in created["keys"]}
    return Tenant(
        env["id"],
        secret_of(created),
        keys["publishable"]["key"],
        keys["secret"]["id"],
        keys["publishable"]["id"],
    )


def base(tenant: Tenant) -> str:
    return f"{API}/environments/{tenant.id}"


def analytics(client: Any, login: Login, tenant: Tenant) -> dict[str, Any]:
    return ok(call(client, "GET", f"{base(tenant)}/analytics", token=login.token))  # type: ignore[no-any-return]


def counts(client: Any, login: Login, tenant: Tenant) -> tuple[int, int, int, int]:
    a = analytics(client, login, tenant)
    return a["rooms"], a["threads"], a["comments"], a["users"]


def today_of(client: Any, login: Login, tenant: Tenant) -> dict[str, Any]:
    return analytics(client, login, tenant)["daily"][-1]  # type: ignore[no-any-return]


def shift(day: str, offset: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=offset)).isoformat()


# --- analytics ----------------------------------------------------------------------------------


def test_a_new_environment_has_zero_counts_and_30_zero_filled_days(
    client: Any, owner: Login, tenant: Tenant, clock: FrozenClock
) -> None:
    body = analytics(client, owner, tenant)

    assert set(body) == {
        "rooms",
        "threads",
        "comments",
        "users",
        "days",
        "activeUsers",
        "daily",
        "busiestByConnections",
        "busiestByComments",
    }
    assert (body["rooms"], body["threads"], body["comments"], body["users"]) == (0, 0, 0, 0)
    assert body["days"] == 30
    assert body["activeUsers"] == {"day": 0, "week": 0, "month": 0}
    assert body["busiestByConnections"] == body["busiestByComments"] == []
    daily = body["daily"]
    assert len(daily) == 30
    today = clock.today()
    assert [d["date"] for d in daily] == [shift(today, n) for n in range(-29, 1)]
    zero = {
        "comments": 0,
        "activeUsers": 0,
        "connections": 0,
        "peakConnections": 0,
        "messagesIn": 0,
        "pushesOut": 0,
        "webhookDeliveries": 0,
        "webhookFailures": 0,
        "refused": {},
        "rateLimited": {},
    }
    assert all(d == {"date": d["date"], **zero} for d in daily)


def test_counts_move_as_data_is_written_through_rest(
    client: Any, owner: Login, tenant: Tenant
) -> None:
    sk = tenant.sk
    make_room(client, sk, "doc-1")
    assert counts(client, owner, tenant) == (1, 0, 0, 0)

    thread = make_thread(client, sk, "doc-1")
    assert counts(client, owner, tenant) == (1, 1, 1, 0)

    make_comment(client, sk, "doc-1", thread["id"])
    make_comment(client, sk, "doc-1", thread["id"])
    make_room(client, sk, "doc-2")
    make_thread(client, sk, "doc-2")
    assert counts(client, owner, tenant) == (2, 2, 4, 0)
    assert today_of(client, owner, tenant)["comments"] == 4

    assert mint(client, sk, "ada").status_code == 200
    assert mint(client, sk, "bob").status_code == 200
    assert counts(client, owner, tenant) == (2, 2, 4, 2)
    # A mint is not activity: active users are those who connect (tests/realtime).
    assert today_of(client, owner, tenant)["activeUsers"] == 0
    body = analytics(client, owner, tenant)
    assert [(r["roomId"], r["count"]) for r in body["busiestByComments"]] == [
        ("doc-1", 3),
        ("doc-2", 1),
    ]


def test_room_patches_and_thread_resolves_change_no_count(
    client: Any, owner: Login, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc-1")
    thread = make_thread(client, tenant.sk, "doc-1")
    before = analytics(client, owner, tenant)

    ok(v1(client, "PATCH", "/rooms/doc-1", tenant.sk, {"metadata": {"a": 1}}))
    ok(v1(client, "PATCH", f"/rooms/doc-1/threads/{thread['id']}", tenant.sk, {"resolved": True}))
    path = f"/rooms/doc-1/threads/{thread['id']}/comments/{thread['comments'][0]['id']}"
    ok(v1(client, "PATCH", path, tenant.sk, {"body": "edited"}))

    assert analytics(client, owner, tenant) == before


@pytest.mark.parametrize("days", [1, 7, 30, 90])
def test_the_period_is_1_7_30_or_90_days(
    client: Any, owner: Login, tenant: Tenant, clock: FrozenClock, days: int
) -> None:
    path = f"{base(tenant)}/analytics?days={days}"
    body = ok(call(client, "GET", path, token=owner.token))
    assert body["days"] == days == len(body["daily"])
    assert body["daily"][-1]["date"] == clock.today()
    cost = ok(call(client, "GET", f"{base(tenant)}/cost?days={days}", token=owner.token))
    assert cost["days"] == days and cost["lastDay"] == clock.today()


@pytest.mark.parametrize("days", ["0", "14", "365", "7.0", "x"])
@pytest.mark.parametrize("route", ["analytics", "cost"])
def test_another_period_is_refused_by_name(
    client: Any, owner: Login, tenant: Tenant, days: str, route: str
) -> None:
    resp = call(client, "GET", f"{base(tenant)}/{route}?days={days}", token=owner.token)
    assert resp.status_code == 400
    error = resp.json_body["error"]
    assert error["code"] == "INVALID_INPUT" and "days" in error["message"]


def test_the_daily_series_keeps_30_days_and_drops_older_ones(
    client: Any, owner: Login, tenant: Tenant, clock: FrozenClock
) -> None:
    make_room(client, tenant.sk, "doc-1")
    make_thread(client, tenant.sk, "doc-1")
    first_day = clock.today()

    clock.advance(86400 * 29)
    owner = login_as(client, owner.email)  # sessions last 12 hours
    body = analytics(client, owner, tenant)
    assert (body["daily"][0]["date"], body["daily"][0]["comments"]) == (first_day, 1)

    clock.advance(86400)
    owner = login_as(client, owner.email)
    body = analytics(client, owner, tenant)
    assert len(body["daily"]) == 30
    assert all(d["comments"] == 0 for d in body["daily"])
    assert body["comments"] == 1  # totals are all-time


def test_deletes_bring_the_counts_back_down_exactly(
    client: Any, owner: Login, tenant: Tenant
) -> None:
    sk = tenant.sk
    make_room(client, sk, "big")
    make_room(client, sk, "small")
    t1 = make_thread(client, sk, "big")
    for _ in range(3):
        make_comment(client, sk, "big", t1["id"])
    t2 = make_thread(client, sk, "big")
    c = make_comment(client, sk, "big", t2["id"])
    make_thread(client, sk, "big")
    s1 = make_thread(client, sk, "small")
    make_comment(client, sk, "small", s1["id"])
    assert counts(client, owner, tenant) == (2, 4, 9, 0)
    written_today = today_of(client, owner, tenant)["comments"]

    ok(v1(client, "DELETE", f"/rooms/big/threads/{t2['id']}/comments/{c['id']}", sk), 204)
    assert counts(client, owner, tenant) == (2, 4, 8, 0)

    ok(v1(client, "DELETE", f"/rooms/big/threads/{t1['id']}", sk), 204)  # with its 4 comments
    assert counts(client, owner, tenant) == (2, 3, 4, 0)

    ok(v1(client, "DELETE", "/rooms/big", sk), 204)  # its 2 threads and 2 comments go with it
    assert counts(client, owner, tenant) == (1, 1, 2, 0)

    ok(v1(client, "DELETE", "/rooms/small", sk), 204)
    assert counts(client, owner, tenant) == (0, 0, 0, 0)
    # The daily series is what was written each day: deletes do not rewrite history.
    assert today_of(client, owner, tenant)["comments"] == written_today == 9


def test_analytics_are_per_environment(client: Any, owner: Login, tenant: Tenant) -> None:
    other = create_environment(client, owner.token, "Other")
    make_room(client, secret_of(other), "theirs")
    make_thread(client, secret_of(other), "theirs")

    assert counts(client, owner, tenant) == (0, 0, 0, 0)
    path = f"{API}/environments/{other['environment']['id']}/analytics"
    assert ok(call(client, "GET", path, token=owner.token))["threads"] == 1


# --- browsing -----------------------------------------------------------------------------------


def test_browse_rooms_pages_over_what_rest_lists(
    client: Any, viewer: Login, tenant: Tenant
) -> None:
    for n in range(5):
        make_room(client, tenant.sk, f"room:{n}", {"n": n})

    browsed = list_all(client, viewer.token, f"{base(tenant)}/rooms")
    first = ok(call(client, "GET", f"{base(tenant)}/rooms?limit=2", token=viewer.token))

    assert browsed == ok(v1(client, "GET", "/rooms", tenant.sk))["data"]
    assert [r["id"] for r in browsed] == [f"room:{n}" for n in range(5)]
    assert len(first["data"]) == 2 and first["nextCursor"]


def test_browse_threads_embeds_each_threads_comments(
    client: Any, viewer: Login, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc:1")
    t1 = make_thread(client, tenant.sk, "doc:1", "one")
    make_comment(client, tenant.sk, "doc:1", t1["id"], "one.reply")
    t2 = make_thread(client, tenant.sk, "doc:1", "two")
    ok(v1(client, "PATCH", f"/rooms/doc:1/threads/{t2['id']}", tenant.sk, {"resolved": True}))
    path = f"{base(tenant)}/rooms/{enc('doc:1')}/threads"

    body = ok(call(client, "GET", path, token=viewer.token))

    assert [t["id"] for t in body["data"]] == [t2["id"], t1["id"]]  # newest first
    assert [[c["body"] for c in t["comments"]] for t in body["data"]] == [
        ["two"],
        ["one", "one.reply"],
    ]
    assert all(t["commentsNextCursor"] is None for t in body["data"])
    resolved = ok(call(client, "GET", f"{path}?resolved=true", token=viewer.token))["data"]
    assert [t["id"] for t in resolved] == [t2["id"]]
    names = error(call(client, "GET", f"{path}?resolved=maybe", token=viewer.token), 400)
    assert names["field"] == "resolved"


def test_browse_one_thread_its_comments_and_the_users(
    client: Any, viewer: Login, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc")
    thread = make_thread(client, tenant.sk, "doc", "hello", "ada")
    reply = make_comment(client, tenant.sk, "doc", thread["id"], "hi", "bob")
    for user in ("ada", "bob"):
        assert mint(client, tenant.sk, user).status_code == 200
    t = f"{base(tenant)}/rooms/doc/threads/{thread['id']}"

    got = ok(call(client, "GET", t, token=viewer.token))
    comments = ok(call(client, "GET", f"{t}/comments", token=viewer.token))
    users = list_all(client, viewer.token, f"{base(tenant)}/users")

    assert got == ok(v1(client, "GET", f"/rooms/doc/threads/{thread['id']}", tenant.sk))
    assert [c["id"] for c in comments["data"]] == [thread["comments"][0]["id"], reply["id"]]
    assert [u["id"] for u in users] == ["ada", "bob"]
    assert users == ok(v1(client, "GET", "/users", tenant.sk))["data"]
    one = ok(call(client, "GET", f"{base(tenant)}/users/bob", token=viewer.token))
    assert one == ok(v1(client, "GET", "/users/bob", tenant.sk))


def test_browsing_unknown_things_is_404_naming_them(
    client: Any, viewer: Login, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc")
    thread = make_thread(client, tenant.sk, "doc")
    b = base(tenant)

    def check(case: tuple[str, str]) -> None:
        path, code = case
        error(call(client, "GET", path, token=viewer.token), 404, code)

    each(
        [
            (f"{b}/rooms/nope/threads", "ROOM_NOT_FOUND"),
            (f"{b}/rooms/nope/threads/{thread['id']}", "ROOM_NOT_FOUND"),
            (f"{b}/rooms/doc/threads/{NO_THREAD}", "THREAD_NOT_FOUND"),
            (f"{b}/rooms/doc/threads/{NO_THREAD}/comments", "THREAD_NOT_FOUND"),
            (f"{b}/users/nobody", "USER_NOT_FOUND"),
        ],
        check,
    )


def test_a_cursor_of_the_rest_list_of_another_environment_is_refused(
    client: Any, viewer: Login, owner: Login, tenant: Tenant
) -> None:
    other = create_environment(client, owner.token, "Other")
    for n in range(2):
        make_room(client, secret_of(other), f"r{n}")
    cursor = ok(v1(client, "GET", "/rooms?limit=1", secret_of(other)))["nextCursor"]

    resp = call(client, "GET", f"{base(tenant)}/rooms?cursor={cursor}", token=viewer.token)

    error(resp, 400, "INVALID_CURSOR")


# --- deleting from the browser ------------------------------------------------------------------


def audit_of(client: Any, owner: Login, tenant: Tenant) -> list[dict[str, Any]]:
    return list_all(client, owner.token, f"{base(tenant)}/audit")


def test_an_admin_deletes_a_comment_a_thread_and_a_room_and_each_is_audited(
    client: Any, owner: Login, admin: Login, tenant: Tenant
) -> None:
    sk = tenant.sk
    make_room(client, sk, "doc:1")
    make_room(client, sk, "keep")
    t1 = make_thread(client, sk, "doc:1")
    c1 = make_comment(client, sk, "doc:1", t1["id"])
    t2 = make_thread(client, sk, "doc:1")
    room = f"{base(tenant)}/rooms/{enc('doc:1')}"

    resp = call(
        client, "DELETE", f"{room}/threads/{t1['id']}/comments/{c1['id']}", token=admin.token
    )
    assert resp.status_code == 204
    assert counts(client, owner, tenant) == (2, 2, 2, 0)
    ok(call(client, "DELETE", f"{room}/threads/{t2['id']}", token=admin.token), 204)
    error(v1(client, "GET", f"/rooms/doc:1/threads/{t2['id']}", sk), 404, "THREAD_NOT_FOUND")
    assert counts(client, owner, tenant) == (2, 1, 1, 0)
    ok(call(client, "DELETE", room, token=admin.token), 204)
    error(v1(client, "GET", "/rooms/doc:1", sk), 404, "ROOM_NOT_FOUND")
    assert counts(client, owner, tenant) == (1, 0, 0, 0)

    events = audit_of(client, owner, tenant)
    assert [e["action"] for e in events] == [
        "room.deleted",
        "thread.deleted",
        "comment.deleted",
        "environment.created",
    ]
    assert [e["target"] for e in events[:3]] == [
        {"type": "room", "id": "doc:1"},
        {"type": "thread", "id": t2["id"]},
        {"type": "comment", "id": c1["id"]},
    ]
    assert all(e["actor"] == {"id": admin.id, "email": admin.email} for e in events[:3])
    assert all(e["environmentId"] == tenant.id for e in events[:3])


def test_deleting_unknown_things_is_404_and_audits_nothing(
    client: Any, owner: Login, admin: Login, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc")
    thread = make_thread(client, tenant.sk, "doc")
    b = base(tenant)

    def check(case: tuple[str, str]) -> None:
        path, code = case
        error(call(client, "DELETE", path, token=admin.token), 404, code)

    each(
        [
            (f"{b}/rooms/nope", "ROOM_NOT_FOUND"),
            (f"{b}/rooms/{enc('a b')}", "ROOM_NOT_FOUND"),
            (f"{b}/rooms/doc/threads/{NO_THREAD}", "THREAD_NOT_FOUND"),
            (f"{b}/rooms/doc/threads/{thread['id']}/comments/{NO_COMMENT}", "COMMENT_NOT_FOUND"),
            (f"{API}/environments/{UNKNOWN_ENV}/rooms/doc", "ENVIRONMENT_NOT_FOUND"),
        ],
        check,
    )
    assert audit_actions(client, owner.token, f"{b}/audit") == ["environment.created"]
    assert counts(client, owner, tenant) == (1, 1, 1, 0)


def test_a_viewer_cannot_delete_and_nothing_changes(
    client: Any, owner: Login, viewer: Login, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc")
    thread = make_thread(client, tenant.sk, "doc")
    comment = thread["comments"][0]
    room = f"{base(tenant)}/rooms/doc"

    def check(path: str) -> None:
        err = error(call(client, "DELETE", path, token=viewer.token), 403, "ROLE_REQUIRED")
        assert "admin" in err["message"]

    each(
        [
            room,
            f"{room}/threads/{thread['id']}",
            f"{room}/threads/{thread['id']}/comments/{comment['id']}",
        ],
        check,
    )
    assert counts(client, owner, tenant) == (1, 1, 1, 0)
    assert ok(v1(client, "GET", f"/rooms/doc/threads/{thread['id']}", tenant.sk))["comments"] == [
        comment
    ]
    assert audit_actions(client, owner.token, f"{base(tenant)}/audit") == ["environment.created"]


# --- routes, roles, environments ----------------------------------------------------------------

# (method, path) -> the least role; every data-browser route is in this table.
ROUTE_ROLES: dict[tuple[str, str], str] = {
    ("GET", "/admin/api/environments/{envId}/analytics"): "viewer",
    ("GET", "/admin/api/environments/{envId}/cost"): "viewer",
    ("GET", "/admin/api/environments/{envId}/rooms"): "viewer",
    ("GET", "/admin/api/environments/{envId}/rooms/{roomId}"): "viewer",
    ("PATCH", "/admin/api/environments/{envId}/rooms/{roomId}"): "admin",
    ("DELETE", "/admin/api/environments/{envId}/rooms/{roomId}"): "admin",
    ("GET", "/admin/api/environments/{envId}/rooms/{roomId}/threads"): "viewer",
    ("GET", "/admin/api/environments/{envId}/rooms/{roomId}/threads/{threadId}"): "viewer",
    ("DELETE", "/admin/api/environments/{envId}/rooms/{roomId}/threads/{threadId}"): "admin",
    ("GET", "/admin/api/environments/{envId}/rooms/{roomId}/threads/{threadId}/comments"): "viewer",
    (
        "DELETE",
        "/admin/api/environments/{envId}/rooms/{roomId}/threads/{threadId}/comments/{commentId}",
    ): "admin",
    ("GET", "/admin/api/environments/{envId}/users"): "viewer",
    ("GET", "/admin/api/environments/{envId}/users/{userId}"): "viewer",
    ("GET", "/admin/api/environments/{envId}/rooms/{roomId}/connections"): "viewer",
    (
        "DELETE",
        "/admin/api/environments/{envId}/rooms/{roomId}/connections/{connectionId}",
    ): "admin",
    ("GET", "/admin/api/environments/{envId}/rooms/{roomId}/events"): "viewer",
}


def concrete(path: str, env_id: str) -> str:
    values = {
        "{envId}": env_id,
        "{roomId}": "room-0",
        "{threadId}": NO_THREAD,
        "{commentId}": NO_COMMENT,
        "{userId}": "nobody",
        "{connectionId}": "no-such-connection",
    }
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    assert "{" not in path, path
    return path


# A valid body for the routes that take one (the others are sent none).
ROUTE_BODIES = {
    ("PATCH", "/admin/api/environments/{envId}/rooms/{roomId}"): {"defaultAccess": "read"},
}


def test_the_role_table_is_exactly_what_the_routes_declare() -> None:
    declared = {(s.method, s.path): s for s in admin_data.router.specs}

    assert set(declared) == set(ROUTE_ROLES)
    for route, spec in declared.items():
        assert (spec.auth, spec.role) == ("operator", ROUTE_ROLES[route]), route
        expected = "viewer" if route[0] == "GET" else "admin"
        assert ROUTE_ROLES[route] == expected, route


@pytest.mark.parametrize("role", ROLES)
def test_every_data_route_enforces_its_least_role(
    client: Any, request: pytest.FixtureRequest, tenant: Tenant, role: str
) -> None:
    session: Login = request.getfixturevalue(role)

    wrong = []
    for (method, path), least in ROUTE_ROLES.items():
        body = ROUTE_BODIES.get((method, path))
        resp = call(client, method, concrete(path, tenant.id), token=session.token, body=body)
        if ROLES.index(role) < ROLES.index(least):  # type: ignore[arg-type,unused-ignore]
            allowed = resp.status_code == 403 and resp.json_body["error"]["code"] == "ROLE_REQUIRED"
        else:
            allowed = resp.status_code in (200, 404)  # the placeholders name nothing
        if not allowed:
            wrong.append((method, path, resp.status_code, resp.json_body))

    assert wrong == []


def test_every_data_route_without_a_session_is_401(client: Any, tenant: Tenant) -> None:
    def check(route: tuple[str, str]) -> None:
        method, path = route
        error(call(client, method, concrete(path, tenant.id)), 401, "INVALID_SESSION")

    each(sorted(ROUTE_ROLES), check)


def test_every_data_route_of_an_unknown_environment_is_404(client: Any, owner: Login) -> None:
    def check(case: tuple[tuple[str, str], str]) -> None:
        (method, path), env_id = case
        body = ROUTE_BODIES.get((method, path))
        resp = call(client, method, concrete(path, env_id), token=owner.token, body=body)
        error(resp, 404, "ENVIRONMENT_NOT_FOUND")

    env_ids = [UNKNOWN_ENV, "nope", "env_", "key_0000000000000000"]
    each([(route, env_id) for route in sorted(ROUTE_ROLES) for env_id in env_ids], check)


def test_a_secret_key_is_no_admin_session(client: Any, tenant: Tenant) -> None:
    resp = call(client, "GET", f"{base(tenant)}/analytics", token=tenant.sk)

    error(resp, 401, "INVALID_SESSION")
