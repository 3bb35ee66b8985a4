"""A room's order (issue 15): every change takes the room's next `seq` in its own transaction;
`join` with `sinceSeq` replays what a client missed (or says `resync.required`); `GET .../events`
gives backends the same; socket writes named with `clientMutationId` are stored once however
often they are resent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.errors import Replayed
from chalicelib.realtime import protocol
from chalicelib.repositories import connections
from chalicelib.repositories import events as event_log
from chalicelib.services.callers import MemberCaller
from chalicelib.wire import sizing

from .conftest import Env, Gateway, new_env, rest, rest_ok

ROOM = "room-1"


def v1(client: Any, env: Env, method: str, path: str, body: Any = None) -> Any:
    return rest(client, method, f"/api/v1/rooms/{ROOM}{path}", env.sk, body)


def new_thread(client: Any, env: Env, body: str = "First", room: str = ROOM) -> dict[str, Any]:
    """A thread in `room` (created first if it does not exist)."""
    made = rest(client, "POST", "/api/v1/rooms", env.sk, {"id": room})
    assert made.status_code in (201, 409), made.body
    created = rest(
        client,
        "POST",
        f"/api/v1/rooms/{room}/threads",
        env.sk,
        {"comment": {"userId": "srv", "body": body}},
    )
    return rest_ok(created, 201)  # type: ignore[no-any-return]


def reply(client: Any, env: Env, thread_id: str, body: str) -> dict[str, Any]:
    made = v1(
        client, env, "POST", f"/threads/{thread_id}/comments", {"userId": "srv", "body": body}
    )
    return rest_ok(made, 201)  # type: ignore[no-any-return]


def all_events(client: Any, env: Env, since: int | None = None, limit: int = 3) -> list[Any]:
    """Every event through the cursor pages, from after `since`."""
    found, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&since={since}" if since is not None else "")
        query += f"&cursor={cursor}" if cursor else ""
        page = rest_ok(v1(client, env, "GET", f"/events{query}"))
        found += page["data"]
        cursor = page["nextCursor"]
        if cursor is None:
            return found


# --- seq ------------------------------------------------------------------------------------------


def test_every_change_takes_the_next_seq_and_says_so_in_its_frame_and_event(
    gw: Gateway, env: Env, client: Any
) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.join(ada)
    gw.fake.clear()
    thread = new_thread(client, env)
    comment = reply(client, env, thread["id"], "Two")
    rest_ok(v1(client, env, "PATCH", f"/threads/{thread['id']}", {"resolved": True}))
    rest_ok(rest(client, "PATCH", f"/api/v1/rooms/{ROOM}", env.sk, {"metadata": {"t": 1}}))
    path = f"/threads/{thread['id']}/comments/{comment['id']}"
    assert v1(client, env, "DELETE", path).status_code == 204

    frames = gw.fake.take(ada)
    assert [(f["type"], f["seq"]) for f in frames] == [
        ("thread.created", 1),
        ("comment.created", 2),
        ("thread.updated", 3),
        ("room.updated", 4),
        ("comment.deleted", 5),
    ]
    assert frames[3]["room"]["metadata"] == {"t": 1}
    assert "usersAccess" not in frames[3]["room"]  # members are not told who else is granted
    events = all_events(client, env)
    assert [(e["type"], e["seq"], e["data"]["seq"]) for e in events] == [
        ("thread.created", 1, 1),
        ("comment.created", 2, 2),
        ("thread.resolved", 3, 3),
        ("room.updated", 4, 4),
        ("comment.deleted", 5, 5),
    ]
    assert events[1]["data"]["body"] == "Two" and events[1]["data"]["roomId"] == ROOM
    assert events[3]["data"]["usersAccess"] == {}  # the backend sees the whole room


def test_rooms_count_apart_and_a_room_created_again_never_reuses_a_seq(
    gw: Gateway, env: Env, client: Any
) -> None:
    new_thread(client, env)
    rest_ok(rest(client, "POST", "/api/v1/rooms", env.sk, {"id": "room-2"}), 201)
    new_thread(client, env, room="room-2")
    assert event_log.last_seq(env.id, ROOM) == 1 and event_log.last_seq(env.id, "room-2") == 1

    assert rest(client, "DELETE", f"/api/v1/rooms/{ROOM}", env.sk).status_code == 204
    assert event_log.last_seq(env.id, ROOM) == 2  # room.deleted took 2
    rest_ok(rest(client, "POST", "/api/v1/rooms", env.sk, {"id": ROOM}), 201)
    new_thread(client, env)

    events = all_events(client, env)
    assert [(e["type"], e["seq"]) for e in events] == [
        ("thread.created", 1),
        ("room.deleted", 2),
        ("thread.created", 3),
    ]


def test_a_refused_change_takes_no_seq(gw: Gateway, env: Env, client: Any) -> None:
    thread = new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.send(ada, "comment.create", threadId=thread["id"], body="mine")
    mine = gw.fake.take(ada)[-1]["comment"]
    gw.fake.clear()

    frame = gw.ask(grace, "comment.delete", threadId=thread["id"], commentId=mine["id"])

    assert frame["code"] == "NOT_COMMENT_AUTHOR"
    assert event_log.last_seq(env.id, ROOM) == 2
    assert reply(client, env, thread["id"], "next") and event_log.last_seq(env.id, ROOM) == 3


# --- catch-up over the socket ----------------------------------------------------------------


def test_a_rejoin_since_a_seq_gets_what_it_missed_in_order_then_caught_up(
    gw: Gateway, env: Env, client: Any
) -> None:
    thread = new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    joined = gw.join(ada)
    assert joined["seq"] == 1
    gw.disconnect(ada)
    made = [reply(client, env, thread["id"], f"while away {n}") for n in range(3)]
    rest_ok(v1(client, env, "PATCH", f"/threads/{thread['id']}", {"resolved": True}))

    again = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    gw.send(again, "join", sinceSeq=joined["seq"], requestId="j")
    frames = gw.fake.take(again)

    assert [f["type"] for f in frames] == ["room.joined", "room.events", "room.caughtUp"]
    assert all(f["requestId"] == "j" for f in frames)
    assert frames[0]["seq"] == 5
    events = frames[1]["events"]
    assert [(e["seq"], e["type"]) for e in events] == [
        (2, "comment.created"),
        (3, "comment.created"),
        (4, "comment.created"),
        (5, "thread.resolved"),
    ]
    assert [e["data"]["id"] for e in events[:3]] == [c["id"] for c in made]
    assert frames[2] == {"type": "room.caughtUp", "seq": 5, "requestId": "j"}


def test_a_client_that_missed_nothing_is_caught_up_at_once(
    gw: Gateway, env: Env, client: Any
) -> None:
    new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    gw.send(ada, "join", sinceSeq=1)
    assert [f["type"] for f in gw.fake.take(ada)] == ["room.joined", "room.caughtUp"]


def test_missed_events_come_in_as_many_frames_as_fit_128_kb(
    gw: Gateway, env: Env, client: Any
) -> None:
    thread = new_thread(client, env)
    big = "x" * 9_000
    for n in range(30):  # about 270 KB of comments: three frames at least
        reply(client, env, thread["id"], f"{n} {big}")
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()

    gw.send(ada, "join", sinceSeq=1, requestId="j")
    frames = gw.fake.take(ada)

    batches = [f for f in frames if f["type"] == "room.events"]
    assert len(batches) >= 3
    assert gw.fake.too_large == [] and gw.fake.largest <= sizing.FRAME_MAX_BYTES
    assert gw.fake.largest > sizing.FRAME_MAX_BYTES * 0.8  # the frames were filled
    seqs = [e["seq"] for f in batches for e in f["events"]]
    assert seqs == list(range(2, 32))
    assert frames[-1] == {"type": "room.caughtUp", "seq": 31, "requestId": "j"}


@pytest.mark.parametrize("why", ["expired", "from the future", "too far behind"])
def test_a_client_the_log_cannot_bring_up_to_date_is_told_to_resync(
    gw: Gateway, env: Env, client: Any, why: str
) -> None:
    gw.reconfigure(events_ttl_seconds=60)
    ada = gw.connect(env, "ada", ROOM)  # (a token minted later would be from the future)
    thread = new_thread(client, env)
    reply(client, env, thread["id"], "two")
    since = 1
    if why == "expired":  # the events after 1 are past their retention
        gw.clock.advance(61)
    elif why == "from the future":
        since = 99
    else:
        for n in range(3):
            reply(client, env, thread["id"], f"more {n}")

        original, protocol.CATCH_UP_MAX = protocol.CATCH_UP_MAX, 2
    gw.fake.clear()
    try:
        gw.send(ada, "join", sinceSeq=since, requestId="j")
    finally:
        if why == "too far behind":
            protocol.CATCH_UP_MAX = original
    frames = gw.fake.take(ada)

    last = event_log.last_seq(env.id, ROOM)
    assert [f["type"] for f in frames] == ["room.joined", "resync.required"]
    assert frames[1] == {"type": "resync.required", "seq": last, "requestId": "j"}


def test_since_seq_must_be_a_whole_number(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    for bad in (-1, 1.5, "3", True):
        frame = gw.ask(ada, "join", sinceSeq=bad)
        assert (frame["type"], frame["code"], frame["field"]) == (
            "error",
            "INVALID_INPUT",
            "sinceSeq",
        )


def test_the_catch_up_shows_members_no_access_lists(gw: Gateway, env: Env, client: Any) -> None:
    grants = {"usersAccess": {"ada": "write", "secret-agent": "read"}}
    rest_ok(rest(client, "POST", "/api/v1/rooms", env.sk, {"id": ROOM}), 201)
    rest_ok(rest(client, "PATCH", f"/api/v1/rooms/{ROOM}", env.sk, grants))
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    gw.send(ada, "join", sinceSeq=0)
    (batch,) = [f for f in gw.fake.take(ada) if f["type"] == "room.events"]
    (event,) = batch["events"]
    assert event["type"] == "room.updated" and "secret-agent" not in json.dumps(event)


# --- GET /api/v1/rooms/{roomId}/events -------------------------------------------------------


def test_rest_events_page_with_cursors_and_since(gw: Gateway, env: Env, client: Any) -> None:
    thread = new_thread(client, env)
    for n in range(6):
        reply(client, env, thread["id"], f"r{n}")

    assert [e["seq"] for e in all_events(client, env, limit=2)] == list(range(1, 8))
    assert [e["seq"] for e in all_events(client, env, since=4, limit=2)] == [5, 6, 7]
    assert rest_ok(v1(client, env, "GET", "/events?since=7")) == {"data": [], "nextCursor": None}


@pytest.mark.parametrize("query", ["since=8", "since=0&expired"])
def test_rest_events_say_resync_required_as_410(
    gw: Gateway, env: Env, client: Any, query: str
) -> None:
    gw.reconfigure(events_ttl_seconds=60)
    new_thread(client, env)
    new_thread(client, env)
    if query.endswith("&expired"):
        gw.clock.advance(61)
        query = "since=0"
    resp = v1(client, env, "GET", f"/events?{query}")
    assert resp.status_code == 410
    error = resp.json_body["error"]
    assert error["code"] == "RESYNC_REQUIRED" and "last seq is 2" in error["message"]


def test_a_deleted_rooms_events_stay_readable_and_an_unknown_room_is_404(
    gw: Gateway, env: Env, client: Any
) -> None:
    new_thread(client, env)
    assert rest(client, "DELETE", f"/api/v1/rooms/{ROOM}", env.sk).status_code == 204
    assert [e["type"] for e in all_events(client, env, since=0)] == [
        "thread.created",
        "room.deleted",
    ]
    resp = rest(client, "GET", "/api/v1/rooms/never-was/events", env.sk)
    assert resp.status_code == 404 and resp.json_body["error"]["code"] == "ROOM_NOT_FOUND"


def test_rest_events_refuse_a_bad_since(gw: Gateway, env: Env, client: Any) -> None:
    new_thread(client, env)
    for bad in ("-1", "1.5", "x", "9" * 16):
        resp = v1(client, env, "GET", f"/events?since={bad}")
        assert resp.status_code == 400 and resp.json_body["error"]["field"] == "since", bad


def test_one_environment_never_reads_anothers_events(gw: Gateway, env: Env, client: Any) -> None:
    new_thread(client, env)
    other = new_env("Other")
    resp = rest(client, "GET", f"/api/v1/rooms/{ROOM}/events", other.sk)
    assert resp.status_code == 404


# --- clientMutationId ------------------------------------------------------------------------


def test_a_named_write_resent_is_stored_once_and_acknowledged_again(
    gw: Gateway, env: Env, client: Any
) -> None:
    thread = new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.fake.clear()
    message = {"threadId": thread["id"], "body": "once", "clientMutationId": "m-1"}

    gw.send(ada, "comment.create", requestId="a", **message)
    first = gw.fake.take_one(ada)
    assert gw.fake.take_one(grace)["comment"] == first["comment"]
    gw.send(ada, "comment.create", requestId="b", **message)
    again = gw.fake.take_one(ada)

    assert again == {**first, "requestId": "b", "replay": True}
    assert gw.fake.take(grace) == []  # the room heard of it when it was made
    comments = rest_ok(v1(client, env, "GET", f"/threads/{thread['id']}/comments"))["data"]
    assert [c["body"] for c in comments] == ["First", "once"]
    assert event_log.last_seq(env.id, ROOM) == 2


def test_each_kind_of_write_replays_its_own_acknowledgement(
    gw: Gateway, env: Env, client: Any
) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    sent = [
        ("thread.create", {"body": "t"}),
        ("comment.create", {"threadId": "<t>", "body": "c"}),
        ("comment.update", {"threadId": "<t>", "commentId": "<c>", "body": "c2"}),
        ("thread.resolve", {"threadId": "<t>", "resolved": True}),
        ("comment.delete", {"threadId": "<t>", "commentId": "<c>"}),
    ]
    ids: dict[str, str] = {}
    for n, (kind, fields) in enumerate(sent):
        fields = {k: ids.get(v, v) for k, v in fields.items()}
        gw.send(ada, kind, clientMutationId=f"w{n}", **fields)
        ack = gw.fake.take_one(ada)
        ids.setdefault("<t>", (ack.get("thread") or {}).get("id", ""))
        if ack["type"] == "comment.created":
            ids["<c>"] = ack["comment"]["id"]
        gw.send(ada, kind, clientMutationId=f"w{n}", **fields)
        assert gw.fake.take_one(ada) == {**ack, "replay": True}, kind
    assert event_log.last_seq(env.id, ROOM) == len(sent)


def test_the_same_id_from_another_user_or_room_is_another_write(
    gw: Gateway, env: Env, client: Any
) -> None:
    thread = new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.send(ada, "comment.create", threadId=thread["id"], body="a", clientMutationId="same")
    gw.send(grace, "comment.create", threadId=thread["id"], body="g", clientMutationId="same")
    gw.fake.clear()
    comments = rest_ok(v1(client, env, "GET", f"/threads/{thread['id']}/comments"))["data"]
    assert [c["body"] for c in comments] == ["First", "a", "g"]


def test_a_named_write_is_forgotten_after_a_day(gw: Gateway, env: Env, client: Any) -> None:
    thread = new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    gw.send(ada, "comment.create", threadId=thread["id"], body="a", clientMutationId="m")
    connection = connections.get(ada)
    assert connection is not None
    named = MemberCaller(connection, None, "m")
    collab = gw.graph.collab
    gw.clock.advance(24 * 3600 - 1)
    with pytest.raises(Replayed):
        collab.create_comment(named, ROOM, thread["id"], "ada", "a")
    gw.clock.advance(2)  # (the socket's row has expired too: the service is asked directly)
    collab.create_comment(named, ROOM, thread["id"], "ada", "a")
    comments = rest_ok(v1(client, env, "GET", f"/threads/{thread['id']}/comments"))["data"]
    assert [c["body"] for c in comments] == ["First", "a", "a"]


@pytest.mark.parametrize("bad", ["", "x" * 65, 7, None])
def test_a_client_mutation_id_is_1_to_64_characters(
    gw: Gateway, env: Env, client: Any, bad: Any
) -> None:
    thread = new_thread(client, env)
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    frame = gw.ask(ada, "comment.create", threadId=thread["id"], body="x", clientMutationId=bad)
    assert (frame["code"], frame["field"]) == ("INVALID_INPUT", "clientMutationId")
    assert event_log.last_seq(env.id, ROOM) == 1  # nothing written


def test_only_writes_take_a_client_mutation_id(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    frame = gw.ask(ada, "presence.update", data={}, clientMutationId="m")
    assert (frame["code"], frame["field"]) == ("UNKNOWN_FIELD", "clientMutationId")
