"""Every frame fits one WebSocket message (issue 11, class 2). API Gateway refuses a message over
128 KB posted to a connection, and the client never learns: a busy room's first `threads.list`
was refused, and the widget showed "Loading comments..." forever. The FakeApi refuses such posts
as API Gateway does (recorded in `too_large`), so each test also checks that none was attempted.

Frame by frame: `threads.listed` and `comments.listed` pages are cut to fit and their cursors
continue after the last item sent; a thread sheds embedded comments (commentsNextCursor goes on
with them); `room.joined` of a big room is followed by `room.members` frames; events carrying a
thread fit; a broadcast that cannot fit is refused to its sender; an error naming a huge field
still arrives; and an item that cannot fit alone is an `error` whose cursor skips it."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import runtime
from chalicelib.services.channel import encode

from .conftest import MAX_POST_BYTES, Env, Gateway, mint, rest_ok

ROOM = "room-1"
EMOJI = "\U0001f600"  # 4 bytes of UTF-8, 12 as JSON (\ud83d\ude00)


def post(client: Any, env: Env, path: str, body: dict[str, Any], status: int = 201) -> Any:
    """A REST call with its body as raw UTF-8 (the compact form a client may send)."""
    resp = client.http.request(
        "POST",
        f"/api/v1/rooms/{ROOM}{path}",
        headers={"Authorization": f"Bearer {env.sk}", "Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
    return rest_ok(resp, status)


def listed_threads(gw: Gateway, me: str) -> tuple[list[dict[str, Any]], int]:
    """Every thread of the room, following nextCursor; and how many frames it took."""
    threads: list[dict[str, Any]] = []
    cursor, frames = None, 0
    while True:
        page = gw.ask(me, "threads.list", comments=True, **({"cursor": cursor} if cursor else {}))
        assert page["type"] == "threads.listed", page
        assert len(page["data"]) <= 20
        threads += page["data"]
        frames += 1
        cursor = page["nextCursor"]
        if cursor is None:
            return threads, frames


def all_comments(gw: Gateway, me: str, thread: dict[str, Any]) -> list[dict[str, Any]]:
    """A thread's embedded comments, then the rest through comments.list."""
    comments = list(thread["comments"])
    cursor = thread["commentsNextCursor"]
    while cursor is not None:
        page = gw.ask(me, "comments.list", threadId=thread["id"], cursor=cursor)
        assert page["type"] == "comments.listed" and page["threadId"] == thread["id"], page
        comments += page["data"]
        cursor = page["nextCursor"]
    return comments


# --- threads.listed and comments.listed ---------------------------------------------------------


def test_a_busy_rooms_threads_come_in_pages_that_fit_and_the_cursor_continues(
    gw: Gateway, env: Env, client: Any
) -> None:
    """20 threads of 5 comments of 1.5 KB: some 170 KB, once one frame. (The browser test has a
    room of many short comments; moto makes hundreds of writes slow here.)"""
    me = gw.connect(env, "ada", ROOM)
    made: dict[str, list[str]] = {}
    for t in range(20):
        words = f"thread {t}: " + "budget and planning notes " * 58
        thread = post(client, env, "/threads", {"comment": {"userId": "ada", "body": words}})
        made[thread["id"]] = [words]
        for n in range(4):
            body = f"reply {n} to {t}: " + "lorem ipsum dolor sit amet " * 55
            post(client, env, f"/threads/{thread['id']}/comments", {"userId": "bob", "body": body})
            made[thread["id"]].append(body)
    gw.fake.clear()

    threads, frames = listed_threads(gw, me)
    assert frames >= 2  # one frame could not hold them
    assert [t["id"] for t in threads] == sorted(made, reverse=True)  # all, newest first, once
    for t in threads:
        assert [c["body"] for c in all_comments(gw, me, t)] == made[t["id"]]
    assert gw.fake.too_large == [] and gw.fake.largest <= MAX_POST_BYTES


def test_a_thread_with_more_comments_than_fit_sends_what_fits_and_comments_list_the_rest(
    gw: Gateway, env: Env, client: Any
) -> None:
    me = gw.connect(env, "ada", ROOM)
    first = post(client, env, "/threads", {"comment": {"userId": "ada", "body": "a" * 9000}})
    bodies = ["a" * 9000]
    for n in range(40):  # 41 comments of about 9 KB: over 360 KB
        bodies.append(f"{n} " + "b" * 9000)
        post(client, env, f"/threads/{first['id']}/comments", {"userId": "bob", "body": bodies[-1]})
    gw.fake.clear()

    (thread,) = gw.ask(me, "threads.list", comments=True)["data"]
    assert 0 < len(thread["comments"]) < 41 and thread["commentsNextCursor"]
    assert thread["commentCount"] == 41
    assert [c["body"] for c in all_comments(gw, me, thread)] == bodies
    # comments.list from the start pages the same way.
    page = gw.ask(me, "comments.list", threadId=thread["id"])
    assert [c["body"] for c in page["data"]] == bodies[: len(page["data"])] and page["nextCursor"]
    assert gw.fake.too_large == []


