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


# --- finding whom to mention -------------------------------------------------------------------


def search(client: Any, env: Env, q: str, limit: int = 20) -> list[str]:
    resp = rest(client, "GET", f"/api/v1/users?q={q}&limit={limit}", env.sk)
    page = rest_ok(resp)
    assert page["nextCursor"] is None
    return [u["id"] for u in page["data"]]


def test_users_are_found_by_id_or_name_word_prefix(client: Any, env: Env) -> None:
    mint(client, env, "ada-1")
    client_body = {"userId": "u-7", "name": "Ada King Lovelace"}
    assert rest(client, "POST", "/auth/token", env.sk, client_body).status_code == 200
    body = {"userId": "grace", "name": "Grace Hopper"}
    assert rest(client, "POST", "/auth/token", env.sk, body).status_code == 200

    assert search(client, env, "ada") == ["ada-1", "u-7"]  # ids first, then names
    assert search(client, env, "LOVE") == ["u-7"]  # any word, any case
    assert search(client, env, "king%20lov") == ["u-7"]
    assert search(client, env, "hop") == ["grace"]
    assert search(client, env, "u-") == ["u-7"]
    assert search(client, env, "zz") == []
    assert search(client, env, "a", limit=1) == ["ada-1"]


def test_a_renamed_user_is_found_by_the_new_name_only(client: Any, env: Env) -> None:
    body = {"userId": "u-1", "name": "Grace Hopper"}
    assert rest(client, "POST", "/auth/token", env.sk, body).status_code == 200
    body["name"] = "Grace Brewster"
    assert rest(client, "POST", "/auth/token", env.sk, body).status_code == 200
    assert search(client, env, "brew") == ["u-1"]
    assert search(client, env, "hop") == []
    assert search(client, env, "grace") == ["u-1"]


def test_suggestions_on_the_socket_are_the_users_who_can_read_the_room(
    gw: Gateway, client: Any, env: Env
) -> None:
    room(client, env, defaultAccess="none", usersAccess={"ada": "write", "bob": "read"})
    mint(client, env, "bob")
    mint(client, env, "bobby")  # no access to the room
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    found = gw.ask(ada, "users.search", q="bo", requestId="s")
    assert found["type"] == "users.found" and found["requestId"] == "s"
    assert [u["userId"] for u in found["data"]] == ["bob"]
    assert set(found["data"][0]) == {"userId", "name", "avatar", "color"}
    assert gw.ask(ada, "users.search", q="")["data"] == []
