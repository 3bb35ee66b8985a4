"""A publishable key rolled with a grace, end to end (issue 17): the real local stack, real
WebSocket clients. Its sockets stay open through the grace, and when the key ends the queued
job (the webhook queue on the stack's SQS, polled as Lambda would) closes them; a socket opened
with the new key stays. The stack runs with PULSE_KEY_GRACE_SECONDS=4, the test-only setting
that makes every grace last 4 seconds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Stack, stacks
from .realtime_helpers import Clients, in_thread, refused_status, run, ws_url

pytestmark = pytest.mark.e2e

GRACE_SECONDS = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("roll")
    with stacks(tmp) as start:
        yield start(tmp / "data", PULSE_EPHEMERAL="1", PULSE_KEY_GRACE_SECONDS=str(GRACE_SECONDS))


def keys(stack: Stack, admin: str, env_id: str) -> dict[str, dict[str, Any]]:
    response = stack.call("GET", f"/admin/api/environments/{env_id}/keys", admin)
    assert response.status_code == 200, response.text
    return {k["id"]: k for k in response.json()["data"]}


def token(stack: Stack, sk: str, user_id: str) -> str:
    response = stack.mint(sk, user_id)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def test_sockets_of_a_pk_rolled_with_a_grace_close_when_it_ends(stack: Stack) -> None:
    admin = stack.login()
    created = stack.create_environment(admin, "Roll")
    env_id = created["environment"]["id"]
    by_kind = {k["kind"]: k for k in created["keys"]}
    old_pk, sk = by_kind["publishable"], by_kind["secret"]["key"]
    room = f"doc-{uuid.uuid4().hex[:12]}"

    async def main() -> None:
        async with Clients(stack.ws_url) as clients:
            before = await clients.enter("before", old_pk["key"], token(stack, sk, "ada"), room)

            rolled = await in_thread(
                stack.call,
                "POST",
                f"/admin/api/environments/{env_id}/keys/{old_pk['id']}/roll",
                admin,
                json={"expiresIn": "1h"},
            )
            assert rolled.status_code == 201, rolled.text
            new_pk = rolled.json()["key"]
            listed = await in_thread(keys, stack, admin, env_id)
            assert listed[old_pk["id"]]["status"] == "expiring"
            assert listed[rolled.json()["id"]]["key"] == new_pk  # a pk_ is shown in full

            # During the grace: the old socket works, and the old key still opens sockets.
            during = await clients.enter("during", old_pk["key"], token(stack, sk, "bob"), room)
            fresh = await clients.enter("fresh", new_pk, token(stack, sk, "cy"), room)
            await before.barrier()

            # The key ends: the queued job closes its sockets, not the new key's.
            assert await before.closed(timeout=GRACE_SECONDS + 10) == 1000
            assert await during.closed() == 1000
            await fresh.barrier()
            old_url = ws_url(stack.ws_url, old_pk["key"], token(stack, sk, "dee"), room)
            assert await refused_status(old_url) == 401
            listed = await in_thread(keys, stack, admin, env_id)
            assert listed[old_pk["id"]]["status"] == "expired"

    run(main)
