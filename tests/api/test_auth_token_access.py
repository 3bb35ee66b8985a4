"""`POST /auth/token` with `groupIds` and `permissions`: identity tokens and access tokens, their
claims, and a 400 naming the field for every bad pattern, level or size (nothing recorded)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime

from .test_auth_token import (
    USER,
    Env,
    create_env,
    error_of,
    mint_ok,
    post_token,
    unverified,
    users_of,
)


@pytest.fixture
def env(services: runtime.Services) -> Env:
    return create_env(services, "Acme")


def test_an_identity_token_carries_its_groups_and_no_permissions(client: Any, env: Env) -> None:
    token = mint_ok(client, env.sk, {**USER, "groupIds": ["acme", "acme-eng"]})["token"]

    _, claims = unverified(token)

    assert claims["groupIds"] == ["acme", "acme-eng"]
    assert "permissions" not in claims


def test_an_access_token_carries_its_permissions(client: Any, env: Env) -> None:
    permissions = {"acme:*": "read", "acme:design": "write", "acme:secret": "none"}
    token = mint_ok(client, env.sk, {**USER, "permissions": permissions})["token"]

    _, claims = unverified(token)

    assert claims["permissions"] == permissions
    assert "groupIds" not in claims


def test_a_token_without_access_fields_has_neither_claim(client: Any, env: Env) -> None:
    _, claims = unverified(mint_ok(client, env.sk)["token"])
    assert "permissions" not in claims and "groupIds" not in claims


def test_every_room_pattern_is_accepted(client: Any, env: Env) -> None:
    permissions = {"*": "read", "a:*": "comment", "doc-1": "write", "x.y_z-1:*": "none"}
    mint_ok(client, env.sk, {**USER, "permissions": permissions})


def test_fifty_entries_of_each_fit_in_a_token(client: Any, env: Env) -> None:
    body = {
        **USER,
        "groupIds": [f"g{n}" for n in range(50)],
        "permissions": {f"r{n}:*": "read" for n in range(50)},
    }
    token = mint_ok(client, env.sk, body)["token"]
    assert len(token) <= 4096


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"groupIds": "acme"}, "groupIds"),
        ({"groupIds": [""]}, "groupIds[0]"),
        ({"groupIds": ["ok", 7]}, "groupIds[1]"),
        ({"groupIds": ["x" * 129]}, "groupIds[0]"),
        ({"groupIds": ["a\nb"]}, "groupIds[0]"),
        ({"groupIds": [f"g{n}" for n in range(51)]}, "groupIds"),
        ({"permissions": ["acme:*"]}, "permissions"),
        ({"permissions": {"acme:*": "admin"}}, "permissions.acme:*"),
        ({"permissions": {"acme:*": None}}, "permissions.acme:*"),
        ({"permissions": {"acme:*": 3}}, "permissions.acme:*"),
        ({"permissions": {"ac*me": "read"}}, "permissions.ac*me"),
        ({"permissions": {"acme:**": "read"}}, "permissions.acme:**"),
        ({"permissions": {"a b": "read"}}, "permissions.a b"),
        ({"permissions": {"": "read"}}, "permissions."),
        ({"permissions": {"r" * 129: "read"}}, "permissions." + "r" * 129),
        ({"permissions": {f"r{n}": "read" for n in range(51)}}, "permissions"),
    ],
)
def test_a_bad_access_field_is_a_400_naming_it(
    client: Any, env: Env, services: runtime.Services, extra: dict[str, Any], field: str
) -> None:
    err = error_of(post_token(client, env.sk, {**USER, **extra}), 400, "INVALID_INPUT")

    assert err["field"] == field
    assert users_of(services, env.id) == []


@pytest.mark.parametrize("field", ["permissions", "groupIds"])
def test_a_token_too_long_for_the_connect_url_is_a_400_naming_the_field(
    client: Any, env: Env, services: runtime.Services, field: str
) -> None:
    # 50 entries of 128 characters are valid one by one, but no URL of 4096 characters holds
    # them.
    value: Any = (
        {f"{n:03d}" + "r" * 124 + "*": "read" for n in range(50)}
        if field == "permissions"
        else [f"{n:03d}" + "g" * 125 for n in range(50)]
    )
    err = error_of(post_token(client, env.sk, {**USER, field: value}), 400, "INVALID_INPUT")

    assert err["field"] == field
    assert "4096" in err["message"]
    assert users_of(services, env.id) == []


def test_a_key_error_still_comes_before_an_access_field_error(client: Any, env: Env) -> None:
    resp = post_token(client, "sk_nonsense", {**USER, "permissions": {"a b": "read"}})
    error_of(resp, 401, "INVALID_API_KEY")
