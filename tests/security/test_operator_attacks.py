"""Operators: one role table for every admin route of the app, role refusals that happen before
anything is read, brute force against login, and sessions that have ended.

The role table is the union of the two tables the per-router suites already run for every role
(tests/api/test_admin_operators.py: login, sessions, operators, environments, keys;
tests/api/test_admin_data.py: the data browser). Here it is checked against the routes the
Chalice app really serves, so an admin route added anywhere (a new router included) fails the
suite until it has a row, and a row without a route fails too."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import threading
from typing import Any

import pytest
from api import test_admin_data, test_admin_operators, test_admin_webhooks
from api.helpers import (
    API,
    Login,
    call,
    device_of,
    each,
    error,
    login_from,
)
from integration.conftest import DynamoCalls

import chalicelib.api
from chalicelib import ids, runtime
from chalicelib.api.routing import METHODS, Router, RouteSpec
from chalicelib.auth import passwords, sessions
from chalicelib.clock import FrozenClock
from chalicelib.config import DEFAULT_RATES
from chalicelib.entities import ROLES
from chalicelib.errors import PulseError
from chalicelib.services import login_throttle
from chalicelib.services import operators as operators_service

from .conftest import fill, table_items

ADMIN_ROUTE_ROLES: dict[tuple[str, str], str | None] = {
    **test_admin_operators.ROUTE_ROLES,
    **test_admin_data.ROUTE_ROLES,
    **test_admin_webhooks.ROUTE_ROLES,
}
# Routes that take no operator session, and why each may.
PUBLIC_ROUTES = {
    ("POST", "/admin/api/login"): "the login itself (throttled per address, browser, account)",
    ("GET", "/api/v1/openapi.json"): "the public contract",
    ("GET", "/admin"): "the Admin Panel's static page (it calls the API with a session)",
    ("GET", "/admin/assets/{name}"): "the Admin Panel's static assets",
    ("GET", "/sdk/pulse.js"): "the public widget script",
    ("GET", "/sdk/pulse-client.js"): "the public headless client (an ES module)",
    ("GET", "/sdk/pulse-client.d.ts"): "the headless client's public TypeScript declarations",
    ("GET", "/sdk/pulse-react.js"): "the public React bindings (an ES module)",
    ("GET", "/sdk/pulse-react.d.ts"): "the React bindings' public TypeScript declarations",
}
# HEAD of each static file answers as its GET, without the body.
PUBLIC_ROUTES.update(
    {
        ("HEAD", path): f"{why}, HEAD"
        for (method, path), why in list(PUBLIC_ROUTES.items())
        if method == "GET"
    }
)
WRONG = "not the right password at all"


def every_app_route() -> set[tuple[str, str]]:
    from app import app

    return {(method, path) for path, methods in app.routes.items() for method in methods}


def refusals() -> set[tuple[str, str]]:
    """What the Routers answer 405 (each path takes every method API Gateway lets through)."""
    refused: set[tuple[str, str]] = set()
    for info in pkgutil.iter_modules(chalicelib.api.__path__):
        router = getattr(importlib.import_module(f"chalicelib.api.{info.name}"), "router", None)
        if isinstance(router, Router):
            refused |= set(router.refused)
    return refused


def app_routes() -> set[tuple[str, str]]:
    """The routes that run a view (not a 405)."""
    return every_app_route() - refusals()


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
    assert set(specs).isdisjoint(refusals())
    assert set(specs) | refusals() == every_app_route()


def test_every_path_takes_every_method_and_refuses_the_undeclared_ones() -> None:
    """API Gateway answers a method a resource lacks itself (403 Missing Authentication Token):
    each path declares them all, and what no route takes is a 405 in the error shape."""
    paths = {path for _, path in every_app_route()}
    for path in paths:
        methods = {m for m, p in every_app_route() if p == path}
        assert methods == set(METHODS), path


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


# --- brute force and lockout (services/login_throttle.py) ---------------------------------------

OWNER_OFFICE = "198.51.100.10"
ATTACKER = "203.0.113.66"
HOUR = 3600


@pytest.fixture
def shipped(services: runtime.Services, clock: FrozenClock) -> runtime.Services:
    """The login throttles at the defaults a stage ships with (the suite otherwise runs with
    every limit out of reach), at the start of an hour."""
    clock.current = int(clock.now()) // HOUR * HOUR + 0.25
    wanted = {
        "login_failures_per_source": DEFAULT_RATES["PULSE_RATE_LOGIN_FAILURES_PER_SOURCE"],
        "login_attempts_per_account": DEFAULT_RATES["PULSE_RATE_LOGIN_ATTEMPTS_PER_ACCOUNT"],
    }
    settings = dataclasses.replace(
        services.settings, **{k: v for k, v in wanted.items() if hasattr(services.settings, k)}
    )
    graph = runtime.build(settings, clock)
    runtime.install(graph)
    return graph


def guess(client: Any, email: str, source: str = ATTACKER, device: str | None = None) -> Any:
    return login_from(client, email, WRONG, source=source, device=device)


def fail(client: Any, email: str, times: int, source: str = ATTACKER) -> None:
    for _ in range(times):
        error(guess(client, email, source), 401, "INVALID_CREDENTIALS")


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


def test_an_attackers_flood_against_an_email_does_not_lock_its_operator_out(
    shipped: runtime.Services, client: Any, owner: Login, clock: FrozenClock
) -> None:
    """The report: knowing the only owner's email, four requests an hour kept the owner locked
    out for good. Now an attacker without the password locks out only itself: for a day of
    floods (and the patient four an hour), the owner logs in from its usual browser wherever it
    is, even behind the attacker's address, and from a new browser anywhere else."""
    usual = device_of(login_from(client, owner.email, source=OWNER_OFFICE))
    checked_per_hour = []
    for hour in range(24):
        clock.current = shipped.clock.now() // HOUR * HOUR + 0.25  # the top of the hour
        burst = [guess(client, owner.email) for _ in range(20 if hour == 0 else 4)]
        assert {r.status_code for r in burst} <= {401, 429}
        checked_per_hour.append(sum(r.status_code == 401 for r in burst))

        for source, device in (
            (OWNER_OFFICE, usual),
            (ATTACKER, usual),  # the same office or cafe as the attacker
            (f"198.51.100.{100 + hour}", None),  # a new browser on another network
        ):
            resp = login_from(client, owner.email, source=source, device=device)
            assert resp.status_code == 200, (hour, source, device is not None, resp.body)
        clock.advance(HOUR)

    # The attacker itself stays slow: its address's free failures, then locks.
    free = shipped.settings.login_failures_per_source
    assert checked_per_hour[0] == free and max(checked_per_hour) <= free


