"""Numbers that are not JSON, on the socket (issue 11, class 3). A presence update or broadcast
carrying 1e999 used to be fanned out as `Infinity`, which no browser parses, and every later
joiner's widget hung. Every frame holding such a number (NaN, Infinity, -Infinity, 1e999, an
integer too long to parse) gets an `error` INVALID_INPUT naming the field, echoing its requestId;
nothing is stored or sent to the room; and no frame ever holds anything but JSON (the FakeApi
parses every frame as a browser does)."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib import runtime

from .conftest import Env, Gateway, rest, rest_ok

ROOM = "room-1"
BAD_NUMBERS = {
    "1e999": "finite number",
    "-1e999": "finite number",
    "NaN": "NaN is not a JSON number",
    "Infinity": "Infinity is not a JSON number",
    "-Infinity": "-Infinity is not a JSON number",
    "7" * 4400: "4400 digits",
}
MARK = "§"


def in_the_room(gw: Gateway, env: Env) -> tuple[str, str]:
    ada = gw.connect(env, "ada", ROOM)
    gw.join(ada)
    grace = gw.connect(env, "grace", ROOM)
    gw.join(grace)
    gw.fake.clear()
    return ada, grace


def test_every_message_refuses_numbers_json_cannot_carry_naming_the_field(
    gw: Gateway, env: Env, client: Any
) -> None:
    ada, grace = in_the_room(gw, env)
    gw.send(ada, "presence.update", data={"cursor": [1, 2]})
    thread = rest_ok(
        rest(
            client,
            "POST",
            f"/api/v1/rooms/{ROOM}/threads",
            env.sk,
            {"comment": {"userId": "ada", "body": "Hi"}},
        ),
        201,
    )
    gw.fake.clear()
    t = thread["id"]
    c = thread["comments"][0]["id"]
    frames = [
        (
            '{"type": "presence.update", "data": {"cursor": [§, 2]}, "requestId": "r"}',
            "data.cursor[0]",
        ),
        ('{"type": "broadcast", "event": §, "requestId": "r"}', "event"),
        (
            '{"type": "broadcast", "event": {"deep": [{"n": §}]}, "requestId": "r"}',
            "event.deep[0].n",
        ),
        (
            '{"type": "thread.create", "body": "x", "metadata": {"n": §}, "requestId": "r"}',
            "metadata.n",
        ),
        (f'{{"type": "comment.create", "threadId": "{t}", "body": §, "requestId": "r"}}', "body"),
        (
            f'{{"type": "comment.update", "threadId": "{t}", "commentId": "{c}", '
            '"body": §, "requestId": "r"}',
            "body",
        ),
        (
            f'{{"type": "thread.resolve", "threadId": "{t}", "resolved": §, "requestId": "r"}}',
            "resolved",
        ),
        ('{"type": "threads.list", "cursor": §, "requestId": "r"}', "cursor"),
        ('{"type": "ping", "zz": §, "requestId": "r"}', "zz"),
        ('{"type": §, "requestId": "r"}', "type"),
        ('{"type": "ping", "requestId": §}', "requestId"),
        ("§", "message"),
    ]
    failures = []
    for template, field in frames:
        for literal, says in BAD_NUMBERS.items():
            gw.send_raw(ada, template.replace(MARK, literal))
            (reply,) = gw.fake.take(ada)
            echo = "r" if field not in ("requestId", "message") else None
            if (
                reply.get("type") != "error"
                or reply.get("code") != "INVALID_INPUT"
                or reply.get("field") != field
                or says not in reply.get("message", "")
                or reply.get("requestId") != echo
            ):
                failures.append(f"{template[:60]} with {literal[:12]}: {reply}")
    assert not failures, "\n".join(failures)
    assert gw.fake.take(grace) == []  # nothing reached the room

    # Nothing was stored: presence as before, the one thread with its one comment.
    linus = gw.connect(env, "linus", ROOM)
    others = {o["userId"]: o["presence"] for o in gw.join(linus)["others"]}
    assert others == {"ada": {"cursor": [1, 2]}, "grace": None}
    gw.fake.clear()
    listed = gw.ask(ada, "threads.list", comments=True)["data"]
    assert [(x["id"], [y["body"] for y in x["comments"]]) for x in listed] == [(t, ["Hi"])]


def test_a_rest_broadcast_of_such_a_number_reaches_nobody(
    gw: Gateway, env: Env, client: Any
) -> None:
    ada, grace = in_the_room(gw, env)
    for literal in BAD_NUMBERS:
        resp = client.http.request(
            "POST",
            f"/api/v1/rooms/{ROOM}/broadcast",
            headers={"Authorization": f"Bearer {env.sk}", "Content-Type": "application/json"},
            body=('{"event": {"v": ' + literal + "}}").encode(),
        )
        assert resp.status_code == 400, resp.body
        assert resp.json_body["error"]["field"] == "event.v"
    assert gw.fake.take(ada) == [] and gw.fake.take(grace) == []


def test_presence_stored_with_infinity_does_not_stop_anyone_joining(
    gw: Gateway, env: Env, services: runtime.Services
) -> None:
    """A presence row written before the fix holds `Infinity`: a later joiner still gets a
    `room.joined` that is JSON (that presence is dropped), not an error or nothing."""
    ada, grace = in_the_room(gw, env)
    table = boto3.resource("dynamodb").Table(services.settings.data_table)
    table.update_item(
        Key={"pk": f"ENV#{env.id}#ROOM#{ROOM}", "sk": f"CONN#{ada}"},
        UpdateExpression="SET presence = :p",
        ExpressionAttributeValues={":p": '{"cursor":[Infinity,1]}'},
    )
    linus = gw.connect(env, "linus", ROOM)
    joined = gw.join(linus)
    assert {o["userId"]: o["presence"] for o in joined["others"]} == {"ada": None, "grace": None}
    assert gw.fake.take(grace)[0]["type"] == "user.joined"
