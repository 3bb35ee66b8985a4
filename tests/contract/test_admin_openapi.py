"""The Admin API's contract (docs/admin-openapi.yaml, generated from the code like the customer
API's): a valid OpenAPI 3.1 document, the same routes as the app (both ways), each operation
stating its least role, served to operators at GET /admin/api/openapi.json; and every route of
the app in one of the two documents, or a static file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api.helpers import Login, call
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib.entities import ROLES
from infra import openapi
from infra.__main__ import main, openapi_json

from .test_openapi import HTTP_METHODS, _rebase, _resolve

ROOT = Path(__file__).resolve().parents[2]
YAML_PATH = ROOT / "docs" / "admin-openapi.yaml"
JSON_PATH = ROOT / "chalicelib" / "admin-openapi.json"
PUBLIC = {("POST", "/admin/api/login")}
DOCUMENT = "/admin/api/openapi.json"
# Served by the app, in no document: the Admin Panel and the browser SDK's files are files, not API.
STATIC = {
    ("GET", "/admin"),
    ("HEAD", "/admin"),
    ("GET", "/admin/assets/{name}"),
    ("HEAD", "/admin/assets/{name}"),
    *{
        (method, f"/sdk/{name}")
        for name in (
            "pulse.js",
            "pulse-client.js",
            "pulse-client.d.ts",
            "pulse-react.js",
            "pulse-react.d.ts",
        )
        for method in ("GET", "HEAD")
    },
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))
    return loaded


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def app_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route the app serves (not the 405s of routing.py's sealed())."""
    from app import app
    from chalicelib.api.routing import ROUTERS

    refused = {r for router in ROUTERS for r in router.refused}
    return {
        (method, path)
        for path, entries in app.routes.items()
        for method in entries
        if (method, path) not in refused
    }


def documented(contract: str) -> set[tuple[str, str]]:
    path = JSON_PATH if contract == "admin" else ROOT / "chalicelib" / "openapi.json"
    return {(m, p) for m, p, _ in operations(json.loads(path.read_text(encoding="utf-8")))}


# --- the document --------------------------------------------------------------------------------


def test_the_spec_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in OpenAPIV31SpecValidator(spec).iter_errors()
    ]
    assert errors == []


def test_the_committed_json_and_yaml_are_the_code(spec: dict[str, Any]) -> None:
    committed = JSON_PATH.read_text(encoding="utf-8") if JSON_PATH.exists() else ""
    assert committed == openapi_json("admin"), (
        "chalicelib/admin-openapi.json (served at GET /admin/api/openapi.json) is not what the "
        "code declares: run `make openapi`"
    )
    assert YAML_PATH.read_text(encoding="utf-8") == openapi.as_yaml(json.loads(committed)), (
        "docs/admin-openapi.yaml is not what the code declares: run `make openapi`"
    )
    assert json.loads(committed) == spec


def test_the_openapi_command_prints_either_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi", "--admin"]) == 0
    assert capsys.readouterr().out == openapi_json("admin")
    assert main(["openapi", "--admin", "--yaml"]) == 0
    assert capsys.readouterr().out == YAML_PATH.read_text(encoding="utf-8")


def test_every_object_schema_refuses_unknown_properties(spec: dict[str, Any]) -> None:
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
    assert open_objects == [f"GET {DOCUMENT}/responses/200/content/application/json/schema"]


