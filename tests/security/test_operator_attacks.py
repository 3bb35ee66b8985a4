"""Operators: one role table for every admin route of the app, role refusals that happen before
anything is read, brute force against login, and sessions that have ended.

The role table is the union of the two tables the per-router suites already run for every role
(tests/api/test_admin_operators.py: login, sessions, operators, environments, keys;
tests/api/test_admin_data.py: the data browser). Here it is checked against the routes the
Chalice app really serves, so an admin route added anywhere (a new router included) fails the
suite until it has a row, and a row without a route fails too."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any

import pytest
from api import test_admin_data, test_admin_operators
from api.helpers import (
    API,
    Login,
    call,
    each,
    error,
    login,
)
from integration.conftest import DynamoCalls

import chalicelib.api
from chalicelib import ids, runtime
from chalicelib.api.routing import Router, RouteSpec
from chalicelib.auth import passwords, sessions
from chalicelib.clock import FrozenClock
from chalicelib.entities import ROLES
from chalicelib.errors import PulseError
from chalicelib.repositories import operators as operators_repo
from chalicelib.services import operators as operator_service

from .conftest import fill, table_items

ADMIN_ROUTE_ROLES: dict[tuple[str, str], str | None] = {
    **test_admin_operators.ROUTE_ROLES,
    **test_admin_data.ROUTE_ROLES,
}
# Routes that take no operator session, and why each may.
PUBLIC_ROUTES = {
    ("POST", "/admin/api/login"): "the login itself (throttled per email)",
    ("POST", "/auth/token"): "checks its own sk_ (keyauth) in the view",
    ("GET", "/api/v1/openapi.json"): "the public contract",
    ("GET", "/admin"): "the Admin Panel's static page (it calls the API with a session)",
    ("GET", "/admin/assets/{name}"): "the Admin Panel's static assets",
    ("GET", "/sdk/pulse.js"): "the public widget script",
}
WRONG = "not the right password at all"


def app_routes() -> set[tuple[str, str]]:
    from app import app

    return {(method, path) for path, methods in app.routes.items() for method in methods}


def all_specs() -> list[RouteSpec]:
    """What every Router in chalicelib.api declares (each module's `router`)."""
    specs: list[RouteSpec] = []
    for info in pkgutil.iter_modules(chalicelib.api.__path__):
        module = importlib.import_module(f"chalicelib.api.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, Router):
            specs += router.specs
    return specs


# --- the one role table --------------------------------------------------------------------------


def test_every_route_of_the_app_is_registered_through_the_router() -> None:
    """Router.route is where authentication and roles are enforced: no route may bypass it."""
    specs = [(s.method, s.path) for s in all_specs()]

    assert len(specs) == len(set(specs))
    assert set(specs) == app_routes()


def test_the_role_table_has_exactly_the_admin_routes_the_app_serves() -> None:
    served = {r for r in app_routes() if r[1].startswith("/admin/api")}

    assert sorted(served - set(ADMIN_ROUTE_ROLES)) == [], "admin routes with no role row"
    assert sorted(set(ADMIN_ROUTE_ROLES) - served) == [], "role rows with no route"


def test_the_role_table_is_what_each_route_enforces() -> None:
    for spec in all_specs():
        route = (spec.method, spec.path)
        if route in PUBLIC_ROUTES:
            assert spec.auth in ("none", "secret_key") and spec.role is None, route
        elif spec.path.startswith("/admin/api"):
            least = ADMIN_ROUTE_ROLES[route]
            assert (spec.auth, spec.role) == ("operator", least), route


def test_only_the_listed_routes_are_public() -> None:
    public = {(s.method, s.path) for s in all_specs() if s.auth == "none"}

    assert public == set(PUBLIC_ROUTES)
    # every other route needs a secret key or an operator session of at least viewer
    for spec in all_specs():
        if (spec.method, spec.path) not in PUBLIC_ROUTES:
            assert spec.auth == "secret_key" or spec.role in ROLES, spec


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_a_refused_role_costs_only_the_session_read_and_changes_nothing(
    role: str,
    client: Any,
    request: pytest.FixtureRequest,
    existing: dict[str, str],
    dynamo_calls: DynamoCalls,
) -> None:
    """On ids that all exist, so a role check placed after a read would show as extra calls."""
    session: Login = request.getfixturevalue(role)
    below = [
        r
        for r, least in ADMIN_ROUTE_ROLES.items()
        if least is not None and ROLES.index(role) < ROLES.index(least)  # type: ignore[arg-type]
    ]
    assert below
    before = table_items()

    def check(route: tuple[str, str]) -> None:
        method, path = route
        with dynamo_calls.record() as calls:
            resp = call(client, method, fill(path, existing), token=session.token, body={})
        error(resp, 403, "ROLE_REQUIRED")
        assert [c.operation for c in calls] == ["BatchGetItem"], calls  # the session, only

    each(sorted(below), check)
    assert table_items() == before


# --- brute force -------------------------------------------------------------------------------


def fail(client: Any, email: str, times: int) -> None:
    for _ in range(times):
        error(login(client, email, WRONG), 401, "INVALID_CREDENTIALS")


def test_changing_the_case_or_spacing_of_the_email_does_not_reset_the_count(
    client: Any, owner: Login
) -> None:
    variants = [
        "Owner@Example.com",
        " owner@example.com",
        "OWNER@EXAMPLE.COM ",
        "owner@EXAMPLE.com",
    ]
    for email in [*variants, owner.email]:
        fail(client, email, 1)

    for email in [owner.email, *variants]:
        error(login(client, email, owner.password), 429, "TOO_MANY_ATTEMPTS")


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords actually checked against a hash (argon2 runs)."""
    checked: list[str] = []
    original = passwords.verify_password

    def counting(stored_hash: str, password: str) -> bool:
        checked.append(password)
        return original(stored_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return checked


def test_while_locked_no_password_is_checked_and_known_and_unknown_emails_look_alike(
    client: Any, owner: Login, password_checks: list[str]
) -> None:
    """A locked account is no password oracle and no argon2 amplifier, and the lock itself does
    not tell which emails exist."""
    unknown = "nobody@example.com"
    fail(client, owner.email, operator_service.FREE_FAILURES)
    fail(client, unknown, operator_service.FREE_FAILURES)
    password_checks.clear()

    locked = [
        login(client, email, pw)
        for email in (owner.email, unknown)
        for pw in (WRONG, owner.password)
    ]

    assert password_checks == []
    assert {(r.status_code, r.body, r.headers["Retry-After"]) for r in locked} == {
        (locked[0].status_code, locked[0].body, "1")
    }
    error(locked[0], 429, "TOO_MANY_ATTEMPTS")


def test_the_lock_grows_to_its_cap_and_stays_there(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    """A patient attacker gets at most one guess per 15 minutes once the lock has grown."""
    fail(client, owner.email, operator_service.FREE_FAILURES)
    retry_after = 0
    for _ in range(15):  # 2**10 s > 15 min: the cap is reached well within
        resp = login(client, owner.email, WRONG)
        if resp.status_code == 429:
            retry_after = int(resp.headers["Retry-After"])
            clock.advance(retry_after)
        error(login(client, owner.email, WRONG), 401, "INVALID_CREDENTIALS")

    assert retry_after == operator_service.MAX_LOCK_SECONDS
    error(login(client, owner.email, owner.password), 429, "TOO_MANY_ATTEMPTS")


def test_concurrent_guesses_get_one_password_check_at_a_time(
    services: runtime.Services,
    owner: Login,
    password_checks: list[str],
    atomic_moto: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst of guesses (one Lambda each) that all read the throttle before any failure is
    counted: the lock check in the write lets one of them test a password, not all of them."""
    guesses = 3 * operator_service.FREE_FAILURES
    barrier = threading.Barrier(guesses, timeout=30)
    read = operators_repo.login_state

    def read_together(email: str) -> Any:
        state = read(email)
        barrier.wait()
        return state

    monkeypatch.setattr(operators_repo, "login_state", read_together)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        try:
            services.operators.login(owner.email, f"guess number {i:04d}")
        except PulseError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(password_checks) == 1
    assert sorted(outcomes) == ["INVALID_CREDENTIALS"] + ["TOO_MANY_ATTEMPTS"] * (guesses - 1)
    monkeypatch.undo()
    assert services.operators.login(owner.email, owner.password).operator.id == owner.id


# --- sessions that have ended -------------------------------------------------------------------


NOWHERE = {
    **test_admin_operators.PLACEHOLDERS,
    "{roomId}": "room-0",
    "{threadId}": test_admin_data.NO_THREAD,
    "{commentId}": test_admin_data.NO_COMMENT,
}


def session_routes() -> list[tuple[str, str]]:
    return sorted(r for r, least in ADMIN_ROUTE_ROLES.items() if least is not None)


def refused_everywhere(client: Any, token: str) -> None:
    def check(route: tuple[str, str]) -> None:
        method, path = route
        error(
            call(client, method, fill(path, NOWHERE), token=token, body={}), 401, "INVALID_SESSION"
        )

    each(session_routes(), check)


def test_an_expired_session_is_refused_on_every_admin_route(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    clock.advance(runtime.services().settings.session_ttl_seconds)

    refused_everywhere(client, owner.token)


def test_a_logged_out_session_is_refused_on_every_admin_route(client: Any, owner: Login) -> None:
    assert call(client, "POST", f"{API}/logout", token=owner.token).status_code == 204

    refused_everywhere(client, owner.token)


def test_a_session_secret_presented_for_another_operator_is_refused(
    client: Any, owner: Login, viewer: Login
) -> None:
    """Sessions are looked up under the operator the token names: a viewer's secret with the
    owner's id (or the reverse) matches nothing."""
    prefix = len(sessions.PREFIX) + ids.RAW_ID_CHARS
    as_owner = owner.token[:prefix] + viewer.token[prefix:]
    as_viewer = viewer.token[:prefix] + owner.token[prefix:]
    assert sessions.operator_of(as_owner) == owner.id

    refused_everywhere(client, as_owner)
    refused_everywhere(client, as_viewer)
    assert call(client, "GET", f"{API}/me", token=owner.token).status_code == 200
