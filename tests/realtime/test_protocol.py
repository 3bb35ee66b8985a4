"""$default: the protocol of docs/protocol.md, message by message, on hand-built events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.realtime import protocol
from chalicelib.services.tokens import color_for

from .conftest import (
    Env,
    Gateway,
    connection_rows,
    mint,
    new_env,
    rest,
    rest_ok,
    set_expiry,
)

ROOM = "room-1"
ERROR_KEYS = {"type", "code", "message", "field", "requestId", "retryAfter"}


def two_in_a_room(gw: Gateway, env: Env) -> tuple[str, str]:
    """ada and grace connected and joined; their inboxes emptied."""
    ada = gw.connect(env, "ada", ROOM)
    gw.join(ada)
    grace = gw.connect(env, "grace", ROOM)
    gw.join(grace)
    gw.fake.clear()
    return ada, grace


def assert_error(frame: dict[str, Any], code: str, field: str | None = None) -> None:
    assert frame["type"] == "error", frame
    assert frame["code"] == code, frame
    assert isinstance(frame["message"], str) and frame["message"], frame
    assert set(frame) <= ERROR_KEYS, frame
    assert frame.get("field") == field, frame


def v1(client: Any, method: str, path: str, env: Env, body: Any = None) -> Any:
    return rest(client, method, f"/api/v1/rooms/{ROOM}{path}", env.sk, body)


# --- join, presence, broadcast, ping -------------------------------------------------------------


def test_join_tells_me_who_is_here_and_tells_them_about_me(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada = gw.connect(
        env, "ada", ROOM, token=mint(env.sk, "ada", "Ada L.", "https://a.example/a.png")
    )
    outsider = gw.connect(env, "zoe", "room-2")
    gw.join(outsider)
    foreign = new_env("Other")
    stranger = gw.connect(foreign, "ada", ROOM)
    fake.clear()

    joined = gw.ask(ada, "join", requestId="j1")
    assert joined == {
        "type": "room.joined",
        "connectionId": ada,
        "self": {
            "userId": "ada",
            "name": "Ada L.",
            "avatar": "https://a.example/a.png",
            "color": color_for("ada"),
        },
        "others": [],
        "access": "write",
        "seq": 0,  # the room has not changed yet
        "requestId": "j1",
    }

    grace = gw.connect(env, "grace", ROOM)
    joined = gw.ask(grace, "join")
    assert joined == {
        "type": "room.joined",
        "connectionId": grace,
        "self": {"userId": "grace", "name": "Grace", "avatar": None, "color": color_for("grace")},
        "others": [
            {
                "connectionId": ada,
                "userId": "ada",
                "name": "Ada L.",
                "avatar": "https://a.example/a.png",
                "color": color_for("ada"),
                "presence": None,
            }
        ],
        "access": "write",
        "seq": 0,
    }
    assert fake.take(ada) == [
        {
            "type": "user.joined",
            "connectionId": grace,
            "userId": "grace",
            "name": "Grace",
            "avatar": None,
            "color": color_for("grace"),
            "presence": None,
        }
    ]
    # Other rooms and other environments (same room id!) hear nothing.
    assert fake.take(outsider) == [] and fake.take(stranger) == []


def test_presence_goes_to_the_others_and_is_kept_for_later_joiners(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)

    gw.send(ada, "presence.update", data={"cursor": [120, 80], "typing": False}, requestId="p")

    assert fake.take(ada) == []  # nothing back to the sender
    assert fake.take(grace) == [
        {
            "type": "presence.updated",
            "connectionId": ada,
            "userId": "ada",
            "data": {"cursor": [120, 80], "typing": False},
        }
    ]
    gw.send(ada, "presence.update", data={"cursor": [1, 2]})
    assert fake.take_one(grace)["data"] == {"cursor": [1, 2]}  # the latest wins

    linus = gw.connect(env, "linus", ROOM)
    others = {o["connectionId"]: o["presence"] for o in gw.join(linus)["others"]}
    assert others == {ada: {"cursor": [1, 2]}, grace: None}
    assert fake.take_one(ada)["type"] == "user.joined"


def test_presence_over_1_kb_is_refused_and_not_stored(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    gw.send(ada, "presence.update", data={"v": 1})
    fake.clear()

    # {"s":"..."} as compact JSON: 8 bytes of framing.
    exactly = {"s": "x" * (protocol.MAX_PRESENCE_BYTES - 8)}
    assert len(json.dumps(exactly, separators=(",", ":"))) == protocol.MAX_PRESENCE_BYTES
    too_big = {"s": "x" * (protocol.MAX_PRESENCE_BYTES - 7)}

    gw.send(ada, "presence.update", data=too_big, requestId="big")
    error = fake.take_one(ada)
    assert_error(error, "PRESENCE_TOO_LARGE", "data")
    assert error["requestId"] == "big"
    assert fake.take(grace) == []
    linus = gw.connect(env, "linus", ROOM)
    others = {o["connectionId"]: o["presence"] for o in gw.join(linus)["others"]}
    assert others[ada] == {"v": 1}
    fake.clear()

    gw.send(ada, "presence.update", data=exactly)
    assert fake.take(ada) == []
    assert fake.take_one(grace)["data"] == exactly


@pytest.mark.parametrize("event", [{"kind": "reaction", "emoji": "+1"}, "hi", [1, 2], 3.5, None])
def test_broadcast_reaches_the_others_only(gw: Gateway, env: Env, event: Any) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    linus = gw.connect(env, "linus", ROOM)

    gw.send(ada, "broadcast", event=event, requestId="b1")

    expected = {"type": "broadcast", "connectionId": ada, "userId": "ada", "event": event}
    assert fake.take(grace) == [expected]
    assert fake.take(linus) == [expected]  # joined or not, a live connection of the room
    assert fake.take(ada) == []


def test_ping_pong(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM)
    assert gw.ask(ada, "ping", requestId="42") == {"type": "pong", "requestId": "42"}
    assert gw.ask(ada, "ping") == {"type": "pong"}


# --- threads and comments ------------------------------------------------------------------------


def test_thread_and_comment_lifecycle_reaches_everyone_in_rest_shapes(
    gw: Gateway, env: Env, client: Any
) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)

    # thread.create: everyone, the sender included; only the sender's copy has the requestId.
    gw.send(ada, "thread.create", body="Is the budget final?", metadata={"x": 1}, requestId="t1")
    mine, theirs = fake.take_one(ada), fake.take_one(grace)
    assert mine.pop("requestId") == "t1"
    assert mine == theirs
    assert theirs["type"] == "thread.created"
    thread = theirs["thread"]
    assert thread == rest_ok(v1(client, "GET", f"/threads/{thread['id']}", env))
    assert thread["createdBy"] == "ada" and thread["commentCount"] == 1
    assert thread["metadata"] == {"x": 1}
    assert [c["body"] for c in thread["comments"]] == ["Is the budget final?"]
    first = thread["comments"][0]
    thread_id = thread["id"]

    # comment.create
    gw.send(grace, "comment.create", threadId=thread_id, body="Not yet.", requestId="c1")
    mine, theirs = fake.take_one(grace), fake.take_one(ada)
    assert mine.pop("requestId") == "c1"
    assert mine == theirs and theirs["type"] == "comment.created"
    reply = theirs["comment"]
    listed = rest_ok(v1(client, "GET", f"/threads/{thread_id}/comments", env))["data"]
    assert listed == [first, reply]
    assert reply["userId"] == "grace" and reply["editedAt"] is None

    # comment.update (own comment)
    gw.send(grace, "comment.update", threadId=thread_id, commentId=reply["id"], body="Yes.")
    mine, theirs = fake.take_one(grace), fake.take_one(ada)
    assert mine == theirs and "requestId" not in mine
    assert theirs["type"] == "comment.updated"
    updated = theirs["comment"]
    assert updated["body"] == "Yes." and updated["editedAt"] is not None
    listed = rest_ok(v1(client, "GET", f"/threads/{thread_id}/comments", env))["data"]
    assert listed[1] == updated

    # thread.resolve
    gw.send(ada, "thread.resolve", threadId=thread_id, resolved=True, requestId="r")
    mine, theirs = fake.take_one(ada), fake.take_one(grace)
    assert mine.pop("requestId") == "r" and mine == theirs
    assert theirs["type"] == "thread.updated"
    got = rest_ok(v1(client, "GET", f"/threads/{thread_id}", env))
    assert theirs["thread"]["resolved"] is True
    assert theirs["thread"] == {
        k: v for k, v in got.items() if k not in ("comments", "commentsNextCursor")
    }

    # comment.delete: not the last comment -> comment.deleted
    gw.send(grace, "comment.delete", threadId=thread_id, commentId=reply["id"])
    mine, theirs = fake.take_one(grace), fake.take_one(ada)
    assert (
        mine
        == theirs
        == {
            "type": "comment.deleted",
            "commentId": reply["id"],
            "threadId": thread_id,
            "roomId": ROOM,
            "seq": 5,
        }
    )
    assert rest_ok(v1(client, "GET", f"/threads/{thread_id}", env))["commentCount"] == 1

    # comment.delete of the last comment -> thread.deleted
    gw.send(ada, "comment.delete", threadId=thread_id, commentId=first["id"], requestId="d")
    mine, theirs = fake.take_one(ada), fake.take_one(grace)
    assert mine.pop("requestId") == "d"
    assert (
        mine
        == theirs
        == {
            "type": "thread.deleted",
            "threadId": thread_id,
            "roomId": ROOM,
            "seq": 6,
        }
    )
    resp = v1(client, "GET", f"/threads/{thread_id}", env)
    assert resp.status_code == 404


def test_only_the_author_may_edit_or_delete_a_comment(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    gw.send(ada, "thread.create", body="Mine")
    thread = fake.take_one(ada)["thread"]
    fake.clear()
    comment = thread["comments"][0]
    where = {"threadId": thread["id"], "commentId": comment["id"]}

    gw.send(grace, "comment.update", body="Hijacked", requestId="u", **where)
    error = fake.take_one(grace)
    assert_error(error, "NOT_COMMENT_AUTHOR")
    assert error["requestId"] == "u"
    gw.send(grace, "comment.delete", **where)
    assert_error(fake.take_one(grace), "NOT_COMMENT_AUTHOR")

    assert fake.take(ada) == []
    after = rest_ok(v1(client, "GET", f"/threads/{thread['id']}", env))
    assert after["comments"] == [comment]
    assert after["commentCount"] == 1

    # The same user on another connection (another tab) is the author.
    ada_tab = gw.connect(env, "ada", ROOM)
    gw.send(ada_tab, "comment.update", body="Edited in tab 2", **where)
    assert fake.take_one(ada)["comment"]["body"] == "Edited in tab 2"


def test_comment_on_a_missing_thread(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    gw.send(ada, "comment.create", threadId="th_0000000000000000", body="?", requestId="m")
    error = fake.take_one(ada)
    assert_error(error, "THREAD_NOT_FOUND")
    assert error["requestId"] == "m"
    gw.send(ada, "comment.create", threadId="not-a-thread-id", body="?")
    assert_error(fake.take_one(ada), "THREAD_NOT_FOUND")
    assert fake.take(grace) == []


def test_threads_list_pages(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    ada = gw.connect(env, "ada", ROOM)
    assert gw.ask(ada, "threads.list", requestId="l0") == {
        "type": "threads.listed",
        "data": [],
        "nextCursor": None,
        "requestId": "l0",
    }
    made = []
    for n in range(protocol.THREADS_PAGE + 1):
        body = {"comment": {"userId": "ada", "body": f"Thread {n}"}}
        made.append(rest_ok(v1(client, "POST", "/threads", env, body), 201)["id"])
    fake.clear()

    page = gw.ask(ada, "threads.list", requestId="l1")
    assert page["type"] == "threads.listed" and page["requestId"] == "l1"
    assert len(page["data"]) == protocol.THREADS_PAGE and page["nextCursor"]
    rest_page = rest_ok(v1(client, "GET", f"/threads?limit={protocol.THREADS_PAGE}", env))
    # The REST shape, newest first, with the user's own unread count and subscription (no
    # stream runs here: nothing counted, no subscription made yet).
    mine = [
        {k: v for k, v in t.items() if k not in ("unreadCount", "subscribed")} for t in page["data"]
    ]
    assert mine == rest_page["data"]
    assert all((t["unreadCount"], t["subscribed"]) == (0, False) for t in page["data"])

    last = gw.ask(ada, "threads.list", cursor=page["nextCursor"])
    assert [t["id"] for t in last["data"]] == [made[0]]
    assert last["nextCursor"] is None
    assert {t["id"] for t in page["data"] + last["data"]} == set(made)

    gw.send(ada, "thread.resolve", threadId=made[3], resolved=True)
    fake.clear()
    resolved = gw.ask(ada, "threads.list", resolved=True)
    assert [t["id"] for t in resolved["data"]] == [made[3]]


def test_threads_list_with_comments(gw: Gateway, env: Env) -> None:
    """`comments: true` embeds each thread's first comments, as GET .../threads/{threadId}: a
    client that (re)connects can show the discussion so far."""
    fake = gw.fake
    ada = gw.connect(env, "ada", ROOM)
    gw.send(ada, "thread.create", body="First?")
    thread = fake.take_one(ada)["thread"]
    gw.send(ada, "comment.create", threadId=thread["id"], body="Second.")
    fake.clear()

    page = gw.ask(ada, "threads.list", comments=True)
    assert [t["id"] for t in page["data"]] == [thread["id"]]
    listed = page["data"][0]
    assert [c["body"] for c in listed["comments"]] == ["First?", "Second."]
    assert listed["commentsNextCursor"] is None
    assert "comments" not in gw.ask(ada, "threads.list", comments=False)["data"][0]
    assert_error(gw.ask(ada, "threads.list", comments="yes"), "INVALID_INPUT", "comments")


# --- invalid messages ----------------------------------------------------------------------------

BAD_FRAMES: list[tuple[str | None, str, str | None]] = [
    # raw body, code, field
    ("not json", "MALFORMED_JSON", None),
    ("", "MALFORMED_JSON", None),
    (None, "MALFORMED_JSON", None),
    ('{"type": "ping"', "MALFORMED_JSON", None),
    ('{"type": "broadcast", "event": NaN}', "INVALID_INPUT", "event"),  # not JSON: refused
    ("[1, 2]", "INVALID_INPUT", "message"),
    ('"ping"', "INVALID_INPUT", "message"),
    ("null", "INVALID_INPUT", "message"),
]

# (message, code, field): valid JSON objects, each sent with a requestId that must come back.
BAD_MESSAGES: list[tuple[dict[str, Any], str, str | None]] = [
    ({}, "MISSING_FIELD", "type"),
    ({"type": 5}, "MISSING_FIELD", "type"),
    ({"type": "launch"}, "UNKNOWN_TYPE", "type"),
    ({"type": "ping", "extra": 1}, "UNKNOWN_FIELD", "extra"),
    ({"type": "join", "room": "room-2"}, "UNKNOWN_FIELD", "room"),
    ({"type": "presence.update"}, "INVALID_INPUT", "data"),
    ({"type": "presence.update", "data": "here"}, "INVALID_INPUT", "data"),
    ({"type": "presence.update", "data": [1]}, "INVALID_INPUT", "data"),
    ({"type": "broadcast"}, "MISSING_FIELD", "event"),
    ({"type": "thread.create"}, "MISSING_FIELD", "body"),
    ({"type": "thread.create", "body": 7}, "INVALID_INPUT", "body"),
    ({"type": "thread.create", "body": "   "}, "INVALID_INPUT", "body"),
    ({"type": "thread.create", "body": "x", "metadata": "m"}, "INVALID_INPUT", "metadata"),
    ({"type": "comment.create", "body": "x"}, "MISSING_FIELD", "threadId"),
    ({"type": "comment.create", "threadId": 5, "body": "x"}, "INVALID_INPUT", "threadId"),
    ({"type": "comment.update", "threadId": "th_x", "body": "x"}, "MISSING_FIELD", "commentId"),
    ({"type": "comment.delete", "threadId": ["t"], "commentId": "c"}, "INVALID_INPUT", "threadId"),
    ({"type": "thread.resolve", "threadId": "th_x"}, "MISSING_FIELD", "resolved"),
    (
        {"type": "thread.resolve", "threadId": "th_x", "resolved": "yes"},
        "INVALID_INPUT",
        "resolved",
    ),
    ({"type": "threads.list", "cursor": 5}, "INVALID_INPUT", "cursor"),
    ({"type": "threads.list", "resolved": 1}, "INVALID_INPUT", "resolved"),
]


def test_invalid_frames_get_an_error_and_the_connection_stays_usable(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    failures = []

    def check(label: str, frames: list[dict[str, Any]], code: str, field: str | None) -> None:
        try:
            assert len(frames) == 1, frames
            assert_error(frames[0], code, field)
            if field is not None:
                assert field in frames[0]["message"], frames[0]
            assert fake.take(grace) == []
            gw.clock.advance(1)  # a fresh rate window for every case
            assert gw.ask(ada, "ping") == {"type": "pong"}  # still usable
        except AssertionError as exc:
            failures.append(f"{label}: {exc}")

    for raw, code, field in BAD_FRAMES:
        gw.send_raw(ada, raw)
        frames = fake.take(ada)
        check(repr(raw), frames, code, field)
        if frames:
            assert "requestId" not in frames[0]
    for n, (message, code, field) in enumerate(BAD_MESSAGES):
        request_id = f"bad-{n}"
        gw.send_raw(ada, json.dumps({**message, "requestId": request_id}))
        frames = fake.take(ada)
        check(repr(message), frames, code, field)
        if frames and frames[0].get("requestId") != request_id:
            failures.append(f"{message!r}: requestId not echoed: {frames[0]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("request_id", [5, "", "x" * (protocol.MAX_REQUEST_ID + 1), ["a"]])
def test_a_bad_request_id_is_refused_and_not_echoed(gw: Gateway, env: Env, request_id: Any) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.send_raw(ada, json.dumps({"type": "ping", "requestId": request_id}))
    error = gw.fake.take_one(ada)
    assert_error(error, "INVALID_INPUT", "requestId")
    assert "requestId" not in error
    ok = "r" * protocol.MAX_REQUEST_ID
    assert gw.ask(ada, "ping", requestId=ok) == {"type": "pong", "requestId": ok}


def test_an_unexpected_failure_is_an_internal_error_and_the_connection_survives(
    gw: Gateway, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = gw.connect(env, "ada", ROOM)

    def broken(ctx: protocol.Context) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(protocol.HANDLERS, "broadcast", (("event",), broken))
    gw.send(ada, "broadcast", event=1, requestId="x")
    error = gw.fake.take_one(ada)
    assert_error(error, "INTERNAL_ERROR")
    assert error["requestId"] == "x" and "boom" not in error["message"]
    assert gw.ask(ada, "ping") == {"type": "pong"}


# --- rate limit ------------------------------------------------------------------------------


def test_rate_limit_per_connection_per_second(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    limit = runtime.services().settings.ws_messages_per_second
    assert limit >= 2
    ada, grace = two_in_a_room(gw, env)
    gw.clock.current = int(gw.clock.now()) + 1.01  # the start of the next second

    for n in range(limit):
        assert gw.ask(ada, "ping", requestId=str(n)) == {"type": "pong", "requestId": str(n)}
    gw.clock.advance(0.9)  # still the same second
    gw.send(ada, "broadcast", event="flood", requestId="over")
    error = fake.take_one(ada)
    assert_error(error, "RATE_LIMITED")
    assert error["retryAfter"] == 1 and error["requestId"] == "over"
    assert fake.take(grace) == []  # the refused message did nothing
    assert gw.ask(grace, "ping") == {"type": "pong"}  # the limit is per connection

    gw.clock.advance(0.1)  # the next second
    gw.send(ada, "broadcast", event="again")
    assert fake.take_one(grace)["event"] == "again"
    assert fake.take(ada) == []


# --- unknown and expired connections ---------------------------------------------------------


def test_a_message_from_an_unknown_connection_is_refused(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    ghost = "GhostConnId0000="

    gw.send_raw(ghost, json.dumps({"type": "broadcast", "event": 1, "requestId": "g"}))

    error = fake.take_one(ghost)
    assert_error(error, "NOT_CONNECTED")
    assert error["requestId"] == "g"
    assert fake.endpoints[ghost] == ("abc123.execute-api.us-east-1.amazonaws.com", "api")
    assert fake.take(ada) == [] and fake.take(grace) == []
    assert connection_rows(ghost) == []  # counting its rate did not create a row


def test_a_message_after_disconnect_or_expiry_is_refused(gw: Gateway, env: Env) -> None:
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    gw.disconnect(ada)
    fake.clear()
    gw.send(ada, "ping")
    assert_error(fake.take_one(ada), "NOT_CONNECTED")

    set_expiry(grace, gw.clock.now() - 1)
    gw.send(grace, "broadcast", event=1)
    assert_error(fake.take_one(grace), "NOT_CONNECTED")


def test_user_joined_carries_the_presence_already_set(gw: Gateway, env: Env) -> None:
    """Presence set before (or between) joins is what the others see in user.joined."""
    fake = gw.fake
    ada, grace = two_in_a_room(gw, env)
    gw.send(ada, "presence.update", data={"cursor": [3, 4]})
    assert fake.take_one(grace)["data"] == {"cursor": [3, 4]}

    gw.join(ada)  # joining again (a client re-syncing) must not wipe ada's presence

    (joined,) = fake.take(grace)
    assert joined["type"] == "user.joined" and joined["connectionId"] == ada
    assert joined["presence"] == {"cursor": [3, 4]}
