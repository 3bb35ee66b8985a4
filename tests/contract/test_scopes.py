"""The customer contract states the one scope each operation needs of a restricted key: in
`x-pulse-scope` and in its security requirement (OpenAPI 3.1 lets a bearer scheme's requirement
list roles), the same as the route declares (api/routing.SecretKey)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app import app  # noqa: F401  (registers every route)
from chalicelib import scopes
from chalicelib.api.routing import ROUTERS

ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = ROOT / "chalicelib" / "openapi.json"
PUBLIC = {("GET", "/api/v1/openapi.json"), ("HEAD", "/api/v1/openapi.json")}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = json.loads(JSON_PATH.read_text())
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    ]


def test_every_key_operation_states_exactly_one_known_scope() -> None:
    found = 0
    for method, path, op in operations():
        if (method, path) in PUBLIC:
            assert "x-pulse-scope" not in op and op["security"] == []
            continue
        assert path == "/auth/token" or path.startswith("/api/v1/"), path
        scope = op.get("x-pulse-scope")
        assert scope in scopes.SCOPES, (method, path, scope)
        assert op["security"] == [{"secretKey": [scope]}], (method, path)
        found += 1
    assert found >= 24  # every customer operation: /auth/token and the REST API


def test_the_stated_scope_is_the_one_the_route_checks() -> None:
    declared = {
        (spec.method, spec.path): spec.doc.scope
        for router in ROUTERS
        if router.contract == "customer"
        for spec in router.specs
        if spec.doc is not None and spec.auth == "secret_key"
    }
    stated = {(m, p): op["x-pulse-scope"] for m, p, op in operations() if (m, p) not in PUBLIC}
    assert stated == declared


def test_every_scope_is_needed_by_some_operation() -> None:
    stated = {op.get("x-pulse-scope") for _, _, op in operations()}
    assert set(scopes.SCOPES) <= stated
