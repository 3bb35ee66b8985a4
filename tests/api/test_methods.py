"""Every path answers every method API Gateway lets through: the ones its routes take, HEAD as
GET (without the body) on the static files, and 405 METHOD_NOT_ALLOWED in the error shape, with
an Allow header of exactly its routes' methods, for the rest (API Gateway would otherwise answer
them itself: 403 "Missing Authentication Token")."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import chalicelib.api
from chalicelib.api.routing import METHODS, Router

from .helpers import Login, call, each, error

STATIC = {
    "/sdk/pulse.js": "text/javascript; charset=utf-8",
    "/sdk/pulse-client.js": "text/javascript; charset=utf-8",
    "/sdk/pulse-client.d.ts": "application/typescript; charset=utf-8",
    "/admin": "text/html; charset=utf-8",
    "/admin/assets/app.js": "text/javascript; charset=utf-8",
    "/admin/assets/app.css": "text/css; charset=utf-8",
    "/api/v1/openapi.json": "application/json",
}
PLACEHOLDERS = {
    "{envId}": "env_0000000000000000",
    "{keyId}": "key_0000000000000000",
    "{operatorId}": "op_0000000000000000",
    "{roomId}": "room-1",
    "{threadId}": "th_0000000000000000",
    "{commentId}": "cm_0000000000000000",
    "{emoji}": "%F0%9F%91%8D",
    "{userId}": "user-1",
    "{name}": "app.js",
    "{webhookId}": "wh_0000000000000000",
    "{deliveryId}": "msg_0000000000000000",
    "{connectionId}": "conn-1",
    "{jobId}": "job_0000000000000000",
}


def declared() -> dict[str, set[str]]:
    """path template -> the methods its routes take."""
    paths: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(chalicelib.api.__path__):
        router = getattr(importlib.import_module(f"chalicelib.api.{info.name}"), "router", None)
        if isinstance(router, Router):
            for spec in router.specs:
                paths.setdefault(spec.path, set()).add(spec.method)
    return paths


def concrete(template: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        template = template.replace(placeholder, value)
    assert "{" not in template, template
    return template


def allowed(resp: Any) -> set[str]:
    return {m.strip() for m in resp.headers["Allow"].split(",")}


def test_every_method_a_path_does_not_take_is_405_with_its_allow(client: Any, owner: Login) -> None:
    """Every path, with each method API Gateway lets through that it does not take, and with
    methods no route knows (`PROPFIND`): the Allow header lists exactly its routes' methods."""
    unknown = ["PROPFIND", "TRACE", "BREW"]
    cases = [
        (method, path, methods)
        for path, methods in declared().items()
        for method in [*METHODS, *unknown]
        if method not in methods
    ]
    assert len(cases) > 100

    def check(case: tuple[str, str, set[str]]) -> None:
        method, path, methods = case
        resp = call(client, method, concrete(path), token=owner.token)
        assert resp.status_code == 405, (resp.status_code, resp.body)
        assert allowed(resp) == methods
        if method != "HEAD":
            err = error(resp, 405, "METHOD_NOT_ALLOWED")
            assert method in err["message"]
            assert "Allow" in err["suggestion"]

    each(cases, check)


def test_head_on_a_static_file_answers_as_get_without_the_body(client: Any) -> None:
    def check(path: str) -> None:
        got = client.http.get(path)
        head = client.http.head(path)
        assert got.status_code == head.status_code == 200, (path, head.status_code)
        assert got.body and head.body == b""
        assert head.headers["Content-Type"] == got.headers["Content-Type"] == STATIC[path]
        same = {k: v for k, v in got.headers.items() if k != "X-Request-Id"}
        assert {k: v for k, v in head.headers.items() if k != "X-Request-Id"} == same

    each(list(STATIC), check)


def test_head_of_a_missing_asset_is_a_404_without_a_body(client: Any) -> None:
    resp = client.http.head("/admin/assets/nope.js")

    assert resp.status_code == 404
    assert resp.body == b""
