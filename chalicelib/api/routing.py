"""Route registration: every REST view is wrapped so that it authenticates as declared and its
errors pass through api/errors.py. The registry of admin routes and roles lives here too."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from chalice.app import Blueprint, Request, Response

from ..entities import Role
from ..errors import Forbidden, PulseError
from ..runtime import services
from ..services.access import Access
from . import errors, idempotency, paths
from .http import bearer, request_id, source_ip

Auth = Literal["none", "operator", "secret_key"]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    auth: Auth
    role: Role | None
    idempotent: bool = False


@dataclass
class Router:
    """A Chalice Blueprint plus the list of what each of its routes requires."""

    prefix: str
    blueprint: Blueprint = field(init=False)
    specs: list[RouteSpec] = field(default_factory=list)

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
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`auth="operator"` passes the authenticated Actor as the view's first argument;
        `auth="secret_key"` passes an Access whose key passed the offline checks (the service
        verifies it in the same read as the data it loads). `idempotent` routes (a secret key's
        POSTs) honour an `Idempotency-Key` header (api/idempotency.py), replaying answers for 24
        hours or `replay_for(settings)` seconds."""

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            template = self.prefix + path
            self.specs.append(
                RouteSpec(method, template, auth, role if auth == "operator" else None, idempotent)
            )

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
                return respond(request, params)

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
                    elif auth == "secret_key":
                        gate = services().limits.gate(source_ip(request))
                        result = view(Access.secret_key(bearer(request), gate), **params)
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

            self.blueprint.route(path, methods=[method])(handler)
            return view

        return decorate
