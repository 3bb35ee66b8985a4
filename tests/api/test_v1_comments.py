"""REST API v1 comments: create, list oldest first (and page through 150), edit (editedAt),
delete (the last one takes its thread along), the body rules, and unknown ids."""

from __future__ import annotations

import json
from typing import Any

import pytest
from callers import secret_key

from chalicelib import runtime
from chalicelib.clock import FrozenClock, iso

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
    names_field,
    new_tenant,
    ok,
    totals,
    v1,
)

ROOM = "review.2026:q4"
NO_THREAD = "th_0000000000000000"
NO_COMMENT = "cm_0000000000000000"


@pytest.fixture
def tenant(services: runtime.Services, client: Any) -> Tenant:
    t = new_tenant(services, "Acme")
    make_room(client, t.sk, ROOM)
    return t


@pytest.fixture
def thread(client: Any, tenant: Tenant) -> dict[str, Any]:
    return make_thread(client, tenant.sk, ROOM, "first", "ada")


def comments_path(thread_id: str, room: str = ROOM) -> str:
    return f"/rooms/{enc(room)}/threads/{thread_id}/comments"


def post(client: Any, key: str, thread_id: str, body: Any, room: str = ROOM) -> Any:
    return v1(client, "POST", comments_path(thread_id, room), key, body)


def bodies(client: Any, key: str, thread_id: str) -> list[str]:
    data = ok(v1(client, "GET", comments_path(thread_id) + "?limit=100", key))["data"]
    return [c["body"] for c in data]


# --- create and list ----------------------------------------------------------------------------


def test_create_returns_201_with_the_comment(
    client: Any, tenant: Tenant, thread: dict[str, Any], clock: FrozenClock
) -> None:
    clock.advance(3)
    comment = ok(post(client, tenant.sk, thread["id"], {"userId": "bob", "body": "Agreed."}), 201)

    assert comment.pop("id").startswith("cm_")
    assert comment == {
        "threadId": thread["id"],
        "roomId": ROOM,
        "userId": "bob",
        "body": "Agreed.",
        "createdAt": iso(clock.now()),
        "editedAt": None,
        "reactions": [],
        "mentions": [],
        "attachments": [],
    }


def test_create_moves_the_thread_count_and_updated_at(
    client: Any,
    services: runtime.Services,
    tenant: Tenant,
    thread: dict[str, Any],
    clock: FrozenClock,
) -> None:
    clock.advance(60)
    make_comment(client, tenant.sk, ROOM, thread["id"])
    make_comment(client, tenant.sk, ROOM, thread["id"])

    got = ok(v1(client, "GET", f"/rooms/{enc(ROOM)}/threads/{thread['id']}", tenant.sk))
    assert got["commentCount"] == 3
    assert got["updatedAt"] == iso(clock.now())
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 1, "comments": 3, "users": 0}


def test_list_is_oldest_first(client: Any, tenant: Tenant, thread: dict[str, Any]) -> None:
    for n in range(4):
        make_comment(client, tenant.sk, ROOM, thread["id"], f"reply {n}")

    listed = ok(v1(client, "GET", comments_path(thread["id"]), tenant.sk))

    assert [c["body"] for c in listed["data"]] == ["first"] + [f"reply {n}" for n in range(4)]
    assert listed["nextCursor"] is None
    assert all(c["threadId"] == thread["id"] and c["roomId"] == ROOM for c in listed["data"])


def test_paging_through_150_comments_returns_each_once_in_order(
    client: Any, services: runtime.Services, tenant: Tenant, thread: dict[str, Any]
) -> None:
    # Written through the service (the REST create is tested above); read through REST.
    key = secret_key(tenant.sk)
    created = [thread["comments"][0]["id"]]
    created += [
        services.collab.create_comment(key, ROOM, thread["id"], "u", f"c{n}").id for n in range(149)
    ]

    pages: list[list[str]] = []
    cursor = None
    for _ in range(10):
        query = "?limit=40" + (f"&cursor={cursor}" if cursor else "")
        body = ok(v1(client, "GET", comments_path(thread["id"]) + query, tenant.sk))
        pages.append([c["id"] for c in body["data"]])
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert [len(p) for p in pages] == [40, 40, 40, 30]
    assert [c for p in pages for c in p] == created
    got = ok(v1(client, "GET", f"/rooms/{enc(ROOM)}/threads/{thread['id']}", tenant.sk))
    assert got["commentCount"] == 150


