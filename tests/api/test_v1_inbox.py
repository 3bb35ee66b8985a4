"""REST API v1 unread state and inbox: who a new comment reaches (subscribers, mentions, the room
setting, access), the inbox newest first with its reasons, the exact count, marking read,
subscriptions, a deleted thread and a withdrawn room leaving the inbox, and the refusals.

The fan-out runs where production runs it, on the data table's stream: here the room's event
items are handed to it as stream records (moto's in-process mock serves no stream;
tests/e2e/test_inbox.py runs the real one)."""

from __future__ import annotations

from typing import Any

import pytest
import streams

from chalicelib import runtime

from .helpers import (
    Tenant,
    call,
    enc,
    error,
    make_comment,
    make_room,
    make_thread,
    names_field,
    new_tenant,
    ok,
    v1,
)

ROOM = "launch"


def fan_out(services: runtime.Services, env_id: str, room_id: str = ROOM) -> None:
    streams.fan_out(services, env_id, room_id)


def mint(client: Any, key: str, user_id: str, **extra: Any) -> None:
    body = {"userId": user_id, "name": user_id.title(), **extra}
    assert call(client, "POST", "/auth/token", token=key, body=body).status_code == 200


@pytest.fixture
def tenant(services: runtime.Services, client: Any) -> Tenant:
    t = new_tenant(services, "Acme")
    make_room(client, t.sk, ROOM)
    for user in ("ada", "bob", "cy"):
        mint(client, t.sk, user)
    return t


def inbox(client: Any, t: Tenant, user: str) -> list[dict[str, Any]]:
    return ok(v1(client, "GET", f"/users/{user}/inbox", t.sk))["data"]  # type: ignore[no-any-return]


def count(client: Any, t: Tenant, user: str) -> int:
    return ok(v1(client, "GET", f"/users/{user}/inbox/count", t.sk))["count"]  # type: ignore[no-any-return]


def read(client: Any, t: Tenant, user: str, thread_id: str) -> Any:
    return v1(client, "POST", f"/users/{user}/threads/{thread_id}/read", t.sk)


