"""Kicks: rotating or revoking keys, or disabling the environment (through the Admin API),
closes every live connection opened with a now-dead pk_ or with a token its dead sk_ minted,
and removes their rows. Everything else is untouched."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime

from .conftest import (
    Env,
    FakeApi,
    Gateway,
    active_user_ids,
    connection_rows,
    live_count,
    mint,
    new_env,
    rest,
    rest_ok,
    set_expiry,
)

ROOM = "room-1"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin(services: runtime.Services, client: Any) -> str:
    """An owner's session token (created on the bootstrap path, logged in through the API)."""
    services.operators.create(None, "owner@example.com", PASSWORD, "owner")
    body = {"email": "owner@example.com", "password": PASSWORD}
    return str(rest_ok(rest(client, "POST", "/admin/api/login", None, body))["token"])


def admin_call(client: Any, admin: str, method: str, path: str, body: Any = None) -> Any:
    return rest(client, method, f"/admin/api/environments{path}", admin, body)


def new_key(client: Any, admin: str, env: Env, kind: str) -> tuple[str, str]:
    """(key id, full key) of a new key made with POST .../keys."""
    body = rest_ok(
        admin_call(client, admin, "POST", f"/{env.id}/keys", {"kind": kind, "name": f"2nd {kind}"}),
        201,
    )
    return body["id"], body["key"]


def alive(fake: FakeApi, *cids: str) -> None:
    for cid in cids:
        assert cid not in fake.closed, cid
        assert len(connection_rows(cid)) == 3, cid


def kicked(fake: FakeApi, *cids: str) -> None:
    for cid in cids:
        assert fake.closed.count(cid) == 1, (cid, fake.closed)
        assert connection_rows(cid) == [], cid


def test_rotation_closes_every_connection_of_the_old_pair(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    fake = gw.fake
    a = gw.connect(env, "ada", ROOM)
    b = gw.connect(env, "grace", ROOM)
    c = gw.connect(env, "linus", "room-2")
    other = new_env("Other")
    o = gw.connect(other, "ada", ROOM)  # same room id, another environment
    fake.clear()

    body = rest_ok(admin_call(client, admin, "POST", f"/{env.id}/keys/rotate"), 201)

    kicked(fake, a, b, c)
    alive(fake, o)
    assert sorted(body["revoked"]) == sorted([env.pk_id, env.sk_id])
    assert live_count(env.id, ROOM) == 0 and live_count(env.id, "room-2") == 0
    assert fake.take(o) == []  # nothing leaks across environments
    new_sk = next(k["key"] for k in body["keys"] if k["kind"] == "secret")
    new_pk = next(k["key"] for k in body["keys"] if k["kind"] == "publishable")
    assert rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}/active_users", new_sk)) == {
        "data": [],
        "nextCursor": None,
    }

    # The new pair connects; the other environment still works.
    fresh = Env(env.id, new_pk, new_sk, "", "")
    n = gw.connect(fresh, "ada", ROOM)
    rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/broadcast", other.sk, {"event": 1}), 202)
    assert fake.take_one(o)["event"] == 1
    assert fake.take(n) == []