def test_a_flood_from_many_addresses_caps_the_account_but_not_a_known_browser(
    shipped: runtime.Services, client: Any, owner: Login, password_checks: list[str]
) -> None:
    """Guessing at one account from many addresses stays slow (30 attempts an hour from
    unrecognised browsers); the operator's usual browser is not held by that cap."""
    usual = device_of(login_from(client, owner.email, source=OWNER_OFFICE))
    password_checks.clear()
    outcomes = [guess(client, owner.email, f"192.0.2.{n}").status_code for n in range(1, 61)]

    assert outcomes.count(401) == len(password_checks) <= 30
    assert outcomes.count(429) >= 30
    error(login_from(client, owner.email, source="192.0.2.250"), 429, "TOO_MANY_ATTEMPTS")
    assert login_from(client, owner.email, source="192.0.2.250", device=usual).status_code == 200


def test_guesses_spread_over_many_emails_from_one_address_are_throttled(
    shipped: runtime.Services,
    client: Any,
    owner: Login,
    admin: Login,
    clock: FrozenClock,
    password_checks: list[str],
) -> None:
    """The report: one address could guess at any number of emails, one or two each, and no
    per-email lock ever started. Now the address's failures count across emails: an attacker
    that waits out every Retry-After for an hour gets a handful of checks, not a hundred."""
    password_checks.clear()
    start = clock.now()
    emails = [owner.email, admin.email] + [f"user{n}@example.com" for n in range(98)]
    statuses = []
    for email in emails:
        resp = guess(client, email)
        statuses.append(resp.status_code)
        if resp.status_code == 429:
            error(resp, 429, "TOO_MANY_FAILURES")
            clock.advance(int(resp.headers["Retry-After"]))
        if clock.now() - start > HOUR:
            break

    free = DEFAULT_RATES["PULSE_RATE_LOGIN_FAILURES_PER_SOURCE"]
    assert statuses[:free] == [401] * free and statuses[free] == 429
    assert len(password_checks) <= free + 14  # then one per lock: 1, 2, 4 s ... up to 15 min
    assert login_from(client, admin.email, source=OWNER_OFFICE).status_code == 200


