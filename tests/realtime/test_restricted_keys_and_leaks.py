"""Sockets and restricted keys: a token an rk_ minted connects, only to rooms within its
pattern. POST /admin/api/keys/report-leak: a leaked key is found by its ids and hash in any
environment, revoked at once (the sockets of its tokens closed, as a revoke), audited as a leak
in its environment; other environments are untouched. Every well-formed report gets the same
202 (found, already revoked, publishable, unknown, malformed), so the effects are checked through
the Admin API: the key's status, the audit log, the environment's banner."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import ids, runtime
from chalicelib.auth import apikeys
from chalicelib.entities import Actor

from .conftest import Env, Gateway, connection_rows, new_env, rest, rest_error, rest_ok

PASSWORD = "correct horse battery staple"
OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
LEAK = "/admin/api/keys/report-leak"


@pytest.fixture
def admin(services: runtime.Services, client: Any) -> str:
    services.operators.create(None, "owner@example.com", PASSWORD, "owner")
    body = {"email": "owner@example.com", "password": PASSWORD}
    return str(rest_ok(rest(client, "POST", "/admin/api/login", None, body))["token"])


def restricted(env: Env, scopes: tuple[str, ...], rooms: str | None = None) -> tuple[str, str]:
    key = runtime.services().environments.create_key(
        OWNER, env.id, "restricted", "bot", scopes=scopes, rooms=rooms
    )
    assert key.key is not None
    return key.id, key.key


def mint_rest(client: Any, key: str, user: str, permissions: Any = None) -> str:
    body: dict[str, Any] = {"userId": user, "name": user.title()}
    if permissions is not None:
        body["permissions"] = permissions
    return str(rest_ok(rest(client, "POST", "/auth/token", key, body))["token"])


def query(env: Env, token: str, room: str) -> dict[str, str]:
    return {"apiKey": env.pk, "token": token, "room": room}


def audit(client: Any, admin: str, env: Env) -> list[dict[str, Any]]:
    path = f"/admin/api/environments/{env.id}/audit?limit=100"
    return list(rest_ok(rest(client, "GET", path, admin))["data"])


# --- restricted keys' tokens on sockets --------------------------------------------------------


def test_a_restricted_keys_token_reaches_only_rooms_within_its_pattern(
    gw: Gateway, env: Env, client: Any
) -> None:
    _, rk = restricted(env, ("tokens:mint",), rooms="acme:*")
    token = mint_rest(client, rk, "ada", {"*": "write"})  # asks for every room: gets acme:*

    inside = gw.connect(env, "ada", "acme:1", token=token)

    assert len(connection_rows(inside)) == 3
    gw.refused(query(env, token, "beta:1"), 403, "ROOM_ACCESS_DENIED")
    gw.refused(query(env, token, "acme"), 403, "ROOM_ACCESS_DENIED")


def test_a_restricted_key_without_rooms_mints_tokens_that_connect_anywhere(
    gw: Gateway, env: Env, client: Any
) -> None:
    _, rk = restricted(env, ("tokens:mint",))

    gw.connect(env, "ada", "beta:1", token=mint_rest(client, rk, "ada"))


def test_revoking_a_restricted_key_closes_the_sockets_of_its_tokens(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    rk_id, rk = restricted(env, ("tokens:mint",))
    by_rk = gw.connect(env, "ada", "room-1", token=mint_rest(client, rk, "ada"))
    by_sk = gw.connect(env, "grace", "room-1")

    path = f"/admin/api/environments/{env.id}/keys/{rk_id}/revoke"
    rest_ok(rest(client, "POST", path, admin))

    assert by_rk in gw.fake.closed and by_sk not in gw.fake.closed


# --- report-leak ---------------------------------------------------------------------------------


RECEIVED = {"received": True}


def report(client: Any, admin: str, key: str) -> tuple[int, Any, str | None]:
    """POST report-leak: what the answer says (status, body, content type), which must be the
    same whatever the key was."""
    resp = rest(client, "POST", LEAK, admin, {"key": key})
    return resp.status_code, resp.json_body, resp.headers.get("Content-Type")


def reported(client: Any, admin: str, key: str) -> None:
    assert report(client, admin, key) == (202, RECEIVED, "application/json")


def key_status(client: Any, admin: str, env: Env, key_id: str) -> str:
    path = f"/admin/api/environments/{env.id}/keys?limit=100"
    listed = {k["id"]: k for k in rest_ok(rest(client, "GET", path, admin))["data"]}
    return str(listed[key_id]["status"])


def leaks(client: Any, admin: str, env: Env) -> list[dict[str, Any]]:
    return [e for e in audit(client, admin, env) if e["action"] == "key.leaked"]


def test_a_reported_secret_key_is_revoked_its_sockets_closed_and_the_leak_audited(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    other = new_env("Other")
    mine = gw.connect(env, "ada", "room-1")  # a token the leaked sk_ minted
    theirs = gw.connect(other, "ada", "room-1")

    reported(client, admin, env.sk)

    assert key_status(client, admin, env, env.sk_id) == "revoked"
    assert key_status(client, admin, env, env.pk_id) == "active"
    assert mine in gw.fake.closed and theirs not in gw.fake.closed
    rest_error(rest(client, "GET", "/api/v1/users", env.sk), 401, "INVALID_API_KEY")
    assert rest(client, "GET", "/api/v1/users", other.sk).status_code == 200
    (leak,) = leaks(client, admin, env)
    assert leak["target"] == {"type": "key", "id": env.sk_id} and leak["details"]["revoked"]
    assert env.sk not in str(leak)
    assert leaks(client, admin, other) == []


def test_a_reported_restricted_key_is_revoked(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    rk_id, rk = restricted(env, ("rooms:read",))

    reported(client, admin, f"  {rk}\n")

    assert key_status(client, admin, env, rk_id) == "revoked"
    (leak,) = leaks(client, admin, env)
    assert leak["target"] == {"type": "key", "id": rk_id}
    assert leak["details"]["kind"] == "restricted"
    rest_error(rest(client, "GET", "/api/v1/rooms/r", rk), 401, "INVALID_API_KEY")
    assert rest(client, "GET", "/api/v1/users", env.sk).status_code == 200


def test_reporting_a_revoked_key_again_audits_it_and_changes_nothing(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    reported(client, admin, env.sk)
    revoked_at = rest_ok(rest(client, "GET", f"/admin/api/environments/{env.id}/keys", admin))

    reported(client, admin, env.sk)

    assert key_status(client, admin, env, env.sk_id) == "revoked"
    again = rest_ok(rest(client, "GET", f"/admin/api/environments/{env.id}/keys", admin))
    assert again == revoked_at  # its revokedAt is the first report's
    assert [e["details"]["revoked"] for e in leaks(client, admin, env)] == [False, True]


def near_miss(key: str) -> str:
    """One character of the secret changed: the checksum no longer matches."""
    i = 3 + 2 * ids.RAW_ID_CHARS + 5
    return key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1 :]


def no_key(case: str, env: Env) -> str:
    head = env.sk[: -apikeys.CHECKSUM_CHARS]
    forged_head = head[:-4] + ("zzzz" if not head.endswith("zzzz") else "yyyy")
    as_rk = "rk" + head[2:]
    return {
        "unknown but well-formed": apikeys.generate("secret", ids.new_id("env"), ids.new_id("key")),
        "near miss": near_miss(env.sk),
        "junk": "sk_live_not_a_pulse_key",
        "no prefix at all": "hello",
        # the same ids with another secret and its valid checksum: the hash does not match
        "forged secret": forged_head + apikeys._checksum(forged_head),
        "another deployment's": apikeys.generate("secret", env.id, ids.new_id("key")),
        # the sk_'s ids under another prefix, with a valid checksum: the kind does not match
        "another kind": as_rk + apikeys._checksum(as_rk),
    }[case]


NO_KEYS = [
    "unknown but well-formed",
    "near miss",
    "junk",
    "no prefix at all",
    "forged secret",
    "another deployment's",
    "another kind",
]


@pytest.mark.parametrize("case", NO_KEYS)
def test_no_such_key_answers_as_a_found_one_and_changes_nothing(
    case: str, gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    keep = gw.connect(env, "ada", "room-1")

    reported(client, admin, no_key(case, env))

    assert keep not in gw.fake.closed
    assert key_status(client, admin, env, env.sk_id) == "active"
    assert rest(client, "GET", "/api/v1/users", env.sk).status_code == 200
    assert leaks(client, admin, env) == []
    assert "leakReportedAt" not in environment(client, admin, env)


def test_a_publishable_key_answers_as_a_found_one_and_is_not_revoked(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    reported(client, admin, env.pk)

    assert key_status(client, admin, env, env.pk_id) == "active"
    assert leaks(client, admin, env) == []
    assert "leakReportedAt" not in environment(client, admin, env)
    gw.connect(env, "ada", "room-1")


def test_every_case_gets_the_identical_answer(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    rk_id, rk = restricted(env, ("rooms:read",))
    keys = {
        "live sk_": env.sk,
        "live rk_": rk,
        "already revoked sk_": env.sk,
        "pk_": env.pk,
        **{case: no_key(case, env) for case in NO_KEYS},
    }

    answers = {case: report(client, admin, key) for case, key in keys.items()}

    assert all(a == (202, RECEIVED, "application/json") for a in answers.values()), answers
    assert key_status(client, admin, env, env.sk_id) == "revoked"
    assert key_status(client, admin, env, rk_id) == "revoked"
    assert key_status(client, admin, env, env.pk_id) == "active"
    assert [e["target"]["id"] for e in leaks(client, admin, env)] == [env.sk_id, rk_id, env.sk_id]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MISSING_FIELD"),
        ({"key": 5}, "INVALID_INPUT"),
        ({"key": None}, "MISSING_FIELD"),
        ({"key": "  "}, "INVALID_INPUT"),
        ({"key": "x" * 201}, "INVALID_INPUT"),
    ],
)
def test_a_bad_body_is_a_400_naming_key(
    client: Any, admin: str, body: dict[str, Any], code: str
) -> None:
    err = rest_error(rest(client, "POST", LEAK, admin, body), 400, code)

    assert err["field"] == "key"


def test_a_viewer_cannot_report(services: runtime.Services, env: Env, client: Any) -> None:
    services.operators.create(None, "viewer@example.com", PASSWORD, "viewer")
    login = {"email": "viewer@example.com", "password": PASSWORD}
    viewer = rest_ok(rest(client, "POST", "/admin/api/login", None, login))["token"]

    rest_error(rest(client, "POST", LEAK, viewer, {"key": env.sk}), 403, "ROLE_REQUIRED")

    assert rest(client, "GET", "/api/v1/users", env.sk).status_code == 200


# --- the environment's banner --------------------------------------------------------------------


def environment(client: Any, admin: str, env: Env) -> dict[str, Any]:
    return dict(rest_ok(rest(client, "GET", f"/admin/api/environments/{env.id}", admin)))


def test_a_leak_shows_on_its_environment_until_dismissed(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    other = new_env("Other")
    assert "leakReportedAt" not in environment(client, admin, env)

    reported(client, admin, env.sk)

    shown = environment(client, admin, env)
    assert shown["leakedKey"] == f"sk_...{env.sk[-4:]}" and shown["leakReportedAt"]
    assert "leakReportedAt" not in environment(client, admin, other)
    dismiss = f"/admin/api/environments/{env.id}/leak/dismiss"
    dismissed = rest_ok(rest(client, "POST", dismiss, admin))
    assert "leakReportedAt" not in dismissed and "leakedKey" not in dismissed
    assert "leakReportedAt" not in environment(client, admin, env)
    actions = [e["action"] for e in audit(client, admin, env)]
    assert actions[:2] == ["environment.leak_dismissed", "key.leaked"]
    # Dismissing again changes nothing; the key stays revoked.
    rest_ok(rest(client, "POST", dismiss, admin))
    assert [e["action"] for e in audit(client, admin, env)] == actions
    rest_error(rest(client, "GET", "/api/v1/users", env.sk), 401, "INVALID_API_KEY")


def test_a_revoked_key_reported_again_shows_again(
    gw: Gateway, env: Env, client: Any, admin: str
) -> None:
    reported(client, admin, env.sk)
    rest_ok(rest(client, "POST", f"/admin/api/environments/{env.id}/leak/dismiss", admin))

    reported(client, admin, env.sk)

    assert environment(client, admin, env)["leakedKey"] == f"sk_...{env.sk[-4:]}"


def test_a_viewer_cannot_dismiss(
    services: runtime.Services, env: Env, client: Any, admin: str
) -> None:
    reported(client, admin, env.sk)
    services.operators.create(None, "viewer@example.com", PASSWORD, "viewer")
    login = {"email": "viewer@example.com", "password": PASSWORD}
    viewer = rest_ok(rest(client, "POST", "/admin/api/login", None, login))["token"]

    dismiss = f"/admin/api/environments/{env.id}/leak/dismiss"
    rest_error(rest(client, "POST", dismiss, viewer), 403, "ROLE_REQUIRED")

    assert environment(client, admin, env)["leakedKey"]
