"""The socket's attachments: `attachment.create` (needs `comment`; the reply carries the
presigned POST), comment.create/thread.create with attachmentIds (every refusal an `error`
naming attachmentIds, nothing written), and the files in the frames the room gets."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from callers import secret_key

from chalicelib import runtime

from .conftest import Env, Gateway, new_env
from .test_access import ROOM, error_frame, existing_room, token_for

BUCKET = "pulse-test-attachments"
PNG = {"name": "shot.png", "mimeType": "image/png", "size": 4}


def upload(gw: Gateway, cid: str, **fields: Any) -> dict[str, Any]:
    """attachment.create, then the file put where its POST would put it."""
    reply = gw.ask(cid, "attachment.create", requestId="a1", **{**PNG, **fields})
    assert reply["type"] == "attachment.created", reply
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key=reply["upload"]["fields"]["key"], Body=b"\x89PNG"
    )
    return reply


@pytest.fixture
def room(gw: Gateway, env: Env) -> None:
    existing_room(gw, env)


def test_attachment_create_replies_with_the_attachment_and_its_post(
    gw: Gateway, env: Env, room: None
) -> None:
    ada = gw.connect(env, "ada", ROOM)

    reply = gw.ask(ada, "attachment.create", requestId="r1", **PNG)

    assert reply["type"] == "attachment.created" and reply["requestId"] == "r1"
    assert {k: reply["attachment"][k] for k in PNG} == PNG
    assert reply["attachment"]["id"].startswith("att_")
    assert set(reply["upload"]) == {"url", "fields"}
    assert reply["upload"]["fields"]["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"size": 10 * 1024 * 1024 + 1}, "size"),
        ({"mimeType": "application/x-msdownload"}, "mimeType"),
        ({"name": "n" * 256}, "name"),
    ],
)
def test_attachment_create_refusals_name_the_field(
    gw: Gateway, env: Env, room: None, fields: dict[str, Any], field: str
) -> None:
    ada = gw.connect(env, "ada", ROOM)

    frame = gw.ask(ada, "attachment.create", **{**PNG, **fields})

    assert error_frame(frame, "INVALID_INPUT")["field"] == field


def test_a_comment_with_attachments_reaches_the_room_with_download_urls(
    gw: Gateway, env: Env, room: None
) -> None:
    ada, bob = gw.connect(env, "ada", ROOM), gw.connect(env, "bob", ROOM)
    att = upload(gw, ada)["attachment"]
    gw.fake.clear()

    gw.send(ada, "thread.create", body="look", attachmentIds=[att["id"]])

    for who in (ada, bob):
        frame = gw.fake.take_one(who)
        assert frame["type"] == "thread.created"
        (shown,) = frame["thread"]["comments"][0]["attachments"]
        assert shown["id"] == att["id"] and "X-Amz-Signature=" in shown["url"]


def test_a_reply_takes_attachments_too(gw: Gateway, env: Env, room: None) -> None:
    ada = gw.connect(env, "ada", ROOM)
    gw.send(ada, "thread.create", body="first")
    thread = gw.fake.take_one(ada)["thread"]
    att = upload(gw, ada)["attachment"]

    frame = gw.ask(
        ada, "comment.create", threadId=thread["id"], body="r", attachmentIds=[att["id"]]
    )

    assert frame["type"] == "comment.created"
    assert [a["id"] for a in frame["comment"]["attachments"]] == [att["id"]]


def test_refused_attachment_ids_are_an_error_naming_the_field(
    gw: Gateway, env: Env, room: None
) -> None:
    ada = gw.connect(env, "ada", ROOM)
    other = new_env("Other")
    runtime.services().collab.create_room(secret_key(other.sk), ROOM, None)
    bob = gw.connect(other, "bob", ROOM)
    theirs = upload(gw, bob)["attachment"]["id"]
    never = gw.ask(ada, "attachment.create", **PNG)["attachment"]["id"]
    mine = [upload(gw, ada)["attachment"]["id"] for _ in range(11)]
    gw.fake.clear()

    for ids in ([theirs], [never], mine, ["att_x"]):
        frame = gw.ask(ada, "thread.create", body="x", attachmentIds=ids)
        assert error_frame(frame, "INVALID_INPUT")["field"] == "attachmentIds", ids

    gw.send(ada, "threads.list")
    assert gw.fake.take_one(ada)["data"] == []  # nothing was written


def test_a_reader_cannot_attach(gw: Gateway, env: Env, room: None) -> None:
    ada = gw.connect(env, "ada", ROOM, token=token_for(env, permissions={ROOM: "read"}))

    frame = gw.ask(ada, "attachment.create", **PNG)

    assert error_frame(frame, "ACCESS_DENIED")["needed"] == "comment"
