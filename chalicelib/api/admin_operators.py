"""Admin API: login/logout/me and operator accounts (`/admin/api/login`, `/admin/api/operators`)."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from .. import validation as v
from ..entities import ROLES, Actor
from ..errors import InvalidInput
from ..runtime import services
from . import http
from . import serializers as out
from .errors import JSON_HEADERS
from .routing import Router

router = Router(prefix="/admin/api")
# Recognises a browser that logged in before (services/login_throttle.py): such a browser is
# throttled on its own, so nobody without the password can lock its operator out.
DEVICE_COOKIE = "pulse_device"
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600


@router.route("/login", "POST", auth="none")
def login() -> Response:
    body = http.json_object(router.request)
    v.only_fields(body, ["email", "password"])
    email = v.email(body)
    # As when a password is set: text without control characters or lone surrogates (argon2
    # cannot encode those: a 500 before), so no stored password is refused here.
    password = v.required_text(body, "password", max_len=1024)
    request = router.request
    session = services().operators.login(
        email,
        password,
        source_ip=http.source_ip(request),
        device_cookie=http.cookie(request, DEVICE_COOKIE),
    )
    body = {
        "token": session.token,
        "expiresAt": session.expires_at,
        "operator": out.operator(session.operator),
    }
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if session.device is not None:
        headers["Set-Cookie"] = device_cookie(session.device)
    return Response(body=body, status_code=200, headers=headers)


def device_cookie(value: str) -> str:
    """The browser keeps it a year and sends it back to the login (its path defaults to the
    login's directory, which carries the stage prefix on AWS); scripts never see it."""
    return (
        f"{DEVICE_COOKIE}={value}; Max-Age={DEVICE_COOKIE_SECONDS}; Secure; HttpOnly; "
        "SameSite=Strict"
    )


@router.route("/logout", "POST", status=204)
def logout(actor: Actor) -> None:
    token = http.bearer(router.request)
    assert token is not None  # authenticated above
    services().operators.logout(actor, token)


@router.route("/me", "GET")
def me(actor: Actor) -> dict[str, Any]:
    return {"operator": out.operator(services().operators.me(actor))}


@router.route("/operators", "GET", role="owner")
def list_operators(actor: Actor) -> dict[str, Any]:
    req = router.request
    page = services().operators.list_operators(http.limit(req), http.query(req, "cursor"))
    return out.page(page, out.operator)


@router.route("/operators", "POST", role="owner", status=201)
def create_operator(actor: Actor) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["email", "password", "role"])
    email = v.operator_email(body)
    password = v.required_text(body, "password", max_len=1024)
    role = v.choice(body, "role", ROLES)
    return out.operator(services().operators.create(actor, email, password, role))


@router.route("/operators/{operatorId}", "PATCH", role="owner")
def update_operator(actor: Actor, operatorId: str) -> dict[str, Any]:
    body = http.json_object(router.request)
    v.only_fields(body, ["role", "password"])
    role = v.choice(body, "role", ROLES) if "role" in body else None
    password = v.required_text(body, "password", max_len=1024) if "password" in body else None
    if role is None and password is None:
        raise InvalidInput("body", "send role and/or password", code="NOTHING_TO_UPDATE")
    return out.operator(
        services().operators.update(actor, operatorId, role=role, password=password)
    )


@router.route("/operators/{operatorId}", "DELETE", role="owner", status=204)
def delete_operator(actor: Actor, operatorId: str) -> None:
    services().operators.delete(actor, operatorId)


@router.route("/audit", "GET", role="owner")
def operators_audit(actor: Actor) -> dict[str, Any]:
    req = router.request
    page = services().operators.audit(http.limit(req), http.query(req, "cursor"))
    return out.page(page, out.audit_event)
