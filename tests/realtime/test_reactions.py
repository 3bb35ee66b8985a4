"""Reactions (issue 16): a user's emoji on a comment, through REST (secret key) and the socket
(`comment` level); idempotent; at most 20 distinct emoji; each change an event with its seq."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.db.models import ReactionItem, comments_pk
from chalicelib.repositories import events as event_log

from .conftest import Env, Gateway, new_env, rest, rest_ok

ROOM = "room-1"


def v1(client: Any, env: Env, method: str, path: str, body: Any = None) -> Any:
    return rest(client, method, f"/api/v1/rooms/{ROOM}{path}", env.sk, body)


@pytest.fixture
def comment(client: Any, env: Env) -> dict[str, Any]:
    assert rest(client, "POST", "/api/v1/rooms", env.sk, {"id": ROOM}).status_code == 201
    made = v1(client, env, "POST", "/threads", {"comment": {"userId": "ada", "body": "Ship?"}})
    first: dict[str, Any] = rest_ok(made, 201)["comments"][0]
    return first


def reactions_path(c: dict[str, Any], emoji: str | None = None) -> str:
    path = f"/threads/{c['threadId']}/comments/{c['id']}/reactions"
    return path if emoji is None else f"{path}/{quote(emoji, safe='')}"


def add(client: Any, env: Env, c: dict[str, Any], emoji: str, user: str) -> Any:
    return v1(client, env, "POST", reactions_path(c), {"emoji": emoji, "userId": user})


def remove(client: Any, env: Env, c: dict[str, Any], emoji: str, user: str) -> Any:
    return v1(client, env, "DELETE", reactions_path(c, emoji) + f"?userId={user}")


def reaction_items(env: Env, c: dict[str, Any]) -> int:
    query = ReactionItem.query(
        comments_pk(env.id, c["threadId"]), ReactionItem.sk.startswith(f"REACT#{c['id']}#")
    )
    return sum(1 for _ in query)


def test_react_unreact_and_the_summary(client: Any, env: Env, comment: dict[str, Any]) -> None:
    one = rest_ok(add(client, env, comment, "👍", "bob"))
    assert one["reactions"] == [{"emoji": "👍", "count": 1, "userIds": ["bob"]}]
    rest_ok(add(client, env, comment, "🎉", "bob"))
    both = rest_ok(add(client, env, comment, "👍", "cy"))
    assert both["reactions"] == [
        {"emoji": "👍", "count": 2, "userIds": ["bob", "cy"]},
        {"emoji": "🎉", "count": 1, "userIds": ["bob"]},
    ]
    listed = rest_ok(v1(client, env, "GET", f"/threads/{comment['threadId']}/comments"))["data"]
    assert listed[0]["reactions"] == both["reactions"]

    after = rest_ok(remove(client, env, comment, "🎉", "bob"))
    assert after["reactions"] == [{"emoji": "👍", "count": 2, "userIds": ["bob", "cy"]}]
    after = rest_ok(remove(client, env, comment, "👍", "bob"))
    assert after["reactions"] == [{"emoji": "👍", "count": 1, "userIds": ["cy"]}]
    assert reaction_items(env, comment) == 1


def test_reacting_twice_or_removing_nothing_changes_nothing(
    client: Any, env: Env, comment: dict[str, Any]
) -> None:
    rest_ok(add(client, env, comment, "👍", "bob"))
    seq = event_log.last_seq(env.id, ROOM)
    again = rest_ok(add(client, env, comment, "👍", "bob"))
    assert again["reactions"] == [{"emoji": "👍", "count": 1, "userIds": ["bob"]}]
    assert rest_ok(remove(client, env, comment, "🎉", "bob"))["reactions"] == again["reactions"]
    assert event_log.last_seq(env.id, ROOM) == seq  # no event for a change that did not happen
    assert reaction_items(env, comment) == 1


def test_counts_are_exact_and_a_few_users_are_named(
    client: Any, env: Env, comment: dict[str, Any]
) -> None:
    for n in range(8):
        rest_ok(add(client, env, comment, "👍🏽", f"u{n}"))
    for n in (0, 5):
        rest_ok(remove(client, env, comment, "👍🏽", f"u{n}"))
    (summary,) = rest_ok(add(client, env, comment, "👍🏽", "u0"))["reactions"]
    assert summary["count"] == 7 == reaction_items(env, comment)
    assert summary["userIds"] == ["u1", "u2", "u3", "u4", "u0"]


def test_a_comment_holds_at_most_20_distinct_emoji(
    client: Any, env: Env, comment: dict[str, Any]
) -> None:
    emoji = [chr(0x1F600 + n) for n in range(21)]
    for e in emoji[:20]:
        rest_ok(add(client, env, comment, e, "bob"))
    resp = add(client, env, comment, emoji[20], "bob")
    assert resp.status_code == 409 and resp.json_body["error"]["code"] == "TOO_MANY_REACTIONS"
    assert rest_ok(add(client, env, comment, emoji[0], "cy"))["reactions"][0]["count"] == 2
    assert reaction_items(env, comment) == 21


@pytest.mark.parametrize("bad", ["a", "👍👍", "", ":+1:", 5, None, "👍 "])
def test_only_one_emoji_is_a_reaction(
    client: Any, env: Env, comment: dict[str, Any], bad: Any
) -> None:
    resp = add(client, env, comment, bad, "bob")
    assert resp.status_code == 400 and resp.json_body["error"]["field"] == "emoji", resp.body
    assert reaction_items(env, comment) == 0


@pytest.mark.parametrize("good", ["👨‍👩‍👧", "🇫🇷", "1️⃣", "❤️", "🏳️‍🌈"])
def test_emoji_sequences_are_one_emoji(
    client: Any, env: Env, comment: dict[str, Any], good: str
) -> None:
    assert rest_ok(add(client, env, comment, good, "bob"))["reactions"][0]["emoji"] == good
    assert rest_ok(remove(client, env, comment, good, "bob"))["reactions"] == []


def test_removing_needs_the_user(client: Any, env: Env, comment: dict[str, Any]) -> None:
    resp = v1(client, env, "DELETE", reactions_path(comment, "👍"))
    assert resp.status_code == 400 and resp.json_body["error"]["field"] == "userId"


def test_another_environments_comment_is_not_found(
    client: Any, env: Env, comment: dict[str, Any]
) -> None:
    other = new_env("Other")
    path = f"/api/v1/rooms/{ROOM}" + reactions_path(comment)
    resp = rest(client, "POST", path, other.sk, {"emoji": "👍", "userId": "bob"})
    assert resp.status_code == 404
    assert reaction_items(env, comment) == 0


def test_deleting_a_comment_purges_its_reactions(
    client: Any, env: Env, comment: dict[str, Any]
) -> None:
    reply = rest_ok(
        v1(
            client,
            env,
            "POST",
            f"/threads/{comment['threadId']}/comments",
            {"userId": "b", "body": "x"},
        ),
        201,
    )
    rest_ok(add(client, env, reply, "👍", "bob"))
    assert reaction_items(env, reply) == 1
    path = f"/threads/{reply['threadId']}/comments/{reply['id']}"
    assert v1(client, env, "DELETE", path).status_code == 204
    assert reaction_items(env, reply) == 0


# --- the socket ------------------------------------------------------------------------------


def test_a_reaction_reaches_the_room_with_its_seq(
    gw: Gateway, env: Env, client: Any, comment: dict[str, Any]
) -> None:
    ada, bob = gw.connect(env, "ada", ROOM), gw.connect(env, "bob", ROOM)
    gw.fake.clear()
    message = {"threadId": comment["threadId"], "commentId": comment["id"], "emoji": "🎉"}

    gw.send(bob, "reaction.add", requestId="r", **message)

    mine, theirs = gw.fake.take_one(bob), gw.fake.take_one(ada)
    assert mine.pop("requestId") == "r" and mine == theirs
    assert theirs == {
        "type": "reaction.added",
        **message,
        "userId": "bob",
        "reactions": [{"emoji": "🎉", "count": 1, "userIds": ["bob"]}],
        "seq": 2,
    }
    again = gw.ask(bob, "reaction.add", **message)
    assert again["unchanged"] is True and "seq" not in again
    assert gw.fake.take(ada) == []
    gw.send(bob, "reaction.remove", **message)
    assert gw.fake.take_one(ada)["type"] == "reaction.removed"
    assert gw.fake.take_one(bob)["reactions"] == []
    events = rest_ok(v1(client, env, "GET", "/events?since=1"))["data"]
    assert [(e["type"], e["seq"], e["data"]["emoji"]) for e in events] == [
        ("reaction.added", 2, "🎉"),
        ("reaction.removed", 3, "🎉"),
    ]


def test_a_reader_cannot_react(gw: Gateway, env: Env, client: Any, comment: dict[str, Any]) -> None:
    patch = {"defaultAccess": "read"}
    rest_ok(rest(client, "PATCH", f"/api/v1/rooms/{ROOM}", env.sk, patch))
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    frame = gw.ask(
        ada, "reaction.add", threadId=comment["threadId"], commentId=comment["id"], emoji="👍"
    )
    assert (frame["code"], frame["needed"]) == ("ACCESS_DENIED", "comment")


def test_a_bad_emoji_on_the_socket_names_the_field(
    gw: Gateway, env: Env, comment: dict[str, Any]
) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.fake.clear()
    frame = gw.ask(
        ada, "reaction.add", threadId=comment["threadId"], commentId=comment["id"], emoji="ok"
    )
    assert (frame["code"], frame["field"]) == ("INVALID_INPUT", "emoji")
