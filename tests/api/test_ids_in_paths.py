"""Ids are path segments: a new id (a room's, a user's) can never be one a URL parser resolves
(`.`, `..`, spelled with %2e) or one that splits or escapes the segment; ids stored before the rule
stay readable and deletable through the `~` escape (`~` + base64url); a raw dot segment or a
malformed escape is a 400 naming the parameter; and routes match exactly: a trailing slash or an
empty segment is a 404 that changes nothing, on every route."""

from __future__ import annotations

import base64
import importlib
import pkgutil
from typing import Any

import pytest
from callers import operator, secret_key

import chalicelib.api
from chalicelib import runtime
from chalicelib.api.routing import Router
from chalicelib.entities import Actor
from chalicelib.services.tokens import MintRequest

from .helpers import (
    API,
    V1,
    Login,
    Tenant,
    call,
    each,
    enc,
    error,
    make_room,
    make_thread,
    mint,
    names_field,
    new_tenant,
    ok,
    totals,
    v1,
)

SYSTEM = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
# Every spelling of a dot segment a URL parser resolves, and ids that split or escape a segment.
DOT_SEGMENTS = [".", "..", "%2e", "%2E", ".%2e", "%2e.", "%2E%2e", "%2e%2E"]
SPLITTING = ["a/b", "/", "..\\", "a\\b", "\\", "~", "~Li4", "~user"]


def escaped(value: str) -> str:
    """`~` + the unpadded base64url of the id's UTF-8, as docs/openapi.yaml describes it."""
    return "~" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Acme")


def legacy_room(services: runtime.Services, tenant: Tenant, room_id: str) -> None:
    """A room stored before the rule (the services take any id: the API checks new ones)."""
    services.collab.create_room(operator(tenant.id), room_id, {"legacy": True})


def legacy_user(services: runtime.Services, tenant: Tenant, user_id: str) -> None:
    request = MintRequest(user_id=user_id, name="Old", avatar=None)
    services.tokens.mint(secret_key(tenant.sk, "mint"), request)


# --- new ids are refused ------------------------------------------------------------------------


