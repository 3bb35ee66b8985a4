"""The Python SDK against the REST contract (chalicelib/openapi.json): every operation has a method
in `pulse_sdk.operations.OPERATIONS`, on both clients; every path, query, header and body
parameter is an argument of it; every response's fields are the fields of its typed result."""

from __future__ import annotations

import copy
import inspect
import json
import re
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, is_typeddict

import pulse_sdk
import pytest
from pulse_sdk import types as sdk_types
from pulse_sdk.operations import OPERATIONS, PAGINATED

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = json.loads((ROOT / "chalicelib" / "openapi.json").read_text())
# HEAD operations (headOpenApi) are the GET's headers without its body: the SDK answers them with
# the GET (openapi.get()), so they are not asked of it.
METHODS = ("get", "put", "post", "patch", "delete")
CLIENTS = {
    "sync": pulse_sdk.Pulse("sk_contract", base_url="http://127.0.0.1:9"),
    "async": pulse_sdk.AsyncPulse("sk_contract", base_url="http://127.0.0.1:9"),
}


def snake(name: str) -> str:
    name = name.replace("-", "_")
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def resolve(node: dict[str, Any], contract: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = contract["components"][section][name]
    return node


def operations(contract: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[Any]]]:
    found = {}
    for path_item in contract["paths"].values():
        shared = path_item.get("parameters", [])
        for method in METHODS:
            if method in path_item:
                op = path_item[method]
                found[op["operationId"]] = (op, shared + op.get("parameters", []))
    return found


def flat_object(schema: dict[str, Any], contract: dict[str, Any]) -> dict[str, Any]:
    """Properties and required of an object schema, through refs, allOf and a nullable oneOf
    (`oneOf: [object, null]`: the object's)."""
    schema = resolve(schema, contract)
    objects = [s for s in schema.get("oneOf", []) if s.get("type") != "null"]
    if len(objects) == 1:
        return flat_object(objects[0], contract)
    properties: dict[str, Any] = dict(schema.get("properties", {}))
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        sub = flat_object(part, contract)
        properties.update(sub["properties"])
        required |= sub["required"]
    return {"properties": properties, "required": required}


def expected_arguments(op: dict[str, Any], params: list[Any], contract: dict[str, Any]) -> set[str]:
    names = {resolve(p, contract)["name"] for p in params}
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "schema" in body:
        for name, prop in flat_object(body["schema"], contract)["properties"].items():
            nested = flat_object(prop, contract)
            # An object of named fields (createThread's `comment`) is spread into arguments;
            # an open map (metadata, usersAccess) is one argument.
            names |= set(nested["properties"]) if nested["properties"] else {name}
    return names