def test_a_thread_too_large_with_its_first_comment_is_announced_without_it(
    gw: Gateway, env: Env, client: Any
) -> None:
    """Metadata and a first comment of emoji: about 170 KB as JSON, from a 56 KB request. Every
    copy of thread.created (the REST writer's room, the socket writer's acknowledgement) fits,
    its commentsNextCursor reads the comment with comments.list, and threads.list agrees."""
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.fake.clear()
    metadata = {f"k{i}": EMOJI * 200 for i in range(20)}
    body = EMOJI * 10_000
    made = post(
        client, env, "/threads", {"comment": {"userId": "ada", "body": body}, "metadata": metadata}
    )
    assert made["comments"][0]["body"] == body  # the REST answer has it all

    for me in (ada, grace):
        (event,) = gw.fake.take(me)
        assert event["type"] == "thread.created" and event["thread"]["id"] == made["id"]
        assert event["thread"]["metadata"] == metadata and event["thread"]["comments"] == []
        assert [c["body"] for c in all_comments(gw, me, event["thread"])] == [body]

    frame = json.dumps(
        {"type": "thread.create", "body": body, "metadata": metadata, "requestId": "t1"},
        ensure_ascii=False,
    )
    gw.send_raw(ada, frame)
    (ack,) = gw.fake.take(ada)
    assert ack["type"] == "thread.created" and ack["requestId"] == "t1", ack
    assert ack["thread"]["comments"] == [] and ack["thread"]["commentsNextCursor"]
    assert gw.fake.take(grace)[0]["thread"]["id"] == ack["thread"]["id"]

    threads, _ = listed_threads(gw, ada)
    assert [t["id"] for t in threads] == [ack["thread"]["id"], made["id"]]
    assert all(all_comments(gw, ada, t)[0]["body"] == body for t in threads)
    assert gw.fake.too_large == []


def test_an_item_too_large_for_any_frame_is_an_error_whose_cursor_skips_it(
    gw: Gateway, env: Env, client: Any, services: runtime.Services
) -> None:
    """Stored data beyond today's input limits (written by an older version, or by hand): the
    client is told which item could not be sent and goes on past it."""
    me = gw.connect(env, "ada", ROOM)
    thread = post(client, env, "/threads", {"comment": {"userId": "ada", "body": "one"}})
    two = post(client, env, f"/threads/{thread['id']}/comments", {"userId": "bob", "body": "two"})
    post(client, env, f"/threads/{thread['id']}/comments", {"userId": "bob", "body": "three"})
    later = post(client, env, "/threads", {"comment": {"userId": "ada", "body": "later"}})
    table = boto3.resource("dynamodb").Table(services.settings.data_table)
    table.update_item(  # 200 KB of UTF-8: 600 KB as JSON
        Key={"pk": f"ENV#{env.id}#THREAD#{thread['id']}", "sk": f"COMMENT#{two['id']}"},
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": EMOJI * 50_000},
    )
    table.update_item(
        Key={"pk": f"ENV#{env.id}#ROOM#{ROOM}", "sk": f"THREAD#{later['id']}"},
        UpdateExpression="SET metadata = :m",
        ExpressionAttributeValues={":m": json.dumps({"huge": EMOJI * 50_000}, ensure_ascii=False)},
    )
    gw.fake.clear()

    page = gw.ask(me, "comments.list", threadId=thread["id"], requestId="c1")
    assert [c["body"] for c in page["data"]] == ["one"] and page["requestId"] == "c1"
    error = gw.ask(
        me, "comments.list", threadId=thread["id"], cursor=page["nextCursor"], requestId="c2"
    )
    assert error["type"] == "error" and error["code"] == "ITEM_TOO_LARGE", error
    assert error["itemId"] == two["id"] and error["requestId"] == "c2"
    rest = gw.ask(me, "comments.list", threadId=thread["id"], cursor=error["nextCursor"])
    assert [c["body"] for c in rest["data"]] == ["three"] and rest["nextCursor"] is None

    error = gw.ask(me, "threads.list", comments=True, requestId="t1")  # the newest is too large
    assert error["code"] == "ITEM_TOO_LARGE" and error["itemId"] == later["id"], error
    page = gw.ask(me, "threads.list", comments=True, cursor=error["nextCursor"])
    assert [t["id"] for t in page["data"]] == [thread["id"]] and page["nextCursor"] is None
    assert gw.fake.too_large == []


# --- room.joined --------------------------------------------------------------------------------