def test_a_new_room_id_that_is_a_dot_segment_is_400_naming_id(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    def refused(room_id: str) -> None:
        err = error(v1(client, "POST", "/rooms", tenant.sk, {"id": room_id}), 400, "INVALID_INPUT")
        names_field(err, "id")
        assert "dot segment" in err["message"]

    each([".", ".."], refused)
    assert totals(services, tenant.id)["rooms"] == 0

    def created(room_id: str) -> None:  # dots that are no dot segment are ids as any
        assert make_room(client, tenant.sk, room_id)["id"] == room_id
        assert ok(v1(client, "GET", f"/rooms/{enc(room_id)}", tenant.sk))["id"] == room_id

    each(["...", "....", ".a", "a.", "a..b", "..:", ".-."], created)


def test_minting_for_a_user_id_a_path_cannot_carry_is_400_naming_userid(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    def refused(user_id: str) -> None:
        names_field(error(mint(client, tenant.sk, user_id), 400, "INVALID_INPUT"), "userId")

    each(DOT_SEGMENTS + SPLITTING, refused)
    assert totals(services, tenant.id)["users"] == 0

    def minted(user_id: str) -> None:  # dots, `%` and `~` inside an id are fine
        assert mint(client, tenant.sk, user_id).status_code == 200
        assert ok(v1(client, "GET", f"/users/{enc(user_id)}", tenant.sk))["id"] == user_id

    each(["...", "a.b", "50%", "%2e%2e%2e", "a~b", "user@example.com", "auth0|42"], minted)


def test_a_comment_author_a_path_cannot_carry_is_400_naming_the_field(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc")
    thread = make_thread(client, tenant.sk, "doc")

    def check(user_id: str) -> None:
        first = {"comment": {"userId": user_id, "body": "Hi"}}
        names_field(
            error(v1(client, "POST", "/rooms/doc/threads", tenant.sk, first), 400), "comment.userId"
        )
        reply = {"userId": user_id, "body": "Hi"}
        path = f"/rooms/doc/threads/{thread['id']}/comments"
        names_field(error(v1(client, "POST", path, tenant.sk, reply), 400), "userId")

    each(["..", ".", "%2e%2e", "a/b", "~x"], check)
    assert totals(services, tenant.id)["threads"] == 1
    assert totals(services, tenant.id)["comments"] == 1


# --- stored ids stay readable and deletable, through the escape ---------------------------------


def test_a_stored_dot_room_is_read_written_and_deleted_through_the_escape(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    for room_id in ("..", "."):
        legacy_room(services, tenant, room_id)
    make_room(client, tenant.sk, "...")
    room = escaped("..")

    assert ok(v1(client, "GET", f"/rooms/{room}", tenant.sk))["id"] == ".."
    thread = ok(
        v1(
            client,
            "POST",
            f"/rooms/{room}/threads",
            tenant.sk,
            {"comment": {"userId": "u", "body": "b"}},
        ),
        201,
    )
    assert thread["roomId"] == ".."
    listed = ok(v1(client, "GET", f"/rooms/{room}/threads", tenant.sk))["data"]
    assert [t["id"] for t in listed] == [thread["id"]]
    ok(v1(client, "DELETE", f"/rooms/{room}", tenant.sk), 204)

    error(v1(client, "GET", f"/rooms/{room}", tenant.sk), 404, "ROOM_NOT_FOUND")
    assert ok(v1(client, "GET", f"/rooms/{escaped('.')}", tenant.sk))["id"] == "."
    assert ok(v1(client, "GET", "/rooms/...", tenant.sk))["id"] == "..."
    assert totals(services, tenant.id)["rooms"] == 2


def test_a_stored_dot_user_is_read_through_the_escape(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    legacy_user(services, tenant, "..")

    assert ok(v1(client, "GET", f"/users/{escaped('..')}", tenant.sk))["id"] == ".."


def test_any_id_may_be_escaped(client: Any, owner: Login, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc:1")

    assert ok(v1(client, "GET", f"/rooms/{escaped('doc:1')}", tenant.sk))["id"] == "doc:1"
    env = call(client, "GET", f"{API}/environments/{escaped(tenant.id)}", token=owner.token)
    assert ok(env)["id"] == tenant.id


def test_the_admin_panel_deletes_a_stored_dot_room_and_nothing_else(
    client: Any, services: runtime.Services, owner: Login, tenant: Tenant
) -> None:
    legacy_room(services, tenant, "..")
    make_room(client, tenant.sk, "...")
    env = f"{API}/environments/{tenant.id}"

    ok(call(client, "DELETE", f"{env}/rooms/{escaped('..')}", token=owner.token), 204)

    assert ok(call(client, "GET", env, token=owner.token))["status"] == "active"
    rooms = ok(call(client, "GET", f"{env}/rooms", token=owner.token))["data"]
    assert [r["id"] for r in rooms] == ["..."]
    assert mint(client, tenant.sk).status_code == 200


# --- what a path parameter may be -----------------------------------------------------------------


@pytest.mark.parametrize("segment", ["..", ".", "%2e%2e", "%2E", ".%2e", "%2e."])
def test_a_raw_dot_segment_parameter_is_400_naming_it_and_pointing_to_the_escape(
    client: Any, services: runtime.Services, tenant: Tenant, segment: str
) -> None:
    """A browser would have resolved it, and a proxy on the way may: such ids travel escaped."""
    legacy_room(services, tenant, "..")

    for method in ("GET", "DELETE"):
        err = error(v1(client, method, f"/rooms/{segment}", tenant.sk), 400, "INVALID_INPUT")
        names_field(err, "roomId")
        assert "~Li4" in err["message"]
    assert ok(v1(client, "GET", f"/rooms/{escaped('..')}", tenant.sk))["id"] == ".."


@pytest.mark.parametrize(
    "segment",
    [
        "~",  # nothing escaped
        "~Li4=",  # padded
        "~Li5",  # `..` again, but not its one spelling
        "~L",  # not base64
        "~%2B%2F",  # standard base64, not base64url
        "~_w",  # not UTF-8
    ],
)
def test_a_malformed_escape_is_400_naming_the_parameter(
    client: Any, tenant: Tenant, segment: str
) -> None:
    err = error(v1(client, "GET", f"/rooms/{segment}/threads", tenant.sk), 400, "INVALID_INPUT")

    names_field(err, "roomId")


# --- routes match exactly -------------------------------------------------------------------------


def every_route() -> list[tuple[str, str]]:
    routes = []
    for info in pkgutil.iter_modules(chalicelib.api.__path__):
        router = getattr(importlib.import_module(f"chalicelib.api.{info.name}"), "router", None)
        if isinstance(router, Router):
            routes += [(s.method, s.path) for s in router.specs]
    return routes


@pytest.fixture
def world(client: Any, services: runtime.Services, owner: Login, tenant: Tenant) -> dict[str, str]:
    """Ids that exist, so that a route reached by a mismatched path would act."""
    make_room(client, tenant.sk, "room-1")
    thread = make_thread(client, tenant.sk, "room-1")
    comment = thread["comments"][0]
    assert mint(client, tenant.sk, "user-1").status_code == 200
    hook = services.webhooks.create(
        Actor(owner.id, "owner@example.com", "owner"),
        tenant.id,
        "https://hooks.example.com/in",
        None,
        None,
    )
    delivery = services.webhooks.test(Actor(owner.id, "o@example.com", "owner"), tenant.id, hook.id)
    return {
        "envId": tenant.id,
        "keyId": tenant.pk_id,
        "operatorId": owner.id,
        "roomId": "room-1",
        "threadId": thread["id"],
        "commentId": comment["id"],
        "emoji": "👍",
        "userId": "user-1",
        "name": "app.js",
        "webhookId": hook.id,
        "deliveryId": delivery.id,
        "connectionId": "conn-1",  # no socket in this world (chalice's test client has none)
        "jobId": "job_0000000000000000",
    }


def concrete(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def test_no_route_matches_with_a_trailing_slash_and_nothing_changes(
    client: Any, services: runtime.Services, owner: Login, tenant: Tenant, world: dict[str, str]
) -> None:
    before = totals(services, tenant.id)

    def check(route: tuple[str, str]) -> None:
        method, path = route
        token = tenant.sk if path.startswith((V1, "/auth")) else owner.token
        resp = call(client, method, concrete(path, world) + "/", token=token, body={})
        err = error(resp, 404, "NOT_FOUND")
        assert "trailing slash" in err["suggestion"]

    each([r for r in every_route() if r[1] != "/admin"], check)  # `/admin/` redirects (308)
    env = ok(call(client, "GET", f"{API}/environments/{tenant.id}", token=owner.token))
    assert env["status"] == "active"
    assert totals(services, tenant.id) == before
    assert mint(client, tenant.sk).status_code == 200
    assert ok(call(client, "GET", f"{API}/me", token=owner.token))["operator"]["id"] == owner.id


def test_the_issue_s_request_disables_nothing(client: Any, owner: Login, tenant: Tenant) -> None:
    """What a browser made of `DELETE .../environments/{envId}/rooms/..`."""
    resp = call(client, "DELETE", f"{API}/environments/{tenant.id}/", token=owner.token)

    error(resp, 404, "NOT_FOUND")
    env = ok(call(client, "GET", f"{API}/environments/{tenant.id}", token=owner.token))
    assert env["status"] == "active"
    assert mint(client, tenant.sk).status_code == 200


def test_an_empty_segment_is_no_empty_id(client: Any, owner: Login, tenant: Tenant) -> None:
    """chalice local matches `//` as an empty parameter (paths that match nothing at all are
    the local server's and API Gateway's 404: tests/e2e/test_http_answers.py)."""

    def check(path: str) -> None:
        error(call(client, "GET", path, token=owner.token), 404, "NOT_FOUND")

    each(
        [
            f"{API}/environments//keys",
            f"{API}/environments//audit",
            f"{API}/environments/{tenant.id}/rooms//threads",
            f"{V1}/rooms//threads",
        ],
        check,
    )
