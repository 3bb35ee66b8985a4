"""Admin API sessions: login, logout, me, backoff after failed logins, expiry, and the events
that end older sessions (password change, role change, deletion)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.clock import FrozenClock, iso
from chalicelib.config import Settings

from .helpers import API, PASSWORD, Login, call, each, error, login, login_as, names_field

OPERATOR_FIELDS = {"id", "email", "role", "createdAt", "updatedAt", "lastLoginAt"}
WRONG = "not the right password"


def me(client: Any, token: str) -> Any:
    return call(client, "GET", f"{API}/me", token=token)


# --- login -------------------------------------------------------------------------------------


def test_login_returns_token_expiry_and_operator(
    client: Any, owner: Login, clock: FrozenClock, settings: Settings
) -> None:
    resp = login(client, owner.email)

    assert resp.status_code == 200
    body = resp.json_body
    assert set(body) == {"token", "expiresAt", "operator"}
    assert body["token"].startswith("pso_")
    assert body["expiresAt"] == iso(clock.now() + settings.session_ttl_seconds)
    assert set(body["operator"]) == OPERATOR_FIELDS
    assert body["operator"]["email"] == owner.email
    assert body["operator"]["role"] == "owner"
    assert body["operator"]["lastLoginAt"] == iso(clock.now())


def test_login_issues_a_new_token_each_time(client: Any, owner: Login) -> None:
    again = login_as(client, owner.email)

    assert again.token != owner.token
    assert me(client, owner.token).status_code == 200
    assert me(client, again.token).status_code == 200


def test_login_email_is_case_insensitive(client: Any, owner: Login) -> None:
    resp = login(client, "  OWNER@Example.COM ")

    assert resp.status_code == 200
    assert resp.json_body["operator"]["id"] == owner.id


def test_login_response_never_contains_the_password_or_its_hash(client: Any, owner: Login) -> None:
    text = login(client, owner.email).body.decode()

    assert PASSWORD not in text
    assert "argon2" not in text
    assert "password" not in text.lower()


def test_wrong_password_and_unknown_email_get_the_identical_401(client: Any, owner: Login) -> None:
    wrong_password = login(client, owner.email, WRONG)
    unknown_email = login(client, "nobody@example.com", WRONG)

    error(wrong_password, 401, "INVALID_CREDENTIALS")
    assert unknown_email.status_code == wrong_password.status_code
    assert unknown_email.body == wrong_password.body


INVALID_LOGINS = [
    ({"password": PASSWORD}, "email"),
    ({"email": "not-an-email", "password": PASSWORD}, "email"),
    ({"email": 5, "password": PASSWORD}, "email"),
    ({"email": "owner@example.com"}, "password"),
    ({"email": "owner@example.com", "password": 12345}, "password"),
    ({"email": "owner@example.com", "password": ""}, "password"),
    ({"email": "owner@example.com", "password": PASSWORD, "remember": True}, "remember"),
]


def test_login_with_an_invalid_field_is_400_naming_it(client: Any, owner: Login) -> None:
    def check(case: tuple[dict[str, Any], str]) -> None:
        body, field = case
        names_field(error(call(client, "POST", f"{API}/login", body=body), 400), field)

    each(INVALID_LOGINS, check)


def test_login_with_an_invalid_body_counts_no_failure(client: Any, owner: Login) -> None:
    for _ in range(8):
        error(call(client, "POST", f"{API}/login", body={"email": owner.email}), 400)

    assert login(client, owner.email).status_code == 200


# --- backoff -----------------------------------------------------------------------------------


def fail_logins(client: Any, email: str, times: int) -> None:
    for _ in range(times):
        error(login(client, email, WRONG), 401, "INVALID_CREDENTIALS")


def test_repeated_failures_back_off_with_429_and_retry_after(client: Any, owner: Login) -> None:
    fail_logins(client, owner.email, 5)

    resp = login(client, owner.email, WRONG)

    error(resp, 429, "TOO_MANY_ATTEMPTS")
    assert resp.headers["Retry-After"] == "1"


def test_backoff_refuses_even_the_right_password_while_locked(client: Any, owner: Login) -> None:
    fail_logins(client, owner.email, 5)

    error(login(client, owner.email), 429, "TOO_MANY_ATTEMPTS")


def test_backoff_lifts_after_retry_after_and_grows_with_each_failure(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    fail_logins(client, owner.email, 5)
    clock.advance(1)
    fail_logins(client, owner.email, 1)  # the 6th failure locks for 2 seconds

    locked = login(client, owner.email)
    error(locked, 429, "TOO_MANY_ATTEMPTS")
    assert locked.headers["Retry-After"] == "2"

    clock.advance(1)
    error(login(client, owner.email), 429, "TOO_MANY_ATTEMPTS")
    clock.advance(1)
    assert login(client, owner.email).status_code == 200


def test_a_successful_login_resets_the_failure_count(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    fail_logins(client, owner.email, 5)
    clock.advance(1)
    assert login(client, owner.email).status_code == 200

    # Counted from zero again: four more failures are still free, and a fifth only then locks.
    fail_logins(client, owner.email, 5)
    error(login(client, owner.email), 429, "TOO_MANY_ATTEMPTS")


def test_backoff_applies_to_unknown_emails_the_same_way(client: Any, owner: Login) -> None:
    fail_logins(client, "nobody@example.com", 5)

    resp = login(client, "nobody@example.com", WRONG)

    error(resp, 429, "TOO_MANY_ATTEMPTS")
    assert resp.headers["Retry-After"] == "1"


def test_backoff_of_one_email_does_not_lock_out_another(
    client: Any, owner: Login, admin: Login
) -> None:
    fail_logins(client, admin.email, 5)

    error(login(client, admin.email), 429, "TOO_MANY_ATTEMPTS")
    assert login(client, owner.email).status_code == 200


def test_backoff_does_not_end_existing_sessions(client: Any, owner: Login) -> None:
    fail_logins(client, owner.email, 5)
    error(login(client, owner.email, WRONG), 429, "TOO_MANY_ATTEMPTS")

    assert me(client, owner.token).status_code == 200


# --- me, expiry, logout -------------------------------------------------------------------------


def test_me_returns_the_session_operator(client: Any, admin: Login) -> None:
    resp = me(client, admin.token)

    assert resp.status_code == 200
    assert set(resp.json_body) == {"operator"}
    assert set(resp.json_body["operator"]) == OPERATOR_FIELDS
    assert resp.json_body["operator"]["id"] == admin.id
    assert resp.json_body["operator"]["role"] == "admin"


def test_session_works_until_its_ttl(
    client: Any, owner: Login, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(settings.session_ttl_seconds - 1)

    assert me(client, owner.token).status_code == 200


def test_session_expires_after_its_ttl(
    client: Any, owner: Login, clock: FrozenClock, settings: Settings
) -> None:
    clock.advance(settings.session_ttl_seconds)

    err = error(me(client, owner.token), 401, "INVALID_SESSION")
    assert "login" in err["suggestion"]


def test_logout_ends_the_session(client: Any, owner: Login) -> None:
    resp = call(client, "POST", f"{API}/logout", token=owner.token)

    assert resp.status_code == 204
    assert resp.body == b""
    error(me(client, owner.token), 401, "INVALID_SESSION")


def test_logout_ends_only_that_session(client: Any, owner: Login) -> None:
    other = login_as(client, owner.email)

    call(client, "POST", f"{API}/logout", token=owner.token)

    assert me(client, other.token).status_code == 200


def test_logout_twice_is_401(client: Any, owner: Login) -> None:
    call(client, "POST", f"{API}/logout", token=owner.token)

    error(call(client, "POST", f"{API}/logout", token=owner.token), 401, "INVALID_SESSION")


BAD_AUTHORIZATIONS = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic b3duZXI6cGFzc3dvcmQ=",
    "Bearer not-a-session-token",
    "Bearer pso_" + "A" * 48,
    "Bearer pso_" + "!" * 48,
    "Bearer sk_" + "A" * 60,
    "Token pso_" + "A" * 48,
]


def test_missing_or_malformed_bearer_is_401(client: Any, owner: Login) -> None:
    def check(authorization: str | None) -> None:
        headers = {} if authorization is None else {"Authorization": authorization}
        error(client.http.request("GET", f"{API}/me", headers=headers), 401, "INVALID_SESSION")

    each(BAD_AUTHORIZATIONS, check)


def test_a_token_with_a_flipped_character_is_401(client: Any, owner: Login) -> None:
    last = owner.token[-1]
    forged = owner.token[:-1] + ("A" if last != "A" else "B")

    error(me(client, forged), 401, "INVALID_SESSION")


def test_bearer_scheme_is_case_insensitive(client: Any, owner: Login) -> None:
    resp = client.http.request(
        "GET", f"{API}/me", headers={"Authorization": f"bearer {owner.token}"}
    )

    assert resp.status_code == 200


# --- changes that end older sessions -------------------------------------------------------------


def patch_operator(client: Any, owner: Login, target: Login, body: dict[str, Any]) -> Any:
    resp = call(client, "PATCH", f"{API}/operators/{target.id}", token=owner.token, body=body)
    assert resp.status_code == 200, resp.body
    return resp


def test_password_change_ends_older_sessions(client: Any, owner: Login, admin: Login) -> None:
    patch_operator(client, owner, admin, {"password": "a brand new password"})

    error(me(client, admin.token), 401, "INVALID_SESSION")


def test_password_change_makes_the_new_password_the_only_one(
    client: Any, owner: Login, admin: Login
) -> None:
    patch_operator(client, owner, admin, {"password": "a brand new password"})

    error(login(client, admin.email, PASSWORD), 401, "INVALID_CREDENTIALS")
    assert login(client, admin.email, "a brand new password").status_code == 200


def test_role_change_ends_older_sessions(client: Any, owner: Login, admin: Login) -> None:
    patch_operator(client, owner, admin, {"role": "viewer"})

    error(me(client, admin.token), 401, "INVALID_SESSION")
    relogged = login_as(client, admin.email)
    assert relogged.role == "viewer"


def test_changing_another_operator_leaves_the_owners_session(
    client: Any, owner: Login, admin: Login
) -> None:
    patch_operator(client, owner, admin, {"role": "viewer"})

    assert me(client, owner.token).status_code == 200


def test_deleting_an_operator_ends_its_sessions(client: Any, owner: Login, admin: Login) -> None:
    resp = call(client, "DELETE", f"{API}/operators/{admin.id}", token=owner.token)
    assert resp.status_code == 204

    error(me(client, admin.token), 401, "INVALID_SESSION")
    error(login(client, admin.email), 401, "INVALID_CREDENTIALS")


def test_a_session_created_after_the_change_works(
    client: Any, owner: Login, admin: Login, make_operator: Callable[..., Login]
) -> None:
    patch_operator(client, owner, admin, {"role": "owner"})

    fresh = login_as(client, admin.email)

    assert me(client, fresh.token).json_body["operator"]["role"] == "owner"
