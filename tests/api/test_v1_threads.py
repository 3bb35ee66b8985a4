"""REST API v1 threads: create with the first comment, list newest first (and by resolved),
get with comments, patch, delete (with its comments), and every malformed thread request."""

from __future__ import annotations

from typing import Any

import pytest
from callers import secret_key

from chalicelib import runtime
from chalicelib.clock import FrozenClock, iso
from chalicelib.db.models import CommentItem, comments_pk

from .helpers import (
    Tenant,
    each,
    enc,
    error,
    make_comment,
    make_room,
    make_thread,
    names_field,
    new_tenant,
    ok,
    totals,
    v1,
)

ROOM = "doc:1"
THREADS = f"/rooms/{enc(ROOM)}/threads"
NO_THREAD = "th_0000000000000000"


@pytest.fixture
def tenant(services: runtime.Services, client: Any) -> Tenant:
    t = new_tenant(services, "Acme")
    make_room(client, t.sk, ROOM)
    return t


def create(client: Any, key: str, body: Any, room: str = ROOM) -> Any:
    return v1(client, "POST", f"/rooms/{enc(room)}/threads", key, body)


def first(user: str = "ada", text: str = "Is this right?") -> dict[str, Any]:
    return {"comment": {"userId": user, "body": text}}


# --- create -------------------------------------------------------------------------------------


def test_create_returns_201_with_the_thread_and_its_first_comment(
    client: Any, tenant: Tenant, clock: FrozenClock
) -> None:
    thread = ok(create(client, tenant.sk, first("ada", "Is this right?")), 201)

    now = iso(clock.now())
    (comment,) = thread.pop("comments")
    thread_id = thread.pop("id")
    assert thread_id.startswith("th_")
    assert thread == {
        "roomId": ROOM,
        "resolved": False,
        "metadata": {},
        "createdAt": now,
        "updatedAt": now,
        "createdBy": "ada",
        "commentCount": 1,
        "commentsNextCursor": None,
    }
    assert comment.pop("id").startswith("cm_")
    assert comment == {
        "threadId": thread_id,
        "roomId": ROOM,
        "userId": "ada",
        "body": "Is this right?",
        "createdAt": now,
        "editedAt": None,
        "reactions": [],
        "mentions": [],
        "attachments": [],
    }


def test_the_created_thread_reads_back_the_same(client: Any, tenant: Tenant) -> None:
    created = ok(create(client, tenant.sk, {**first(), "metadata": {"x": 10, "y": 20}}), 201)

    got = ok(v1(client, "GET", f"{THREADS}/{created['id']}", tenant.sk))

    assert got == created
    assert got["metadata"] == {"x": 10, "y": 20}
    assert got["comments"][0]["threadId"] == created["id"]


