"""POST /api/v1/users/{userId}/revoke-tokens: every token minted for the user until then stops
connecting (401 TOKEN_REVOKED), tokens minted afterwards work, and the user's open sockets in the
environment are told (an `error` TOKEN_REVOKED) and closed. Nothing of another user or another
environment moves; a connect racing the revocation never survives it."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.db.models import UserItem

from .conftest import (
    Env,
    Gateway,
    connection_rows,
    live_count,
    mint,
    new_env,
    rest,
    rest_error,
    rest_ok,
)

ROOM = "room-1"


def revoke(client: Any, env: Env, user_id: str) -> dict[str, Any]:
    body: dict[str, Any] = rest_ok(
        rest(client, "POST", f"/api/v1/users/{user_id}/revoke-tokens", env.sk)
    )
    return body


def told_and_closed(gw: Gateway, cid: str) -> None:
    frames = gw.fake.take(cid)
    assert [f["code"] for f in frames if f["type"] == "error"] == ["TOKEN_REVOKED"], frames
    assert gw.fake.closed.count(cid) == 1
    assert connection_rows(cid) == []


def test_revoking_closes_the_users_sockets_in_every_room_and_no_one_elses(
    gw: Gateway, env: Env, client: Any
) -> None:
    a1 = gw.connect(env, "ada", ROOM)
    a2 = gw.connect(env, "ada", "room-2")
    g = gw.connect(env, "grace", ROOM)
    other = new_env("Other")
    o = gw.connect(other, "ada", ROOM)  # the same user id in another environment
    gw.fake.clear()

    body = revoke(client, env, "ada")

    assert body == {
        "userId": "ada",
        "revokedAt": body["revokedAt"],
        "closedConnections": 2,
    }
    assert body["revokedAt"].endswith("Z")
    told_and_closed(gw, a1)
    told_and_closed(gw, a2)
    for survivor in (g, o):
        assert survivor not in gw.fake.closed
        assert len(connection_rows(survivor)) == 3
    # grace hears that ada left; the room's live count follows
    assert gw.fake.take(g) == [{"type": "user.left", "connectionId": a1, "userId": "ada"}]
    assert live_count(env.id, ROOM) == 1 and live_count(env.id, "room-2") == 0


def test_old_tokens_are_refused_and_new_ones_connect(gw: Gateway, env: Env, client: Any) -> None:
    before = mint(env.sk, "ada")
    grace = mint(env.sk, "grace")
    revoke(client, env, "ada")

    err = gw.refused({"apiKey": env.pk, "token": before, "room": ROOM}, 401, "TOKEN_REVOKED")
    assert "revoked" in err["message"]
    # minted in the same second as the revocation, after it: it works (no whole-second cutoff)
    after = mint(env.sk, "ada")
    gw.connect(env, "ada", ROOM, token=after)
    gw.connect(env, "grace", ROOM, token=grace)  # another user's tokens are untouched

    # a second revocation ends the tokens of the first generation after it too
    revoke(client, env, "ada")
    gw.refused({"apiKey": env.pk, "token": after, "room": ROOM}, 401, "TOKEN_REVOKED")
    gw.refused({"apiKey": env.pk, "token": before, "room": ROOM}, 401, "TOKEN_REVOKED")
    gw.connect(env, "ada", ROOM, token=mint(env.sk, "ada"))


def test_revocation_is_per_environment(gw: Gateway, env: Env, client: Any) -> None:
    other = new_env("Other")
    theirs = mint(other.sk, "ada")
    mint(env.sk, "ada")
    revoke(client, env, "ada")
    gw.connect(other, "ada", ROOM, token=theirs)
    # another environment's key cannot revoke this one's user: its user does not exist there
    path = "/api/v1/users/grace/revoke-tokens"
    mint(env.sk, "grace")
    rest_error(rest(client, "POST", path, other.sk), 404, "USER_NOT_FOUND")


def test_unknown_user_is_404_and_writes_nothing(
    gw: Gateway, env: Env, client: Any, services: runtime.Services
) -> None:
    rest_error(
        rest(client, "POST", "/api/v1/users/nobody/revoke-tokens", env.sk), 404, "USER_NOT_FOUND"
    )
    assert [i for i in UserItem.scan() if i.sk == "USER#nobody"] == []  # no item made


@pytest.mark.parametrize("key", ["none", "publishable"])
def test_needs_the_secret_key(env: Env, client: Any, key: str) -> None:
    token = None if key == "none" else env.pk
    code = "MISSING_API_KEY" if key == "none" else "SECRET_KEY_REQUIRED"
    rest_error(rest(client, "POST", "/api/v1/users/ada/revoke-tokens", token), 401, code)


def test_a_connect_racing_the_revocation_is_refused(
    gw: Gateway, env: Env, client: Any, services: runtime.Services, monkeypatch: Any
) -> None:
    """The connect read the user's tokens before the revocation and writes after it (after the
    revocation's sweep of the user's sockets found nothing): its transaction is refused on the
    user's generation, it reads again, and the token is refused."""
    token = mint(env.sk, "ada")
    store = services.realtime.connections
    real_add = store.add
    raced: list[dict[str, Any]] = []

    def add_after_a_revocation(*args: Any, **kwargs: Any) -> None:
        if not raced:
            raced.append(revoke(client, env, "ada"))
        real_add(*args, **kwargs)

    monkeypatch.setattr(store, "add", add_after_a_revocation)
    cid = gw.new_id()
    result = gw.connect_raw(cid, {"apiKey": env.pk, "token": token, "room": ROOM})

    assert result["statusCode"] == 401 and "TOKEN_REVOKED" in result["body"], result
    assert raced and raced[0]["closedConnections"] == 0  # the sweep ran before the write
    assert connection_rows(cid) == []
