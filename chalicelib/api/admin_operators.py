"""Admin API: login/logout/me and operator accounts (`/admin/api/login`, `/admin/api/operators`)."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from .. import codes
from ..entities import Actor, AuditEvent, Operator, Page
from ..runtime import services
from ..wire import environments, params
from ..wire import operators as wire
from . import http
from .errors import JSON_HEADERS
from .routing import Router

router = Router(prefix="/admin/api", contract="admin", tag="Operators")
# Recognises a browser that logged in before (services/login_throttle.py): such a browser is
# throttled on its own, so nobody without the password can lock its operator out.
DEVICE_COOKIE = "pulse_device"
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600


@router.route(
    "/login",
    "POST",
    auth="none",
    body=wire.LoginRequest,
    answer=wire.SESSION,
    raises=[codes.INVALID_CREDENTIALS, codes.TOO_MANY_ATTEMPTS, codes.TOO_MANY_FAILURES],
    tag="Session",
)
def login(body: wire.LoginRequest) -> Response:
    """Log in

    Starts an operator session: its `token` goes in `Authorization: Bearer pso_...` on every
    other call. An unknown email and a wrong password get the same 401. Failed logins are
    throttled per address, per account and per browser (429 with `Retry-After`); a browser that
    logged in before gets a cookie that keeps it apart from strangers' failures.

    Returns: The session and its operator.
    """
    request = router.request
    session = services().operators.login(
        body.email,
        body.password,
        source_ip=http.source_ip(request),
        device_cookie=http.cookie(request, DEVICE_COOKIE),
    )
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if session.device is not None:
        headers["Set-Cookie"] = device_cookie(session.device)
    # Answered here, not by the router: the answer carries a cookie. Its body is the declared
    # shape's all the same.
    return Response(body=wire.SESSION.dump(session), status_code=200, headers=headers)


def device_cookie(value: str) -> str:
    """The browser keeps it a year and sends it back to the login (its path defaults to the
    login's directory, which carries the stage prefix on AWS); scripts never see it."""
    return (
        f"{DEVICE_COOKIE}={value}; Max-Age={DEVICE_COOKIE_SECONDS}; Secure; HttpOnly; "
        "SameSite=Strict"
    )


@router.route("/logout", "POST", status=204, tag="Session")
def logout(actor: Actor) -> None:
    """Log out

    Ends this session; its token stops working at once.
    """
    token = http.bearer(router.request)
    assert token is not None  # authenticated above
    services().operators.logout(actor, token)


@router.route("/me", "GET", answer=wire.ME, tag="Session")
def me(actor: Actor) -> dict[str, Any]:
    """Who is logged in

    Returns: The session's operator.
    """
    return {"operator": services().operators.me(actor)}


@router.route("/operators", "GET", role="owner", answer=wire.OPERATORS, query=params.PAGE)
def list_operators(actor: Actor) -> Page[Operator]:
    """List operators

    Returns: A page of operators.
    """
    req = router.request
    return services().operators.list_operators(http.limit(req), http.query(req, "cursor"))


@router.route(
    "/operators",
    "POST",
    role="owner",
    status=201,
    body=wire.CreateOperatorRequest,
    answer=wire.OPERATOR,
    raises=[codes.WEAK_PASSWORD, codes.EMAIL_TAKEN],
)
def create_operator(actor: Actor, body: wire.CreateOperatorRequest) -> Operator:
    """Create an operator

    An account that logs in with this email and password, with this role.

    Returns: The new operator.
    """
    return services().operators.create(actor, body.email, body.password, body.role)


@router.route(
    "/operators/{operatorId}",
    "PATCH",
    role="owner",
    body=wire.UpdateOperatorRequest,
    answer=wire.OPERATOR,
    raises=[codes.WEAK_PASSWORD, codes.LAST_OWNER, codes.CONFLICT],
)
def update_operator(actor: Actor, operatorId: str, body: wire.UpdateOperatorRequest) -> Operator:
    """Change an operator's role or password

    A new password or a lower role ends their sessions. The last owner stays an owner
    (409 `LAST_OWNER`).

    Returns: The operator as changed.
    """
    return services().operators.update(actor, operatorId, role=body.role, password=body.password)


@router.route(
    "/operators/{operatorId}",
    "DELETE",
    role="owner",
    status=204,
    raises=[codes.CANNOT_DELETE_SELF, codes.LAST_OWNER, codes.CONFLICT],
)
def delete_operator(actor: Actor, operatorId: str) -> None:
    """Delete an operator

    Their sessions end at once. Nobody deletes their own account, nor the last owner.
    """
    services().operators.delete(actor, operatorId)


@router.route("/audit", "GET", role="owner", answer=environments.AUDIT_EVENTS, query=params.PAGE)
def operators_audit(actor: Actor) -> Page[AuditEvent]:
    """The operators' audit log

    Who created, changed and deleted operator accounts, newest first.

    Returns: A page of audit events.
    """
    req = router.request
    return services().operators.audit(http.limit(req), http.query(req, "cursor"))