def test_changing_the_case_or_spacing_of_the_email_does_not_escape_the_account_cap(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    """The account's hourly count and its device cookies are keyed by the normalized email."""
    clock.current = int(clock.now()) // HOUR * HOUR + 0.25  # the hour of the owner's login
    variants = ["Owner@Example.com", " owner@example.com", "OWNER@EXAMPLE.COM ", owner.email]
    # The owner fixture's login and the one below are 2 attempts of the hour; then the variants.
    cap = 2 + len(variants)
    settings = dataclasses.replace(runtime.services().settings, login_attempts_per_account=cap)
    runtime.install(runtime.build(settings, clock))
    usual = device_of(login_from(client, variants[0], source=OWNER_OFFICE))
    for n, email in enumerate(variants):
        error(guess(client, email, f"192.0.2.{n + 1}"), 401, "INVALID_CREDENTIALS")

    for email in variants:
        error(login_from(client, email, source="192.0.2.99"), 429, "TOO_MANY_ATTEMPTS")
        assert login_from(client, email, source="192.0.2.99", device=usual).status_code == 200


def test_while_refused_no_password_is_checked_and_known_and_unknown_emails_look_alike(
    shipped: runtime.Services, client: Any, owner: Login, password_checks: list[str]
) -> None:
    """A refused attempt is no password oracle and no argon2 amplifier, and a refusal does not
    tell which emails exist: by an address's lock, or by an account's hourly cap."""
    unknown = "nobody@example.com"
    free = shipped.settings.login_failures_per_source
    fail(client, unknown, free)  # the attacker's address is locked
    for n in range(shipped.settings.login_attempts_per_account):  # both accounts are capped
        for email in (owner.email, unknown):
            guess(client, email, f"10.0.{n}.1")
    password_checks.clear()

    by_address = [guess(client, e, ATTACKER) for e in (owner.email, unknown)]
    by_address += [login_from(client, e, source=ATTACKER) for e in (owner.email, unknown)]
    by_account = [guess(client, e, "10.9.9.9") for e in (owner.email, unknown)]
    by_account += [login_from(client, e, source="10.9.9.9") for e in (owner.email, unknown)]

    assert password_checks == []
    for refused, code in ((by_address, "TOO_MANY_FAILURES"), (by_account, "TOO_MANY_ATTEMPTS")):
        error(refused[0], 429, code)
        answers = {(r.status_code, r.body, r.headers["Retry-After"]) for r in refused}
        assert len(answers) == 1, answers


def test_an_addresss_lock_grows_to_its_cap_and_stays_there(
    shipped: runtime.Services, client: Any, owner: Login, clock: FrozenClock
) -> None:
    """A patient attacker gets at most one guess per 15 minutes once the lock has grown."""
    fail(client, owner.email, shipped.settings.login_failures_per_source)
    retry_after = 0
    for _ in range(15):  # 2**10 s > 15 min: the cap is reached well within
        resp = guess(client, owner.email)
        if resp.status_code == 429:
            retry_after = int(resp.headers["Retry-After"])
            clock.advance(retry_after)
        error(guess(client, owner.email), 401, "INVALID_CREDENTIALS")

    assert retry_after == login_throttle.MAX_LOCK_SECONDS
    error(login_from(client, owner.email, source=ATTACKER), 429, "TOO_MANY_FAILURES")


def test_concurrent_guesses_get_one_password_check_at_a_time(
    services: runtime.Services,
    owner: Login,
    password_checks: list[str],
    atomic_moto: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst of guesses from one address (one Lambda each) that all read the throttles before
    any failure is counted: the conditions of the reservation let one of them test a password,
    not all of them."""
    guesses = 15
    barrier = threading.Barrier(guesses, timeout=30)
    read = operators_service.fetch  # the login's one read: the claim and the throttles

    def read_together(*args: Any) -> Any:
        state = read(*args)
        barrier.wait()
        return state

    monkeypatch.setattr(operators_service, "fetch", read_together)
    outcomes: list[str] = []

    def guess_at(i: int) -> None:
        try:
            services.operators.login(owner.email, f"guess number {i:04d}", source_ip=ATTACKER)
        except PulseError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=guess_at, args=(i,)) for i in range(guesses)]
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
    "{userId}": "user-0",
    "{connectionId}": "no-such-connection",
    "{webhookId}": test_admin_webhooks.NO_WEBHOOK,
    "{deliveryId}": test_admin_webhooks.NO_DELIVERY,
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
