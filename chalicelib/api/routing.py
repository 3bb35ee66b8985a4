"""Route registration: every REST view is wrapped so that it authenticates as declared, reads
its body through the declared wire model, answers through the declared wire shape, and its
errors pass through api/errors.py; every path answers every method (405 for those it does not
take). The registry of routes (what the OpenAPI documents are generated from) lives here too."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

from chalice.app import Blueprint, Request, Response

from .. import codes
from ..entities import Role
from ..errors import Forbidden, MethodNotAllowed, PulseError
from ..runtime import services
from ..scopes import KeyScope
from ..services.callers import SecretKeyCaller
from ..services.grants import Need
from ..services.limits import Scope
from ..wire.fields import Body
from ..wire.params import Param
from ..wire.shapes import Shape
from . import errors, idempotency, paths
from .http import bearer, json_object, request_id, source_ip


class SecretKey:
    """A route for a customer backend's secret key, and the abuse limits it passes: failed
    authentications, then `limit`'s request rates (services/limits.py). A secret-key route cannot
    be declared without its limit, nor without the one `scope` a restricted key (rk_) needs for
    it (scopes.py); a `{roomId}` in its path is the room that key's rooms pattern must include,
    and `every_room` (a list of all rooms) is refused to a key limited to rooms."""

    __slots__ = ("every_room", "limit", "scope")

    def __init__(self, limit: Scope, scope: KeyScope, *, every_room: bool = False) -> None:
        self.limit, self.scope, self.every_room = limit, scope, every_room

    def need(self, room_id: str | None) -> Need:
        return Need(self.scope, room_id, self.every_room)


Auth = Literal["none", "operator"] | SecretKey
AuthKind = Literal["none", "operator", "secret_key"]
# The methods API Gateway (edge) lets through. Each path declares all of them: API Gateway answers
# a method that a resource does not declare itself, with 403 "Missing Authentication Token".
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DECLARED: dict[str, list[str]] = {}  # path template -> the methods its routes take
Contract = Literal["customer", "admin"]


def declared_methods(template: str | None) -> list[str]:
    """The methods the routes of a path take (what its Allow header lists)."""
    return list(_DECLARED.get(template or "", []))


class Declared:
    """What the contract says of a route (infra/openapi.py; nothing here runs on a request): the
    view (its docstring is the operation's summary, description and, after `Returns:`, its
    success), its status, body model and answer shape, the query parameters it reads, the error
    codes of its own beyond those of its auth, path, body and idempotency, its tag, the
    credentials it needs, whoever checks them (None: public), and a secret-key route's scope.
    A plain class: every field of a dataclass costs import time on each cold start."""

    __slots__ = (
        "answer",
        "body",
        "operation_id",
        "query",
        "raises",
        "scope",
        "secured_by",
        "status",
        "tag",
        "view",
    )

    def __init__(
        self,
        view: Callable[..., Any],
        *,
        status: int,
        body: type[Body] | None,
        answer: Shape | None,
        query: tuple[Param, ...],
        raises: tuple[str, ...],
        tag: str | None,
        operation_id: str | None,
        secured_by: AuthKind | None,
        scope: KeyScope | None = None,
    ) -> None:
        self.view, self.status, self.body, self.answer = view, status, body, answer
        self.query, self.raises, self.tag = query, raises, tag
        self.operation_id, self.secured_by, self.scope = operation_id, secured_by, scope


class RouteSpec(NamedTuple):
    """What a route requires. (A NamedTuple: a frozen dataclass costs ~0.5 ms more to create,
    on each cold start.)"""

    method: str
    path: str
    auth: AuthKind
    role: Role | None
    idempotent: bool = False
    doc: Declared | None = None
    limit: Scope | None = None  # the request rates a secret-key route counts against


ROUTERS: list[Router] = []  # every Router made, in order: the contract's registry


class Router:
    """A Chalice Blueprint plus the list of what each of its routes requires. `contract` names
    the OpenAPI document its routes belong to (None: static files, in no document); `tag` is
    its routes' tag there, unless one says otherwise. (A plain class: a dataclass costs import
    time on each cold start.)"""

    def __init__(
        self, prefix: str, contract: Contract | None = None, tag: str | None = None
    ) -> None:
        self.prefix, self.contract, self.tag = prefix, contract, tag
        self.blueprint = Blueprint(__name__ + prefix.replace("/", "."))
        self.specs: list[RouteSpec] = []
        self.refused: list[tuple[str, str]] = []  # (method, path) answered 405
        ROUTERS.append(self)

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
        body: type[Body] | None = None,
        parse_body: bool = True,
        secured_by: AuthKind | None = None,
        answer: Shape | None = None,
        query: Sequence[Param] = (),
        raises: Sequence[str] = (),
        tag: str | None = None,
        operation_id: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`auth="operator"` passes the authenticated Actor as the view's first argument;
        `auth=SecretKey(limit)` passes a SecretKeyCaller whose key passed the offline checks and
        whose Gate carries the route's limits (the service verifies the key in the same read as
        the data it loads, and counts the request). `idempotent` routes (a secret key's
        POSTs) honour an `Idempotency-Key` header (api/idempotency.py), replaying answers for 24
        hours or `replay_for(settings)` seconds. `head` (a GET of a static file) answers HEAD
        as GET, without the body.

        `body` (a wire model): the request body, parsed after authentication, is the view's
        `body` argument (`parse_body=False`: the view parses it itself, with that model, after
        checks of its own). `answer` (a wire shape): what the view returns is sent through it.
        `secured_by`: the credentials an `auth="none"` view checks itself (not public).
        `query`, `raises`, `tag` and `operation_id` only document the route (infra/openapi.py);
        `raises` are the error codes of its own, beyond those its auth, body and path give."""
        methods = [method, "HEAD"] if head else [method]
        assert not head or method == "GET", "HEAD answers as a GET"

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            template = self.prefix + path
            _DECLARED.setdefault(template, []).extend(methods)
            least = role if auth == "operator" else None
            kind: AuthKind = "secret_key" if isinstance(auth, SecretKey) else auth
            limit = auth.limit if isinstance(auth, SecretKey) else None
            doc = Declared(
                view,
                status=status,
                body=body,
                answer=answer,
                query=tuple(query),
                raises=tuple(raises),
                tag=tag or self.tag,
                operation_id=operation_id,
                secured_by=kind if kind != "none" else secured_by,
                scope=auth.scope if isinstance(auth, SecretKey) else None,
            )
            for each in methods:
                spec = RouteSpec(each, template, kind, least, idempotent, doc, limit)
                self.specs.append(spec)
            call = view if body is None or not parse_body else self._with_body(view, body)

            @functools.wraps(view)
            def handler(**raw_params: str) -> Response:
                request = self.request
                try:
                    params = {name: paths.parameter(name, raw) for name, raw in raw_params.items()}
                except PulseError as exc:
                    return errors.to_response(exc)
                if idempotent:
                    where = template.format(**params)
                    need = auth.need(params.get("roomId")) if isinstance(auth, SecretKey) else None
                    return idempotency.once(
                        request, where, replay_for, lambda: respond(request, params), need
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
                                code=codes.ROLE_REQUIRED,
                            )
                        result = call(actor, **params)
                    elif isinstance(auth, SecretKey):
                        need = auth.need(params.get("roomId"))
                        result = call(secret_key_caller(request, auth.limit, need), **params)
                    else:
                        result = call(**params)
                    if answer is not None and not isinstance(result, Response) and status != 204:
                        result = answer.dump(result)
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

    def _with_body(self, view: Callable[..., Any], model: type[Body]) -> Callable[..., Any]:
        """The view, given its parsed body: read once authentication has passed (a caller
        without credentials learns nothing of the body's rules)."""

        def call(*args: Any, **params: Any) -> Any:
            raw = json_object(self.request, required=not model.optional)
            return view(*args, body=model.parse(raw), **params)

        return call

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


def secret_key_caller(request: Request, limit: Scope, need: Need | None = None) -> SecretKeyCaller:
    """The request's secret key, refused offline when missing, malformed or a pk_ (no read), with
    the limits and the scope its route declared."""
    gate = services().limits.gate(source_ip(request), limit)
    return SecretKeyCaller.of(bearer(request), gate, need)
