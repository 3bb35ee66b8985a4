"""REST API v1 users: the people tokens were minted for, listed and read by id (any user id a
mint accepts, URL-encoded in the path), with first/last seen times."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.clock import FrozenClock, iso
from chalicelib.services.tokens import PALETTE, color_for

from .helpers import Tenant, call, each, enc, error, list_all, new_tenant, ok, totals, v1


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Acme")


def mint(client: Any, key: str, user_id: str, name: str = "Ada", avatar: str | None = None) -> None:
    body: dict[str, Any] = {"userId": user_id, "name": name}
    if avatar is not None:
        body["avatar"] = avatar
    resp = call(client, "POST", "/auth/token", token=key, body=body)
    assert resp.status_code == 200, resp.body


def test_a_minted_user_is_listed_and_readable_by_id(
    client: Any, tenant: Tenant, clock: FrozenClock
) -> None:
    mint(client, tenant.sk, "user-1", "Ada Lovelace", "https://example.com/ada.png")
    now = iso(clock.now())
    expected = {
        "id": "user-1",
        "name": "Ada Lovelace",
        "avatar": "https://example.com/ada.png",
        "color": color_for("user-1"),
        "firstSeenAt": now,
        "lastSeenAt": now,
    }

    assert ok(v1(client, "GET", "/users", tenant.sk)) == {"data": [expected], "nextCursor": None}
    assert ok(v1(client, "GET", "/users/user-1", tenant.sk)) == expected
    assert expected["color"] in PALETTE


def test_a_user_without_an_avatar_has_avatar_null(client: Any, tenant: Tenant) -> None:
    mint(client, tenant.sk, "bob", "Bob")

    assert ok(v1(client, "GET", "/users/bob", tenant.sk))["avatar"] is None


def test_last_seen_moves_and_first_seen_stays_on_a_later_mint(
    client: Any, tenant: Tenant, clock: FrozenClock
) -> None:
    mint(client, tenant.sk, "user-1", "Ada")
    first = iso(clock.now())
    clock.advance(3600)

    mint(client, tenant.sk, "user-1", "Ada L.")

    user = ok(v1(client, "GET", "/users/user-1", tenant.sk))
    assert (user["firstSeenAt"], user["lastSeenAt"]) == (first, iso(clock.now()))
    assert user["name"] == "Ada L."
    assert len(ok(v1(client, "GET", "/users", tenant.sk))["data"]) == 1


def test_the_list_pages_over_every_user_once(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    user_ids = [f"u{n}" for n in range(7)]
    for user_id in user_ids:
        mint(client, tenant.sk, user_id)

    pages: list[list[str]] = []
    cursor = None
    for _ in range(6):
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = ok(v1(client, "GET", f"/users{query}", tenant.sk))
        pages.append([u["id"] for u in body["data"]])
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(u for p in pages for u in p) == user_ids
    assert totals(services, tenant.id)["users"] == 7


def test_unusual_user_ids_work_url_encoded(client: Any, tenant: Tenant) -> None:
    user_ids = [
        "Ada Lovelace",
        "ada@example.com",
        "100%",
        "%41",
        "名前",
        "émile+1",
        "a:b;c=d&e?f#g",
        "user.1~2'3\"4",
        "🎉",
        "u" * 128,
    ]
    for user_id in user_ids:
        mint(client, tenant.sk, user_id)

    def check(user_id: str) -> None:
        user = ok(v1(client, "GET", f"/users/{enc(user_id)}", tenant.sk))
        assert user["id"] == user_id

    each(user_ids, check)
    listed = list_all(client, tenant.sk, "/api/v1/users")
    assert sorted(u["id"] for u in listed) == sorted(user_ids)


def test_an_unknown_user_is_404_user_not_found(client: Any, tenant: Tenant) -> None:
    mint(client, tenant.sk, "user-1")
    mint(client, tenant.sk, "100%")

    def check(user_id: str) -> None:
        error(v1(client, "GET", f"/users/{enc(user_id)}", tenant.sk), 404, "USER_NOT_FOUND")

    unknown = ["user-2", "USER-1", "user-1 ", "100%25", "%", "x" * 129, "x" * 2000, "USER#user-1"]
    each(unknown, check)


def test_an_empty_environment_has_no_users(client: Any, tenant: Tenant) -> None:
    assert ok(v1(client, "GET", "/users", tenant.sk)) == {"data": [], "nextCursor": None}


def test_users_of_another_environment_are_404(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    other = new_tenant(services, "Globex")
    mint(client, other.sk, "theirs")

    error(v1(client, "GET", "/users/theirs", tenant.sk), 404, "USER_NOT_FOUND")
    assert ok(v1(client, "GET", "/users", tenant.sk))["data"] == []
    assert [u["id"] for u in ok(v1(client, "GET", "/users", other.sk))["data"]] == ["theirs"]


def test_a_users_cursor_is_refused_by_another_environment(
    client: Any, services: runtime.Services, tenant: Tenant
) -> None:
    other = new_tenant(services, "Globex")
    for user_id in ("a", "b"):
        mint(client, other.sk, user_id)
        mint(client, tenant.sk, user_id)
    cursor = ok(v1(client, "GET", "/users?limit=1", other.sk))["nextCursor"]

    error(v1(client, "GET", f"/users?limit=1&cursor={cursor}", tenant.sk), 400, "INVALID_CURSOR")
