"""Room access at `$connect` and on every socket message: 403 ROOM_ACCESS_DENIED and 404
ROOM_NOT_FOUND with nothing written, the level in `room.joined` and on the connection's rows,
and `error` ACCESS_DENIED naming the level a message needs, at the budgets of before."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from callers import secret_key

from chalicelib import runtime
from chalicelib.services.tokens import MintRequest

from .conftest import (
    DynamoCalls,
    Env,
    Gateway,
    connection_rows,
    delete_rows,
    new_env,
    refusals_counted,
    rest,
    rest_ok,
    room_item,
    stored_items,
)
from .test_budgets import NEW_RATE, RATE, ops

ROOM = "acme:doc-1"


def token_for(
    env: Env,
    user: str = "ada",
    *,
    groups: tuple[str, ...] = (),
    permissions: dict[str, str] | None = None,
) -> str:
    request = MintRequest(
        user_id=user, name=user.title(), avatar=None, group_ids=groups, permissions=permissions
    )
    return runtime.services().tokens.mint(secret_key(env.sk, "mint"), request).token


def set_item(table: str, key: dict[str, str], **attributes: Any) -> None:
    """Write attributes of an item behind the services' back (what a later step's API does)."""
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    names = {f"#{n}": n for n in attributes}
    values: dict[str, Any] = {}
    for n, value in attributes.items():
        if isinstance(value, bool):
            values[f":{n}"] = {"BOOL": value}
        elif isinstance(value, int):
            values[f":{n}"] = {"N": str(value)}
        else:
            values[f":{n}"] = {"S": value}
    client.update_item(
        TableName=table,
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in attributes),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def grant(
    env: Env,
    room: str,
    default: str = "none",
    users: dict[str, str] | None = None,
    groups: dict[str, str] | None = None,
) -> None:
    settings = runtime.services().settings
    attrs: dict[str, Any] = {"default_access": default}
    if users:
        attrs["users_access"] = json.dumps(users)
    if groups:
        attrs["groups_access"] = json.dumps(groups)
    set_item(settings.data_table, {"pk": f"ENV#{env.id}", "sk": f"ROOM#{room}"}, **attrs)


def env_settings(env: Env, **attrs: Any) -> None:
    settings = runtime.services().settings
    set_item(settings.control_table, {"pk": f"ENV#{env.id}", "sk": "ENV"}, **attrs)


def existing_room(gw: Gateway, env: Env, room: str = ROOM) -> None:
    runtime.services().collab.create_room(secret_key(env.sk), room, None)


def connect_query(env: Env, token: str, room: str = ROOM) -> dict[str, str]:
    return {"apiKey": env.pk, "token": token, "room": room}


def error_frame(frame: dict[str, Any], code: str) -> dict[str, Any]:
    assert frame["type"] == "error", frame
    assert frame["code"] == code, frame
    return frame


# --- $connect ------------------------------------------------------------------------------------


def test_an_access_token_without_the_room_is_refused_with_403_and_nothing_written(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    token = token_for(env, permissions={"other:*": "write"})
    before = stored_items()

    with dynamo_calls.record() as calls:
        err = gw.refused(connect_query(env, token), 403, "ROOM_ACCESS_DENIED")

    assert ROOM in err["message"]
    assert ops(calls) == ["BatchGetItem"]
    assert stored_items() == before  # no room created, no connection rows
    assert refusals_counted(env.id) == {"ROOM_ACCESS_DENIED": 1}  # only the usage counted it


def test_an_access_token_decides_alone_over_what_the_room_grants(gw: Gateway, env: Env) -> None:
    existing_room(gw, env)
    grant(env, ROOM, "write", users={"ada": "write"}, groups={"acme": "write"})
    token = token_for(env, groups=("acme",), permissions={"acme:*": "none", "beta": "write"})

    gw.refused(connect_query(env, token), 403, "ROOM_ACCESS_DENIED")


def test_the_most_specific_permission_sets_the_connections_level(gw: Gateway, env: Env) -> None:
    token = token_for(env, permissions={"acme:*": "write", "acme:doc-*": "read"})
    ada = gw.connect(env, "ada", ROOM, token=token)

    assert gw.join(ada)["access"] == "read"


def test_an_identity_token_gets_the_highest_of_the_rooms_grants(gw: Gateway, env: Env) -> None:
    existing_room(gw, env)
    grant(env, ROOM, "none", users={"ada": "read"}, groups={"eng": "comment"})

    ada = gw.connect(env, "ada", ROOM, token=token_for(env, "ada"))
    eng = gw.connect(env, "bob", ROOM, token=token_for(env, "bob", groups=("ops", "eng")))
    gw.refused(connect_query(env, token_for(env, "cy", groups=("ops",))), 403, "ROOM_ACCESS_DENIED")

    assert gw.join(ada)["access"] == "read"
    gw.fake.clear()
    assert gw.join(eng)["access"] == "comment"


def test_a_room_from_before_access_control_grants_write(gw: Gateway, env: Env) -> None:
    existing_room(gw, env)  # no defaultAccess stored
    ada = gw.connect(env, "ada", ROOM)
    assert gw.join(ada)["access"] == "write"


def test_no_room_is_created_on_join_where_the_environment_says_so(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    env_settings(env, create_rooms_on_join=False)
    query = connect_query(env, token_for(env))
    before = stored_items()

    with dynamo_calls.record() as calls:
        err = gw.refused(query, 404, "ROOM_NOT_FOUND")

    assert ROOM in err["message"]
    assert ops(calls) == ["BatchGetItem"]
    assert stored_items() == before
    assert refusals_counted(env.id) == {"ROOM_NOT_FOUND": 1}
    existing_room(gw, env)
    assert gw.join(gw.connect(env, "ada", ROOM))["access"] == "write"


def test_a_room_created_on_join_grants_the_environments_default(gw: Gateway, env: Env) -> None:
    env_settings(env, default_room_access="read")

    ada = gw.connect(env, "ada", ROOM)

    assert gw.join(ada)["access"] == "read"
    item = room_item(env.id, ROOM)
    assert item is not None and item["default_access"]["S"] == "read"


def test_a_default_of_none_refuses_identity_tokens_before_creating_the_room(
    gw: Gateway, env: Env
) -> None:
    env_settings(env, default_room_access="none")

    gw.refused(connect_query(env, token_for(env)), 403, "ROOM_ACCESS_DENIED")
    assert room_item(env.id, ROOM) is None
    # An access token that grants the room creates it, granting identity tokens nothing.
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "write"}))
    assert gw.join(ada)["access"] == "write"
    item = room_item(env.id, ROOM)
    assert item is not None and item["default_access"]["S"] == "none"


def test_the_connection_rows_keep_the_level_the_token_kind_and_groups(
    gw: Gateway, env: Env
) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, groups=("b", "a")))
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)

    for pk, sk in connection_rows(ada):
        item = client.get_item(
            TableName=settings.data_table, Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )["Item"]
        assert item["access"] == {"S": "write"}
        assert "access_fixed" not in item
        assert sorted(item["group_ids"]["SS"]) == ["a", "b"]


def test_connect_with_access_is_still_one_read_and_one_transaction(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    existing_room(gw, env)
    grant(env, ROOM, "none", groups={"eng": "comment"})
    query = connect_query(env, token_for(env, groups=("eng",)))

    with dynamo_calls.record() as calls:
        assert gw.connect_raw(gw.new_id(), query) == {"statusCode": 200}

    assert ops(calls) == ["BatchGetItem", "TransactWriteItems"]


# --- messages ------------------------------------------------------------------------------------

READ_OK = [("ping", {}), ("join", {}), ("presence.update", {"data": {"x": 1}})]
COMMENT_NEEDED = [
    ("thread.create", {"body": "hi"}),
    ("comment.create", {"threadId": "th_0000000000000000", "body": "hi"}),
    ("comment.update", {"threadId": "th_0000000000000000", "commentId": "cm_x", "body": "b"}),
    ("comment.delete", {"threadId": "th_0000000000000000", "commentId": "cm_x"}),
    ("thread.resolve", {"threadId": "th_0000000000000000", "resolved": True}),
    ("attachment.create", {"name": "a.png", "mimeType": "image/png", "size": 3}),
]


@pytest.mark.parametrize(("message_type", "fields"), COMMENT_NEEDED)
def test_a_reader_is_refused_what_needs_comment(
    gw: Gateway, env: Env, message_type: str, fields: dict[str, Any]
) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "read"}))

    frame = gw.ask(ada, message_type, requestId="r1", **fields)

    error_frame(frame, "ACCESS_DENIED")
    assert frame["needed"] == "comment"
    assert frame["requestId"] == "r1"
    assert "comment" in frame["message"] and message_type in frame["message"]


def test_a_commenter_is_refused_broadcast_and_nobody_gets_it(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "comment"}))
    bob = gw.connect(env, "bob", ROOM)
    gw.fake.clear()

    frame = gw.ask(ada, "broadcast", event={"x": 1})

    assert error_frame(frame, "ACCESS_DENIED")["needed"] == "write"
    assert gw.fake.take(bob) == []


def test_a_reader_reads_lists_and_sets_presence(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "read"}))
    for message_type, fields in READ_OK:
        gw.send(ada, message_type, **fields)
        frames = gw.fake.take(ada)
        assert all(f["type"] != "error" for f in frames), frames
    listed = gw.ask(ada, "threads.list")
    assert listed["type"] == "threads.listed"


def test_a_commenter_creates_threads(gw: Gateway, env: Env) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "comment"}))
    frame = gw.ask(ada, "thread.create", body="hello")
    assert frame["type"] == "thread.created"


def test_a_refused_message_costs_only_its_rate_count(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "read"}))
    gw.clock.current = int(gw.clock.now()) + 1.25

    with dynamo_calls.record() as first:
        gw.send(ada, "broadcast", event=1)
    with dynamo_calls.record() as second:
        gw.send(ada, "thread.create", body="x")

    assert ops(first) == NEW_RATE
    assert ops(second) == RATE


def test_active_users_shows_each_connections_access(gw: Gateway, env: Env, client: Any) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "read"}))
    bob = gw.connect(env, "bob", ROOM)

    body = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/active_users", env.sk))

    levels = {u["connectionId"]: u["access"] for u in body["data"]}
    assert levels == {ada: "read", bob: "write"}


def test_levels_stay_inside_their_environment(gw: Gateway, env: Env) -> None:
    other = new_env("Other")
    existing_room(gw, env)
    grant(env, ROOM, "none", users={"ada": "write"})

    # The same room id and user in another environment: its own room, its own default.
    ada_there = gw.connect(other, "ada", ROOM)
    gw.refused(connect_query(env, token_for(env, "bob")), 403, "ROOM_ACCESS_DENIED")
    gw.refused(
        {"apiKey": env.pk, "token": token_for(other, "ada"), "room": ROOM}, 401, "INVALID_TOKEN"
    )
    assert gw.join(ada_there)["access"] == "write"


def test_a_connect_that_read_the_access_before_a_change_is_refused_by_its_write(
    gw: Gateway, env: Env
) -> None:
    from chalicelib.repositories import connections, rooms
    from chalicelib.repositories.reads import fetch

    existing_room(gw, env)
    read = rooms.room_read(env.id, ROOM)
    state = fetch([read])[read]
    assert state is not None
    settings = runtime.services().settings
    set_item(settings.data_table, {"pk": f"ENV#{env.id}", "sk": f"ROOM#{ROOM}"}, access_version=1)
    ada = gw.connect(env, "ada", ROOM)
    stale = another_like(ada)

    with pytest.raises((connections.Changed, connections.RoomFull)):  # either way: read again
        connections.add(stale, state, cap=100, now_iso="2026-01-01T00:00:00.000Z")


def another_like(connection_id: str) -> Any:
    """A new connection like an open one (same room and user), under another id."""
    import dataclasses

    from chalicelib.repositories import connections

    c = connections.get(connection_id)
    assert c is not None
    return dataclasses.replace(c, id=c.id + "x", tracked=False)


# --- a change of access re-evaluates the room's open connections ---------------------------------


def heard(gw: Gateway, c: str) -> list[dict[str, Any]]:
    """What `c` got, but the `room.updated` every member still in the room gets after a change of
    access (checked here: one, with its seq, without the room's access lists)."""
    frames = gw.fake.take(c)
    updates = [f for f in frames if f["type"] == "room.updated"]
    assert len(updates) <= 1, frames
    for update in updates:
        assert update["seq"] >= 1 and update["room"]["id"] == ROOM
        assert "usersAccess" not in update["room"] and "groupsAccess" not in update["room"]
    return [f for f in frames if f["type"] != "room.updated"]


def patch_room(client: Any, env: Env, body: dict[str, Any], room: str = ROOM) -> dict[str, Any]:
    return rest_ok(rest(client, "PATCH", f"/api/v1/rooms/{room}", env.sk, body))  # type: ignore[no-any-return]


def test_a_lowered_level_is_told_at_once_and_held_from_the_next_message(
    gw: Gateway, env: Env, client: Any
) -> None:
    existing_room(gw, env)
    ada = gw.connect(env, "ada", ROOM)
    bob = gw.connect(env, "bob", ROOM, token=token_for(env, "bob", groups=("eng",)))
    gw.fake.clear()

    patch_room(client, env, {"defaultAccess": "read", "groupsAccess": {"eng": "comment"}})

    assert heard(gw, ada) == [{"type": "access.changed", "access": "read"}]
    assert heard(gw, bob) == [{"type": "access.changed", "access": "comment"}]
    frame = gw.ask(ada, "thread.create", body="x")
    assert error_frame(frame, "ACCESS_DENIED")["needed"] == "comment"
    assert gw.ask(bob, "thread.create", body="x")["type"] == "thread.created"
    gw.fake.clear()
    assert gw.ask(ada, "join")["access"] == "read"
    body = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/active_users", env.sk))
    assert {u["connectionId"]: u["access"] for u in body["data"]} == {ada: "read", bob: "comment"}


def test_a_raised_level_is_told_and_allowed_at_once(gw: Gateway, env: Env, client: Any) -> None:
    existing_room(gw, env)
    patch_room(client, env, {"defaultAccess": "read"})
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()

    patch_room(client, env, {"usersAccess": {"ada": "write"}})

    assert heard(gw, ada) == [{"type": "access.changed", "access": "write"}]
    gw.send(ada, "broadcast", event=1)
    assert heard(gw, ada) == []  # no error: a broadcast goes to the others only


def test_a_level_of_none_is_told_then_closed_and_the_room_sees_it_leave(
    gw: Gateway, env: Env, client: Any
) -> None:
    existing_room(gw, env)
    patch_room(client, env, {"defaultAccess": "read", "usersAccess": {"bob": "write"}})
    ada = gw.connect(env, "ada", ROOM)
    bob = gw.connect(env, "bob", ROOM)
    gw.fake.clear()

    patch_room(client, env, {"defaultAccess": "none"})

    assert heard(gw, ada) == [{"type": "access.changed", "access": "none"}]
    assert ada in gw.fake.closed
    assert connection_rows(ada) == []
    assert heard(gw, bob) == [{"type": "user.left", "connectionId": ada, "userId": "ada"}]
    assert bob not in gw.fake.closed
    body = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/active_users", env.sk))
    assert [u["connectionId"] for u in body["data"]] == [bob]


def test_an_access_token_decides_alone_so_room_changes_do_not_move_it(
    gw: Gateway, env: Env, client: Any
) -> None:
    existing_room(gw, env)
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={"acme:*": "comment"}))
    gw.fake.clear()

    patch_room(client, env, {"defaultAccess": "none", "usersAccess": {"ada": "write"}})

    assert heard(gw, ada) == []
    assert ada not in gw.fake.closed
    assert gw.ask(ada, "join")["access"] == "comment"


