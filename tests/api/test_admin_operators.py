"""Admin API operators (owner only): list, create, change role/password, delete, the operators'
audit trail, the last-owner rule, and the role required by every admin route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.api import admin_environments, admin_openapi, admin_operators
from chalicelib.clock import FrozenClock, iso
from chalicelib.entities import ROLES, Actor

from .helpers import (
    API,
    PASSWORD,
    Login,
    audit_actions,
    call,
    each,
    error,
    list_all,
    login,
    login_as,
    names_field,
)

OPS = f"{API}/operators"
OPERATOR_FIELDS = {"id", "email", "role", "createdAt", "updatedAt", "lastLoginAt"}
UNKNOWN_OP = "op_0000000000000000"
NEW_PASSWORD = "another long password"


def operators(client: Any, owner: Login) -> list[dict[str, Any]]:
    return list_all(client, owner.token, OPS)


def create(client: Any, owner: Login, **body: Any) -> Any:
    return call(client, "POST", OPS, token=owner.token, body=body)


def patch(client: Any, owner: Login, operator_id: str, body: Any) -> Any:
    return call(client, "PATCH", f"{OPS}/{operator_id}", token=owner.token, body=body)


def delete(client: Any, owner: Login, operator_id: str) -> Any:
    return call(client, "DELETE", f"{OPS}/{operator_id}", token=owner.token)


# --- list ----------------------------------------------------------------------------------------


def test_list_shows_every_operator_by_email(
    client: Any, owner: Login, admin: Login, viewer: Login
) -> None:
    resp = call(client, "GET", OPS, token=owner.token)

    assert resp.status_code == 200
    assert resp.json_body["nextCursor"] is None
    data = resp.json_body["data"]
    assert [o["email"] for o in data] == sorted([owner.email, admin.email, viewer.email])
    assert all(set(o) == OPERATOR_FIELDS for o in data)
    roles = {o["email"]: o["role"] for o in data}
    assert roles == {owner.email: "owner", admin.email: "admin", viewer.email: "viewer"}


def test_list_never_contains_password_hashes(client: Any, owner: Login, admin: Login) -> None:
    text = call(client, "GET", OPS, token=owner.token).body.decode()

    assert "argon2" not in text
    assert "password" not in text.lower()


def test_list_paginates_over_every_operator_once(
    client: Any, owner: Login, admin: Login, viewer: Login
) -> None:
    first = call(client, "GET", f"{OPS}?limit=2", token=owner.token).json_body
    rest = call(
        client, "GET", f"{OPS}?limit=2&cursor={first['nextCursor']}", token=owner.token
    ).json_body

    ids = [o["id"] for o in first["data"] + rest["data"]]
    assert sorted(ids) == sorted([owner.id, admin.id, viewer.id])
    assert rest["nextCursor"] is None


def test_list_with_a_bad_limit_or_cursor_is_400(client: Any, owner: Login) -> None:
    def check(case: tuple[str, str]) -> None:
        query, field = case
        names_field(error(call(client, "GET", f"{OPS}{query}", token=owner.token), 400), field)

    each(
        [
            ("?limit=0", "limit"),
            ("?limit=101", "limit"),
            ("?limit=x", "limit"),
            ("?cursor=junk", "cursor"),
        ],
        check,
    )


# --- create --------------------------------------------------------------------------------------


def test_create_returns_201_with_the_operator(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    resp = create(client, owner, email="New.Person@Example.com", password=PASSWORD, role="admin")

    assert resp.status_code == 201
    op = resp.json_body
    assert set(op) == OPERATOR_FIELDS
    assert op["id"].startswith("op_")
    assert op["email"] == "new.person@example.com"
    assert op["role"] == "admin"
    assert op["createdAt"] == op["updatedAt"] == iso(clock.now())
    assert op["lastLoginAt"] is None
    assert op in operators(client, owner)


def test_created_operator_can_log_in_with_its_role(client: Any, owner: Login) -> None:
    create(client, owner, email="v@example.com", password=PASSWORD, role="viewer")

    session = login_as(client, "v@example.com")

    assert session.role == "viewer"


def test_create_with_a_taken_email_is_409_email_taken(client: Any, owner: Login) -> None:
    resp = create(client, owner, email=owner.email, password=PASSWORD, role="admin")

    error(resp, 409, "EMAIL_TAKEN")
    assert len(operators(client, owner)) == 1


def test_create_with_a_taken_email_in_other_case_is_409(client: Any, owner: Login) -> None:
    resp = create(client, owner, email=owner.email.upper(), password=PASSWORD, role="viewer")

    error(resp, 409, "EMAIL_TAKEN")
    assert len(operators(client, owner)) == 1


def test_the_email_of_a_deleted_operator_can_be_used_again(
    client: Any, owner: Login, admin: Login
) -> None:
    delete(client, owner, admin.id)

    resp = create(client, owner, email=admin.email, password=PASSWORD, role="viewer")

    assert resp.status_code == 201
    assert resp.json_body["id"] != admin.id


def test_create_with_a_weak_password_is_400_weak_password(client: Any, owner: Login) -> None:
    def check(password: str) -> None:
        resp = create(client, owner, email="new@example.com", password=password, role="admin")
        names_field(error(resp, 400, "WEAK_PASSWORD"), "password")

    each(["short", "x" * 11, "x" * 257], check)
    assert len(operators(client, owner)) == 1


def test_a_password_of_12_characters_is_accepted(client: Any, owner: Login) -> None:
    resp = create(client, owner, email="new@example.com", password="x" * 12, role="admin")

    assert resp.status_code == 201


def test_create_with_a_bad_role_is_400_naming_role(client: Any, owner: Login) -> None:
    def check(role: Any) -> None:
        resp = create(client, owner, email="new@example.com", password=PASSWORD, role=role)
        names_field(error(resp, 400), "role")

    each(["superuser", "Owner", "", 5, None, ["admin"]], check)
    assert len(operators(client, owner)) == 1


INVALID_CREATES = [
    ({"password": PASSWORD, "role": "admin"}, "email"),
    ({"email": "no-at-sign", "password": PASSWORD, "role": "admin"}, "email"),
    ({"email": "a@b", "password": PASSWORD, "role": "admin"}, "email"),
    ({"email": ["a@b.c"], "password": PASSWORD, "role": "admin"}, "email"),
    ({"email": "n@example.com", "role": "admin"}, "password"),
    ({"email": "n@example.com", "password": 123456789012, "role": "admin"}, "password"),
    ({"email": "n@example.com", "password": PASSWORD}, "role"),
    ({"email": "n@example.com", "password": PASSWORD, "role": "admin", "name": "N"}, "name"),
]


def test_create_with_an_invalid_field_is_400_naming_it(client: Any, owner: Login) -> None:
    def check(case: tuple[dict[str, Any], str]) -> None:
        body, field = case
        names_field(error(create(client, owner, **body), 400), field)

    each(INVALID_CREATES, check)
    assert len(operators(client, owner)) == 1


# Addresses that read as an existing operator's (admin@example.com) or as another plain one.
LOOK_ALIKE_EMAILS = [
    "\u0430dmin@example.com",  # Cyrillic U+0430 for Latin a, in the local part
    "admin@ex\u0430mple.com",  # ... in the domain
    "\u0440\u0430\u0443@example.com",  # all Cyrillic: reads "pay"
    "\u03bfps@example.com",  # Greek omicron for o
    "adm\u0131n@example.com",  # Latin, but a dotless i (U+0131)
    "ad\u200bmin@example.com",  # an invisible zero-width space
    "admin\u00ad@example.com",  # an invisible soft hyphen
    "\uff41dmin@example.com",  # full-width a
    "admin@exam\uff50le.com",  # full-width p in the domain
    "a\u0301dmin@example.com",  # a combining accent
]


def test_create_with_a_look_alike_email_is_400_naming_email(
    client: Any, owner: Login, admin: Login
) -> None:
    def check(email: str) -> None:
        resp = create(client, owner, email=email, password=PASSWORD, role="owner")
        names_field(error(resp, 400, "EMAIL_NOT_ASCII"), "email")

    each(LOOK_ALIKE_EMAILS, check)
    assert {o["email"] for o in operators(client, owner)} == {owner.email, admin.email}
    assert audit_actions(client, owner.token, f"{API}/audit").count("operator.created") == 2


def test_create_with_an_ascii_email_of_an_internationalized_domain_is_201(
    client: Any, owner: Login
) -> None:
    resp = create(client, owner, email="ops@xn--mller-kva.de", password=PASSWORD, role="viewer")

    assert resp.status_code == 201, resp.body
    assert login_as(client, "ops@xn--mller-kva.de").role == "viewer"


def test_an_operator_stored_before_the_ascii_rule_still_logs_in(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    from chalicelib import ids
    from chalicelib.auth import passwords
    from chalicelib.entities import Operator
    from chalicelib.repositories import operators as repo

    legacy = "j\u00fcrgen@example.com"
    now = iso(clock.now())
    record = Operator(ids.new_id("op"), legacy, "viewer", now, now, None)
    assert repo.create(record, passwords.hash_password(PASSWORD), None)

    assert login_as(client, legacy).role == "viewer"
    assert legacy in {o["email"] for o in operators(client, owner)}


# --- update --------------------------------------------------------------------------------------


def test_patch_role_returns_the_updated_operator(
    client: Any, owner: Login, admin: Login, clock: FrozenClock
) -> None:
    clock.advance(60)

    resp = patch(client, owner, admin.id, {"role": "viewer"})

    assert resp.status_code == 200
    assert resp.json_body["role"] == "viewer"
    assert resp.json_body["updatedAt"] == iso(clock.now())
    assert {o["id"]: o["role"] for o in operators(client, owner)}[admin.id] == "viewer"


def test_patch_password_returns_the_operator_without_the_password(
    client: Any, owner: Login, admin: Login
) -> None:
    resp = patch(client, owner, admin.id, {"password": NEW_PASSWORD})

    assert resp.status_code == 200
    assert set(resp.json_body) == OPERATOR_FIELDS
    assert resp.json_body["role"] == "admin"
    assert NEW_PASSWORD not in resp.body.decode()
    assert login(client, admin.email, NEW_PASSWORD).status_code == 200


def test_patch_role_and_password_together(client: Any, owner: Login, admin: Login) -> None:
    resp = patch(client, owner, admin.id, {"role": "owner", "password": NEW_PASSWORD})

    assert resp.json_body["role"] == "owner"
    assert login_as(client, admin.email, NEW_PASSWORD).role == "owner"


def test_patch_with_nothing_to_update_is_400(client: Any, owner: Login, admin: Login) -> None:
    resp = patch(client, owner, admin.id, {})

    error(resp, 400, "NOTHING_TO_UPDATE")


INVALID_PATCHES = [
    ({"role": "root"}, "role", "INVALID_INPUT"),
    ({"role": None}, "role", "MISSING_FIELD"),
    ({"password": "short"}, "password", "WEAK_PASSWORD"),
    ({"password": 5}, "password", "INVALID_INPUT"),
    ({"email": "new@example.com"}, "email", "UNKNOWN_FIELD"),
]


def test_patch_with_an_invalid_field_is_400_and_changes_nothing(
    client: Any, owner: Login, admin: Login
) -> None:
    before = operators(client, owner)

    def check(case: tuple[dict[str, Any], str, str]) -> None:
        body, field, code = case
        names_field(error(patch(client, owner, admin.id, body), 400, code), field)
        assert operators(client, owner) == before
        assert call(client, "GET", f"{API}/me", token=admin.token).status_code == 200

    each(INVALID_PATCHES, check)


def test_patch_unknown_operator_is_404(client: Any, owner: Login) -> None:
    def check(operator_id: str) -> None:
        error(patch(client, owner, operator_id, {"role": "viewer"}), 404, "OPERATOR_NOT_FOUND")

    each([UNKNOWN_OP, "nope", "env_0000000000000000"], check)


def test_demoting_the_last_owner_is_409_last_owner(client: Any, owner: Login) -> None:
    resp = patch(client, owner, owner.id, {"role": "admin"})

    err = error(resp, 409, "LAST_OWNER")
    assert "suggestion" in err
    assert operators(client, owner)[0]["role"] == "owner"
    assert call(client, "GET", f"{API}/me", token=owner.token).status_code == 200


def test_an_owner_can_step_down_once_another_owner_exists(
    client: Any, owner: Login, admin: Login
) -> None:
    patch(client, owner, admin.id, {"role": "owner"})

    resp = patch(client, owner, owner.id, {"role": "admin"})

    assert resp.status_code == 200
    assert resp.json_body["role"] == "admin"
    successor = login_as(client, admin.email)
    error(patch(client, successor, successor.id, {"role": "viewer"}), 409, "LAST_OWNER")


def test_promoting_to_owner_gives_owner_powers(client: Any, owner: Login, admin: Login) -> None:
    error(call(client, "GET", OPS, token=admin.token), 403, "ROLE_REQUIRED")
    patch(client, owner, admin.id, {"role": "owner"})

    promoted = login_as(client, admin.email)

    assert call(client, "GET", OPS, token=promoted.token).status_code == 200


# --- delete --------------------------------------------------------------------------------------


def test_delete_is_204_and_removes_the_operator(client: Any, owner: Login, admin: Login) -> None:
    resp = delete(client, owner, admin.id)

    assert resp.status_code == 204
    assert resp.body == b""
    assert [o["id"] for o in operators(client, owner)] == [owner.id]
    error(login(client, admin.email), 401, "INVALID_CREDENTIALS")


def test_deleting_yourself_is_403_cannot_delete_self(client: Any, owner: Login) -> None:
    resp = delete(client, owner, owner.id)

    error(resp, 403, "CANNOT_DELETE_SELF")
    assert [o["id"] for o in operators(client, owner)] == [owner.id]


def test_deleting_an_unknown_operator_is_404(client: Any, owner: Login) -> None:
    def check(operator_id: str) -> None:
        error(delete(client, owner, operator_id), 404, "OPERATOR_NOT_FOUND")

    each([UNKNOWN_OP, "nope"], check)


def test_deleting_twice_is_404(client: Any, owner: Login, admin: Login) -> None:
    delete(client, owner, admin.id)

    error(delete(client, owner, admin.id), 404, "OPERATOR_NOT_FOUND")


def test_an_owner_can_delete_another_owner(
    client: Any, owner: Login, make_operator: Callable[..., Login]
) -> None:
    second = make_operator("owner", "second@example.com")

    assert delete(client, second, owner.id).status_code == 204
    error(call(client, "GET", f"{API}/me", token=owner.token), 401, "INVALID_SESSION")


def test_two_owners_deleting_each_other_at_once_leave_one_owner(
    client: Any,
    owner: Login,
    make_operator: Callable[..., Login],
    services: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    second = make_operator("owner", "second@example.com")
    real_delete = services.operators.delete

    def second_deletes_owner_first(actor: Actor, operator_id: str) -> None:
        # The second owner's request commits between this request's auth and its write.
        real_delete(Actor(second.id, second.email, "owner"), owner.id)
        real_delete(actor, operator_id)

    monkeypatch.setattr(services.operators, "delete", second_deletes_owner_first)
    resp = delete(client, owner, second.id)
    monkeypatch.undo()

    error(resp, 409, "LAST_OWNER")
    remaining = operators(client, second)
    assert [(o["id"], o["role"]) for o in remaining] == [(second.id, "owner")]


# --- operators audit -----------------------------------------------------------------------------


def test_operators_audit_lists_created_updated_deleted_newest_first(
    client: Any, owner: Login, clock: FrozenClock
) -> None:
    new = create(client, owner, email="n@example.com", password=PASSWORD, role="viewer").json_body
    clock.advance(1)
    patch(client, owner, new["id"], {"role": "admin"})
    clock.advance(1)
    delete(client, owner, new["id"])

    events = list_all(client, owner.token, f"{API}/audit")

    assert [e["action"] for e in events] == [
        "operator.deleted",
        "operator.updated",
        "operator.created",
        "operator.created",
    ]
    assert [e["actor"]["email"] for e in events] == [owner.email] * 3 + ["system"]
    assert [e["target"] for e in events[:3]] == [{"type": "operator", "id": new["id"]}] * 3
    assert events[0]["details"] == {"email": "n@example.com"}
    assert events[1]["details"] == {"role": {"from": "viewer", "to": "admin"}}
    assert events[2]["details"] == {"email": "n@example.com", "role": "viewer"}
    assert {e["environmentId"] for e in events} == {None}


def test_operators_audit_records_a_password_change_without_the_password(
    client: Any, owner: Login, admin: Login
) -> None:
    patch(client, owner, admin.id, {"password": NEW_PASSWORD})

    resp = call(client, "GET", f"{API}/audit", token=owner.token)

    event = resp.json_body["data"][0]
    assert event["action"] == "operator.updated"
    assert event["details"] == {"passwordChanged": True}
    assert NEW_PASSWORD not in resp.body.decode()


def test_refused_operator_changes_leave_no_audit_event(client: Any, owner: Login) -> None:
    before = audit_actions(client, owner.token, f"{API}/audit")

    create(client, owner, email=owner.email, password=PASSWORD, role="admin")
    patch(client, owner, owner.id, {"role": "viewer"})
    delete(client, owner, owner.id)

    assert audit_actions(client, owner.token, f"{API}/audit") == before


# --- roles: every admin route, every role ---------------------------------------------------------

PUBLIC = None
# (method, path) -> the least role that may call it; PUBLIC needs no session.
ROUTE_ROLES: dict[tuple[str, str], str | None] = {
    ("POST", "/admin/api/login"): PUBLIC,
    ("POST", "/admin/api/logout"): "viewer",
    ("GET", "/admin/api/me"): "viewer",
    ("GET", "/admin/api/operators"): "owner",
    ("POST", "/admin/api/operators"): "owner",
    ("PATCH", "/admin/api/operators/{operatorId}"): "owner",
    ("DELETE", "/admin/api/operators/{operatorId}"): "owner",
    ("GET", "/admin/api/audit"): "owner",
    ("GET", "/admin/api/environments"): "viewer",
    ("POST", "/admin/api/environments"): "admin",
    ("GET", "/admin/api/environments/{envId}"): "viewer",
    ("PATCH", "/admin/api/environments/{envId}"): "admin",
    ("DELETE", "/admin/api/environments/{envId}"): "admin",
    ("POST", "/admin/api/environments/{envId}/suspend"): "admin",
    ("POST", "/admin/api/environments/{envId}/resume"): "admin",
    ("GET", "/admin/api/environments/{envId}/keys"): "viewer",
    ("POST", "/admin/api/environments/{envId}/keys"): "admin",
    ("POST", "/admin/api/environments/{envId}/keys/rotate"): "admin",
    ("POST", "/admin/api/environments/{envId}/keys/{keyId}/revoke"): "admin",
    ("POST", "/admin/api/keys/report-leak"): "admin",
    ("POST", "/admin/api/environments/{envId}/leak/dismiss"): "admin",
    ("POST", "/admin/api/environments/{envId}/keys/{keyId}/roll"): "admin",
    ("GET", "/admin/api/environments/{envId}/keys/usage"): "viewer",
    ("GET", "/admin/api/environments/{envId}/audit"): "viewer",
    ("GET", "/admin/api/openapi.json"): "viewer",
}
# Ids that exist nowhere, so a permitted call answers 400/404 and changes nothing.
PLACEHOLDERS = {
    "{envId}": "env_0000000000000000",
    "{keyId}": "key_0000000000000000",
    "{operatorId}": UNKNOWN_OP,
}
LOGOUT = ("POST", "/admin/api/logout")


def concrete(path: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        path = path.replace(placeholder, value)
    assert "{" not in path, path
    return path


ROUTERS = (admin_environments.router, admin_operators.router, admin_openapi.router)


def registered_routes() -> dict[tuple[str, str], Any]:
    specs = [s for router in ROUTERS for s in router.specs]
    return {(s.method, s.path): s for s in specs}


def test_role_table_covers_exactly_the_registered_admin_routes() -> None:
    registered = registered_routes()

    assert len(registered) == len([s for router in ROUTERS for s in router.specs])
    assert set(ROUTE_ROLES) == set(registered)


def test_role_table_matches_what_each_route_declares() -> None:
    for route, spec in registered_routes().items():
        if ROUTE_ROLES[route] is PUBLIC:
            assert spec.auth == "none", route
        else:
            assert (spec.auth, spec.role) == ("operator", ROUTE_ROLES[route]), route


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_route_enforces_its_least_role(
    client: Any, request: pytest.FixtureRequest, role: str
) -> None:
    session: Login = request.getfixturevalue(role)
    # Logout ends the session the other calls use, so it goes last.
    routes = sorted(ROUTE_ROLES, key=lambda r: r == LOGOUT)

    wrong: list[tuple[str, str, int, Any]] = []
    for method, path in routes:
        least = ROUTE_ROLES[(method, path)]
        resp = call(client, method, concrete(path), token=session.token)
        if least is not None and ROLES.index(role) < ROLES.index(least):  # type: ignore[arg-type]
            ok = resp.status_code == 403 and resp.json_body["error"]["code"] == "ROLE_REQUIRED"
        else:
            ok = resp.status_code not in (401, 403)
        if not ok:
            wrong.append((method, path, resp.status_code, resp.json_body))

    assert wrong == []


def test_a_refused_role_names_the_role_needed(client: Any, viewer: Login) -> None:
    resp = call(client, "POST", f"{API}/environments", token=viewer.token, body={"name": "x"})

    err = error(resp, 403, "ROLE_REQUIRED")
    assert "admin" in err["message"]
    assert "viewer" in err["message"]


def test_every_admin_route_without_a_session_is_401(client: Any) -> None:
    def check(route: tuple[str, str]) -> None:
        method, path = route
        error(call(client, method, concrete(path)), 401, "INVALID_SESSION")

    each(sorted(r for r, least in ROUTE_ROLES.items() if least is not PUBLIC), check)


def test_viewer_cannot_change_anything(client: Any, owner: Login, viewer: Login) -> None:
    env = call(client, "POST", f"{API}/environments", token=owner.token, body={"name": "E"})
    env_id = env.json_body["environment"]["id"]
    key_id = env.json_body["keys"][1]["id"]
    base = f"{API}/environments/{env_id}"

    attempts = [
        ("PATCH", base, {"name": "Renamed"}),
        ("DELETE", base, None),
        ("POST", f"{base}/suspend", None),
        ("POST", f"{base}/resume", None),
        ("POST", f"{base}/keys", {"kind": "secret"}),
        ("POST", f"{base}/keys/rotate", None),
        ("POST", f"{base}/keys/{key_id}/revoke", None),
        ("POST", f"{base}/keys/{key_id}/roll", {"expiresIn": "now"}),
    ]
    for method, path, body in attempts:
        error(call(client, method, path, token=viewer.token, body=body), 403, "ROLE_REQUIRED")

    assert audit_actions(client, owner.token, f"{base}/audit") == ["environment.created"]
    keys = list_all(client, owner.token, f"{base}/keys")
    assert {k["status"] for k in keys} == {"active"}


def test_admin_cannot_manage_operators(client: Any, owner: Login, admin: Login) -> None:
    body = {"email": "x@example.com", "password": PASSWORD, "role": "owner"}
    error(call(client, "POST", OPS, token=admin.token, body=body), 403, "ROLE_REQUIRED")
    error(patch(client, admin, admin.id, {"role": "owner"}), 403, "ROLE_REQUIRED")
    error(delete(client, admin, owner.id), 403, "ROLE_REQUIRED")

    roles = {o["id"]: o["role"] for o in operators(client, owner)}
    assert roles == {owner.id: "owner", admin.id: "admin"}
