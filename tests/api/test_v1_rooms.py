"""REST API v1 rooms, and what every /api/v1 route shares: secret-key authentication (a table
over every registered route), tenant isolation, request hygiene and no half-written writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.api import v1_privacy, v1_rooms
from chalicelib.auth import apikeys
from chalicelib.clock import FrozenClock, iso
from chalicelib.entities import Actor

from .helpers import (
    V1,
    Tenant,
    call,
    each,
    enc,
    error,
    make_comment,
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
NO_THREAD = "th_0000000000000000"
NO_COMMENT = "cm_0000000000000000"


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Acme")


@pytest.fixture
def other(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Globex")


# --- the route table --------------------------------------------------------------------------

SPECS = [(s.method, s.path) for s in [*v1_rooms.router.specs, *v1_privacy.router.specs]]

# A valid body for every write route, so that a refusal can only come from the key.
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/rooms"): {"id": "room-new"},
    ("PATCH", "/api/v1/rooms/{roomId}"): {"metadata": {"a": 1}},
    ("POST", "/api/v1/rooms/{roomId}/broadcast"): {"event": {"kind": "ping"}},
    ("POST", "/api/v1/rooms/{roomId}/threads"): {"comment": {"userId": "u", "body": "b"}},
    ("PATCH", "/api/v1/rooms/{roomId}/threads/{threadId}"): {"resolved": True},
    ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments"): {"userId": "u", "body": "b"},
    ("PATCH", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}"): {"body": "b"},
    ("POST", "/api/v1/users/{userId}/revoke-tokens"): None,  # an action: no body
    ("POST", "/api/v1/users/{userId}/erase"): {"mode": "anonymize"},
    ("POST", "/api/v1/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions"): {
        "emoji": "👍",
        "userId": "u",
    },
    ("POST", "/api/v1/rooms/{roomId}/attachments"): {
        "name": "a",
        "mimeType": "text/plain",
        "size": 1,
    },
}


def concrete(path: str, ids: dict[str, str]) -> str:
    # A reaction's removal names the user in its query.
    query = "?userId=u" if path.endswith("/reactions/{emoji}") else ""
    for name, value in ids.items():
        path = path.replace("{" + name + "}", enc(value))
    assert "{" not in path, path
    return path + query


PLACEHOLDERS = {
    "roomId": "room-1",
    "threadId": NO_THREAD,
    "commentId": NO_COMMENT,
    "emoji": "👍",
    "userId": "user-1",
    "jobId": "job_0000000000000000",
}


def request_each_route(
    client: Any, key: str | None, ids: dict[str, str] = PLACEHOLDERS
) -> dict[tuple[str, str], Any]:
    """Every v1 route called once with `key`: {(method, path): response}."""
    return {
        (method, path): call(
            client, method, concrete(path, ids), token=key, body=VALID_BODIES.get((method, path))
        )
        for method, path in SPECS
    }


def test_the_route_table_covers_every_v1_route_with_a_secret_key() -> None:
    assert len(SPECS) == len(set(SPECS)) >= 14
    assert all(s.auth == "secret_key" for s in [*v1_rooms.router.specs, *v1_privacy.router.specs])
    writes = {r for r in SPECS if r[0] in ("POST", "PATCH")}
    assert writes == set(VALID_BODIES), "give every write route a valid body above"
    for _, path in SPECS:
        concrete(path, PLACEHOLDERS)  # every path parameter has a placeholder


def test_every_v1_route_without_a_key_is_401_missing_api_key(client: Any) -> None:
    def check(route: tuple[str, str]) -> None:
        method, path = route
        resp = call(client, method, concrete(path, PLACEHOLDERS), body=VALID_BODIES.get(route))
        err = error(resp, 401, "MISSING_API_KEY")
        assert "Bearer" in err["suggestion"]

    each(SPECS, check)


def test_a_non_bearer_authorization_is_401_missing_api_key(client: Any, tenant: Tenant) -> None:
    def check(header: str) -> None:
        resp = call(client, "GET", f"{V1}/rooms", headers={"Authorization": header})
        error(resp, 401, "MISSING_API_KEY")

    each([f"Basic {tenant.sk}", tenant.sk, "Bearer", "Bearer   "], check)


def test_every_v1_route_with_a_publishable_key_is_401_secret_key_required(
    client: Any, tenant: Tenant
) -> None:
    responses = request_each_route(client, tenant.pk)

    def check(route: tuple[str, str]) -> None:
        err = error(responses[route], 401, "SECRET_KEY_REQUIRED")
        assert "sk_" in err["suggestion"]

    each(SPECS, check)


def test_every_v1_route_with_a_malformed_key_is_401_invalid_api_key(
    client: Any, tenant: Tenant
) -> None:
    sk = tenant.sk
    malformed = ["sk_", "sk_not-a-key", sk[:-1], sk + "x", sk[:20] + "x" + sk[21:], "hello"]

    def check(key: str) -> None:
        for route, resp in request_each_route(client, key).items():
            assert error(resp, 401, "INVALID_API_KEY"), route

    each(malformed, check)


def invalid_key_bodies(client: Any, key: str) -> dict[tuple[str, str], Any]:
    responses = request_each_route(client, key)
    for route, resp in responses.items():
        assert resp.status_code == 401, (route, resp.status_code, resp.body)
    return {route: resp.json_body for route, resp in responses.items()}


def test_a_valid_key_passes_every_route_the_refused_ones_are_tested_on(
    client: Any, tenant: Tenant
) -> None:
    """The placeholders name nothing, so with a working key each route answers 2xx or 404:
    the 401s in the other tests come from the key alone."""
    mint(client, tenant.sk, "user-1")
    for route, resp in request_each_route(client, tenant.sk).items():
        assert resp.status_code in (200, 201, 202, 204, 404), (route, resp.status_code, resp.body)


def test_revoked_rotated_unknown_and_disabled_keys_get_one_identical_401(
    client: Any, services: runtime.Services, tenant: Tenant, other: Tenant
) -> None:
    # An unknown key: well formed, valid checksum, right environment, no such key item.
    unknown = apikeys.generate("secret", tenant.id, "key_0000000000000000")
    # A wrong secret: the real key's ids with other random characters (hash mismatch).
    forged = apikeys.generate("secret", tenant.id, tenant.sk_id)
    baseline = invalid_key_bodies(client, unknown)
    assert {b["error"]["code"] for b in baseline.values()} == {"INVALID_API_KEY"}
    assert invalid_key_bodies(client, forged) == baseline

    services.environments.revoke(SYSTEM, tenant.id, tenant.sk_id)
    assert invalid_key_bodies(client, tenant.sk) == baseline

    rotated_away = other.sk
    services.environments.rotate(SYSTEM, other.id)
    assert invalid_key_bodies(client, rotated_away) == baseline


def test_every_v1_route_of_a_disabled_environment_is_401(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "room-1")
    services.environments.disable(SYSTEM, tenant.id, services.environments.get(tenant.id).name)

    bodies = invalid_key_bodies(client, tenant.sk)

    assert {b["error"]["code"] for b in bodies.values()} == {"INVALID_API_KEY"}


def test_a_revoked_key_fails_on_the_very_next_request(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "room-1")
    services.environments.revoke(SYSTEM, tenant.id, tenant.sk_id)

    error(v1(client, "GET", "/rooms/room-1", tenant.sk), 401, "INVALID_API_KEY")
    error(v1(client, "DELETE", "/rooms/room-1", tenant.sk), 401, "INVALID_API_KEY")
    assert totals(services, tenant.id)["rooms"] == 1


# --- create -------------------------------------------------------------------------------------


def test_create_returns_201_with_the_room(client: Any, tenant: Tenant, clock: FrozenClock) -> None:
    resp = v1(client, "POST", "/rooms", tenant.sk, {"id": "doc-1", "metadata": {"title": "Q3"}})

    room = ok(resp, 201)
    now = iso(clock.now())
    assert room == {
        "id": "doc-1",
        "metadata": {"title": "Q3"},
        "createdAt": now,
        "updatedAt": now,
        "defaultAccess": "write",
        "usersAccess": {},
        "groupsAccess": {},
    }
    assert resp.headers["Content-Type"] == "application/json"


def test_create_without_metadata_gives_an_empty_object(client: Any, tenant: Tenant) -> None:
    assert make_room(client, tenant.sk, "doc-1")["metadata"] == {}


def test_room_ids_of_1_to_128_letters_digits_and_dash_underscore_dot_colon_are_accepted(
    client: Any, tenant: Tenant
) -> None:
    def check(room_id: str) -> None:
        assert make_room(client, tenant.sk, room_id)["id"] == room_id
        assert ok(v1(client, "GET", f"/rooms/{enc(room_id)}", tenant.sk))["id"] == room_id

    each(["a", "0", "Z" * 128, "doc:1", "a-b_c.d:e", "...", "org:42:doc.v2_final-3"], check)


def test_invalid_room_ids_are_400_naming_id(client: Any, tenant: Tenant) -> None:
    def check(room_id: Any) -> None:
        err = error(v1(client, "POST", "/rooms", tenant.sk, {"id": room_id}), 400)
        names_field(err, "id")

    bad = ["a/b", "a b", "a%b", "x" * 129, "", "doc#1", "é", "a\nb", "a?b", 5, True, ["a"], {}]
    each(bad, check)


def test_a_missing_or_null_room_id_is_400_missing_field(client: Any, tenant: Tenant) -> None:
    def check(body: dict[str, Any]) -> None:
        names_field(
            error(v1(client, "POST", "/rooms", tenant.sk, body), 400, "MISSING_FIELD"), "id"
        )

    bodies: list[dict[str, Any]] = [{}, {"id": None}, {"metadata": {}}]
    each(bodies, check)


def test_create_with_an_unknown_field_is_400_naming_it(client: Any, tenant: Tenant) -> None:
    resp = v1(client, "POST", "/rooms", tenant.sk, {"id": "r", "name": "Room"})
    names_field(error(resp, 400, "UNKNOWN_FIELD"), "name")


def test_create_of_an_existing_room_is_409_and_keeps_the_first(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc-1", {"v": 1})

    resp = v1(client, "POST", "/rooms", tenant.sk, {"id": "doc-1", "metadata": {"v": 2}})

    error(resp, 409, "ROOM_EXISTS")
    assert ok(v1(client, "GET", "/rooms/doc-1", tenant.sk))["metadata"] == {"v": 1}
    assert totals(services, tenant.id)["rooms"] == 1


def test_room_ids_are_case_sensitive(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "Doc")
    make_room(client, tenant.sk, "doc")

    error(v1(client, "GET", "/rooms/DOC", tenant.sk), 404, "ROOM_NOT_FOUND")


# --- get, patch, delete ---------------------------------------------------------------------------


def test_get_returns_the_room(client: Any, tenant: Tenant) -> None:
    created = make_room(client, tenant.sk, "doc-1", {"title": "Plan", "n": 3, "draft": True})

    assert ok(v1(client, "GET", "/rooms/doc-1", tenant.sk)) == created


def test_unknown_or_impossible_room_ids_are_404_room_not_found(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc-1")

    def check(case: tuple[str, str]) -> None:
        method, room_id = case
        body: Any = {"metadata": {}} if method == "PATCH" else None
        resp = v1(client, method, f"/rooms/{enc(room_id)}", tenant.sk, body)
        error(resp, 404, "ROOM_NOT_FOUND")

    ids = ["doc-2", "doc-1 ", "x" * 129, "a b", "%", "doc%3A1"]
    each([(m, r) for m in ("GET", "PATCH", "DELETE") for r in ids], check)


def test_url_encoded_room_ids_work_the_same_as_raw_ones(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc:1.v2")

    raw = ok(v1(client, "GET", "/rooms/doc:1.v2", tenant.sk))
    encoded = ok(v1(client, "GET", "/rooms/doc%3A1.v2", tenant.sk))
    lower = ok(v1(client, "GET", "/rooms/doc%3a1%2Ev2", tenant.sk))
    assert raw == encoded == lower
    assert raw["id"] == "doc:1.v2"

    patched = ok(v1(client, "PATCH", "/rooms/doc%3A1.v2", tenant.sk, {"metadata": {"k": "v"}}))
    assert patched["metadata"] == {"k": "v"}
    thread = ok(
        v1(
            client,
            "POST",
            "/rooms/doc%3A1.v2/threads",
            tenant.sk,
            {"comment": {"userId": "u", "body": "hi"}},
        ),
        201,
    )
    assert thread["roomId"] == "doc:1.v2"
    listed = ok(v1(client, "GET", "/rooms/doc:1.v2/threads", tenant.sk))["data"]
    assert [t["id"] for t in listed] == [thread["id"]]
    ok(v1(client, "DELETE", "/rooms/doc%3A1.v2", tenant.sk), 204)
    error(v1(client, "GET", "/rooms/doc:1.v2", tenant.sk), 404, "ROOM_NOT_FOUND")


def test_patch_replaces_the_metadata_and_moves_updated_at(
    client: Any, tenant: Tenant, clock: FrozenClock
) -> None:
    created = make_room(client, tenant.sk, "doc-1", {"a": 1, "b": "x"})
    clock.advance(5)

    patched = ok(v1(client, "PATCH", "/rooms/doc-1", tenant.sk, {"metadata": {"c": False}}))

    assert patched["metadata"] == {"c": False}
    assert patched["createdAt"] == created["createdAt"]
    assert patched["updatedAt"] == iso(clock.now()) != created["updatedAt"]
    assert ok(v1(client, "GET", "/rooms/doc-1", tenant.sk)) == patched


def test_patch_with_empty_metadata_clears_it(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc-1", {"a": 1})

    assert ok(v1(client, "PATCH", "/rooms/doc-1", tenant.sk, {"metadata": {}}))["metadata"] == {}


def test_patch_without_metadata_or_with_other_fields_is_400(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc-1", {"a": 1})

    def check(case: tuple[dict[str, Any], str, str]) -> None:
        body, code, field = case
        names_field(error(v1(client, "PATCH", "/rooms/doc-1", tenant.sk, body), 400, code), field)

    cases: list[tuple[dict[str, Any], str, str]] = [
        ({}, "NOTHING_TO_UPDATE", "body"),
        ({"id": "doc-2", "metadata": {}}, "UNKNOWN_FIELD", "id"),
        ({"metadata": None}, "INVALID_INPUT", "metadata"),
    ]
    each(cases, check)
    assert ok(v1(client, "GET", "/rooms/doc-1", tenant.sk))["metadata"] == {"a": 1}


def test_delete_is_204_then_the_room_is_gone(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc-1")
    make_room(client, tenant.sk, "doc-2")

    resp = v1(client, "DELETE", "/rooms/doc-1", tenant.sk)

    assert resp.status_code == 204
    assert resp.body in (b"", "", None)
    error(v1(client, "GET", "/rooms/doc-1", tenant.sk), 404, "ROOM_NOT_FOUND")
    error(v1(client, "DELETE", "/rooms/doc-1", tenant.sk), 404, "ROOM_NOT_FOUND")
    assert [r["id"] for r in ok(v1(client, "GET", "/rooms", tenant.sk))["data"]] == ["doc-2"]
    assert totals(services, tenant.id)["rooms"] == 1


def test_delete_removes_the_threads_and_comments_and_their_counts(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc-1")
    make_room(client, tenant.sk, "keep")
    t1 = make_thread(client, tenant.sk, "doc-1")
    make_comment(client, tenant.sk, "doc-1", t1["id"])
    make_thread(client, tenant.sk, "doc-1")
    kept = make_thread(client, tenant.sk, "keep")
    assert totals(services, tenant.id) == {"rooms": 2, "threads": 3, "comments": 4, "users": 0}

    ok(v1(client, "DELETE", "/rooms/doc-1", tenant.sk), 204)

    assert totals(services, tenant.id) == {"rooms": 1, "threads": 1, "comments": 1, "users": 0}
    error(v1(client, "GET", f"/rooms/doc-1/threads/{t1['id']}", tenant.sk), 404, "ROOM_NOT_FOUND")
    assert (
        ok(v1(client, "GET", f"/rooms/keep/threads/{kept['id']}", tenant.sk))["commentCount"] == 1
    )


def test_a_room_created_again_after_delete_starts_empty(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc-1", {"v": 1})
    old = make_thread(client, tenant.sk, "doc-1")
    ok(v1(client, "DELETE", "/rooms/doc-1", tenant.sk), 204)

    again = make_room(client, tenant.sk, "doc-1")

    assert again["metadata"] == {}
    assert ok(v1(client, "GET", "/rooms/doc-1/threads", tenant.sk))["data"] == []
    path = f"/rooms/doc-1/threads/{old['id']}"
    error(v1(client, "GET", path, tenant.sk), 404, "THREAD_NOT_FOUND")
    error(v1(client, "GET", f"{path}/comments", tenant.sk), 404, "THREAD_NOT_FOUND")
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 0, "comments": 0, "users": 0}


# --- list -----------------------------------------------------------------------------------------


def test_list_pages_over_every_room_exactly_once_in_id_order(client: Any, tenant: Tenant) -> None:
    room_ids = [f"room-{n}" for n in (5, 1, 7, 3, 2, 6, 4)]
    for room_id in room_ids:
        make_room(client, tenant.sk, room_id)

    pages: list[list[str]] = []
    cursor = None
    for _ in range(5):
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = ok(v1(client, "GET", f"/rooms{query}", tenant.sk))
        pages.append([r["id"] for r in body["data"]])
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [r for p in pages for r in p] == sorted(room_ids)


def test_list_defaults_to_20_and_a_page_of_exactly_limit_has_no_next_page(
    client: Any, tenant: Tenant
) -> None:
    for n in range(3):
        make_room(client, tenant.sk, f"r{n}")

    assert ok(v1(client, "GET", "/rooms", tenant.sk))["nextCursor"] is None
    exact = ok(v1(client, "GET", "/rooms?limit=3", tenant.sk))
    assert len(exact["data"]) == 3 and exact["nextCursor"] is None
    assert ok(v1(client, "GET", "/rooms?limit=1", tenant.sk))["nextCursor"] is not None


def test_an_empty_environment_lists_no_rooms(client: Any, tenant: Tenant) -> None:
    assert ok(v1(client, "GET", "/rooms", tenant.sk)) == {"data": [], "nextCursor": None}


def test_list_limit_out_of_bounds_is_400_naming_limit(client: Any, tenant: Tenant) -> None:
    def check(limit: str) -> None:
        names_field(error(v1(client, "GET", f"/rooms?limit={limit}", tenant.sk), 400), "limit")

    each(["0", "101", "-1", "abc", "1.5", "10x"], check)


def test_a_tampered_or_foreign_cursor_is_400_invalid_cursor(client: Any, tenant: Tenant) -> None:
    for n in range(3):
        make_room(client, tenant.sk, f"r{n}")
    make_thread(client, tenant.sk, "r0")
    make_thread(client, tenant.sk, "r0")
    mint(client, tenant.sk, "a")
    mint(client, tenant.sk, "b")
    cursor = ok(v1(client, "GET", "/rooms?limit=1", tenant.sk))["nextCursor"]
    threads_cursor = ok(v1(client, "GET", "/rooms/r0/threads?limit=1", tenant.sk))["nextCursor"]
    users_cursor = ok(v1(client, "GET", "/users?limit=1", tenant.sk))["nextCursor"]
    body, tag = cursor.split(".")

    def check(bad: str) -> None:
        names_field(
            error(v1(client, "GET", f"/rooms?cursor={bad}", tenant.sk), 400, "INVALID_CURSOR"),
            "cursor",
        )

    each([body + "." + tag[::-1], "x" + cursor, "nope", threads_cursor, users_cursor], check)


# --- metadata -----------------------------------------------------------------------------------


def test_metadata_at_its_limits_is_accepted_and_returned_as_sent(
    client: Any, tenant: Tenant
) -> None:
    twenty = {f"k{n:02d}": n for n in range(20)}
    cases: list[dict[str, Any]] = [
        twenty,
        {"k" * 64: "v" * 256},
        {"int": -7, "float": 2.5, "big": 10**15, "yes": True, "no": False, "empty": ""},
        {"emoji 🎉": "ünïcødé ✓", "with space": "a b"},
    ]

    def check(metadata: dict[str, Any]) -> None:
        room_id = f"r{cases.index(metadata)}"
        assert make_room(client, tenant.sk, room_id, metadata)["metadata"] == metadata
        assert ok(v1(client, "GET", f"/rooms/{room_id}", tenant.sk))["metadata"] == metadata

    each(cases, check)


BAD_METADATA: list[tuple[Any, str]] = [
    ({f"k{n}": n for n in range(21)}, "metadata"),
    ({"x": {"nested": 1}}, "metadata.x"),
    ({"x": [1, 2]}, "metadata.x"),
    ({"x": None}, "metadata.x"),
    ({"x": "v" * 257}, "metadata.x"),
    ({"k" * 65: 1}, "metadata." + "k" * 65),
    ({"": 1}, "metadata."),
    ({"a\x00b": 1}, "metadata.a\x00b"),
    ("title", "metadata"),
    ([{"a": 1}], "metadata"),
    (5, "metadata"),
    (None, "metadata"),
    (True, "metadata"),
]


def test_invalid_metadata_is_400_naming_the_field(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc-1", {"a": 1})

    def check(case: tuple[Any, str]) -> None:
        metadata, field = case
        created = v1(client, "POST", "/rooms", tenant.sk, {"id": "new", "metadata": metadata})
        patched = v1(client, "PATCH", "/rooms/doc-1", tenant.sk, {"metadata": metadata})
        for resp in (created, patched):
            err = error(resp, 400)
            assert err["field"] == field, err

    each(BAD_METADATA, check)
    assert [r["id"] for r in ok(v1(client, "GET", "/rooms", tenant.sk))["data"]] == ["doc-1"]
    assert ok(v1(client, "GET", "/rooms/doc-1", tenant.sk))["metadata"] == {"a": 1}


def test_metadata_with_a_non_finite_number_is_refused(client: Any, tenant: Tenant) -> None:
    def check(raw_value: str) -> None:
        raw = '{"id": "r", "metadata": {"x": ' + raw_value + "}}"
        resp = call(client, "POST", f"{V1}/rooms", token=tenant.sk, raw=raw)
        assert resp.status_code == 400, resp.body

    each(["NaN", "Infinity", "-Infinity", "1e999"], check)


# --- request hygiene ----------------------------------------------------------------------------


def test_malformed_json_bodies_are_400(client: Any, tenant: Tenant) -> None:
    def check(case: tuple[Any, str]) -> None:
        raw, code = case
        resp = call(client, "POST", f"{V1}/rooms", token=tenant.sk, raw=raw)
        error(resp, 400, code)

    cases = [
        ("{", "MALFORMED_JSON"),
        ('{"id": "r",}', "MALFORMED_JSON"),
        (b"\xff\xfe{}", "MALFORMED_JSON"),
        ("", "MISSING_BODY"),
        ("[]", "INVALID_INPUT"),
        ('"room"', "INVALID_INPUT"),
    ]
    each(cases, check)


def test_a_body_over_64_kb_is_413(client: Any, services: runtime.Services, tenant: Tenant) -> None:
    raw = json.dumps({"id": "r", "metadata": {"x": "y" * (64 * 1024)}})

    error(call(client, "POST", f"{V1}/rooms", token=tenant.sk, raw=raw), 413, "PAYLOAD_TOO_LARGE")
    assert totals(services, tenant.id)["rooms"] == 0


def test_v1_responses_are_not_cached_and_carry_a_request_id(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "r")

    for resp in (
        v1(client, "GET", "/rooms/r", tenant.sk),
        v1(client, "GET", "/rooms/nope", tenant.sk),
        v1(client, "DELETE", "/rooms/r", tenant.sk),
    ):
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers.get("X-Request-Id")


# --- nothing half-written -----------------------------------------------------------------------


def snapshot(client: Any, services: runtime.Services, tenant: Tenant) -> dict[str, Any]:
    """What a refused write must not change: the counters and every list of the environment."""
    rooms = ok(v1(client, "GET", "/rooms?limit=100", tenant.sk))["data"]
    state: dict[str, Any] = {"totals": totals(services, tenant.id), "rooms": rooms}
    for room in rooms:
        threads = ok(v1(client, "GET", f"/rooms/{enc(room['id'])}/threads", tenant.sk))["data"]
        state[room["id"]] = threads
        for t in threads:
            path = f"/rooms/{enc(room['id'])}/threads/{t['id']}/comments?limit=100"
            state[t["id"]] = ok(v1(client, "GET", path, tenant.sk))["data"]
    state["users"] = ok(v1(client, "GET", "/users", tenant.sk))["data"]
    return state


def test_every_refused_write_leaves_counts_and_lists_unchanged(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc-1", {"a": 1})
    thread = make_thread(client, tenant.sk, "doc-1")
    comment = make_comment(client, tenant.sk, "doc-1", thread["id"])
    t = f"/rooms/doc-1/threads/{thread['id']}"
    c = f"{t}/comments/{comment['id']}"
    long_body = "x" * 10_001
    refused: list[tuple[str, str, Any, int]] = [
        ("POST", "/rooms", {"id": "doc-1"}, 409),
        ("POST", "/rooms", {"id": "a b"}, 400),
        ("POST", "/rooms", {"id": "new", "metadata": {"x": {}}}, 400),
        ("POST", "/rooms", {"id": "new", "extra": 1}, 400),
        ("PATCH", "/rooms/doc-1", {"metadata": {"x": None}}, 400),
        ("PATCH", "/rooms/nope", {"metadata": {}}, 404),
        ("DELETE", "/rooms/nope", None, 404),
        ("POST", "/rooms/nope/threads", {"comment": {"userId": "u", "body": "b"}}, 404),
        ("POST", "/rooms/doc-1/threads", {"comment": {"userId": "u", "body": long_body}}, 400),
        ("POST", "/rooms/doc-1/threads", {"comment": {"userId": "u"}}, 400),
        ("POST", "/rooms/doc-1/threads", {"comment": {"userId": "u", "body": "b"}, "x": 1}, 400),
        (
            "POST",
            "/rooms/doc-1/threads",
            {"comment": {"userId": "u", "body": "b"}, "metadata": 1},
            400,
        ),
        ("PATCH", t, {}, 400),
        ("PATCH", t, {"resolved": "yes"}, 400),
        ("PATCH", f"/rooms/doc-1/threads/{NO_THREAD}", {"resolved": True}, 404),
        ("DELETE", f"/rooms/doc-1/threads/{NO_THREAD}", None, 404),
        ("POST", f"{t}/comments", {"userId": "u", "body": ""}, 400),
        ("POST", f"{t}/comments", {"userId": "u", "body": "a\x00b"}, 400),
        ("POST", f"{t}/comments", {"userId": "", "body": "b"}, 400),
        ("POST", f"/rooms/doc-1/threads/{NO_THREAD}/comments", {"userId": "u", "body": "b"}, 404),
        ("PATCH", c, {"body": long_body}, 400),
        ("PATCH", c, {"body": "ok", "userId": "other"}, 400),
        ("PATCH", f"{t}/comments/{NO_COMMENT}", {"body": "b"}, 404),
        ("DELETE", f"{t}/comments/{NO_COMMENT}", None, 404),
        ("DELETE", f"/rooms/nope/threads/{thread['id']}/comments/{comment['id']}", None, 404),
    ]
    before = snapshot(client, services, tenant)

    def check(case: tuple[str, str, Any, int]) -> None:
        method, path, body, status = case
        error(v1(client, method, path, tenant.sk, body), status)
        assert snapshot(client, services, tenant) == before

    each(refused, check)
    got = ok(v1(client, "GET", f"{t}", tenant.sk))
    assert got["commentCount"] == 2 and [x["body"] for x in got["comments"]] == ["First!", "Reply"]


# --- isolation ----------------------------------------------------------------------------------


def test_ids_of_another_environment_are_404_never_403_and_change_nothing(
    client: Any, services: runtime.Services, tenant: Tenant, other: Tenant
) -> None:
    """A's key with B's room, thread, comment and user ids, on every route that names one."""
    make_room(client, other.sk, "b-room", {"owner": "B"})
    thread = make_thread(client, other.sk, "b-room", "B's secret")
    comment = make_comment(client, other.sk, "b-room", thread["id"], "B's reply")
    mint(client, other.sk, "b-user")
    b_ids = {
        "roomId": "b-room",
        "threadId": thread["id"],
        "commentId": comment["id"],
        "emoji": "👍",
        "userId": "b-user",
        "jobId": "job_0000000000000000",
    }
    before = snapshot(client, services, other)

    # A has none of these, so every route naming one answers 404 with A's key ...
    named = [(m, p) for m, p in SPECS if "{" in p]
    responses = {
        (m, p): call(client, m, concrete(p, b_ids), token=tenant.sk, body=VALID_BODIES.get((m, p)))
        for m, p in named
    }

    def check(route: tuple[str, str]) -> None:
        path = route[1]
        # The outermost missing item answers: the room (A has no room b-room), else the user.
        # (An erase job is read without its user, which a `delete` erased.)
        code = "ROOM_NOT_FOUND" if "{roomId}" in path else "USER_NOT_FOUND"
        code = "JOB_NOT_FOUND" if "{jobId}" in path else code
        error(responses[route], 404, code)

    each(named, check)

    # ... and even when A has a room of the same id, B's thread and comment stay out of reach.
    make_room(client, tenant.sk, "b-room")
    for method, path in named:
        if "{threadId}" not in path:
            continue
        resp = call(
            client,
            method,
            concrete(path, b_ids),
            token=tenant.sk,
            body=VALID_BODIES.get((method, path)),
        )
        error(resp, 404, "THREAD_NOT_FOUND")

    # Lists never show B's data, and B's cursors are refused.
    assert [r["id"] for r in ok(v1(client, "GET", "/rooms", tenant.sk))["data"]] == ["b-room"]
    assert ok(v1(client, "GET", "/rooms/b-room/threads", tenant.sk))["data"] == []
    assert ok(v1(client, "GET", "/users", tenant.sk))["data"] == []
    make_room(client, other.sk, "b-room-2")
    b_cursor = ok(v1(client, "GET", "/rooms?limit=1", other.sk))["nextCursor"]
    error(v1(client, "GET", f"/rooms?cursor={b_cursor}", tenant.sk), 400, "INVALID_CURSOR")
    ok(v1(client, "DELETE", "/rooms/b-room-2", other.sk), 204)

    after = snapshot(client, services, other)
    assert after == before
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 0, "comments": 0, "users": 0}


def test_an_environment_sees_only_its_own_rooms(client: Any, tenant: Tenant, other: Tenant) -> None:
    make_room(client, tenant.sk, "shared-name", {"env": "A"})
    make_room(client, other.sk, "shared-name", {"env": "B"})

    assert ok(v1(client, "GET", "/rooms/shared-name", tenant.sk))["metadata"] == {"env": "A"}
    assert ok(v1(client, "GET", "/rooms/shared-name", other.sk))["metadata"] == {"env": "B"}
    ok(v1(client, "DELETE", "/rooms/shared-name", tenant.sk), 204)
    assert ok(v1(client, "GET", "/rooms/shared-name", other.sk))["metadata"] == {"env": "B"}