def test_a_comments_cursor_only_works_on_its_own_thread(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    make_comment(client, tenant.sk, ROOM, thread["id"])
    other = make_thread(client, tenant.sk, ROOM)
    make_comment(client, tenant.sk, ROOM, other["id"])
    cursor = ok(v1(client, "GET", comments_path(thread["id"]) + "?limit=1", tenant.sk))[
        "nextCursor"
    ]

    resp = v1(client, "GET", comments_path(other["id"]) + f"?limit=1&cursor={cursor}", tenant.sk)

    error(resp, 400, "INVALID_CURSOR")


def test_list_limit_out_of_bounds_is_400(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    def check(limit: str) -> None:
        resp = v1(client, "GET", comments_path(thread["id"]) + f"?limit={limit}", tenant.sk)
        names_field(error(resp, 400), "limit")

    each(["0", "101", "x"], check)


# --- the body -----------------------------------------------------------------------------------


def test_bodies_of_1_to_10000_characters_with_newlines_and_tabs_are_kept_exactly(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    accepted = [
        "x",
        "y" * 10_000,
        "🎉" * 10_000,
        "line one\nline two\n\n- item",
        "col\tcol",
        "  padded  ",
        "<script>alert(1)</script>",
        "ünïcødé • ✓ 中文",
    ]

    def check(text: str) -> None:
        # Sent as UTF-8, as JavaScript clients send JSON (escaped, 10,000 emoji exceed 64 KB).
        raw = json.dumps({"userId": "u", "body": text}, ensure_ascii=False).encode()
        resp = call(client, "POST", V1 + comments_path(thread["id"]), token=tenant.sk, raw=raw)
        assert ok(resp, 201)["body"] == text

    each(accepted, check)
    assert bodies(client, tenant.sk, thread["id"]) == ["first", *accepted]


REFUSED_BODIES: list[tuple[Any, str]] = [
    ("", "INVALID_INPUT"),
    ("   ", "INVALID_INPUT"),
    ("\n\n\t", "INVALID_INPUT"),
    ("z" * 10_001, "INVALID_INPUT"),
    ("nul\x00", "INVALID_INPUT"),
    ("bell\x07", "INVALID_INPUT"),
    ("\x1b[31mred", "INVALID_INPUT"),
    ("del\x7f", "INVALID_INPUT"),
    ("c1\x85", "INVALID_INPUT"),
    ("lone \ud800 surrogate", "INVALID_INPUT"),
    (None, "MISSING_FIELD"),
    (5, "INVALID_INPUT"),
    (["a"], "INVALID_INPUT"),
    ({"text": "a"}, "INVALID_INPUT"),
]


def test_refused_bodies_are_400_naming_body(
    client: Any, services: runtime.Services, tenant: Tenant, thread: dict[str, Any]
) -> None:
    def check(case: tuple[Any, str]) -> None:
        text, code = case
        resp = post(client, tenant.sk, thread["id"], {"userId": "u", "body": text})
        names_field(error(resp, 400, code), "body")

    each(REFUSED_BODIES, check)
    assert bodies(client, tenant.sk, thread["id"]) == ["first"]
    assert totals(services, tenant.id)["comments"] == 1


def test_create_needs_exactly_user_id_and_body(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    def check(case: tuple[Any, str, str]) -> None:
        body, field, code = case
        names_field(error(post(client, tenant.sk, thread["id"], body), 400, code), field)

    cases = [
        ({"body": "b"}, "userId", "MISSING_FIELD"),
        ({"userId": "", "body": "b"}, "userId", "INVALID_INPUT"),
        ({"userId": "u" * 129, "body": "b"}, "userId", "INVALID_INPUT"),
        ({"userId": 5, "body": "b"}, "userId", "INVALID_INPUT"),
        ({"userId": "u"}, "body", "MISSING_FIELD"),
        ({"userId": "u", "body": "b", "editedAt": None}, "editedAt", "UNKNOWN_FIELD"),
        ({"comment": {"userId": "u", "body": "b"}}, "comment", "UNKNOWN_FIELD"),
    ]
    each(cases, check)
    assert bodies(client, tenant.sk, thread["id"]) == ["first"]


# --- edit ---------------------------------------------------------------------------------------


def test_edit_changes_the_body_and_sets_edited_at(
    client: Any, tenant: Tenant, thread: dict[str, Any], clock: FrozenClock
) -> None:
    comment = make_comment(client, tenant.sk, ROOM, thread["id"], "teh typo", "bob")
    clock.advance(30)
    path = f"{comments_path(thread['id'])}/{comment['id']}"

    edited = ok(v1(client, "PATCH", path, tenant.sk, {"body": "the typo"}))

    assert edited == {**comment, "body": "the typo", "editedAt": iso(clock.now())}
    assert bodies(client, tenant.sk, thread["id"]) == ["first", "the typo"]
    clock.advance(30)
    again = ok(v1(client, "PATCH", path, tenant.sk, {"body": "the fix"}))
    assert again["editedAt"] == iso(clock.now()) and again["createdAt"] == comment["createdAt"]


def test_edit_refuses_bad_bodies_and_other_fields(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    comment = thread["comments"][0]
    path = f"{comments_path(thread['id'])}/{comment['id']}"

    def check(case: tuple[Any, str, str]) -> None:
        body, field, code = case
        names_field(error(v1(client, "PATCH", path, tenant.sk, body), 400, code), field)

    cases = [
        ({}, "body", "MISSING_FIELD"),
        ({"body": ""}, "body", "INVALID_INPUT"),
        ({"body": " "}, "body", "INVALID_INPUT"),
        ({"body": "x" * 10_001}, "body", "INVALID_INPUT"),
        ({"body": "a\x00"}, "body", "INVALID_INPUT"),
        ({"body": "ok", "userId": "mallory"}, "userId", "UNKNOWN_FIELD"),
    ]
    each(cases, check)
    (unchanged,) = ok(v1(client, "GET", comments_path(thread["id"]), tenant.sk))["data"]
    assert unchanged == comment


def test_edit_or_delete_of_unknown_ids_is_404_naming_what_is_missing(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    comment = make_comment(client, tenant.sk, ROOM, thread["id"])
    sibling = make_thread(client, tenant.sk, ROOM)
    base = comments_path(thread["id"])
    cases = [
        (f"{base}/{NO_COMMENT}", "COMMENT_NOT_FOUND"),
        (f"{base}/nope", "COMMENT_NOT_FOUND"),
        (f"{base}/{thread['id']}", "COMMENT_NOT_FOUND"),
        (f"{base}/{sibling['comments'][0]['id']}", "COMMENT_NOT_FOUND"),  # of another thread
        (f"{comments_path(sibling['id'])}/{comment['id']}", "COMMENT_NOT_FOUND"),
        (f"{comments_path(NO_THREAD)}/{comment['id']}", "THREAD_NOT_FOUND"),
        (f"{comments_path('nope')}/{comment['id']}", "THREAD_NOT_FOUND"),
        (f"{comments_path(thread['id'], 'nope')}/{comment['id']}", "ROOM_NOT_FOUND"),
        (f"{comments_path(thread['id'], 'a b')}/{comment['id']}", "ROOM_NOT_FOUND"),
        (f"{comments_path('nope', 'nope')}/nope", "ROOM_NOT_FOUND"),
    ]

    def check(case: tuple[str, str]) -> None:
        path, code = case
        error(v1(client, "PATCH", path, tenant.sk, {"body": "x"}), 404, code)
        error(v1(client, "DELETE", path, tenant.sk), 404, code)

    each(cases, check)
    assert bodies(client, tenant.sk, thread["id"]) == ["first", "Reply"]


def test_list_or_create_on_unknown_parents_is_404(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    def check(case: tuple[str, str]) -> None:
        path, code = case
        error(v1(client, "GET", path, tenant.sk), 404, code)
        error(v1(client, "POST", path, tenant.sk, {"userId": "u", "body": "b"}), 404, code)

    each(
        [
            (comments_path(NO_THREAD), "THREAD_NOT_FOUND"),
            (comments_path("th_bad"), "THREAD_NOT_FOUND"),
            (comments_path(thread["id"], "nope"), "ROOM_NOT_FOUND"),
        ],
        check,
    )


# --- delete -------------------------------------------------------------------------------------


def test_delete_is_204_and_the_counts_follow(
    client: Any, services: runtime.Services, tenant: Tenant, thread: dict[str, Any]
) -> None:
    keep = make_comment(client, tenant.sk, ROOM, thread["id"], "keep")
    gone = make_comment(client, tenant.sk, ROOM, thread["id"], "gone")
    path = f"{comments_path(thread['id'])}/{gone['id']}"

    assert v1(client, "DELETE", path, tenant.sk).status_code == 204

    assert bodies(client, tenant.sk, thread["id"]) == ["first", "keep"]
    error(v1(client, "DELETE", path, tenant.sk), 404, "COMMENT_NOT_FOUND")
    error(v1(client, "PATCH", path, tenant.sk, {"body": "x"}), 404, "COMMENT_NOT_FOUND")
    got = ok(v1(client, "GET", f"/rooms/{enc(ROOM)}/threads/{thread['id']}", tenant.sk))
    assert got["commentCount"] == 2
    assert [c["id"] for c in got["comments"]] == [thread["comments"][0]["id"], keep["id"]]
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 1, "comments": 2, "users": 0}


def test_deleting_the_first_comment_keeps_the_thread_while_others_remain(
    client: Any, tenant: Tenant, thread: dict[str, Any]
) -> None:
    make_comment(client, tenant.sk, ROOM, thread["id"], "second")
    first_id = thread["comments"][0]["id"]

    ok(v1(client, "DELETE", f"{comments_path(thread['id'])}/{first_id}", tenant.sk), 204)

    got = ok(v1(client, "GET", f"/rooms/{enc(ROOM)}/threads/{thread['id']}", tenant.sk))
    assert [c["body"] for c in got["comments"]] == ["second"]
    assert got["createdBy"] == "ada" and got["commentCount"] == 1


def test_deleting_the_last_comment_deletes_its_thread(
    client: Any, services: runtime.Services, tenant: Tenant, thread: dict[str, Any]
) -> None:
    second = make_comment(client, tenant.sk, ROOM, thread["id"], "second")
    other = make_thread(client, tenant.sk, ROOM)
    for comment_id in (thread["comments"][0]["id"], second["id"]):
        ok(v1(client, "DELETE", f"{comments_path(thread['id'])}/{comment_id}", tenant.sk), 204)

    path = f"/rooms/{enc(ROOM)}/threads/{thread['id']}"
    error(v1(client, "GET", path, tenant.sk), 404, "THREAD_NOT_FOUND")
    error(v1(client, "GET", f"{path}/comments", tenant.sk), 404, "THREAD_NOT_FOUND")
    threads = ok(v1(client, "GET", f"/rooms/{enc(ROOM)}/threads", tenant.sk))["data"]
    assert [t["id"] for t in threads] == [other["id"]]
    assert totals(services, tenant.id) == {"rooms": 1, "threads": 1, "comments": 1, "users": 0}
