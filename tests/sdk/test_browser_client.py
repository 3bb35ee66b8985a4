"""The built headless client (`/sdk/pulse-client.js`) against the real local stack: two users in
Node over real WebSockets (tests/sdk/browser_client_scenario.mjs) see each other's presence,
threads, comments and reactions, unread state and the inbox; one catches up after a reconnect
with `join` `sinceSeq`, without listing the threads again, and a write cut off by a drop is
resent with its clientMutationId and stored once."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import Stack, stacks

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "chalicelib" / "static" / "sdk" / "pulse-client.js"
SCENARIO = Path(__file__).with_name("browser_client_scenario.mjs")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    with stacks(tmp) as start:
        yield start(tmp / "data", PULSE_EPHEMERAL="1")


def mint(stack: Stack, sk: str, user: str) -> str:
    response = stack.call("POST", "/auth/token", sk, json={"userId": user, "name": user.title()})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def run_scenario(stack: Stack, tmp_path: Path, room: str) -> dict[str, Any]:
    created = stack.create_environment(stack.login(), "Headless client")
    keys = {k["kind"]: k["key"] for k in created["keys"]}
    config = {
        "pk": keys["publishable"],
        "ws": stack.ws_url,
        "room": room,
        "tokens": {user: mint(stack, keys["secret"], user) for user in ("ada", "grace")},
    }
    # The served file, as an .mjs: Node 20 reads a plain .js outside an ESM package as CommonJS.
    module = tmp_path / "pulse-client.mjs"
    shutil.copyfile(CLIENT, module)
    node = shutil.which("node")
    assert node, "node is on the machine (README: make test needs it)"
    done = subprocess.run(
        [node, "--experimental-websocket", str(SCENARIO), module.as_uri(), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_two_users_share_a_room_and_one_catches_up_after_a_reconnect(
    stack: Stack, tmp_path: Path
) -> None:
    result = run_scenario(stack, tmp_path, "sdk-room")

    assert "error" not in result, result
    assert result["steps"] == ["presence", "comments", "reactions", "unread", "catch-up", "resend"]
    assert result["access"] == "write"
    assert result["mentions"] == ["grace"]
    assert result["reactions"] == [{"emoji": "👍", "count": 1, "userIds": ["grace"]}]
    assert result["graceReacted"] is True
    assert result["inboxCount"] >= 1
    # getInbox (inbox.list): the thread in grace's inbox with her count, then gone once read
    before, after = result["inboxBefore"], result["inboxAfter"]
    assert [(e["threadId"], e["roomId"]) for e in before["data"]] == [
        (result["threadId"], "sdk-room")
    ]
    assert (before["data"][0]["unreadCount"], before["data"][0]["reason"]) == (2, "mention")
    assert (before["count"], before["nextCursor"]) == (1, None)
    assert (after["data"], after["count"]) == ([], 0)
    # The rejoin asked only for what was missed, and nothing was listed again.
    assert isinstance(result["rejoin"].get("sinceSeq"), int), result["rejoin"]
    assert result["listsAfterRejoin"] == 0
    # A write cut off by a drop went out twice with one clientMutationId, and is stored once.
    assert result["resend"] == {"sends": 2, "sameId": True}
    assert result["resentCopies"] == 1
    assert result["settings"] == {"roomId": "sdk-room", "setting": "mentions"}
    assert result["found"] == ["ada"]
    # Each user's provider was asked once, for the first connection; the rejoin reused it.
    assert sorted((m["user"], m["reason"]) for m in result["minted"]) == [
        ("ada", "initial"),
        ("grace", "initial"),
    ]
    assert result["lastErrors"] == {"ada": None, "grace": None}
