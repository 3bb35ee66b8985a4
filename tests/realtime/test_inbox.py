"""Unread state on the socket (issue 16): threads.list tells each user their unread count and
subscription, thread.markRead clears it and tells every socket of the user (inbox.updated, in
any room), subscriptions and the room setting from the socket, a `read` connection may do all of
it, and the refusals (another room's thread, another environment's, a bad setting)."""

from __future__ import annotations

from typing import Any

import pytest
import streams

from chalicelib import runtime
from chalicelib.realtime import protocol

from .conftest import Env, Gateway, new_env, rest, rest_ok

ROOM = "room-1"


def fan_out(graph: runtime.Services, env_id: str, room_id: str = ROOM) -> None:
    streams.fan_out(graph, env_id, room_id)


@pytest.fixture
def thread(client: Any, env: Env) -> str:
    for room in (ROOM, "room-2"):
        assert rest(client, "POST", "/api/v1/rooms", env.sk, {"id": room}).status_code == 201
    made = rest(
        client,
        "POST",
        f"/api/v1/rooms/{ROOM}/threads",
        env.sk,
        {"comment": {"userId": "ada", "body": "Ship?"}},
    )
    thread_id: str = rest_ok(made, 201)["id"]
    return thread_id


def reply(client: Any, env: Env, thread_id: str, user: str = "bob") -> None:
    path = f"/api/v1/rooms/{ROOM}/threads/{thread_id}/comments"
    rest_ok(rest(client, "POST", path, env.sk, {"userId": user, "body": "Yes"}), 201)


def test_unread_counts_reach_the_user_and_clear_on_read(
    gw: Gateway, env: Env, client: Any, thread: str
) -> None:
    here = gw.connect(env, "ada", ROOM)
    away = gw.connect(env, "ada", "room-2")
    other = gw.connect(env, "bob", ROOM)
    reply(client, env, thread)
    gw.fake.clear()

    fan_out(gw.graph, env.id)

    told = [f for f in gw.fake.take(away) if f["type"] == "inbox.updated"]
    assert told == [
        {"type": "inbox.updated", "count": 1, "roomId": ROOM, "threadId": thread, "unreadCount": 1}
    ]
    assert [f for f in gw.fake.take(other) if f["type"] == "inbox.updated"] == []
    gw.fake.clear()
    listed = gw.ask(here, "threads.list")
    assert [(t["id"], t["unreadCount"], t["subscribed"]) for t in listed["data"]] == [
        (thread, 1, True)
    ]
    theirs = gw.ask(other, "threads.list")
    assert [(t["unreadCount"], t["subscribed"]) for t in theirs["data"]] == [(0, True)]

    gw.fake.clear()
    gw.send(here, "thread.markRead", threadId=thread)
    mine = gw.fake.take(here)  # the sender's own socket is one of the user's too
    assert mine[-1] == {"type": "thread.read", "threadId": thread, "unreadCount": 0}
    assert [f["type"] for f in mine] == ["inbox.updated", "thread.read"]
    cleared = [f for f in gw.fake.take(away) if f["type"] == "inbox.updated"]
    assert [(f["count"], f["unreadCount"]) for f in cleared] == [(0, 0)]
    gw.fake.clear()
    assert gw.ask(here, "threads.list")["data"][0]["unreadCount"] == 0


def test_subscriptions_and_the_room_setting_from_the_socket(
    gw: Gateway, env: Env, client: Any, thread: str
) -> None:
    cy = gw.connect(env, "cy", ROOM)
    gw.fake.clear()
    assert gw.ask(cy, "thread.subscribe", threadId=thread) == {
        "type": "thread.subscription",
        "threadId": thread,
        "subscribed": True,
    }
    assert gw.ask(cy, "notifications.get") == {
        "type": "notifications.settings",
        "roomId": ROOM,
        "setting": "all",
    }
    reply(client, env, thread)
    fan_out(gw.graph, env.id)
    assert rest_ok(rest(client, "GET", "/api/v1/users/cy/inbox/count", env.sk))["count"] == 1
    gw.fake.clear()

    assert gw.ask(cy, "notifications.set", setting="none")["setting"] == "none"
    assert gw.ask(cy, "thread.unsubscribe", threadId=thread)["subscribed"] is False
    assert gw.ask(cy, "threads.list")["data"][0]["subscribed"] is False


