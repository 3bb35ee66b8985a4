"""The Node server SDK (sdk/node, built by `make sdk-node`) against the real local stack: a Node
script using the built package mints, creates rooms, a thread and a comment, pages through
lists, waits out real 429s and gets a 404 as a PulseError; then it verifies a webhook the stack
delivered to a real listener and refuses the same delivery tampered with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.conftest import ROOT, Stack, stacks
from webhook_listener import Listener, listening

NODE_SDK = ROOT / "sdk" / "node"
SCRIPT = NODE_SDK / "test" / "integration.mjs"
RATE_PER_KEY = 5  # API requests a second for one key: the script's burst of 20 goes over it


@pytest.fixture(scope="module")
def built() -> None:
    """The SDK's dist/, built from its sources (incremental: `make test` built it already)."""
    make = shutil.which("make")
    assert make, "make is needed to build sdk/node"
    subprocess.run([make, "-s", "sdk-node"], cwd=ROOT, check=True, timeout=600)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, built: None) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    with stacks(tmp) as start:
        yield start(
            tmp / "data",
            PULSE_EPHEMERAL="1",
            PULSE_RATE_REST_PER_KEY=str(RATE_PER_KEY),
            PULSE_WEBHOOK_RETRY_DELAYS="1,1,1",
        )


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


def node(phase: str, **env: str) -> dict[str, Any]:
    """Runs the script's phase; its last line of output is the JSON report."""
    executable = shutil.which("node")
    assert executable, "node is needed for the Node SDK's tests"
    done = subprocess.run(
        [executable, str(SCRIPT), phase],
        cwd=NODE_SDK,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_node_sdk_against_the_stack(stack: Stack, listener: Listener, tmp_path: Path) -> None:
    admin = stack.login()
    created = stack.create_environment(admin, "Node SDK")
    env_id = created["environment"]["id"]
    (secret_key,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    hook = stack.call(
        "POST",
        f"/admin/api/environments/{env_id}/webhooks",
        admin,
        json={"url": listener.url + "/pulse", "events": ["thread.created"]},
    )
    assert hook.status_code == 201, hook.text

    report = node("api", PULSE_URL=stack.url, PULSE_SECRET_KEY=secret_key)

    assert report["mint"]["jwt"] is True
    assert report["mint"]["cached"] is True  # the second mint came from the cache
    assert report["thread"]["firstComment"] == "First, from the Node SDK"
    assert report["comment"]["threadId"] == report["thread"]["id"]
    assert report["comment"]["body"] == "Second"
    # five rooms, two a page: three pages, by hand and by the iterator
    rooms = ["doc:1", "doc:2", "doc:3", "doc:4", "doc:5"]
    assert report["pages"]["pages"] == [rooms[0:2], rooms[2:4], rooms[4:]]
    assert report["pages"]["iterated"] == rooms
    assert report["pages"]["comments"] == ["First, from the Node SDK", "Second"]
    # the burst met real 429s, waited their Retry-After (1 s) and every request then succeeded
    burst = report["burst"]
    assert burst["succeeded"] == burst["requests"] == 20
    assert burst["retried429"] >= 1
    assert burst["delaysMs"] == [1000]
    assert report["notFound"] == {
        "thrown": True,
        "isPulseError": True,
        "status": 404,
        "code": "ROOM_NOT_FOUND",
        "message": report["notFound"]["message"],
        "requestId": report["notFound"]["requestId"],
    }
    assert report["notFound"]["message"] and report["notFound"]["requestId"]

    (delivery,) = listener.wait_for("/pulse", 1)
    body_file = tmp_path / "body"
    body_file.write_bytes(delivery.body)
    verified = node(
        "webhook",
        WEBHOOK_SECRET=hook.json()["secret"],
        WEBHOOK_BODY_FILE=str(body_file),
        WEBHOOK_HEADERS=json.dumps(delivery.headers),
    )
    assert verified["event"] == {
        "type": "thread.created",
        "threadId": report["thread"]["id"],
        "roomId": "doc:1",
    }
    assert verified["refused"] == {
        "isVerificationError": True,
        "message": "no webhook-signature matches the body",
    }