def test_revoking_an_sk_closes_only_the_connections_its_tokens_opened(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    fake = gw.fake
    sk2_id, sk2 = new_key(client, admin, env, "secret")
    by_sk1 = gw.connect(env, "ada", ROOM, token=mint(env.sk, "ada"))
    by_sk2 = gw.connect(env, "grace", ROOM, token=mint(sk2, "grace"))
    by_sk2_elsewhere = gw.connect(env, "linus", "room-2", token=mint(sk2, "linus"))
    fake.clear()

    rest_ok(admin_call(client, admin, "POST", f"/{env.id}/keys/{env.sk_id}/revoke"))

    kicked(fake, by_sk1)
    alive(fake, by_sk2, by_sk2_elsewhere)
    # The room is told, as for any connection that ends.
    assert fake.take(by_sk2) == [{"type": "user.left", "connectionId": by_sk1, "userId": "ada"}]
    assert active_user_ids(client, Env(env.id, env.pk, sk2, "", ""), ROOM) == [by_sk2]
    assert live_count(env.id, ROOM) == 1

    # Revoking the second one closes the rest.
    rest_ok(admin_call(client, admin, "POST", f"/{env.id}/keys/{sk2_id}/revoke"))
    kicked(fake, by_sk1, by_sk2, by_sk2_elsewhere)


def test_revoking_a_pk_closes_only_the_connections_it_opened(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    fake = gw.fake
    _, pk2 = new_key(client, admin, env, "publishable")
    via_pk1 = gw.connect(env, "ada", ROOM)
    via_pk2 = gw.connect(env, "grace", ROOM, api_key=pk2)
    fake.clear()

    rest_ok(admin_call(client, admin, "POST", f"/{env.id}/keys/{env.pk_id}/revoke"))

    kicked(fake, via_pk1)
    alive(fake, via_pk2)
    assert fake.take(via_pk2) == [{"type": "user.left", "connectionId": via_pk1, "userId": "ada"}]
    # The surviving connection keeps working.
    gw.send(via_pk2, "ping")
    assert fake.take(via_pk2) == [{"type": "pong"}]


# How an operator stops a whole environment: disable it (for good, naming it: new_env's "Acme")
# or suspend it (until resumed).
STOPS = {
    "disable": ("DELETE", "", {"confirmName": "Acme"}, 204),
    "suspend": ("POST", "/suspend", None, 200),
}


@pytest.mark.parametrize("stop", list(STOPS))
def test_stopping_the_environment_closes_all_its_connections(
    gw: Gateway, env: Env, client: Any, admin: str, stop: str
) -> None:
    fake = gw.fake
    _, sk2 = new_key(client, admin, env, "secret")
    _, pk2 = new_key(client, admin, env, "publishable")
    mine = [
        gw.connect(env, "ada", ROOM),
        gw.connect(env, "grace", "room-2", token=mint(sk2, "grace")),
        gw.connect(env, "linus", "room-3", api_key=pk2),
    ]
    other = new_env("Other")
    theirs = gw.connect(other, "ada", ROOM)  # the same room id, another environment
    fake.clear()

    method, suffix, body, status = STOPS[stop]
    assert admin_call(client, admin, method, f"/{env.id}{suffix}", body).status_code == status

    kicked(fake, *mine)
    alive(fake, theirs)
    assert [r for r in connection_rows() if env.id in r[0]] == []
    assert live_count(env.id, ROOM) == 0
    assert fake.take(theirs) == []  # nothing of it reaches another environment
    gw.send(theirs, "ping")
    assert fake.take(theirs) == [{"type": "pong"}]


def test_expired_connections_are_not_closed_again(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    """Kicks read live rows only (an expired connection is already gone from API Gateway)."""
    fake = gw.fake
    stale = gw.connect(env, "ada", ROOM)
    live = gw.connect(env, "grace", ROOM)
    set_expiry(stale, gw.clock.now() - 1)

    rest_ok(admin_call(client, admin, "POST", f"/{env.id}/keys/rotate"), 201)

    assert fake.closed == [live]
    assert connection_rows(live) == []


def test_a_failing_kick_never_fails_the_admin_request(
    gw: Gateway, env: Env, client: Any, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = gw.fake
    gw.connect(env, "ada", ROOM)
    token = mint(env.sk, "eve")

    def broken(c: Any) -> None:
        raise RuntimeError("management api down")

    monkeypatch.setattr(fake, "close", broken)

    resp = admin_call(client, admin, "POST", f"/{env.id}/keys/{env.sk_id}/revoke")

    assert rest_ok(resp)["status"] == "revoked"
    gw.refused({"apiKey": env.pk, "token": token, "room": ROOM}, 401, "INVALID_TOKEN")
