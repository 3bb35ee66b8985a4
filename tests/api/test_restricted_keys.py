"""Restricted keys (rk_): created by the Admin API with scopes and an optional rooms pattern,
accepted wherever a secret key is within them, refused outside them with 403
INSUFFICIENT_SCOPE; every customer route's scope from one table (a route missing from it fails
the suite); tokens they mint narrowed to their rooms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app import app  # noqa: F401  (registers every route: the table below is checked against it)
from chalicelib import scopes
from chalicelib.api.routing import ROUTERS
from chalicelib.auth import apikeys, tokens
from chalicelib.entities import Actor

from .helpers import (
    API,
    Login,
    Tenant,
    call,
    enc,
    error,
    make_comment,
    make_room,
    make_thread,
    mint,
    names_field,
    new_tenant,
    v1,
)

SYSTEM = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
ALL = scopes.SCOPES

# Every customer route and the one scope a restricted key needs for it. A route added without an
# entry here fails test_the_table_names_every_customer_route.
ROUTE_SCOPES: dict[tuple[str, str], str] = {
    ("POST", "/auth/token"): "tokens:mint",
    ("GET", "/api/v1/rooms"): "rooms:read",
    ("POST", "/api/v1/rooms"): "rooms:write",
    ("GET", "/api/v1/rooms/{roomId}"): "rooms:read",
    ("PATCH", "/api/v1/rooms/{roomId}"): "rooms:write",
    ("DELETE", "/api/v1/rooms/{roomId}"): "rooms:write",
    ("GET", "/api/v1/rooms/{roomId}/active_users"): "rooms:read",
    ("POST", "/api/v1/rooms/{roomId}/broadcast"): "broadcast",
    ("GET", "/api/v1/rooms/{roomId}/threads"): "comments:read",
    ("POST", "/api/v1/rooms/{roomId}/threads"): "comments:write",
    ("GET", "/api/v1/rooms/{roomId}/threads/{threadId}"): "comments:read",
    ("PATCH", "/api/v1/rooms/{roomId}/threads/{threadId}"): "comments:write",
    ("DELETE", "/api/v1/rooms/{roomId}/threads/{threadId}"): "comments:write",
    ("GET", "/api/v1/rooms/{roomId}/events"): "events:read",
    (
        "POST",
        "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions",
    ): "comments:write",
    (
        "DELETE",
        "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions/{emoji}",
    ): "comments:write",
    ("GET", "/api/v1/rooms/{roomId}/threads/{threadId}/comments"): "comments:read",
    ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments"): "comments:write",
    ("PATCH", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}"): "comments:write",
    ("DELETE", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}"): "comments:write",
    ("POST", "/api/v1/rooms/{roomId}/attachments"): "comments:write",
    ("GET", "/api/v1/users"): "users:read",
    ("GET", "/api/v1/users/{userId}"): "users:read",
    ("POST", "/api/v1/users/{userId}/revoke-tokens"): "users:write",
    ("POST", "/api/v1/users/{userId}/erase"): "users:write",
    ("GET", "/api/v1/users/{userId}/erase/{jobId}"): "users:read",
    ("GET", "/api/v1/users/{userId}/export"): "users:read",
    ("GET", "/api/v1/users/{userId}/inbox"): "users:read",
    ("GET", "/api/v1/users/{userId}/inbox/count"): "users:read",
    ("POST", "/api/v1/users/{userId}/threads/{threadId}/read"): "users:write",
    ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/subscribe"): "users:write",
    ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/unsubscribe"): "users:write",
    ("GET", "/api/v1/rooms/{roomId}/users/{userId}/notification-settings"): "users:read",
    ("PUT", "/api/v1/rooms/{roomId}/users/{userId}/notification-settings"): "users:write",
}


def restricted(
    services: Any, tenant: Tenant, granted: tuple[str, ...] | list[str], rooms: str | None = None
) -> str:
    key = services.environments.create_key(
        SYSTEM, tenant.id, "restricted", "bot", scopes=tuple(sorted(granted)), rooms=rooms
    )
    assert key.key is not None and key.key.startswith("rk_")
    return str(key.key)


@dataclass
class World:
    """A tenant with a room `acme:1` holding a thread, a comment (with a reaction) and a second
    thread, a room `acme:gone` to delete, and a user `user-1`."""

    tenant: Tenant
    thread: str
    other_thread: str
    comment: str
    job: str = ""  # an erase job of user-1 (queued: nothing runs it here)


@pytest.fixture
def world(services: Any, client: Any) -> World:
    tenant = new_tenant(services)
    sk = tenant.sk
    make_room(client, sk, "acme:1")
    make_room(client, sk, "acme:gone")
    thread = make_thread(client, sk, "acme:1", user="user-1")
    other = make_thread(client, sk, "acme:1", user="user-1")
    comment = make_comment(client, sk, "acme:1", thread["id"])
    path = f"/rooms/acme:1/threads/{thread['id']}/comments/{comment['id']}/reactions"
    assert v1(client, "POST", path, sk, {"emoji": "👍", "userId": "user-1"}).status_code == 200
    assert mint(client, sk, "user-1").status_code == 200  # the user's record
    job = v1(client, "POST", "/users/user-1/erase", sk, {"mode": "anonymize"})
    assert job.status_code == 202, job.body
    return World(tenant, thread["id"], other["id"], comment["id"], job.json_body["id"])


Request = tuple[str, str, Any]  # method, path (sent), body


def request_for(method: str, template: str, w: World) -> Request:
    """A request to the route that a secret key gets a 2xx for, in the world `w`."""
    room = "acme:gone" if (method, template) == ("DELETE", "/api/v1/rooms/{roomId}") else "acme:1"
    thread = w.other_thread if template.endswith("{threadId}") and method == "DELETE" else w.thread
    path = (
        template.replace("{roomId}", enc(room))
        .replace("{threadId}", thread)
        .replace("{commentId}", w.comment)
        .replace("{emoji}", enc("👍"))
        .replace("{userId}", "user-1")
        .replace("{jobId}", w.job)
    )
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/auth/token"): {"userId": "u", "name": "U", "permissions": {"acme:*": "write"}},
        ("POST", "/api/v1/rooms"): {"id": "acme:new"},
        ("PATCH", "/api/v1/rooms/{roomId}"): {"metadata": {"a": "b"}},
        ("POST", "/api/v1/rooms/{roomId}/broadcast"): {"event": {"kind": "x"}},
        ("POST", "/api/v1/rooms/{roomId}/threads"): {"comment": {"userId": "u", "body": "hi"}},
        ("PATCH", "/api/v1/rooms/{roomId}/threads/{threadId}"): {"resolved": True},
        ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments"): {
            "userId": "u",
            "body": "hi",
        },
        ("PATCH", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}"): {
            "body": "edited"
        },
        ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions"): {
            "emoji": "🎉",
            "userId": "user-2",
        },
        ("POST", "/api/v1/rooms/{roomId}/attachments"): {
            "name": "a.pdf",
            "mimeType": "application/pdf",
            "size": 10,
        },
        ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/subscribe"): {"userId": "user-1"},
        ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/unsubscribe"): {"userId": "user-1"},
        ("PUT", "/api/v1/rooms/{roomId}/users/{userId}/notification-settings"): {
            "setting": "mentions"
        },
        ("POST", "/api/v1/users/{userId}/erase"): {"mode": "anonymize"},
    }
    if template.endswith("/reactions/{emoji}"):
        path += "?userId=user-1"
    return method, path, bodies.get((method, template))


def send(client: Any, key: str, req: Request) -> Any:
    method, path, body = req
    return call(client, method, path, token=key, body=body)


def customer_routes() -> set[tuple[str, str]]:
    return {
        (spec.method, spec.path)
        for router in ROUTERS
        if router.contract == "customer"
        for spec in router.specs
        if spec.auth == "secret_key"
    }


def test_the_table_names_every_customer_route() -> None:
    assert customer_routes() == set(ROUTE_SCOPES)
    declared = {
        (spec.method, spec.path): spec.doc.scope
        for router in ROUTERS
        for spec in router.specs
        if spec.doc is not None and spec.auth == "secret_key"
    }
    assert declared == ROUTE_SCOPES


ROUTES = sorted(ROUTE_SCOPES)


@pytest.mark.parametrize(("method", "template"), ROUTES)
def test_a_key_without_the_scope_is_refused_naming_it(
    services: Any, client: Any, world: World, method: str, template: str
) -> None:
    needed = ROUTE_SCOPES[(method, template)]
    key = restricted(services, world.tenant, [s for s in ALL if s != needed])

    err = error(send(client, key, request_for(method, template, world)), 403, "INSUFFICIENT_SCOPE")

    assert f"`{needed}`" in err["message"]


@pytest.mark.parametrize(("method", "template"), ROUTES)
def test_a_key_with_only_the_scope_is_served(
    services: Any, client: Any, world: World, method: str, template: str
) -> None:
    key = restricted(services, world.tenant, [ROUTE_SCOPES[(method, template)]])

    resp = send(client, key, request_for(method, template, world))

    assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)


@pytest.mark.parametrize(("method", "template"), ROUTES)
def test_a_secret_key_is_served_everywhere(
    client: Any, world: World, method: str, template: str
) -> None:
    resp = send(client, world.tenant.sk, request_for(method, template, world))

    assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)


# --- rooms pattern ----------------------------------------------------------------------------


ROOM_ROUTES = [r for r in ROUTES if "{roomId}" in r[1]]


@pytest.mark.parametrize(("method", "template"), ROOM_ROUTES)
def test_a_room_outside_the_pattern_is_refused_naming_the_pattern(
    services: Any, client: Any, world: World, method: str, template: str
) -> None:
    key = restricted(services, world.tenant, ALL, rooms="beta:*")

    err = error(send(client, key, request_for(method, template, world)), 403, "INSUFFICIENT_SCOPE")

    assert "`beta:*`" in err["message"]


@pytest.mark.parametrize(("method", "template"), ROOM_ROUTES)
def test_a_room_within_the_pattern_is_served(
    services: Any, client: Any, world: World, method: str, template: str
) -> None:
    key = restricted(services, world.tenant, ALL, rooms="acme:*")

    resp = send(client, key, request_for(method, template, world))

    assert 200 <= resp.status_code < 300, (resp.status_code, resp.body)


@pytest.mark.parametrize(
    "template",
    ["/users/user-1/inbox", "/users/user-1/inbox/count"],
)
def test_a_key_limited_to_rooms_cannot_read_an_inbox_that_spans_rooms(
    services: Any, client: Any, world: World, template: str
) -> None:
    key = restricted(services, world.tenant, ALL, rooms="acme:*")

    error(v1(client, "GET", template, key), 403, "INSUFFICIENT_SCOPE")


def test_an_exact_room_pattern_reaches_that_room_only(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["rooms:read"], rooms="acme:1")

    assert v1(client, "GET", "/rooms/acme:1", key).status_code == 200
    error(v1(client, "GET", "/rooms/acme:gone", key), 403, "INSUFFICIENT_SCOPE")
    error(v1(client, "GET", "/rooms/acme:10", key), 403, "INSUFFICIENT_SCOPE")


def test_creating_a_room_outside_the_pattern_is_refused_and_writes_nothing(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["rooms:write"], rooms="acme:*")

    error(v1(client, "POST", "/rooms", key, {"id": "beta:1"}), 403, "INSUFFICIENT_SCOPE")

    error(v1(client, "GET", "/rooms/beta:1", world.tenant.sk), 404, "ROOM_NOT_FOUND")


def test_listing_every_room_is_refused_to_a_key_limited_to_rooms(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["rooms:read"], rooms="acme:*")

    err = error(v1(client, "GET", "/rooms", key), 403, "INSUFFICIENT_SCOPE")

    assert "`acme:*`" in err["message"]
    unlimited = restricted(services, world.tenant, ["rooms:read"])
    listed = v1(client, "GET", "/rooms", unlimited).json_body["data"]
    assert {r["id"] for r in listed} == {"acme:1", "acme:gone"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users/user-1/erase", {"mode": "delete"}),
        ("GET", "/users/user-1/export", None),
    ],
)
def test_erasure_and_export_are_refused_to_a_key_limited_to_rooms(
    services: Any, client: Any, world: World, method: str, path: str, body: Any
) -> None:
    """Both reach every room of the environment: a key limited to some may do neither."""
    key = restricted(services, world.tenant, ["users:read", "users:write"], rooms="acme:*")

    err = error(v1(client, method, path, key, body), 403, "INSUFFICIENT_SCOPE")

    assert "`acme:*`" in err["message"]


def test_a_refused_write_changes_nothing(services: Any, client: Any, world: World) -> None:
    key = restricted(services, world.tenant, ["comments:read"])
    path = f"/rooms/acme:1/threads/{world.thread}/comments"

    error(v1(client, "POST", path, key, {"userId": "u", "body": "no"}), 403, "INSUFFICIENT_SCOPE")

    comments = v1(client, "GET", path, key).json_body["data"]
    assert len(comments) == 2 and comments[-1]["id"] == world.comment  # the first, the reply
    assert all(c["body"] != "no" for c in comments)


def test_an_idempotent_replay_needs_the_scope_too(services: Any, client: Any, world: World) -> None:
    writer = restricted(services, world.tenant, ["rooms:write"])
    reader = restricted(services, world.tenant, ["rooms:read"])
    headers = {"Idempotency-Key": "same-key-1"}
    body = {"id": "acme:idem"}
    first = call(client, "POST", "/api/v1/rooms", token=writer, body=body, headers=headers)
    assert first.status_code == 201

    again = call(client, "POST", "/api/v1/rooms", token=reader, body=body, headers=headers)

    error(again, 403, "INSUFFICIENT_SCOPE")


# --- minting ---------------------------------------------------------------------------------


def mint_with(client: Any, key: str, permissions: Any = None) -> Any:
    body: dict[str, Any] = {"userId": "user-9", "name": "Nine"}
    if permissions is not None:
        body["permissions"] = permissions
    return call(client, "POST", "/auth/token", token=key, body=body)


def claims(token: str) -> dict[str, Any]:
    import jwt

    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


@pytest.mark.parametrize(
    ("asked", "given"),
    [
        ({"acme:*": "write"}, {"acme:*": "write"}),
        ({"*": "read"}, {"acme:*": "read"}),  # broader: narrowed to the pattern
        ({"ac*": "comment", "*": "read"}, {"acme:*": "comment"}),  # the longest broader wins
        ({"acme:1": "write", "beta:1": "write"}, {"acme:1": "write"}),  # outside: dropped
        ({"acme:x*": "read", "*": "write"}, {"acme:x*": "read", "acme:*": "write"}),
        ({"acme:*": "read", "acme:9": "none"}, {"acme:*": "read", "acme:9": "none"}),
    ],
)
def test_a_mint_asking_for_more_gets_less(
    services: Any, client: Any, world: World, asked: dict[str, str], given: dict[str, str]
) -> None:
    key = restricted(services, world.tenant, ["tokens:mint"], rooms="acme:*")

    resp = mint_with(client, key, asked)

    assert resp.status_code == 200, resp.body
    assert claims(resp.json_body["token"])["permissions"] == given


def test_a_mint_reaching_no_room_of_the_pattern_is_refused(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["tokens:mint"], rooms="acme:*")

    err = error(mint_with(client, key, {"beta:*": "write"}), 403, "INSUFFICIENT_SCOPE")

    assert "`acme:*`" in err["message"]


def test_an_identity_token_is_refused_to_a_key_limited_to_rooms(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["tokens:mint"], rooms="acme:*")

    err = error(mint_with(client, key), 403, "INSUFFICIENT_SCOPE")

    assert "permissions" in err["suggestion"]


def test_a_key_for_every_room_mints_what_it_is_asked(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["tokens:mint"])

    identity = mint_with(client, key)
    access = mint_with(client, key, {"*": "write"})

    assert identity.status_code == 200 and "permissions" not in claims(identity.json_body["token"])
    assert claims(access.json_body["token"])["permissions"] == {"*": "write"}


def test_a_restricted_key_signs_its_tokens_with_its_own_id(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ["tokens:mint"])
    parsed = apikeys.parse(key)
    assert parsed is not None

    token = mint_with(client, key, {"acme:*": "read"}).json_body["token"]

    assert tokens.peek(token).key_id == parsed.key_id


# --- creating one (Admin API) -----------------------------------------------------------------


def env_keys(env_id: str) -> str:
    return f"{API}/environments/{env_id}/keys"


@pytest.fixture
def tenant(services: Any) -> Tenant:
    return new_tenant(services)


def test_an_admin_creates_a_restricted_key_shown_once(
    client: Any, owner: Login, tenant: Tenant
) -> None:
    body = {"kind": "restricted", "name": "Bot", "scopes": ["rooms:read", "tokens:mint"]}

    resp = call(client, "POST", env_keys(tenant.id), token=owner.token, body={**body})

    assert resp.status_code == 201, resp.body
    created = resp.json_body
    assert created["key"].startswith("rk_") and apikeys.parse(created["key"]) is not None
    assert created["kind"] == "restricted"
    assert created["scopes"] == ["rooms:read", "tokens:mint"] and "rooms" not in created
    listed = call(client, "GET", env_keys(tenant.id), token=owner.token).json_body["data"]
    (again,) = [k for k in listed if k["id"] == created["id"]]
    assert "key" not in again
    assert again["scopes"] == ["rooms:read", "tokens:mint"]
    assert again["preview"] == f"rk_...{created['key'][-4:]}"


def test_a_restricted_key_stores_only_a_hash(
    services: Any, client: Any, owner: Login, tenant: Tenant
) -> None:
    body = {"kind": "restricted", "scopes": ["rooms:read"], "rooms": "acme:*"}
    created = call(client, "POST", env_keys(tenant.id), token=owner.token, body=body).json_body

    from chalicelib.db.models import ApiKeyItem, env_pk, key_sk

    item = ApiKeyItem.get(env_pk(tenant.id), key_sk(created["id"]), consistent_read=True)
    stored = " ".join(str(v) for v in item.attribute_values.values())
    assert created["key"] not in stored and created["key"][3:40] not in stored
    assert item.rooms == "acme:*" and item.scopes == {"rooms:read"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "restricted"}, "scopes"),
        ({"kind": "restricted", "scopes": []}, "scopes"),
        ({"kind": "restricted", "scopes": "rooms:read"}, "scopes"),
        ({"kind": "restricted", "scopes": ["rooms:admin"]}, "scopes"),
        ({"kind": "restricted", "scopes": [7]}, "scopes"),
        ({"kind": "restricted", "scopes": ["rooms:read", "rooms:read"]}, "scopes"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": "*"}, "rooms"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": "a*b*"}, "rooms"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": "a*b"}, "rooms"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": "a b*"}, "rooms"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": ""}, "rooms"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": 5}, "rooms"),
        ({"kind": "restricted", "scopes": ["rooms:read"], "rooms": "x" * 129 + "*"}, "rooms"),
        ({"kind": "secret", "scopes": ["rooms:read"]}, "scopes"),
        ({"kind": "publishable", "rooms": "acme:*"}, "rooms"),
    ],
)
def test_bad_scopes_and_rooms_are_refused_naming_the_field(
    client: Any, owner: Login, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    before = call(client, "GET", env_keys(tenant.id), token=owner.token).json_body["data"]

    resp = call(client, "POST", env_keys(tenant.id), token=owner.token, body=body)

    names_field(error(resp, 400, "INVALID_INPUT"), field)
    after = call(client, "GET", env_keys(tenant.id), token=owner.token).json_body["data"]
    assert after == before


def test_a_restricted_key_is_refused_once_revoked(
    services: Any, client: Any, owner: Login, world: World
) -> None:
    key = restricted(services, world.tenant, ["rooms:read"])
    parsed = apikeys.parse(key)
    assert parsed is not None
    assert v1(client, "GET", "/rooms/acme:1", key).status_code == 200

    path = f"{env_keys(world.tenant.id)}/{parsed.key_id}/revoke"
    assert call(client, "POST", path, token=owner.token).status_code == 200

    error(v1(client, "GET", "/rooms/acme:1", key), 401, "INVALID_API_KEY")


def test_a_restricted_key_is_not_a_publishable_one(
    services: Any, client: Any, world: World
) -> None:
    key = restricted(services, world.tenant, ALL)

    from chalicelib.services import keyauth

    with pytest.raises(Exception) as raised:
        keyauth.parse(key, "publishable")
    assert getattr(raised.value, "code", None) == "PUBLISHABLE_KEY_REQUIRED"