def test_unchanged_levels_hear_only_the_room_update(gw: Gateway, env: Env, client: Any) -> None:
    existing_room(gw, env)
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()

    patch_room(client, env, {"usersAccess": {"ada": "write"}, "metadata": {"t": 1}})

    assert heard(gw, ada) == []


def test_a_change_in_one_environment_moves_no_connection_of_another(
    gw: Gateway, env: Env, client: Any
) -> None:
    other = new_env("Other")
    existing_room(gw, env)
    existing_room(gw, other)
    theirs = gw.connect(other, "ada", ROOM)
    gw.fake.clear()

    patch_room(client, env, {"defaultAccess": "none"})

    assert heard(gw, theirs) == []
    assert theirs not in gw.fake.closed


def test_the_admin_patch_re_evaluates_like_the_v1_patch(
    gw: Gateway, env: Env, client: Any, services: runtime.Services
) -> None:
    existing_room(gw, env)
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    services.operators.create(None, "boss@example.com", "correct horse battery staple", "admin")
    login = rest_ok(
        rest(
            client,
            "POST",
            "/admin/api/login",
            None,
            {"email": "boss@example.com", "password": "correct horse battery staple"},
        )
    )

    resp = client.http.request(
        "PATCH",
        f"/admin/api/environments/{env.id}/rooms/{ROOM}",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {login['token']}"},
        body=json.dumps({"usersAccess": {"ada": "none"}, "defaultAccess": "none"}).encode(),
    )

    assert resp.status_code == 200, resp.body
    assert heard(gw, ada) == [{"type": "access.changed", "access": "none"}]
    assert ada in gw.fake.closed