def test_create_counts_one_thread_and_one_comment(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    make_thread(client, tenant.sk, ROOM)
    make_thread(client, tenant.sk, ROOM)

    assert totals(services, tenant.id) == {"rooms": 1, "threads": 2, "comments": 2, "users": 0}


def test_create_in_an_unknown_room_is_404_room_not_found(client: Any, tenant: Tenant) -> None:
    def check(room: str) -> None:
        error(create(client, tenant.sk, first(), room), 404, "ROOM_NOT_FOUND")

    each(["nope", "a b", "x" * 129], check)


BAD_CREATES: list[tuple[Any, str, str]] = [
    ({}, "comment", "MISSING_FIELD"),
    ({"comment": None}, "comment", "MISSING_FIELD"),
    ({"metadata": {}}, "comment", "MISSING_FIELD"),
    ({"comment": "hello"}, "comment", "INVALID_INPUT"),
    ({"comment": ["ada", "hello"]}, "comment", "INVALID_INPUT"),
    ({"comment": 5}, "comment", "INVALID_INPUT"),
    ({"comment": {"userId": "ada", "body": "b", "x": 1}}, "comment.x", "UNKNOWN_FIELD"),
    ({"comment": {"userId": "ada", "body": "b", "id": "cm_1"}}, "comment.id", "UNKNOWN_FIELD"),
    ({"comment": {"body": "b"}}, "comment.userId", "MISSING_FIELD"),
    ({"comment": {"userId": "", "body": "b"}}, "comment.userId", "INVALID_INPUT"),
    ({"comment": {"userId": "u" * 129, "body": "b"}}, "comment.userId", "INVALID_INPUT"),
    ({"comment": {"userId": 7, "body": "b"}}, "comment.userId", "INVALID_INPUT"),
    ({"comment": {"userId": "a\x00", "body": "b"}}, "comment.userId", "INVALID_INPUT"),
    ({"comment": {"userId": "ada"}}, "comment.body", "MISSING_FIELD"),
    ({"comment": {"userId": "ada", "body": ""}}, "comment.body", "INVALID_INPUT"),
    ({"comment": {"userId": "ada", "body": "   \n\t "}}, "comment.body", "INVALID_INPUT"),
    ({"comment": {"userId": "ada", "body": "x" * 10_001}}, "comment.body", "INVALID_INPUT"),
    ({"comment": {"userId": "ada", "body": ["b"]}}, "comment.body", "INVALID_INPUT"),
    ({"comment": {"userId": "ada", "body": "bell\x07"}}, "comment.body", "INVALID_INPUT"),
    ({**first(), "resolved": True}, "resolved", "UNKNOWN_FIELD"),
    ({**first(), "metadata": {"a": {"b": 1}}}, "metadata.a", "INVALID_INPUT"),
    ({**first(), "metadata": []}, "metadata", "INVALID_INPUT"),
]


def test_malformed_create_bodies_are_400_naming_the_field(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    def check(case: tuple[Any, str, str]) -> None:
        body, field, code = case
        names_field(error(create(client, tenant.sk, body), 400, code), field)

    each(BAD_CREATES, check)
    assert ok(v1(client, "GET", THREADS, tenant.sk))["data"] == []
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 0, "comments": 0, "users": 0}


def test_a_first_comment_of_exactly_10000_characters_is_accepted(
    client: Any, tenant: Tenant
) -> None:
    thread = ok(create(client, tenant.sk, first(text="é" * 10_000)), 201)

    assert thread["comments"][0]["body"] == "é" * 10_000


# --- list ---------------------------------------------------------------------------------------


def test_list_is_newest_first_without_comments(client: Any, tenant: Tenant) -> None:
    created = [make_thread(client, tenant.sk, ROOM, f"t{n}")["id"] for n in range(4)]

    body = ok(v1(client, "GET", THREADS, tenant.sk))

    assert [t["id"] for t in body["data"]] == created[::-1]
    assert body["nextCursor"] is None
    assert all("comments" not in t and "commentsNextCursor" not in t for t in body["data"])
    assert all(t["commentCount"] == 1 for t in body["data"])


def test_list_only_shows_the_threads_of_its_room(client: Any, tenant: Tenant) -> None:
    make_room(client, tenant.sk, "doc:2")
    mine = make_thread(client, tenant.sk, ROOM)
    make_thread(client, tenant.sk, "doc:2")

    assert [t["id"] for t in ok(v1(client, "GET", THREADS, tenant.sk))["data"]] == [mine["id"]]


def resolve(client: Any, key: str, thread_id: str, resolved: bool = True) -> dict[str, Any]:
    resp = v1(client, "PATCH", f"{THREADS}/{thread_id}", key, {"resolved": resolved})
    return ok(resp)  # type: ignore[no-any-return]


def test_list_filters_on_resolved(client: Any, tenant: Tenant) -> None:
    ids = [make_thread(client, tenant.sk, ROOM, f"t{n}")["id"] for n in range(5)]
    resolve(client, tenant.sk, ids[1])
    resolve(client, tenant.sk, ids[3])

    def listed(query: str) -> list[str]:
        return [t["id"] for t in ok(v1(client, "GET", THREADS + query, tenant.sk))["data"]]

    assert listed("?resolved=true") == [ids[3], ids[1]]
    assert listed("?resolved=false") == [ids[4], ids[2], ids[0]]
    assert listed("") == ids[::-1]
    assert listed("?resolved=") == ids[::-1]  # empty means no filter


def test_a_filtered_list_pages_over_its_matches_exactly_once(client: Any, tenant: Tenant) -> None:
    ids = [make_thread(client, tenant.sk, ROOM, f"t{n}")["id"] for n in range(7)]
    for thread_id in ids[::2]:
        resolve(client, tenant.sk, thread_id)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "?resolved=true&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = ok(v1(client, "GET", THREADS + query, tenant.sk))
        assert len(body["data"]) <= 2
        seen += [t["id"] for t in body["data"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert seen == ids[::2][::-1]


def test_a_cursor_of_the_unfiltered_list_is_refused_by_a_filtered_one(
    client: Any, tenant: Tenant
) -> None:
    for n in range(3):
        make_thread(client, tenant.sk, ROOM, f"t{n}")
    cursor = ok(v1(client, "GET", f"{THREADS}?limit=1", tenant.sk))["nextCursor"]

    resp = v1(client, "GET", f"{THREADS}?resolved=false&limit=1&cursor={cursor}", tenant.sk)

    error(resp, 400, "INVALID_CURSOR")


def test_resolved_other_than_true_or_false_is_400_naming_resolved(
    client: Any, tenant: Tenant
) -> None:
    def check(value: str) -> None:
        resp = v1(client, "GET", f"{THREADS}?resolved={value}", tenant.sk)
        names_field(error(resp, 400), "resolved")

    each(["maybe", "TRUE", "1", "0", "yes", "False"], check)


def test_list_in_an_unknown_room_is_404(client: Any, tenant: Tenant) -> None:
    error(v1(client, "GET", "/rooms/nope/threads", tenant.sk), 404, "ROOM_NOT_FOUND")


# --- get ----------------------------------------------------------------------------------------


def test_get_has_the_comments_oldest_first(client: Any, tenant: Tenant) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "one", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "two", "bob")
    make_comment(client, tenant.sk, ROOM, thread["id"], "three", "ada")

    got = ok(v1(client, "GET", f"{THREADS}/{thread['id']}", tenant.sk))

    assert [(c["userId"], c["body"]) for c in got["comments"]] == [
        ("ada", "one"),
        ("bob", "two"),
        ("ada", "three"),
    ]
    assert got["commentCount"] == 3
    assert got["commentsNextCursor"] is None
    assert got["createdBy"] == "ada"


def test_get_embeds_100_comments_and_a_cursor_for_the_rest(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "c0")
    key = secret_key(tenant.sk)  # the service directly: 103 REST creates only add time
    for n in range(1, 104):
        services.collab.create_comment(key, ROOM, thread["id"], "u", f"c{n}")

    got = ok(v1(client, "GET", f"{THREADS}/{thread['id']}", tenant.sk))
    assert [c["body"] for c in got["comments"]] == [f"c{n}" for n in range(100)]
    assert got["commentCount"] == 104
    cursor = got["commentsNextCursor"]
    assert cursor

    rest = ok(v1(client, "GET", f"{THREADS}/{thread['id']}/comments?cursor={cursor}", tenant.sk))
    assert [c["body"] for c in rest["data"]] == ["c100", "c101", "c102", "c103"]
    assert rest["nextCursor"] is None


def test_get_of_unknown_or_malformed_thread_ids_is_404_thread_not_found(
    client: Any, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "doc:2")
    elsewhere = make_thread(client, tenant.sk, "doc:2")

    def check(thread_id: str) -> None:
        resp = v1(client, "GET", f"{THREADS}/{enc(thread_id)}", tenant.sk)
        error(resp, 404, "THREAD_NOT_FOUND")

    each(
        [NO_THREAD, "nope", "th_", "cm_" + NO_THREAD[3:], elsewhere["id"], "th_" + "x" * 200], check
    )


def test_get_in_an_unknown_room_is_404_room_not_found(client: Any, tenant: Tenant) -> None:
    thread = make_thread(client, tenant.sk, ROOM)

    def check(path: str) -> None:
        error(v1(client, "GET", path, tenant.sk), 404, "ROOM_NOT_FOUND")

    each([f"/rooms/nope/threads/{thread['id']}", "/rooms/nope/threads/nope"], check)


# --- patch --------------------------------------------------------------------------------------


def test_patch_resolves_and_reopens(client: Any, tenant: Tenant, clock: FrozenClock) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    clock.advance(7)

    resolved = resolve(client, tenant.sk, thread["id"])

    assert resolved["resolved"] is True
    assert resolved["updatedAt"] == iso(clock.now()) != thread["updatedAt"]
    assert resolved["createdAt"] == thread["createdAt"]
    assert resolved["commentCount"] == 1 and resolved["createdBy"] == thread["createdBy"]
    assert resolve(client, tenant.sk, thread["id"], False)["resolved"] is False
    assert ok(v1(client, "GET", f"{THREADS}/{thread['id']}", tenant.sk))["resolved"] is False


def test_patch_replaces_the_metadata_and_keeps_resolved(client: Any, tenant: Tenant) -> None:
    created = ok(create(client, tenant.sk, {**first(), "metadata": {"x": 1, "y": 2}}), 201)
    resolve(client, tenant.sk, created["id"])

    path = f"{THREADS}/{created['id']}"
    patched = ok(v1(client, "PATCH", path, tenant.sk, {"metadata": {"pinned": True}}))

    assert patched["metadata"] == {"pinned": True}
    assert patched["resolved"] is True
    both = ok(v1(client, "PATCH", path, tenant.sk, {"metadata": {}, "resolved": False}))
    assert (both["metadata"], both["resolved"]) == ({}, False)


def test_patch_with_nothing_or_bad_fields_is_400_and_changes_nothing(
    client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    path = f"{THREADS}/{thread['id']}"

    def check(case: tuple[Any, str, str]) -> None:
        body, field, code = case
        names_field(error(v1(client, "PATCH", path, tenant.sk, body), 400, code), field)

    cases = [
        ({}, "body", "NOTHING_TO_UPDATE"),
        ({"resolved": "yes"}, "resolved", "INVALID_INPUT"),
        ({"resolved": 1}, "resolved", "INVALID_INPUT"),
        ({"resolved": None}, "resolved", "INVALID_INPUT"),
        ({"metadata": {"a": None}}, "metadata.a", "INVALID_INPUT"),
        ({"resolved": True, "comment": {}}, "comment", "UNKNOWN_FIELD"),
        ({"createdBy": "x"}, "createdBy", "UNKNOWN_FIELD"),
    ]
    each(cases, check)
    got = ok(v1(client, "GET", path, tenant.sk))
    got.pop("comments"), got.pop("commentsNextCursor")
    thread.pop("comments"), thread.pop("commentsNextCursor")
    assert got == thread


def test_patch_of_an_unknown_thread_or_room_is_404(client: Any, tenant: Tenant) -> None:
    def check(case: tuple[str, str]) -> None:
        path, code = case
        error(v1(client, "PATCH", path, tenant.sk, {"resolved": True}), 404, code)

    cases = [
        (f"{THREADS}/{NO_THREAD}", "THREAD_NOT_FOUND"),
        (f"{THREADS}/nope", "THREAD_NOT_FOUND"),
        (f"/rooms/nope/threads/{NO_THREAD}", "ROOM_NOT_FOUND"),
    ]
    each(cases, check)


# --- delete -------------------------------------------------------------------------------------


def test_delete_is_204_then_the_thread_and_its_comments_are_gone(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM)
    for n in range(3):
        make_comment(client, tenant.sk, ROOM, thread["id"], f"r{n}")
    other = make_thread(client, tenant.sk, ROOM)
    path = f"{THREADS}/{thread['id']}"

    resp = v1(client, "DELETE", path, tenant.sk)

    assert resp.status_code == 204
    error(v1(client, "GET", path, tenant.sk), 404, "THREAD_NOT_FOUND")
    error(v1(client, "GET", f"{path}/comments", tenant.sk), 404, "THREAD_NOT_FOUND")
    error(v1(client, "DELETE", path, tenant.sk), 404, "THREAD_NOT_FOUND")
    assert [t["id"] for t in ok(v1(client, "GET", THREADS, tenant.sk))["data"]] == [other["id"]]
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 1, "comments": 1, "users": 0}
    # The comments are purged from storage too, not only hidden.
    assert list(CommentItem.query(comments_pk(tenant.id, thread["id"]))) == []


def test_delete_in_an_unknown_room_is_404_room_not_found(client: Any, tenant: Tenant) -> None:
    thread = make_thread(client, tenant.sk, ROOM)

    error(
        v1(client, "DELETE", f"/rooms/nope/threads/{thread['id']}", tenant.sk),
        404,
        "ROOM_NOT_FOUND",
    )
    assert ok(v1(client, "GET", f"{THREADS}/{thread['id']}", tenant.sk))["id"] == thread["id"]