def response_schema(op: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    (status,) = [s for s in op["responses"] if s.startswith("2")]
    content = op["responses"][status].get("content", {}).get("application/json")
    return status, (content or {}).get("schema")


def problems(contract: dict[str, Any]) -> list[str]:
    """Everything of the contract the SDK lacks (empty: it covers the contract)."""
    found: list[str] = []
    ops = operations(contract)
    for missing in sorted(set(ops) - set(OPERATIONS)):
        found.append(f"{missing}: no SDK method in OPERATIONS")
    for extra in sorted(set(OPERATIONS) - set(ops)):
        found.append(f"{extra}: in OPERATIONS but not in the contract")
    for op_id, (op, params) in sorted(ops.items()):
        if op_id not in OPERATIONS:
            continue
        entry = OPERATIONS[op_id]
        renames = dict(entry.renames)
        for kind, client in CLIENTS.items():
            method = getattr(getattr(client, entry.resource, None), entry.method, None)
            if method is None:
                found.append(f"{op_id}: {kind} client has no {entry.resource}.{entry.method}")
                continue
            if kind == "async" and not inspect.iscoroutinefunction(method):
                found.append(f"{op_id}: async {entry.resource}.{entry.method} is not awaitable")
            arguments = set(inspect.signature(method).parameters)
            for name in sorted(expected_arguments(op, params, contract)):
                if renames.get(name, snake(name)) not in arguments:
                    found.append(f"{op_id}: {kind} {entry.method}() lacks {name!r}")
            returned = typing.get_type_hints(method).get("return")
            status, schema = response_schema(op)
            if schema is None:
                if returned is not type(None):
                    found.append(f"{op_id}: answers {status} without a body: returns None")
                continue
            if not is_typeddict(returned):
                found.append(f"{op_id}: {kind} returns {returned}, not a typed result")
                continue
            found += fields_problems(op_id, returned, schema, contract)
        if op_id in PAGINATED:
            for kind, client in CLIENTS.items():
                resource = getattr(client, entry.resource)
                walker = getattr(resource, "list_all", None)
                if walker is None:
                    found.append(f"{op_id}: {kind} {entry.resource} has no list_all")
                    continue
                listed = set(inspect.signature(getattr(resource, entry.method)).parameters)
                walked = set(inspect.signature(walker).parameters)
                if listed - {"cursor"} != walked:
                    found.append(f"{op_id}: list_all takes {walked}, list {listed}")
    return found


def fields_problems(
    where: str, returned: Any, schema: dict[str, Any], contract: dict[str, Any]
) -> list[str]:
    """The typed result's keys against the schema's properties (and required), recursively."""
    found = []
    shape = flat_object(schema, contract)
    hints = typing.get_type_hints(returned)
    for name in sorted(set(shape["properties"]) - set(hints)):
        found.append(f"{where}: {returned.__name__} lacks the field {name!r}")
    for name in sorted(set(hints) - set(shape["properties"])):
        found.append(f"{where}: {returned.__name__} has {name!r}, which the contract has not")
    if set(returned.__required_keys__) != shape["required"] & set(hints):
        found.append(f"{where}: {returned.__name__}'s required keys differ from the contract's")
    for name, prop in shape["properties"].items():
        hint = hints.get(name)
        parts = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        for part in parts:
            if is_typeddict(part):
                found += fields_problems(f"{where}.{name}", part, prop, contract)
            elif typing.get_origin(part) is list and is_typeddict(typing.get_args(part)[0]):
                items = resolve(prop, contract)["items"]
                found += fields_problems(
                    f"{where}.{name}[]", typing.get_args(part)[0], items, contract
                )
    return found


def test_every_operation_parameter_and_response_field_is_in_the_sdk() -> None:
    assert problems(CONTRACT) == []
    assert len(operations(CONTRACT)) == len(OPERATIONS) == 35


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("operation", "listWidgets: no SDK method in OPERATIONS"),
        ("query", "listRooms: sync list() lacks 'sort'"),
        ("body", "createComment: async create() lacks 'mood'"),
        ("nested body", "createThread: sync create() lacks 'pinned'"),
        ("response", "getRoom: Room lacks the field 'archivedAt'"),
        ("nested response", "createThread.comments[]: Comment lacks the field 'pinnedAt'"),
    ],
)
def test_a_contract_the_sdk_lags_behind_is_reported(change: str, expected: str) -> None:
    """The check can fail: each kind of addition to the contract is named."""
    contract = copy.deepcopy(CONTRACT)
    schemas = contract["components"]["schemas"]
    if change == "operation":
        contract["paths"]["/api/v1/widgets"] = {
            "get": {"operationId": "listWidgets", "responses": {"200": {"description": "x"}}}
        }
    elif change == "query":
        contract["paths"]["/api/v1/rooms"]["get"]["parameters"].append(
            {"name": "sort", "in": "query", "schema": {"type": "string"}}
        )
    elif change == "body":
        schemas["CreateCommentRequest"]["properties"]["mood"] = {"type": "string"}
    elif change == "nested body":
        schemas["CreateCommentRequest"]["properties"]["pinned"] = {"type": "boolean"}
    elif change == "response":
        schemas["Room"]["properties"]["archivedAt"] = {"type": "string"}
    else:
        schemas["Comment"]["properties"]["pinnedAt"] = {"type": "string"}
    assert expected in problems(contract)


def test_the_generated_modules_are_fresh() -> None:
    """types.py is the contract's shapes and _async_resources.py the sync resources' twin:
    regenerating them changes nothing (`python sdk/python/scripts/generate.py`)."""
    script = ROOT / "sdk" / "python" / "scripts" / "generate.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_every_typed_result_matches_its_schema() -> None:
    schemas = CONTRACT["components"]["schemas"]
    checked = 0
    for name, value in vars(sdk_types).items():
        if is_typeddict(value) and name in schemas:
            assert fields_problems(name, value, schemas[name], CONTRACT) == []
            checked += 1
    assert checked >= 25
