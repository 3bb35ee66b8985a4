"""Admin API sessions: login, logout, me, the throttling of failed logins (per address, per
recognised browser, per account), expiry, and the events that end older sessions (password
change, role change, deletion)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.clock import FrozenClock, iso
from chalicelib.config import Settings

from .helpers import (
    API,
    PASSWORD,
    Login,
    call,
    device_of,
    each,
    error,
    login,
    login_as,
    login_from,
    names_field,
)

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


def test_login_with_an_invalid_body_counts_no_failure(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    for _ in range(FREE + 3):
        error(call(client, "POST", f"{API}/login", body={"email": owner.email}), 400)

    assert login(client, owner.email).status_code == 200


# --- login throttling (services/login_throttle.py) ---------------------------------------------

OFFICE = "127.0.0.1"  # where chalice's test Client says every request comes from
ELSEWHERE = "203.0.113.77"
FREE = 5  # failures per address before backoff, in these tests


@pytest.fixture
def throttled(services: runtime.Services, clock: FrozenClock) -> runtime.Services:
    """The login throttles on (FREE failures per address, 30 attempts per account an hour),
    at the start of an hour so no test crosses into the next."""
    clock.current = int(clock.now()) // 3600 * 3600 + 0.25
    settings = dataclasses.replace(
        services.settings, login_failures_per_source=FREE, login_attempts_per_account=30
    )
    graph = runtime.build(settings, clock)
    runtime.install(graph)
    return graph


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The passwords actually checked against a hash (argon2 runs)."""
    checked: list[str] = []
    original = passwords.verify_password

    def counting(stored_hash: str, password: str) -> bool:
        checked.append(password)
        return original(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    yield checked


def attempt(
    client: Any,
    email: str,
    password: str = PASSWORD,
    *,
    source: str = OFFICE,
    device: str | None = None,
) -> Any:
    return login_from(client, email, password, source=source, device=device)


def fail_logins(
    client: Any, email: str, times: int, *, source: str = OFFICE, device: str | None = None
) -> None:
    for _ in range(times):
        error(
            attempt(client, email, WRONG, source=source, device=device), 401, "INVALID_CREDENTIALS"
        )


def test_a_login_sets_a_device_cookie_only_the_browser_keeps(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    resp = attempt(client, owner.email)

    cookie = resp.headers["Set-Cookie"]
    attributes = {a.strip().split("=")[0] for a in cookie.split(";")[1:]}
    assert attributes == {"Max-Age", "Secure", "HttpOnly", "SameSite"}
    assert "SameSite=Strict" in cookie and f"Max-Age={365 * 24 * 3600}" in cookie
    assert device_of(resp) not in resp.body.decode()  # not in the body: scripts never see it
    again = attempt(client, owner.email, device=device_of(resp))
    assert device_of(again) == device_of(resp)  # the same device, refreshed


def test_failures_from_one_address_back_off_with_429_and_retry_after(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    fail_logins(client, owner.email, FREE)

    resp = attempt(client, owner.email, WRONG)

    error(resp, 429, "TOO_MANY_FAILURES")
    assert resp.headers["Retry-After"] == "1"
    assert "address" in resp.json_body["error"]["message"]


def test_a_browser_that_never_logged_in_is_refused_at_a_locked_address_even_with_the_password(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    fail_logins(client, owner.email, FREE)

    error(attempt(client, owner.email), 429, "TOO_MANY_FAILURES")
    assert attempt(client, owner.email, source=ELSEWHERE).status_code == 200


def test_backoff_lifts_after_retry_after_and_grows_with_each_failure(
    client: Any, owner: Login, clock: FrozenClock, throttled: runtime.Services
) -> None:
    fail_logins(client, owner.email, FREE)
    clock.advance(1)
    fail_logins(client, owner.email, 1)  # the next failure locks for 2 seconds

    locked = attempt(client, owner.email)
    error(locked, 429, "TOO_MANY_FAILURES")
    assert locked.headers["Retry-After"] == "2"

    clock.advance(1)
    error(attempt(client, owner.email), 429, "TOO_MANY_FAILURES")
    clock.advance(1)
    assert attempt(client, owner.email).status_code == 200


def test_failures_across_emails_from_one_address_count_together(
    client: Any, owner: Login, admin: Login, throttled: runtime.Services
) -> None:
    """Guesses spread over many emails (known or not) from one address are one count."""
    for n in range(FREE):
        email = (owner.email, admin.email, f"nobody{n}@example.com")[n % 3]
        fail_logins(client, email, 1)

    for email in (owner.email, admin.email, "nobody@example.com"):
        error(attempt(client, email), 429, "TOO_MANY_FAILURES")
    assert attempt(client, admin.email, source=ELSEWHERE).status_code == 200


def test_a_success_does_not_reset_its_addresss_count(
    client: Any, owner: Login, admin: Login, throttled: runtime.Services
) -> None:
    """Else whoever holds one account could clear its address's count between guesses at the
    others."""
    fail_logins(client, owner.email, FREE - 1)
    assert attempt(client, admin.email).status_code == 200

    fail_logins(client, owner.email, 1)
    error(attempt(client, owner.email), 429, "TOO_MANY_FAILURES")


def test_an_addresss_failures_are_forgotten_an_hour_after_the_last(
    client: Any, owner: Login, clock: FrozenClock, throttled: runtime.Services
) -> None:
    fail_logins(client, owner.email, FREE - 1)
    clock.advance(3600 - 1)
    fail_logins(client, owner.email, 1)
    error(attempt(client, owner.email), 429, "TOO_MANY_FAILURES")

    clock.advance(3600 + 1)
    fail_logins(client, owner.email, FREE - 1)  # counted from zero again
    assert attempt(client, owner.email).status_code == 200


def test_a_recognised_browser_logs_in_while_its_address_is_locked(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    device = device_of(attempt(client, owner.email))
    fail_logins(client, owner.email, FREE)  # someone else behind the same address
    for _ in range(3):
        error(attempt(client, owner.email, WRONG), 429, "TOO_MANY_FAILURES")
    error(attempt(client, owner.email), 429, "TOO_MANY_FAILURES")

    assert attempt(client, owner.email, device=device).status_code == 200


def test_a_device_cookie_is_recognised_only_for_its_own_email(
    client: Any, owner: Login, admin: Login, throttled: runtime.Services
) -> None:
    device = device_of(attempt(client, owner.email))
    fail_logins(client, admin.email, FREE)

    error(attempt(client, admin.email, device=device), 429, "TOO_MANY_FAILURES")
    tampered = device[:-1] + ("0" if device[-1] != "0" else "1")
    error(attempt(client, owner.email, device=tampered), 429, "TOO_MANY_FAILURES")
    assert attempt(client, owner.email, device=device).status_code == 200


def test_a_recognised_browsers_failures_lock_it_alone(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    """Wrong passwords from a recognised browser count against that browser, not its address."""
    device = device_of(attempt(client, owner.email, source=ELSEWHERE))
    fail_logins(client, owner.email, 5, device=device)

    fail_logins(client, owner.email, FREE - 1)  # the address is still below its limit
    assert attempt(client, owner.email).status_code == 200


def test_a_locked_recognised_browser_counts_as_unrecognised(
    client: Any, owner: Login, clock: FrozenClock, throttled: runtime.Services
) -> None:
    """Past 5 failures a recognised browser is locked (1, 2, 4 s ...); meanwhile the rules of an
    unrecognised one apply to it: here, its address is locked too."""
    device = device_of(attempt(client, owner.email, source=ELSEWHERE))
    fail_logins(client, owner.email, 5, device=device)
    fail_logins(client, owner.email, FREE)  # the address, by unrecognised attempts

    error(attempt(client, owner.email, device=device), 429, "TOO_MANY_FAILURES")
    clock.advance(1)  # both locks pass
    assert attempt(client, owner.email, device=device).status_code == 200


def test_a_recognised_browsers_success_resets_its_own_count(
    client: Any, owner: Login, throttled: runtime.Services, password_checks: list[str]
) -> None:
    device = device_of(attempt(client, owner.email, source=ELSEWHERE))
    fail_logins(client, owner.email, 4, device=device)
    assert attempt(client, owner.email, device=device).status_code == 200

    fail_logins(client, owner.email, 4, device=device)  # counted from zero: still free
    password_checks.clear()
    assert attempt(client, owner.email, device=device).status_code == 200
    assert password_checks == [PASSWORD]


def test_attempts_per_account_an_hour_are_capped_across_addresses(
    throttled: runtime.Services, client: Any, owner: Login, clock: FrozenClock
) -> None:
    """Many addresses guessing at one account: at most 30 unrecognised attempts an hour."""
    # The owner fixture's login was attempt 1 of the hour; this is attempt 2.
    device = device_of(attempt(client, owner.email, source=OFFICE))
    for n in range(28):
        fail_logins(client, owner.email, 1, source=f"192.0.2.{n + 1}")

    capped = attempt(client, owner.email, source="192.0.2.200")
    error(capped, 429, "TOO_MANY_ATTEMPTS")
    assert int(capped.headers["Retry-After"]) == 3600
    assert attempt(client, owner.email, device=device).status_code == 200  # recognised
    clock.advance(3600)
    assert attempt(client, owner.email, source="192.0.2.200").status_code == 200


def test_throttling_does_not_end_existing_sessions(
    client: Any, owner: Login, throttled: runtime.Services
) -> None:
    fail_logins(client, owner.email, FREE)
    error(attempt(client, owner.email, WRONG), 429, "TOO_MANY_FAILURES")

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