def test_a_reply_reaches_the_threads_author_and_not_the_replier(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Ship Tuesday?", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "Yes", "bob")
    make_comment(client, tenant.sk, ROOM, thread["id"], "And docs", "bob")
    fan_out(services, tenant.id)

    assert inbox(client, tenant, "ada") == [
        {
            "threadId": thread["id"],
            "roomId": ROOM,
            "unreadCount": 2,
            "reason": "reply",
            "lastActivityAt": inbox(client, tenant, "ada")[0]["lastActivityAt"],
        }
    ]
    assert count(client, tenant, "ada") == 1
    assert inbox(client, tenant, "bob") == [] and count(client, tenant, "bob") == 0
    assert inbox(client, tenant, "cy") == []  # never wrote in it, not mentioned


def test_a_stream_record_handed_over_again_counts_once(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    for _ in range(3):
        fan_out(services, tenant.id)
    assert inbox(client, tenant, "ada")[0]["unreadCount"] == 1
    assert count(client, tenant, "ada") == 1


def test_a_mention_puts_the_thread_in_the_mentioned_users_inbox_as_mention(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Hey <@cy>, look", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "Reply", "bob")
    fan_out(services, tenant.id)

    [entry] = inbox(client, tenant, "cy")
    assert (entry["threadId"], entry["reason"], entry["unreadCount"]) == (
        thread["id"],
        "mention",
        2,
    )
    # The mention subscribed cy: a later reply still reaches them, the reason stays the
    # strongest since they last read.
    make_comment(client, tenant.sk, ROOM, thread["id"], "More", "bob")
    fan_out(services, tenant.id)
    [entry] = inbox(client, tenant, "cy")
    assert (entry["reason"], entry["unreadCount"]) == ("mention", 3)


def test_an_edit_that_adds_a_mention_tells_the_newly_mentioned_user_once(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Ship Tuesday?", "ada")
    reply = make_comment(client, tenant.sk, ROOM, thread["id"], "Yes", "bob")
    fan_out(services, tenant.id)
    assert inbox(client, tenant, "cy") == []
    assert inbox(client, tenant, "ada")[0]["unreadCount"] == 1  # bob's reply

    path = f"/rooms/{ROOM}/threads/{thread['id']}/comments/{reply['id']}"
    ok(v1(client, "PATCH", path, tenant.sk, {"body": "Yes, <@cy> <@ada> <@bob> agree?"}))
    for _ in range(2):  # a stream record handed over again counts once
        fan_out(services, tenant.id)

    [entry] = inbox(client, tenant, "cy")
    assert (entry["threadId"], entry["reason"], entry["unreadCount"]) == (
        thread["id"],
        "mention",
        1,
    )
    # ada follows the thread already (bob's reply reached her): the edit adds nothing; bob
    # is its author.
    [ada] = inbox(client, tenant, "ada")
    assert (ada["reason"], ada["unreadCount"]) == ("reply", 1)
    assert inbox(client, tenant, "bob") == []
    # The mention subscribed cy: the next reply reaches them too.
    make_comment(client, tenant.sk, ROOM, thread["id"], "Tuesday it is", "ada")
    fan_out(services, tenant.id)
    assert inbox(client, tenant, "cy")[0]["unreadCount"] == 2


def test_an_edit_does_not_mention_into_a_thread_the_user_unsubscribed_from(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    base = f"/rooms/{ROOM}/threads/{thread['id']}"
    ok(v1(client, "POST", base + "/unsubscribe", tenant.sk, {"userId": "cy"}))
    reply = make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    ok(v1(client, "PATCH", f"{base}/comments/{reply['id']}", tenant.sk, {"body": "A <@cy>"}))
    fan_out(services, tenant.id)
    assert inbox(client, tenant, "cy") == []


def test_the_inbox_lists_newest_activity_first(
    services: runtime.Services, client: Any, tenant: Tenant, clock: Any
) -> None:
    first = make_thread(client, tenant.sk, ROOM, "one", "ada")
    second = make_thread(client, tenant.sk, ROOM, "two", "ada")
    clock.advance(5)
    make_comment(client, tenant.sk, ROOM, second["id"], "r", "bob")
    clock.advance(5)
    make_comment(client, tenant.sk, ROOM, first["id"], "r", "bob")
    fan_out(services, tenant.id)
    assert [e["threadId"] for e in inbox(client, tenant, "ada")] == [first["id"], second["id"]]
    clock.advance(5)
    make_comment(client, tenant.sk, ROOM, second["id"], "again", "bob")
    fan_out(services, tenant.id)
    assert [e["threadId"] for e in inbox(client, tenant, "ada")] == [second["id"], first["id"]]
    assert count(client, tenant, "ada") == 2


def test_marking_read_empties_the_thread_and_the_count(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    fan_out(services, tenant.id)

    answer = ok(read(client, tenant, "ada", thread["id"]))
    assert answer == {"userId": "ada", "threadId": thread["id"], "unreadCount": 0}
    assert inbox(client, tenant, "ada") == [] and count(client, tenant, "ada") == 0
    # Read twice, or a thread with nothing unread: nothing changes, no error.
    assert ok(read(client, tenant, "ada", thread["id"]))["unreadCount"] == 0
    assert ok(read(client, tenant, "cy", thread["id"]))["unreadCount"] == 0
    # A new reply after the read counts from there.
    make_comment(client, tenant.sk, ROOM, thread["id"], "B", "bob")
    fan_out(services, tenant.id)
    assert inbox(client, tenant, "ada")[0]["unreadCount"] == 1


def test_threads_listed_for_a_user_carry_their_unread_count(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    fan_out(services, tenant.id)
    marks = services.inbox.marks(tenant.id, "ada", [thread["id"]])
    assert (marks[thread["id"]].unread_count, marks[thread["id"]].subscribed) == (1, True)
    marks = services.inbox.marks(tenant.id, "cy", [thread["id"]])
    assert (marks[thread["id"]].unread_count, marks[thread["id"]].subscribed) == (0, False)


def test_subscribing_and_unsubscribing(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    base = f"/rooms/{ROOM}/threads/{thread['id']}"
    answer = ok(v1(client, "POST", base + "/subscribe", tenant.sk, {"userId": "cy"}))
    assert answer == {"userId": "cy", "threadId": thread["id"], "subscribed": True}
    ok(v1(client, "POST", base + "/unsubscribe", tenant.sk, {"userId": "ada"}))
    make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    fan_out(services, tenant.id)

    assert [(e["threadId"], e["reason"]) for e in inbox(client, tenant, "cy")] == [
        (thread["id"], "subscribed")
    ]
    assert inbox(client, tenant, "ada") == []  # unsubscribed: writing before does not count
    make_comment(client, tenant.sk, ROOM, thread["id"], "<@ada> are you there?", "bob")
    fan_out(services, tenant.id)
    assert inbox(client, tenant, "ada") == []  # nor a mention: the thread is silenced


def test_the_room_setting_filters_what_reaches_the_inbox(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    path = f"/rooms/{ROOM}/users/ada/notification-settings"
    assert ok(v1(client, "GET", path, tenant.sk))["setting"] == "all"
    answer = ok(v1(client, "PUT", path, tenant.sk, {"setting": "mentions"}))
    assert answer == {"userId": "ada", "roomId": ROOM, "setting": "mentions"}
    assert ok(v1(client, "GET", path, tenant.sk))["setting"] == "mentions"

    plain = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    make_comment(client, tenant.sk, ROOM, plain["id"], "a reply", "bob")
    named = make_thread(client, tenant.sk, ROOM, "for <@ada>", "bob")
    fan_out(services, tenant.id)
    assert [e["threadId"] for e in inbox(client, tenant, "ada")] == [named["id"]]

    ok(v1(client, "PUT", path, tenant.sk, {"setting": "none"}))
    make_thread(client, tenant.sk, ROOM, "again <@ada>", "bob")
    fan_out(services, tenant.id)
    assert [e["threadId"] for e in inbox(client, tenant, "ada")] == [named["id"]]


def test_a_user_without_access_is_not_told(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    make_room(client, tenant.sk, "secret")
    path = f"/rooms/{enc('secret')}"
    ok(
        v1(
            client,
            "PATCH",
            path,
            tenant.sk,
            {"defaultAccess": "none", "usersAccess": {"ada": "write"}},
        )
    )
    make_thread(client, tenant.sk, "secret", "hi <@bob>", "ada")
    fan_out(services, tenant.id, "secret")
    assert inbox(client, tenant, "bob") == [] and count(client, tenant, "bob") == 0


def test_a_deleted_thread_leaves_every_inbox(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q <@cy>", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    fan_out(services, tenant.id)
    assert count(client, tenant, "ada") == count(client, tenant, "cy") == 1

    ok(v1(client, "DELETE", f"/rooms/{ROOM}/threads/{thread['id']}", tenant.sk), 204)
    fan_out(services, tenant.id)
    for user in ("ada", "cy"):
        assert inbox(client, tenant, user) == [] and count(client, tenant, user) == 0


def test_a_room_the_user_can_no_longer_read_leaves_the_inbox_when_listed(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    thread = make_thread(client, tenant.sk, ROOM, "Q", "ada")
    make_comment(client, tenant.sk, ROOM, thread["id"], "A", "bob")
    fan_out(services, tenant.id)
    ok(
        v1(
            client,
            "PATCH",
            f"/rooms/{ROOM}",
            tenant.sk,
            {"defaultAccess": "none", "usersAccess": {"bob": "write"}},
        )
    )

    assert inbox(client, tenant, "ada") == []
    assert count(client, tenant, "ada") == 0


def test_refusals_name_what_was_wrong(client: Any, tenant: Tenant) -> None:
    error(v1(client, "GET", "/users/nobody/inbox", tenant.sk), 404, "USER_NOT_FOUND")
    error(read(client, tenant, "nobody", "th_0000000000000000"), 404, "USER_NOT_FOUND")
    error(v1(client, "GET", "/users/nobody/inbox/count", tenant.sk), 404, "USER_NOT_FOUND")
    error(read(client, tenant, "ada", "th_0000000000000000"), 404, "THREAD_NOT_FOUND")
    path = f"/rooms/{ROOM}/users/ada/notification-settings"
    names_field(error(v1(client, "PUT", path, tenant.sk, {"setting": "loud"}), 400), "setting")
    missing = f"/rooms/{ROOM}/threads/th_0000000000000000/subscribe"
    error(v1(client, "POST", missing, tenant.sk, {"userId": "ada"}), 404, "THREAD_NOT_FOUND")
    error(
        v1(client, "GET", "/rooms/nope/users/ada/notification-settings", tenant.sk),
        404,
        "ROOM_NOT_FOUND",
    )


def test_another_environments_thread_is_not_found(
    services: runtime.Services, client: Any, tenant: Tenant
) -> None:
    other = new_tenant(services, "Other")
    make_room(client, other.sk, ROOM)
    thread = make_thread(client, other.sk, ROOM, "theirs", "ada")
    sub = f"/rooms/{ROOM}/threads/{thread['id']}/subscribe"
    error(v1(client, "POST", sub, tenant.sk, {"userId": "ada"}), 404, "THREAD_NOT_FOUND")
