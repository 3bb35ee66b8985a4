"""Restricted keys end to end, over real HTTP and WebSocket against the local stack: an rk_
created through the Admin API is refused outside its scopes and rooms, the token it mints opens
a socket only in its rooms, and a report of it as leaked closes that socket and stops the key."""

from __future__ import annotations

import uuid

import pytest

from .realtime_helpers import Clients, refusal, run
from .test_realtime import Realtime, rt  # noqa: F401 (rt: the stack fixture)

pytestmark = pytest.mark.e2e


def test_a_restricted_key_over_http_and_sockets_until_it_is_reported(
    rt: Realtime,  # noqa: F811
) -> None:
    env = rt.env("Restricted")
    tag = uuid.uuid4().hex[:8]
    pattern, inside, outside = f"acme{tag}:*", f"acme{tag}:plan", f"beta{tag}:plan"
    created = rt.admin_call(
        "POST",
        f"/admin/api/environments/{env.id}/keys",
        json={"kind": "restricted", "scopes": ["tokens:mint", "rooms:read"], "rooms": pattern},
    )
    assert created.status_code == 201, created.text
    rk = created.json()["key"]
    stack = rt.stack

    # Outside its scopes, and outside its rooms: 403 INSUFFICIENT_SCOPE.
    for method, path, json in (
        ("GET", "/api/v1/users", None),
        ("GET", f"/api/v1/rooms/{outside}", None),
        ("POST", "/api/v1/rooms", {"id": inside}),
    ):
        refused = stack.call(method, path, rk, json=json)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert stack.call("GET", f"/api/v1/rooms/{inside}", rk).status_code == 404  # allowed: absent

    # Its token asks for every room and gets the pattern.
    minted = stack.call(
        "POST",
        "/auth/token",
        rk,
        json={"userId": "ada", "name": "Ada", "permissions": {"*": "write"}},
    )
    assert minted.status_code == 200, minted.text
    token = minted.json()["token"]

    async def main() -> None:
        status, body = await refusal(env.url(token, outside))
        assert (status, body["error"]["code"]) == (403, "ROOM_ACCESS_DENIED")
        async with Clients(stack.ws_url) as clients:
            ada = await clients.enter("A", env.pk, token, inside)
            assert ada.joined["access"] == "write"
            reported = rt.admin_call("POST", "/admin/api/keys/report-leak", json={"key": rk})
            assert reported.status_code == 202, reported.text
            assert reported.json() == {"received": True}  # the same for any key: see its effects
            await ada.closed()

    run(main)
    after = stack.call("GET", f"/api/v1/rooms/{inside}", rk)
    assert after.status_code == 401 and after.json()["error"]["code"] == "INVALID_API_KEY"
    assert env.api("GET", "/users").status_code == 200  # the environment's sk_ is untouched
