"""Two comments racing for one upload (a client's retry of a slow create does this): exactly one
gets it, the other is a 400 naming attachmentIds, and the file ends up tagged `attached` (out of
the bucket's expiry of unclaimed uploads) whichever order the requests ran in. Real threads on
moto made atomic per request (atomic_moto)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from callers import secret_key

from chalicelib import runtime
from chalicelib.errors import InvalidInput
from chalicelib.services.attachments import file_key

from .conftest import Env

ROOM = "race"
BUCKET = "pulse-test-attachments"


@pytest.mark.parametrize("round_", range(5))
def test_one_upload_goes_to_exactly_one_of_two_racing_comments(
    round_: int, atomic_moto: None, services: runtime.Services, make_env: Any
) -> None:
    env: Env = make_env()
    caller = secret_key(env.sk)
    collab = services.collab
    collab.create_room(caller, ROOM, None)
    thread = collab.create_thread(caller, ROOM, "ada", "first", None)
    upload = collab.create_attachment(caller, ROOM, "a.png", "image/png", 3)
    key = file_key(env.id, ROOM, upload.attachment.id)
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"png")
    start = threading.Barrier(2)
    won: list[str] = []
    refused: list[str] = []

    def comment(user: str) -> None:
        start.wait()
        try:
            made = collab.create_comment(
                secret_key(env.sk), ROOM, thread.id, user, "mine", (upload.attachment.id,)
            )
            won.append(made.id)
        except InvalidInput as exc:
            assert exc.field == "attachmentIds"
            refused.append(user)

    threads = [threading.Thread(target=comment, args=(u,)) for u in ("ada", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert len(won) == 1 and len(refused) == 1
    page = collab.list_comments(caller, ROOM, thread.id, 100, None)
    holders = [c.id for c in page.data if c.attachments]
    assert holders == won
    tags = boto3.client("s3").get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    assert tags == [{"Key": "pulse-state", "Value": "attached"}]
