"""Room fan-out: REST writes and broadcasts reaching sockets, active users, gone connections
cleaned up (and announced), failed ones kept, and $disconnect."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.services.tokens import color_for

from .conftest import (
    OWNER,
    Env,
    FakeApi,
    Gateway,
    active_user_ids,
    connection_rows,
    live_count,
    new_env,
    rest,
    rest_error,
    rest_ok,
)

ROOM = "room-1"


def room_of_three(gw: Gateway, env: Env) -> tuple[str, str, str]:
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    linus = gw.connect(env, "linus", ROOM)
    gw.fake.clear()
    return ada, grace, linus


def left(connection_id: str, user_id: str) -> dict[str, Any]:
    return {"type": "user.left", "connectionId": connection_id, "userId": user_id}


def v1(client: Any, method: str, path: str, env: Env, body: Any = None) -> Any:
    return rest(client, method, f"/api/v1/rooms/{ROOM}{path}", env.sk, body)


# --- REST -> sockets -----------------------------------------------------------------------------


def test_rest_writes_reach_every_connection_of_the_room_in_seq_order(
    gw: Gateway, env: Env, client: Any
) -> None:
    fake = gw.fake
    members = room_of_three(gw, env)
    elsewhere = gw.connect(env, "zoe", "room-2")
    foreign = gw.connect(new_env("Other"), "ada", ROOM)  # same room id, other environment
    fake.clear()

    def everyone_got(expected: dict[str, Any]) -> None:
        for cid in members:
            assert fake.take(cid) == [expected], cid
        assert fake.take(elsewhere) == [] and fake.take(foreign) == []

    thread = rest_ok(
        v1(client, "POST", "/threads", env, {"comment": {"userId": "srv", "body": "From REST"}}),
        201,
    )
    everyone_got({"type": "thread.created", "thread": thread, "seq": 1})
    tid = thread["id"]

    comment = rest_ok(
        v1(client, "POST", f"/threads/{tid}/comments", env, {"userId": "srv", "body": "Two"}), 201
    )
    everyone_got({"type": "comment.created", "comment": comment, "seq": 2})

    path = f"/threads/{tid}/comments/{comment['id']}"
    updated = rest_ok(v1(client, "PATCH", path, env, {"body": "Two, edited"}))
    everyone_got({"type": "comment.updated", "comment": updated, "seq": 3})

    patched = rest_ok(v1(client, "PATCH", f"/threads/{tid}", env, {"resolved": True}))
    everyone_got({"type": "thread.updated", "thread": patched, "seq": 4})

    assert v1(client, "DELETE", path, env).status_code == 204
    everyone_got(
        {
            "type": "comment.deleted",
            "commentId": comment["id"],
            "threadId": tid,
            "roomId": ROOM,
            "seq": 5,
        }
    )

    assert v1(client, "DELETE", f"/threads/{tid}", env).status_code == 204
    everyone_got({"type": "thread.deleted", "threadId": tid, "roomId": ROOM, "seq": 6})


def test_rest_broadcast(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    members = room_of_three(gw, env)
    elsewhere = gw.connect(env, "zoe", "room-2")
    event = {"kind": "deploy", "version": 3, "tags": ["a", None]}

    resp = v1(client, "POST", "/broadcast", env, {"event": event})

    assert rest_ok(resp, 202) == {"status": "accepted"}
    expected = {"type": "broadcast", "connectionId": None, "userId": None, "event": event}
    for cid in members:
        assert fake.take(cid) == [expected]
    assert fake.take(elsewhere) == []

    rest_ok(v1(client, "POST", "/broadcast", env, {"event": None}), 202)  # any JSON, null too
    assert fake.take_one(members[0])["event"] is None


def test_rest_broadcast_to_an_empty_room_is_accepted(gw: Gateway, env: Env, client: Any) -> None:
    rest_ok(rest(client, "POST", "/api/v1/rooms", env.sk, {"id": ROOM}), 201)
    rest_ok(v1(client, "POST", "/broadcast", env, {"event": 1}), 202)
    assert gw.fake.attempts == []


def test_rest_broadcast_validates_its_body(gw: Gateway, env: Env, client: Any) -> None:
    gw.connect(env, "ada", ROOM)
    err = rest_error(v1(client, "POST", "/broadcast", env, {}), 400, "MISSING_FIELD")
    assert err["field"] == "event"
    err = rest_error(
        v1(client, "POST", "/broadcast", env, {"event": 1, "to": "x"}), 400, "UNKNOWN_FIELD"
    )
    assert err["field"] == "to"
    assert gw.fake.frames == {}


@pytest.mark.parametrize("method,suffix", [("GET", "active_users"), ("POST", "broadcast")])
def test_room_endpoints_refuse_unknown_rooms_and_bad_keys(
    gw: Gateway, env: Env, client: Any, method: str, suffix: str
) -> None:
    cid = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    body = {"event": "x"} if method == "POST" else None
    other = new_env("Other")
    gw.connect(other, "ada", "only-there")

    for room in ("no-such-room", "bad%20room", "only-there"):
        resp = rest(client, method, f"/api/v1/rooms/{room}/{suffix}", env.sk, body)
        rest_error(resp, 404, "ROOM_NOT_FOUND")

    path = f"/api/v1/rooms/{ROOM}/{suffix}"
    rest_error(rest(client, method, path, None, body), 401, "MISSING_API_KEY")
    rest_error(rest(client, method, path, env.pk, body), 401, "SECRET_KEY_REQUIRED")
    rest_error(
        rest(client, method, path, env.sk[:-1] + ("y" if env.sk.endswith("x") else "x"), body),
        401,
        "INVALID_API_KEY",
    )
    rest_error(rest(client, method, path, other.sk, body), 404, "ROOM_NOT_FOUND")  # own env only
    runtime.services().environments.revoke(OWNER, env.id, env.sk_id)
    rest_error(rest(client, method, path, env.sk, body), 401, "INVALID_API_KEY")
    assert gw.fake.take(cid) == []


# --- active users --------------------------------------------------------------------------------


def test_active_users_lists_live_connections(gw: Gateway, env: Env, client: Any) -> None:
    clock = gw.clock
    start = clock.now()
    # Opened 10 minutes "ago" (tokens are also checked against the wall clock, so the past is
    # as far back as a token can be minted), so it expires 10 minutes before the others.
    clock.current = start - 600
    old = gw.connect(env, "old-timer", ROOM)
    clock.current = start
    ada = gw.connect(env, "ada", ROOM)
    grace = gw.connect(env, "grace", ROOM)
    gw.connect(env, "zoe", "room-2")

    body = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/active_users", env.sk))
    assert sorted(body["data"], key=lambda u: u["connectionId"]) == sorted(
        [
            {
                "connectionId": cid,
                "userId": user,
                "name": user.title(),
                "avatar": None,
                "color": color_for(user),
                "access": "write",
            }
            for cid, user in ((old, "old-timer"), (ada, "ada"), (grace, "grace"))
        ],
        key=lambda u: u["connectionId"],
    )

    # 2 h 5 min after the old connection opened: its rows are still there (TTL is lazy), but
    # nobody reads them as live any more.
    clock.current = start - 600 + 2 * 3600 + 5 * 60 + 1
    assert active_user_ids(client, env, ROOM) == sorted([ada, grace])
    assert len(connection_rows(old)) == 3
    gw.fake.clear()
    rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/broadcast", env.sk, {"event": 1}), 202)
    assert old not in gw.fake.attempts
    assert sorted(gw.fake.attempts) == sorted([ada, grace])

    clock.current = start + 2 * 3600 + 5 * 60 + 1
    assert active_user_ids(client, env, ROOM) == []


def test_pushes_use_each_connections_own_endpoint(gw: Gateway, env: Env, client: Any) -> None:
    """REST-originated pushes reach sockets opened through custom domains and stages."""
    default = gw.connect(env, "ada", ROOM)
    custom = gw.connect(env, "grace", ROOM, domain="rt.example.com", stage="prod")
    rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/broadcast", env.sk, {"event": 1}), 202)
    assert gw.fake.endpoints[default] == ("abc123.execute-api.us-east-1.amazonaws.com", "api")
    assert gw.fake.endpoints[custom] == ("rt.example.com", "prod")


# --- gone and failed connections ---------------------------------------------------------------


def test_a_gone_connection_is_removed_and_announced(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    ada, grace, linus = room_of_three(gw, env)
    fake.gone.add(grace)

    gw.send(ada, "broadcast", event="hello")

    assert fake.take(linus) == [
        {"type": "broadcast", "connectionId": ada, "userId": "ada", "event": "hello"},
        left(grace, "grace"),
    ]
    assert fake.take(ada) == [left(grace, "grace")]
    assert connection_rows(grace) == []
    assert active_user_ids(client, env, ROOM) == sorted([ada, linus])
    assert live_count(env.id, ROOM) == 2

    # Gone for good: nobody posts to it again.
    fake.attempts.clear()
    gw.send(linus, "broadcast", event="again")
    assert grace not in fake.attempts


def test_a_connection_still_in_its_connect_is_not_removed_for_a_410(gw: Gateway, env: Env) -> None:
    """API Gateway answers 410 to a post until `$connect` has returned, and the rows are written
    before it returns: a fan-out in between must not remove the connection that is opening (its
    first message would be refused NOT_CONNECTED). Once older than `$connect` can last (30 s on a
    stage), a 410 removes it as any other."""
    gw.reconfigure(connect_settle_seconds=30)
    fake = gw.fake
    ada, grace, _linus = room_of_three(gw, env)
    fake.gone.add(grace)  # as if grace's $connect had not returned yet

    gw.send(ada, "broadcast", event="hello")

    assert connection_rows(grace) != []
    assert live_count(env.id, ROOM) == 3
    gw.clock.advance(31)
    gw.send(ada, "broadcast", event="later")
    assert connection_rows(grace) == []
    assert live_count(env.id, ROOM) == 2


def test_the_senders_own_gone_status_does_not_break_the_others(
    gw: Gateway, env: Env, client: Any
) -> None:
    fake = gw.fake
    ada, grace, linus = room_of_three(gw, env)
    fake.gone.add(ada)  # ada's socket closed right after sending

    gw.send(ada, "thread.create", body="Last words", requestId="t")

    for cid in (grace, linus):
        frames = fake.take(cid)
        assert left(ada, "ada") in frames
        (created,) = [f for f in frames if f["type"] == "thread.created"]
        assert "requestId" not in created
    assert connection_rows(ada) == []
    assert active_user_ids(client, env, ROOM) == sorted([grace, linus])
    threads = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/threads", env.sk))["data"]
    assert [t["createdBy"] for t in threads] == ["ada"]


def test_a_gone_sender_of_a_reply_is_removed(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    ada, grace, linus = room_of_three(gw, env)
    fake.gone.add(ada)
    gw.send(ada, "ping")
    assert fake.take(grace) == [left(ada, "ada")] and fake.take(linus) == [left(ada, "ada")]
    assert active_user_ids(client, env, ROOM) == sorted([grace, linus])


def test_gone_connections_found_while_announcing_are_removed_too(
    gw: Gateway, env: Env, client: Any
) -> None:
    fake = gw.fake
    ada, grace, linus = room_of_three(gw, env)
    fake.gone.update({grace, ada})  # both found gone by the broadcast

    gw.send(linus, "broadcast", event=1)

    assert connection_rows(grace) == [] and connection_rows(ada) == []
    assert active_user_ids(client, env, ROOM) == [linus]
    assert live_count(env.id, ROOM) == 1
    # told once, in one frame naming both
    both = [{"connectionId": ada, "userId": "ada"}, {"connectionId": grace, "userId": "grace"}]
    assert fake.take(linus) == [{"type": "users.left", "left": both}]


def test_failed_connections_are_kept(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    ada, grace, linus = room_of_three(gw, env)
    fake.failed.add(grace)

    gw.send(ada, "broadcast", event="x")

    assert grace in fake.attempts
    assert fake.take(linus) == [
        {"type": "broadcast", "connectionId": ada, "userId": "ada", "event": "x"}
    ]
    assert fake.take(ada) == []  # no user.left for anyone
    assert len(connection_rows(grace)) == 3
    assert active_user_ids(client, env, ROOM) == sorted([ada, grace, linus])

    fake.failed.clear()  # it recovers and gets the next one
    gw.send(ada, "broadcast", event="y")
    assert fake.take_one(grace)["event"] == "y"


# --- $disconnect ---------------------------------------------------------------------------------


def test_disconnect_removes_the_rows_and_tells_the_room(gw: Gateway, env: Env, client: Any) -> None:
    fake = gw.fake
    ada, grace, linus = room_of_three(gw, env)
    elsewhere = gw.connect(env, "zoe", "room-2")
    fake.clear()

    gw.disconnect(grace)

    assert connection_rows(grace) == []
    assert live_count(env.id, ROOM) == 2
    assert fake.take(ada) == [left(grace, "grace")]
    assert fake.take(linus) == [left(grace, "grace")]
    assert fake.take(elsewhere) == [] and fake.take(grace) == []
    assert active_user_ids(client, env, ROOM) == sorted([ada, linus])

    # Again (API Gateway retries, or a kick already removed it): harmless and silent.
    gw.disconnect(grace)
    gw.disconnect("NeverConnected0=")
    assert fake.frames == {}
    assert live_count(env.id, ROOM) == 2
    assert len(connection_rows()) == 3 * 3  # ada, linus, zoe


def test_disconnect_after_the_room_was_deleted(gw: Gateway, env: Env, client: Any) -> None:
    ada = gw.connect(env, "ada", ROOM)
    assert rest(client, "DELETE", f"/api/v1/rooms/{ROOM}", env.sk).status_code == 204
    gw.disconnect(ada)
    assert connection_rows(ada) == []


def test_the_last_one_out_leaves_an_empty_room(gw: Gateway, env: Env, client: Any) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.disconnect(ada)
    assert live_count(env.id, ROOM) == 0
    assert gw.fake.attempts == []  # nobody to tell
    assert active_user_ids(client, env, ROOM) == []
    rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}", env.sk))  # the room stays


def test_fake_is_wired_into_every_service(gw: Gateway, fake: FakeApi) -> None:
    """The services share one channel, so REST, sockets and kicks all push through the fake."""
    graph = runtime.services()
    assert graph.realtime.channel.api is fake
    assert graph.collab.events is graph.realtime.channel