def test_a_change_of_access_costs_a_transaction_a_query_and_one_transaction_per_50_moved(
    gw: Gateway, env: Env, client: Any, dynamo_calls: DynamoCalls
) -> None:
    existing_room(gw, env)
    moved = [gw.connect(env, f"u{n}", ROOM) for n in range(3)]
    kept = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "write"}))
    closed = gw.connect(env, "eve", ROOM)
    patch_room(client, env, {"usersAccess": {"eve": "write"}})  # the key's use is recorded now
    gw.fake.clear()
    readers: dict[str, str | None] = {f"u{n}": "read" for n in range(len(moved))}
    change = {"defaultAccess": "none", "usersAccess": {**readers, "eve": None}}

    with dynamo_calls.record() as calls:
        patch_room(client, env, change)

    # check + rate, the room with its index items, the room's connections, the new levels of
    # the moved connections (their by-id and room rows, one transaction); the closed one: its
    # rows removed in one transaction, then the room told (a Query of who is left)
    assert ops(calls) == [
        "BatchGetItem",
        "UpdateItem",
        "TransactWriteItems",
        "Query",
        "TransactWriteItems",
        "TransactWriteItems",
        "Query",
    ]
    assert len(calls[4].params["TransactItems"]) == 2 * len(moved)
    left = {"type": "user.left", "connectionId": closed, "userId": "eve"}
    for c in moved:
        assert heard(gw, c) == [{"type": "access.changed", "access": "read"}, left]
    assert heard(gw, kept) == [left]
    assert gw.fake.take(closed) == [{"type": "access.changed", "access": "none"}]


def test_a_connection_gone_during_a_change_leaves_no_half_row(
    gw: Gateway, env: Env, client: Any
) -> None:
    from chalicelib.repositories import connections

    existing_room(gw, env)
    ada, bob = gw.connect(env, "ada", ROOM), gw.connect(env, "bob", ROOM)
    members = {c.id: c for c in connections.room_members(env.id, ROOM, gw.clock.now())}
    delete_rows(bob)  # its rows go (TTL) after the room's connections were read

    connections.set_access_many([(members[ada], "read"), (members[bob], "read")])

    assert connection_rows(bob) == []
    gw.fake.clear()
    assert gw.ask(ada, "join")["access"] == "read"