def test_a_big_rooms_members_come_in_room_joined_then_room_members_frames(
    gw: Gateway, env: Env
) -> None:
    """60 members with long avatars and 1 KB of presence each: about 160 KB of members."""
    avatar = "https://avatars.example.com/u/" + "a" * 1500 + ".png"
    here: dict[str, dict[str, Any]] = {}
    for n in range(60):
        user = f"user-{n:02d}"
        conn = gw.connect(env, user, ROOM, token=mint(env.sk, user, f"User {n}", avatar))
        presence = {"cursor": [n, n], "note": f"{n}" + "x" * 950}
        gw.send(conn, "presence.update", data=presence)
        here[conn] = {"userId": user, "presence": presence}
    gw.fake.clear()

    zoe = gw.connect(env, "zoe", ROOM)
    gw.send(zoe, "join", requestId="j")
    frames = gw.fake.take(zoe)
    assert [f["type"] for f in frames] == ["room.joined"] + ["room.members"] * (len(frames) - 1)
    assert len(frames) >= 2 and frames[0]["more"] is True
    assert [f["more"] for f in frames[1:]] == [True] * (len(frames) - 2) + [False]
    assert all(f["requestId"] == "j" for f in frames)
    others = [o for f in frames for o in f["others"]]
    assert {
        o["connectionId"]: {"userId": o["userId"], "presence": o["presence"]} for o in others
    } == here
    assert len(others) == 60 and all(o["avatar"] == avatar for o in others)
    for conn in here:  # each of them is told about zoe, once
        assert [f["type"] for f in gw.fake.take(conn)] == ["user.joined"]
    assert gw.fake.too_large == []

    # A small room still answers in one frame, as it always did.
    gw.connect(env, "ann", "room-2")
    solo = gw.connect(env, "bea", "room-2")
    gw.fake.clear()
    (frame,) = [gw.join(solo)]
    assert "more" not in frame and len(frame["others"]) == 1


# --- broadcast and errors -----------------------------------------------------------------------


def broadcast_frame(conn: str, user: str, event: Any) -> int:
    return len(encode({"type": "broadcast", "connectionId": conn, "userId": user, "event": event}))


def test_a_broadcast_is_delivered_up_to_128_kb_and_refused_to_its_sender_beyond(
    gw: Gateway, env: Env, client: Any
) -> None:
    """A frame of at most 64 KB can make more than 128 KB of JSON (é is 2 bytes in, 6 out)."""
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.fake.clear()
    overhead = broadcast_frame(ada, "ada", "")
    accents, rest = divmod(MAX_POST_BYTES - overhead, 6)
    exactly = "é" * accents + "x" * rest
    assert broadcast_frame(ada, "ada", exactly) == MAX_POST_BYTES

    gw.send_raw(ada, json.dumps({"type": "broadcast", "event": exactly}, ensure_ascii=False))
    assert gw.fake.take(ada) == []
    (got,) = gw.fake.take(grace)
    assert got["event"] == exactly

    over = exactly + "x"
    gw.send_raw(
        ada, json.dumps({"type": "broadcast", "event": over, "requestId": "b"}, ensure_ascii=False)
    )
    (error,) = gw.fake.take(ada)
    assert (
        error["type"] == "error"
        and error["code"] == "EVENT_TOO_LARGE"
        and error["requestId"] == "b"
    )
    assert gw.fake.take(grace) == []

    resp = client.http.request(
        "POST",
        f"/api/v1/rooms/{ROOM}/broadcast",
        headers={"Authorization": f"Bearer {env.sk}", "Content-Type": "application/json"},
        body=json.dumps({"event": "é" * 30_000}, ensure_ascii=False).encode(),
    )
    assert resp.status_code == 413 and resp.json_body["error"]["code"] == "EVENT_TOO_LARGE"
    assert gw.fake.take(ada) == [] and gw.fake.take(grace) == []
    assert gw.fake.too_large == []


def test_an_error_naming_a_huge_field_still_reaches_its_sender(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    name = "é" * 20_000  # 40 KB in; twice 120 KB as JSON if echoed whole
    gw.send_raw(ada, json.dumps({"type": "ping", name: 1, "requestId": "p"}, ensure_ascii=False))
    (error,) = gw.fake.take(ada)
    assert error["code"] == "UNKNOWN_FIELD" and error["requestId"] == "p"
    assert name.startswith(error["field"].rstrip("…")) and len(error["field"]) < 2000
    assert gw.fake.too_large == []


# --- REST: active users ------------------------------------------------------------------------


def test_active_users_pages_by_size_and_the_cursor_continues(
    gw: Gateway, env: Env, client: Any, monkeypatch: Any
) -> None:
    from chalicelib.wire import sizing

    conns = sorted(gw.connect(env, f"user-{n}", ROOM) for n in range(12))
    monkeypatch.setattr(sizing, "PAGE_BUDGET_BYTES", 500)  # about 3 members of ~150 bytes
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        query = f"?cursor={cursor}" if cursor else ""
        resp = client.http.request(
            "GET",
            f"/api/v1/rooms/{ROOM}/active_users{query}",
            headers={"Authorization": f"Bearer {env.sk}"},
        )
        body = rest_ok(resp)
        assert len(json.dumps(body["data"], separators=(",", ":"))) <= 500
        seen += [m["connectionId"] for m in body["data"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == conns and pages >= 3
