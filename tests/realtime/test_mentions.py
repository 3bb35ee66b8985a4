"""Mentions (issue 16): a body names users as `<@userId>`; the comment's `mentions` holds those
who can read the room (as their latest token and the room's access decide), each once, in order.
Anyone else stays plain text."""

from __future__ import annotations

from typing import Any

from .conftest import Env, Gateway, rest, rest_ok

ROOM = "room-1"


def mint(client: Any, env: Env, user: str, **access: Any) -> None:
    body = {"userId": user, "name": user.title(), **access}
    assert rest(client, "POST", "/auth/token", env.sk, body).status_code == 200


def room(client: Any, env: Env, **grants: Any) -> None:
    assert rest(client, "POST", "/api/v1/rooms", env.sk, {"id": ROOM, **grants}).status_code == 201


def thread(client: Any, env: Env, body: str) -> dict[str, Any]:
    made = rest(
        client,
        "POST",
        f"/api/v1/rooms/{ROOM}/threads",
        env.sk,
        {"comment": {"userId": "ada", "body": body}},
    )
    return rest_ok(made, 201)  # type: ignore[no-any-return]


def test_mentions_are_the_minted_users_named_each_once_in_order(client: Any, env: Env) -> None:
    room(client, env)
    for user in ("bob", "cy"):
        mint(client, env, user)
    made = thread(client, env, "<@cy> and <@bob>, also <@cy>, <@never-minted>, <@ bob>, <@>")
    assert made["comments"][0]["mentions"] == ["cy", "bob"]
    listed = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/threads/{made['id']}", env.sk))
    assert listed["comments"][0]["mentions"] == ["cy", "bob"]


def test_a_user_who_cannot_read_the_room_stays_text(client: Any, env: Env) -> None:
    room(
        client,
        env,
        defaultAccess="none",
        usersAccess={"bob": "read"},
        groupsAccess={"eng": "comment"},
    )
    mint(client, env, "bob")
    mint(client, env, "eve")  # no access to the room
    mint(client, env, "cy", groupIds=["eng"])  # through her group
    mint(client, env, "dan", permissions={"room-*": "read"})  # an access token decides alone
    mint(client, env, "fay", permissions={"other-*": "write"})
    made = thread(client, env, "<@bob> <@eve> <@cy> <@dan> <@fay>")
    assert made["comments"][0]["mentions"] == ["bob", "cy", "dan"]


def test_the_latest_token_decides(client: Any, env: Env) -> None:
    room(client, env, defaultAccess="none", groupsAccess={"eng": "read"})
    mint(client, env, "cy", groupIds=["eng"])
    assert thread(client, env, "<@cy>")["comments"][0]["mentions"] == ["cy"]
    mint(client, env, "cy")  # no longer in the group
    assert thread(client, env, "<@cy>")["comments"][0]["mentions"] == []


def test_an_edit_mentions_anew_and_the_room_hears_it(gw: Gateway, client: Any, env: Env) -> None:
    room(client, env)
    mint(client, env, "bob")
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    gw.send(ada, "thread.create", body="hi <@bob>")
    created = gw.fake.take_one(ada)
    first = created["thread"]["comments"][0]
    assert first["mentions"] == ["bob"]

    gw.send(ada, "comment.update", threadId=first["threadId"], commentId=first["id"], body="hi")
    assert gw.fake.take_one(ada)["comment"]["mentions"] == []
    gw.send(ada, "comment.create", threadId=first["threadId"], body="<@bob> <@ada>")
    assert gw.fake.take_one(ada)["comment"]["mentions"] == ["bob", "ada"]


def test_what_a_token_granted_is_never_answered(client: Any, env: Env) -> None:
    mint(client, env, "cy", groupIds=["eng"], permissions={"room-*": "read"})
    user = rest_ok(rest(client, "GET", "/api/v1/users/cy", env.sk))
    assert "groupIds" not in user and "permissions" not in user
