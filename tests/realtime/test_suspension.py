"""A suspended environment on the WebSocket side (the Admin API side is in
tests/api/test_suspension.py): suspending closes every live connection of the environment (as a
disable does, whatever their keys) and removes their rows; `$connect` is refused with 403
ENVIRONMENT_SUSPENDED and nothing written; a connection that is still open (one that slipped in
while the suspension committed) gets `error` ENVIRONMENT_SUSPENDED for its thread and comment
messages. After a resume the same keys, and tokens minted before, connect again."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime

from .conftest import (
    Env,
    Gateway,
    active_user_ids,
    data_items,
    live_count,
    mint,
    rest,
    rest_error,
    rest_ok,
    stored_items,
)
from .test_kicks import admin, admin_call

__all__ = ["admin"]  # the fixture, used by name

ROOM = "room-1"


def suspend(client: Any, admin: str, env: Env) -> dict[str, Any]:
    return rest_ok(admin_call(client, admin, "POST", f"/{env.id}/suspend"))  # type: ignore[no-any-return]


def resume(client: Any, admin: str, env: Env) -> dict[str, Any]:
    return rest_ok(admin_call(client, admin, "POST", f"/{env.id}/resume"))  # type: ignore[no-any-return]


def query(env: Env, token: str, room: str = ROOM, api_key: str | None = None) -> dict[str, str]:
    return {"apiKey": api_key or env.pk, "token": token, "room": room}


# Suspending closes every connection of the environment: tests/realtime/test_kicks.py
# (test_stopping_the_environment_closes_all_its_connections[suspend]).


def test_connect_is_refused_with_403_while_suspended_and_nothing_is_written(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    token = mint(env.sk, "ada")  # minted before: it is the suspension that refuses it
    suspend(client, admin, env)
    before = data_items()

    for room in (ROOM, "room-new"):
        err = gw.refused(query(env, token, room), 403, "ENVIRONMENT_SUSPENDED")
        assert "suspended" in err["message"]

    assert data_items() == before  # no connection row, no room, no count
    assert live_count(env.id, "room-new") is None


def test_a_bad_pk_is_still_told_only_that_it_is_bad(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    token = mint(env.sk, "ada")
    suspend(client, admin, env)
    broken = env.pk[:-1] + ("a" if env.pk[-1] != "a" else "b")

    gw.refused(query(env, token, api_key=broken), 401, "INVALID_API_KEY")
    gw.refused(query(env, token, api_key=env.sk), 401)  # a secret key is never a pk_


def test_after_resume_the_same_keys_and_tokens_connect_again(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    token = mint(env.sk, "ada")
    suspend(client, admin, env)
    gw.refused(query(env, token), 403, "ENVIRONMENT_SUSPENDED")

    body = resume(client, admin, env)

    assert body["suspendedAt"] is None
    ada = gw.connect(env, "ada", ROOM, token=token)  # minted before the suspension
    grace = gw.connect(env, "grace", ROOM)  # minted now, with the same sk_
    gw.join(ada)
    assert sorted(active_user_ids(client, env, ROOM)) == sorted([ada, grace])


@pytest.fixture
def slipped_in(gw: Gateway, env: Env, monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection the suspension's kick did not close: its $connect read the environment
    before the suspension committed and wrote its rows after the kick had looked (or closing it
    failed). Here the kick is simply switched off."""
    ada = gw.connect(env, "ada", ROOM)
    monkeypatch.setattr(runtime.services().environments, "on_keys_dead", None)
    return ada


THREAD_MESSAGES: list[tuple[str, dict[str, Any]]] = [
    ("threads.list", {}),
    ("threads.list", {"comments": True}),
    ("thread.create", {"body": "Hello?"}),
    ("comment.create", {"threadId": "th_0000000000000000", "body": "Hi"}),
    ("comment.update", {"threadId": "th_0000000000000000", "commentId": "cm_x", "body": "x"}),
    ("comment.delete", {"threadId": "th_0000000000000000", "commentId": "cm_x"}),
    ("thread.resolve", {"threadId": "th_0000000000000000", "resolved": True}),
]


@pytest.mark.parametrize(("message", "fields"), THREAD_MESSAGES, ids=lambda v: str(v)[:20])
def test_a_live_connection_gets_environment_suspended_for_its_messages(
    gw: Gateway,
    env: Env,
    client: Any,
    admin: str,
    slipped_in: str,
    message: str,
    fields: dict[str, Any],
) -> None:
    suspend(client, admin, env)
    gw.fake.clear()
    before = stored_items()

    reply = gw.ask(slipped_in, message, requestId="r1", **fields)

    assert reply["type"] == "error", reply
    assert reply["code"] == "ENVIRONMENT_SUSPENDED"
    assert reply["requestId"] == "r1"
    changed = [i for i in stored_items() if i not in before]
    # only the connection's rate count moved (and the usage meter's counters: API Gateway bills
    # the message and the error sent back all the same)
    assert [i["pk"]["S"] for i in changed] == [f"CONN#{slipped_in}"], changed


def test_a_live_connection_works_again_after_resume(
    gw: Gateway, env: Env, client: Any, admin: str, slipped_in: str
) -> None:
    suspend(client, admin, env)
    assert gw.ask(slipped_in, "thread.create", body="Now?")["code"] == "ENVIRONMENT_SUSPENDED"
    rest_error(rest(client, "GET", "/api/v1/rooms", env.sk), 403, "ENVIRONMENT_SUSPENDED")

    resume(client, admin, env)

    created = gw.ask(slipped_in, "thread.create", body="Now!", requestId="t")
    assert created["type"] == "thread.created", created
    assert created["thread"]["comments"][0]["body"] == "Now!"
