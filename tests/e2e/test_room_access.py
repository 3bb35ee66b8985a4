"""Room access end to end, through the real local stack's WebSocket gateway and HTTP: refusals at
the handshake, a message above the level, and a change of a room's access reaching sockets that
are already open (access.changed, and the kick of a socket whose level becomes none)."""

from __future__ import annotations

from typing import Any

import pytest

from .realtime_helpers import Clients, gather, in_thread, refusal, run
from .test_realtime import Env, Realtime, new_room, rt  # noqa: F401 (rt: the stack fixture)

pytestmark = pytest.mark.e2e


def mint(env: Env, user_id: str, **access: Any) -> str:
    response = env.rt.stack.call(
        "POST", "/auth/token", env.sk, json={"userId": user_id, "name": user_id.title(), **access}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def create_room(env: Env, room: str, **grants: Any) -> None:
    response = env.api("POST", "/rooms", json={"id": room, **grants})
    assert response.status_code == 201, response.text


def test_the_handshake_refuses_no_access_and_missing_rooms(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Access refusals")
    room = new_room()
    outsider = mint(env, "eve", permissions={"other:*": "write"})
    member = mint(env, "ada")
    settings = rt.admin_call(
        "PATCH", f"/admin/api/environments/{env.id}", json={"createRoomsOnJoin": False}
    )
    assert settings.status_code == 200, settings.text

    async def main() -> None:
        status, body = await refusal(env.url(outsider, room))
        assert (status, body["error"]["code"]) == (403, "ROOM_ACCESS_DENIED")
        status, body = await refusal(env.url(member, room))
        assert (status, body["error"]["code"]) == (404, "ROOM_NOT_FOUND")

    run(main)
    assert env.api("GET", f"/rooms/{room}").status_code == 404  # nothing was created


def test_a_reader_is_told_its_level_and_refused_what_needs_more(rt: Realtime) -> None:  # noqa: F811
    env = rt.env("Readers")
    room = new_room()
    create_room(env, room, defaultAccess="read", usersAccess={"bob": "write"})
    tok_a, tok_b = mint(env, "ada"), mint(env, "bob")

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            assert (a.joined["access"], b.joined["access"]) == ("read", "write")
            denied = await a.error({"type": "broadcast", "event": {"x": 1}})
            assert (denied["code"], denied["needed"]) == ("ACCESS_DENIED", "write")
            denied = await a.error({"type": "thread.create", "body": "hi"})
            assert (denied["code"], denied["needed"]) == ("ACCESS_DENIED", "comment")
            await b.quiet()  # nothing of A's refused messages reached B
            levels = {u["connectionId"]: u["access"] for u in env.active(room)}
            assert levels == {a.id: "read", b.id: "write"}

    run(main)


def test_a_change_of_access_reaches_open_sockets_and_kicks_a_removed_one(
    rt: Realtime,  # noqa: F811
) -> None:
    env = rt.env("Access changes")
    room = new_room()
    create_room(env, room, defaultAccess="write")
    tok_a = mint(env, "ada")
    tok_b = mint(env, "bob", groupIds=["eng"])
    tok_c = mint(env, "cy", permissions={room: "comment"})

    async def main() -> None:
        async with Clients(rt.stack.ws_url) as clients:
            a = await clients.enter("A", env.pk, tok_a, room)
            b = await clients.enter("B", env.pk, tok_b, room)
            c = await clients.enter("C", env.pk, tok_c, room)
            change = {"defaultAccess": "none", "groupsAccess": {"eng": "read"}}
            patched = await in_thread(env.api, "PATCH", f"/rooms/{room}", json=change)
            assert patched.status_code == 200, patched.text

            assert await b.expect("access.changed") == {"type": "access.changed", "access": "read"}
            assert await a.expect("access.changed") == {"type": "access.changed", "access": "none"}
            assert await a.closed() == 1000
            for other in (b, c):
                await other.expect("user.left", connectionId=a.id)
                # the change itself, to those still in the room, without its access lists
                updated = await other.expect("room.updated")
                assert updated["seq"] == 1 and updated["room"]["defaultAccess"] == "none"
                assert "groupsAccess" not in updated["room"]
            denied = await b.error({"type": "thread.create", "body": "x"})
            assert denied["needed"] == "comment"
            await gather(b.quiet(), c.quiet())  # the access token's level did not move
            assert {u["connectionId"] for u in env.active(room)} == {b.id, c.id}

    run(main)
