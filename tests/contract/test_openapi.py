"""The OpenAPI contract (docs/openapi.yaml, generated from the code by infra/openapi.py): a valid
OpenAPI 3.1 document, the same routes as the app (both ways), served as is at GET
/api/v1/openapi.json, and neither its JSON in chalicelib/ (what Lambda ships) nor its YAML
drifting from the code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from infra import openapi
from infra.__main__ import main, openapi_json

ROOT = Path(__file__).resolve().parents[2]
YAML_PATH = ROOT / "docs" / "openapi.yaml"
JSON_PATH = ROOT / "chalicelib" / "openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PUBLIC = {("GET", "/api/v1/openapi.json"), ("HEAD", "/api/v1/openapi.json")}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))
    return loaded


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def api_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route of the Chalice app that the contract covers (not the 405s
    each path answers to the methods it does not take: chalicelib/api/routing.py)."""
    from app import app
    from chalicelib.api import auth_tokens, v1_inbox, v1_openapi, v1_privacy, v1_rooms

    modules = (auth_tokens, v1_openapi, v1_rooms, v1_inbox, v1_privacy)
    refused = {r for m in modules for r in m.router.refused}
    return {
        (method, path)
        for path, entries in app.routes.items()
        if path == "/auth/token" or path == "/api/v1" or path.startswith("/api/v1/")
        for method in entries
        if (method, path) not in refused
    }


# --- the document --------------------------------------------------------------------------------


def test_the_spec_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in OpenAPIV31SpecValidator(spec).iter_errors()
    ]
    assert errors == []


def test_the_committed_json_is_the_yaml(spec: dict[str, Any]) -> None:
    committed = JSON_PATH.read_text(encoding="utf-8") if JSON_PATH.exists() else ""
    assert committed == openapi_json(), (
        "chalicelib/openapi.json (served at GET /api/v1/openapi.json) is not what the code "
        "declares: run `make openapi`"
    )
    assert json.loads(committed) == spec


def test_the_committed_yaml_is_the_code(spec: dict[str, Any]) -> None:
    assert YAML_PATH.read_text(encoding="utf-8") == openapi.as_yaml(spec), (
        "docs/openapi.yaml is not what the code declares: run `make openapi`"
    )


def test_the_openapi_command_prints_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert capsys.readouterr().out == openapi_json()


def test_every_object_schema_refuses_unknown_properties(spec: dict[str, Any]) -> None:
    """Request bodies (unknown fields are a 400) and responses (nothing undocumented leaks)."""
    open_objects: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(spec["components"]["schemas"], "#/components/schemas")
    for method, path, operation in operations(spec):
        walk(operation, f"{method} {path}")
    # The one open object: the OpenAPI document itself, described loosely.
    assert open_objects == [
        "GET /api/v1/openapi.json/responses/200/content/application/json/schema"
    ]


def test_operations_are_named_documented_and_secured(spec: dict[str, Any]) -> None:
    assert spec["security"] == [{"secretKey": []}]
    assert spec["components"]["securitySchemes"]["secretKey"] == {
        **spec["components"]["securitySchemes"]["secretKey"],
        "type": "http",
        "scheme": "bearer",
    }
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, op in operations(spec):
        assert op.get("summary") and op.get("tags"), (method, path)
        public = (method, path) in PUBLIC
        assert ("security" in op and op["security"] == []) == public, (method, path)
        codes = set(op["responses"])
        assert "500" in codes, (method, path)
        if not public:
            assert {"401", "503"} <= codes, (method, path)
        if "requestBody" in op:
            assert op["requestBody"]["required"] is True
            assert set(op["requestBody"]["content"]) == {"application/json"}
            assert {"400", "413", "415"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)


def test_every_example_matches_its_schema(spec: dict[str, Any]) -> None:
    registry: Registry[Any] = Registry().with_resource(
        "urn:pulse", DRAFT202012.create_resource(spec)
    )
    checked = 0

    def check(schema: dict[str, Any], example: Any, where: str) -> None:
        nonlocal checked
        validator = Draft202012Validator(
            _rebase(schema), registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        problems = [e.message for e in validator.iter_errors(example)]
        assert problems == [], where
        checked += 1

    for name, schema in spec["components"]["schemas"].items():
        for index, example in enumerate(schema.get("examples", [])):
            check(schema, example, f"schemas/{name}/examples/{index}")
    media_types: list[tuple[str, dict[str, Any]]] = []
    for method, path, op in operations(spec):
        if "requestBody" in op:
            media_types.append((f"{method} {path} body", op["requestBody"]["content"]))
        for code, response in op["responses"].items():
            if "content" in response:
                media_types.append((f"{method} {path} {code}", response["content"]))
    for name, response in spec["components"]["responses"].items():
        if "content" in response:
            media_types.append((f"responses/{name}", response["content"]))
    for where, content in media_types:
        media = content["application/json"]
        if "example" in media:
            check(media["schema"], media["example"], where)
        for key, named in media.get("examples", {}).items():
            check(media["schema"], named["value"], f"{where} {key}")
    assert checked >= 20


def _rebase(node: Any) -> Any:
    """`#/components/...` references, made absolute against the document's registry entry."""
    if isinstance(node, dict):
        return {
            k: ("urn:pulse" + v if k == "$ref" and v.startswith("#/") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


# --- the document and the app ------------------------------------------------------------------


def test_the_spec_and_the_app_have_the_same_routes(spec: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in operations(spec)}
    served = api_routes()
    missing_from_spec = sorted(served - documented)
    missing_from_app = sorted(documented - served)
    assert (missing_from_spec, missing_from_app) == ([], []), (
        f"routes the app serves but docs/openapi.yaml does not describe: {missing_from_spec}; "
        f"operations docs/openapi.yaml describes but the app does not serve: {missing_from_app}"
    )


def test_path_parameters_are_named_as_in_the_app(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        declared = {
            p["name"]
            for p in [*item.get("parameters", [])]
            for p in [_resolve(spec, p)]
            if p["in"] == "path"
        }
        in_template = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        assert declared == in_template, path


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_spec_is_served_publicly_as_json(client: Any, spec: dict[str, Any]) -> None:
    response = client.http.get("/api/v1/openapi.json")  # no key

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Request-Id"]
    assert json.loads(response.body) == spec
    again = client.http.get("/api/v1/openapi.json", headers={"Authorization": "Bearer nonsense"})
    assert (again.status_code, again.body) == (200, response.body)