def test_operations_are_named_documented_secured_and_state_their_role(
    spec: dict[str, Any],
) -> None:
    assert spec["security"] == [{"operatorSession": []}]
    assert spec["components"]["securitySchemes"]["operatorSession"] == {
        **spec["components"]["securitySchemes"]["operatorSession"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pso_...",
    }
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, op in operations(spec):
        assert op.get("summary") and op.get("tags"), (method, path)
        public = (method, path) in PUBLIC
        assert ("security" in op and op["security"] == []) == public, (method, path)
        codes = set(op["responses"])
        assert "500" in codes, (method, path)
        if public:
            assert "x-minimum-role" not in op
            continue
        role = op["x-minimum-role"]
        assert role in ROLES, (method, path)
        assert {"401", "503"} <= codes, (method, path)
        assert ("403" in codes) == (role != "viewer"), (method, path)
        if "requestBody" in op:
            assert set(op["requestBody"]["content"]) == {"application/json"}
            assert {"400", "413", "415"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)


def test_every_operation_states_the_role_its_route_requires(spec: dict[str, Any]) -> None:
    from chalicelib.api.routing import ROUTERS

    declared = {
        (s.method, s.path): s.role for r in ROUTERS if r.contract == "admin" for s in r.specs
    }
    for method, path, op in operations(spec):
        assert op.get("x-minimum-role") == declared[(method, path)], (method, path)


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
        assert [e.message for e in validator.iter_errors(example)] == [], where
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


# --- the document and the app ------------------------------------------------------------------


def test_the_spec_and_the_app_have_the_same_admin_routes(spec: dict[str, Any]) -> None:
    served = {(m, p) for m, p in app_routes() if p.startswith("/admin/api")}
    listed = {(m, p) for m, p, _ in operations(spec)}
    assert (sorted(served - listed), sorted(listed - served)) == ([], [])


def test_every_route_is_in_one_document_or_a_static_file() -> None:
    customer, admin = documented("customer"), documented("admin")

    assert customer & admin == set()
    assert app_routes() == customer | admin | STATIC


def test_path_parameters_are_named_as_in_the_app(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        declared = {
            p["name"]
            for p in [*item.get("parameters", [])]
            for p in [_resolve(spec, p)]
            if p["in"] == "path"
        }
        assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path


def test_the_spec_is_served_to_any_operator_and_no_one_else(
    client: Any, viewer: Login, spec: dict[str, Any]
) -> None:
    response = call(client, "GET", DOCUMENT, token=viewer.token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert json.loads(response.body) == spec
    for token in (None, "pso_nonsense"):
        refused = call(client, "GET", DOCUMENT, token=token)
        assert refused.status_code == 401
        assert refused.json_body["error"]["code"] == "INVALID_SESSION"


# --- the answers ---------------------------------------------------------------------------------


def test_every_admin_answer_has_the_shape_its_schema_says(
    client: Any, owner: Login, spec: dict[str, Any]
) -> None:
    """The schemas are derived from the entities: each answer, as sent, must match its own."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:pulse", DRAFT202012.create_resource(spec)
    )
    checked: list[str] = []

    def answer(method: str, template: str, values: dict[str, str], body: Any = None) -> Any:
        path = template.format(**values)
        resp = call(client, method, path, token=owner.token, body=body)
        assert resp.status_code < 300, (method, path, resp.body)
        response = _resolve(
            spec, spec["paths"][template][method.lower()]["responses"][str(resp.status_code)]
        )
        if "content" in response:
            schema = _rebase(response["content"]["application/json"]["schema"])
            validator = Draft202012Validator(
                schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            assert [e.message for e in validator.iter_errors(resp.json_body)] == [], (method, path)
        checked.append(f"{method} {template}")
        return resp.json_body if resp.body else None

    api = "/admin/api"
    env = f"{api}/environments/{{envId}}"
    created = answer("POST", f"{api}/environments", {}, {"name": "Answers"})
    ids = {"envId": created["environment"]["id"], "roomId": "doc%3A1", "userId": "user-1"}
    (sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    v1 = {"Authorization": f"Bearer {sk}", "Content-Type": "application/json"}
    minted = client.http.post(
        "/auth/token", headers=v1, body=json.dumps({"userId": "user-1", "name": "Ada"})
    )
    assert minted.status_code == 200
    client.http.post("/api/v1/rooms", headers=v1, body=json.dumps({"id": "doc:1"}))
    first = {"comment": {"userId": "user-1", "body": "First"}}
    thread = client.http.post("/api/v1/rooms/doc%3A1/threads", headers=v1, body=json.dumps(first))
    ids["threadId"] = thread.json_body["id"]
    ids["commentId"] = thread.json_body["comments"][0]["id"]
    hook = answer("POST", f"{env}/webhooks", ids, {"url": "https://hooks.example.com/in"})
    ids["webhookId"] = hook["id"]
    ids["deliveryId"] = answer("POST", f"{env}/webhooks/{{webhookId}}/test", ids)["id"]

    for method, template, _ in operations(spec):
        if method == "GET":
            answer(method, template, ids)
    key = answer("POST", f"{env}/keys", ids, {"kind": "publishable", "name": "CI"})
    answer("POST", f"{env}/keys/{{keyId}}/revoke", {**ids, "keyId": key["id"]})
    answer("POST", f"{env}/keys/rotate", ids)
    answer("PATCH", env, ids, {"name": "Answers 2"})
    answer("POST", f"{env}/suspend", ids)
    answer("POST", f"{env}/resume", ids)
    answer("PATCH", f"{env}/webhooks/{{webhookId}}", ids, {"events": ["room.deleted"]})
    answer("POST", f"{env}/webhooks/{{webhookId}}/rotate-secret", ids)
    answer("POST", f"{env}/webhooks/{{webhookId}}/replay", ids, {"since": "2026-01-01T00:00:00Z"})
    made = answer(
        "POST",
        f"{api}/operators",
        {},
        {"email": "grace@example.com", "password": "a long passphrase", "role": "viewer"},
    )
    answer(
        "PATCH", f"{api}/operators/{{operatorId}}", {"operatorId": made["id"]}, {"role": "admin"}
    )
    answer(
        "POST", f"{api}/login", {}, {"email": "grace@example.com", "password": "a long passphrase"}
    )

    assert len(checked) >= 20
