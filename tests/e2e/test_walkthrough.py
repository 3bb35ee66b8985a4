"""The issue's walkthrough against `python -m infra dev` over real HTTP: log in, create an
environment, mint with its sk_, rotate (the old sk_ fails on the very next call), revoke a key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


@pytest.fixture(scope="module")
def admin_token(shared_stack: Stack) -> str:
    return shared_stack.login()


def key_of(keys: list[dict[str, Any]], kind: str) -> str:
    (key,) = [k["key"] for k in keys if k["kind"] == kind]
    return str(key)


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_new_user_walkthrough(stack: Stack, admin_token: str) -> None:
    created = stack.create_environment(admin_token, "Walkthrough")
    env_id = created["environment"]["id"]
    old_sk = key_of(created["keys"], "secret")
    old_pk = key_of(created["keys"], "publishable")

    minted = stack.mint(old_sk)
    assert minted.status_code == 200, minted.text
    assert minted.json()["token"].count(".") == 2

    rotated = stack.call("POST", f"/admin/api/environments/{env_id}/keys/rotate", admin_token)
    assert rotated.status_code == 201, rotated.text
    assert {k["key"] for k in created["keys"]}.isdisjoint(k["key"] for k in rotated.json()["keys"])
    assert sorted(rotated.json()["revoked"]) == sorted(k["id"] for k in created["keys"])
    new_sk = key_of(rotated.json()["keys"], "secret")

    after = stack.mint(old_sk)  # the very next call with the old key
    assert after.status_code == 401
    assert error_code(after) == "INVALID_API_KEY"
    assert stack.mint(new_sk).status_code == 200
    assert stack.mint(old_pk.replace("pk_", "sk_", 1)).status_code == 401


def test_a_revoked_single_key_stops_working(stack: Stack, admin_token: str) -> None:
    env_id = stack.create_environment(admin_token, "Revoke")["environment"]["id"]
    response = stack.call(
        "POST",
        f"/admin/api/environments/{env_id}/keys",
        admin_token,
        json={"kind": "secret", "name": "CI"},
    )
    assert response.status_code == 201, response.text
    key = response.json()
    assert stack.mint(key["key"]).status_code == 200

    revoked = stack.call(
        "POST", f"/admin/api/environments/{env_id}/keys/{key['id']}/revoke", admin_token
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    refused = stack.mint(key["key"])
    assert refused.status_code == 401
    assert error_code(refused) == "INVALID_API_KEY"


def test_a_publishable_key_cannot_mint(stack: Stack, admin_token: str) -> None:
    created = stack.create_environment(admin_token, "Publishable")
    refused = stack.mint(key_of(created["keys"], "publishable"))
    assert refused.status_code == 401
    assert error_code(refused) == "SECRET_KEY_REQUIRED"
    assert "suggestion" in refused.json()["error"]


def test_wrong_admin_password_is_refused(stack: Stack) -> None:
    response = stack.call(
        "POST", "/admin/api/login", json={"email": "admin@example.com", "password": "x" * 16}
    )
    assert response.status_code == 401
    assert error_code(response) == "INVALID_CREDENTIALS"


def test_the_stack_logs_each_request_and_never_a_secret_key(stack: Stack, admin_token: str) -> None:
    created = stack.create_environment(admin_token, "Logged")
    sk = key_of(created["keys"], "secret")
    assert stack.mint(sk).status_code == 200
    assert stack.mint(sk + "x").status_code == 401

    log = stack.log()
    access = [json.loads(line) for line in log.splitlines() if '"pulse.access"' in line]
    minted = [a for a in access if a.get("route") == "/auth/token"]
    assert {a["status"] for a in minted} >= {200, 401}, "access lines missing: logging is off"
    assert sk not in log
    assert "sk_" not in log