def test_a_reader_may_mark_read_and_subscribe(
    gw: Gateway, env: Env, client: Any, thread: str
) -> None:
    rest_ok(rest(client, "PATCH", f"/api/v1/rooms/{ROOM}", env.sk, {"defaultAccess": "read"}))
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    assert gw.ask(ada, "thread.markRead", threadId=thread)["type"] == "thread.read"
    assert gw.ask(ada, "thread.subscribe", threadId=thread)["type"] == "thread.subscription"


def test_refusals_name_what_was_wrong(gw: Gateway, env: Env, client: Any, thread: str) -> None:
    away = gw.connect(env, "ada", "room-2")
    gw.fake.clear()
    # a thread of another room, through this room's socket
    assert gw.ask(away, "thread.subscribe", threadId=thread)["code"] == "THREAD_NOT_FOUND"
    reply(client, env, thread)
    fan_out(gw.graph, env.id)
    gw.fake.clear()
    assert gw.ask(away, "thread.markRead", threadId=thread)["code"] == "THREAD_NOT_FOUND"
    bad = gw.ask(away, "notifications.set", setting="loud")
    assert (bad["code"], bad["field"]) == ("INVALID_INPUT", "setting")
    missing = gw.ask(away, "thread.markRead")
    assert (missing["code"], missing["field"]) == ("MISSING_FIELD", "threadId")


def test_another_environments_thread_is_not_found(
    gw: Gateway, env: Env, client: Any, thread: str
) -> None:
    other = new_env("Other")
    assert rest(client, "POST", "/api/v1/rooms", other.sk, {"id": ROOM}).status_code == 201
    theirs = gw.connect(other, "ada", ROOM)
    gw.fake.clear()
    assert gw.ask(theirs, "thread.subscribe", threadId=thread)["code"] == "THREAD_NOT_FOUND"
    assert gw.ask(theirs, "thread.markRead", threadId=thread)["code"] == "THREAD_NOT_FOUND"


def test_the_inbox_from_the_socket_spans_rooms_and_pages(
    gw: Gateway, env: Env, client: Any, thread: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`inbox.list`: the user's own inbox from any room's socket (as the REST list), newest
    first, with the exact count; a cursor continues it; a bad cursor is refused by name."""
    other = rest_ok(
        rest(
            client,
            "POST",
            "/api/v1/rooms/room-2/threads",
            env.sk,
            {"comment": {"userId": "ada", "body": "And this?"}},
        ),
        201,
    )["id"]
    reply(client, env, thread)
    rest_ok(
        rest(
            client,
            "POST",
            f"/api/v1/rooms/room-2/threads/{other}/comments",
            env.sk,
            {"userId": "bob", "body": "Sure"},
        ),
        201,
    )
    ada = gw.connect(env, "ada", ROOM)  # a user with a token: the fan-out reaches them
    bob = gw.connect(env, "bob", ROOM)
    fan_out(gw.graph, env.id)
    fan_out(gw.graph, env.id, "room-2")
    gw.fake.clear()

    listed = gw.ask(ada, "inbox.list")
    rest_list = rest_ok(rest(client, "GET", "/api/v1/users/ada/inbox", env.sk))
    assert listed["count"] == 2
    assert [(e["threadId"], e["roomId"]) for e in listed["data"]] == [
        (other, "room-2"),
        (thread, ROOM),
    ]
    assert listed["data"] == rest_list["data"]
    assert listed["nextCursor"] is None
    monkeypatch.setattr(protocol, "INBOX_PAGE", 1)
    first = gw.ask(ada, "inbox.list")
    rest_of_it = gw.ask(ada, "inbox.list", cursor=first["nextCursor"])
    assert [e["threadId"] for e in first["data"] + rest_of_it["data"]] == [other, thread]
    assert (first["count"], rest_of_it["count"], rest_of_it["nextCursor"]) == (2, 2, None)
    monkeypatch.undo()
    assert gw.ask(bob, "inbox.list") == {
        "type": "inbox.listed",
        "data": [],
        "nextCursor": None,
        "count": 0,
    }

    gw.send(ada, "thread.markRead", threadId=thread)
    gw.fake.clear()
    after = gw.ask(ada, "inbox.list")
    assert (after["count"], [e["threadId"] for e in after["data"]]) == (1, [other])

    gw.send(ada, "inbox.list", cursor="not-a-cursor")
    refused = [f for f in gw.fake.take(ada) if f["type"] == "error"]
    assert [(e["code"], e.get("field")) for e in refused] == [("INVALID_CURSOR", "cursor")]
