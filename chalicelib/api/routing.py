"""Route registration: every REST view is wrapped so that it authenticates as declared and its
errors pass through api/errors.py; every path answers every method (405 for those it does not
take). The registry of admin routes and roles lives here too."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from chalice.app import Blueprint, Request, Response

from ..entities import Role
from ..errors import Forbidden, MethodNotAllowed, PulseError
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..services.limits import Scope
from . import errors, idempotency, paths
from .http import bearer, request_id, source_ip


@dataclass(frozen=True)
class SecretKey:
    """A route for a customer backend's secret key, and the abuse limits it passes: failed
    authentications, then `limit`'s request rates (services/limits.py). A secret-key route cannot
    be declared without its limit."""

    limit: Scope


Auth = Literal["none", "operator"] | SecretKey
AuthKind = Literal["none", "operator", "secret_key"]
# The methods API Gateway (edge) lets through. Each path declares all of them: API Gateway answers
# a method that a resource does not declare itself, with 403 "Missing Authentication Token".
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DECLARED: dict[str, list[str]] = {}  # path template -> the methods its routes take


def declared_methods(template: str | None) -> list[str]:
    """The methods the routes of a path take (what its Allow header lists)."""
    return list(_DECLARED.get(template or "", []))


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    auth: AuthKind
    role: Role | None
    idempotent: bool = False
    limit: Scope | None = None  # the request rates a secret-key route counts against


@dataclass
class Router:
    """A Chalice Blueprint plus the list of what each of its routes requires."""

    prefix: str
    blueprint: Blueprint = field(init=False)
    specs: list[RouteSpec] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (method, path) answered 405

    def __post_init__(self) -> None:
        self.blueprint = Blueprint(__name__ + self.prefix.replace("/", "."))

    @property
    def request(self) -> Request:
        request = self.blueprint.current_request
        assert request is not None
        return request

    def route(
        self,
        path: str,
        method: str,
        *,
        auth: Auth = "operator",
        role: Role | None = "viewer",
        status: int = 200,
        idempotent: bool = False,
        replay_for: idempotency.ReplayFor | None = None,
        head: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`auth="operator"` passes the authenticated Actor as the view's first argument;
        `auth=SecretKey(limit)` passes a SecretKeyCaller whose key passed the offline checks and
        whose Gate carries the route's limits (the service verifies the key in the same read as
        the data it loads, and counts the request). `idempotent` routes (a secret key's
        POSTs) honour an `Idempotency-Key` header (api/idempotency.py), replaying answers for 24
        hours or `replay_for(settings)` seconds. `head` (a GET of a static file) answers HEAD
        as GET, without the body."""
        methods = [method, "HEAD"] if head else [method]
        assert not head or method == "GET", "HEAD answers as a GET"

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            template = self.prefix + path
            _DECLARED.setdefault(template, []).extend(methods)
            least = role if auth == "operator" else None
            kind: AuthKind = "secret_key" if isinstance(auth, SecretKey) else auth
            limit = auth.limit if isinstance(auth, SecretKey) else None
            for each in methods:
                self.specs.append(RouteSpec(each, template, kind, least, idempotent, limit))

            @functools.wraps(view)
            def handler(**raw_params: str) -> Response:
                request = self.request
                try:
                    params = {name: paths.parameter(name, raw) for name, raw in raw_params.items()}
                except PulseError as exc:
                    return errors.to_response(exc)
                if idempotent:
                    where = template.format(**params)
                    return idempotency.once(
                        request, where, replay_for, lambda: respond(request, params)
                    )
                response = respond(request, params)
                if request.method == "HEAD":
                    response.body = ""  # as GET, headers included; never a body
                return response

            def respond(request: Request, params: dict[str, str]) -> Response:
                try:
                    if auth == "operator":
                        actor = services().operators.authenticate(bearer(request))
                        if role is not None and not actor.can(role):
                            raise Forbidden(
                                f"This needs the {role} role; you are {actor.role}.",
                                code="ROLE_REQUIRED",
                            )
                        result = view(actor, **params)
                    elif isinstance(auth, SecretKey):
                        result = view(secret_key_caller(request, auth.limit), **params)
                    else:
                        result = view(**params)
                except PulseError as exc:
                    return errors.to_response(exc)
                except Exception:
                    return errors.unexpected(request_id(request))
                if isinstance(result, Response):
                    return result
                if status == 204:
                    return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
                return Response(body=result, status_code=status, headers=dict(errors.JSON_HEADERS))

            self.blueprint.route(path, methods=methods)(handler)
            return view

        return decorate

    def sealed(self) -> Blueprint:
        """The blueprint to register, once every route is declared: each path also takes the
        methods none of its routes does, answering them 405 METHOD_NOT_ALLOWED with Allow."""
        taken: dict[str, list[str]] = {}
        for spec in self.specs:
            taken.setdefault(spec.path, []).append(spec.method)
        for template, allowed in taken.items():
            others = [m for m in METHODS if m not in allowed and (m, template) not in self.refused]
            if others:
                self.refused += [(m, template) for m in others]
                view = self._refusal(allowed)
                view.__name__ = "refuse_" + "".join(c if c.isalnum() else "_" for c in template)
                self.blueprint.route(template[len(self.prefix) :], methods=others)(view)
        return self.blueprint

    def _refusal(self, allowed: list[str]) -> Callable[..., Response]:
        def refuse(**raw_params: str) -> Response:
            return errors.to_response(MethodNotAllowed(self.request.method, allowed))

        return refuse


def secret_key_caller(request: Request, limit: Scope) -> SecretKeyCaller:
    """The request's secret key, refused offline when missing, malformed or a pk_ (no read), with
    the limits its route declared."""
    return SecretKeyCaller.of(bearer(request), services().limits.gate(source_ip(request), limit))
