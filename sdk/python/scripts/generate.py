"""Generates the SDK's derived modules: `types.py` from the OpenAPI contract, and the async
resources from the sync ones. `--check` fails (exit 1) when a committed file differs."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "src" / "pulse_sdk"
CONTRACT = HERE.parents[2] / "chalicelib" / "openapi.json"
TYPES = PACKAGE / "types.py"
SYNC = PACKAGE / "_resources.py"
ASYNC = PACKAGE / "_async_resources.py"

# Named string enums become aliases; every other string schema is `str`.
ALIASES = {"AccessLevel"}
# The inline response of getOpenApi gets a name.
INLINE_NAMES = {"getOpenApi": "OpenApiDocument"}


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return name, schemas[name]
    return None, schema


def _flatten(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """One object schema from an allOf of objects (ThreadWithComments = Thread + required)."""
    if "allOf" not in schema or not all(
        "$ref" in s or "required" in s or "properties" in s for s in schema["allOf"]
    ):
        return schema
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in schema["allOf"]:
        _, part = _resolve(part, schemas)
        part = _flatten(part, schemas)
        if part.get("type") not in (None, "object"):
            return schema
        properties.update(part.get("properties", {}))
        required += [r for r in part.get("required", []) if r not in required]
    return {"type": "object", "properties": properties, "required": required}


def is_object(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    return "properties" in _flatten(schema, schemas)


class Generator:
    def __init__(self, contract: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = contract["components"]["schemas"]
        self.contract = contract
        self.classes: dict[str, list[str]] = {}
        self.order: list[str] = []

    def annotation(self, schema: dict[str, Any], owner: str, prop: str) -> str:
        name, target = _resolve(schema, self.schemas)
        if name in ALIASES:
            return name
        if name and is_object(target, self.schemas):
            self.klass(name, target)
            return name
        target = _flatten(target, self.schemas)
        if "properties" in target:
            nested = owner + prop[:1].upper() + prop[1:]
            self.klass(nested, target)
            return nested
        for key in ("oneOf", "anyOf"):
            if key in target:
                parts = [self.annotation(s, owner, prop) for s in target[key]]
                return " | ".join(dict.fromkeys(p for p in parts if p != "None")) + (
                    " | None" if "None" in parts else ""
                )
        if "allOf" in target:
            return self.annotation(target["allOf"][0], owner, prop)
        kind = target.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        nullable = "null" in kinds
        kinds = [k for k in kinds if k != "null"]
        if nullable and not kinds:
            return "None"
        base = self._base(target, kinds[0] if kinds else None, owner, prop)
        return f"{base} | None" if nullable and base != "Any" else base

    def _base(self, schema: dict[str, Any], kind: str | None, owner: str, prop: str) -> str:
        if "const" in schema:
            return f"Literal[{json.dumps(schema['const'])}]"
        if "enum" in schema and kind == "string":
            values = ", ".join(json.dumps(v) for v in schema["enum"] if v is not None)
            return f"Literal[{values}]"
        if kind == "string":
            return "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "array":
            return f"list[{self.annotation(schema.get('items', {}), owner, prop)}]"
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"dict[str, {self.annotation(extra, owner, prop)}]"
            return "dict[str, Any]"
        if kind is None and not schema:
            return "Any"
        return "Any"

    def klass(self, name: str, schema: dict[str, Any]) -> None:
        if name in self.classes:
            return
        self.classes[name] = []  # placeholder: recursion and order
        schema = _flatten(schema, self.schemas)
        required = set(schema.get("required", []))
        fields = {p: self.annotation(s, name, p) for p, s in schema["properties"].items()}
        doc = f"The contract's `{name}`."
        lines: list[str] = []
        must = {p: a for p, a in fields.items() if p in required}
        may = {p: a for p, a in fields.items() if p not in required}
        if may and must:
            lines.append(f"class _{name}Required(TypedDict):")
            lines += [f"    {p}: {a}" for p, a in must.items()]
            lines += ["", ""]
            lines.append(f"class {name}(_{name}Required, total=False):")
        else:
            lines.append(f"class {name}(TypedDict{', total=False' if may else ''}):")
        lines.append(f'    """{doc.rstrip(".")}."""')
        lines.append("")
        lines += [f"    {p}: {a}" for p, a in (may if may and must else fields).items()]
        self.classes[name] = lines
        self.order.append(name)

    def render(self) -> str:
        for name, schema in self.schemas.items():
            if is_object(schema, self.schemas) and not name.endswith("Request"):
                self.klass(name, schema)
        for path_item in self.contract["paths"].values():
            for op in path_item.values():
                if not isinstance(op, dict):
                    continue
                inline = INLINE_NAMES.get(op.get("operationId", ""))
                for response in op.get("responses", {}).values():
                    content = response.get("content", {}).get("application/json", {})
                    if inline and "properties" in content.get("schema", {}):
                        self.klass(inline, content["schema"])
        access = ", ".join(json.dumps(v) for v in self.schemas["AccessLevel"]["enum"])
        out = [
            '"""The shapes the REST API v1 answers, generated from chalicelib/openapi.json by',
            'sdk/python/scripts/generate.py: do not edit (a test checks that it is fresh)."""',
            "",
            "from __future__ import annotations",
            "",
            "from typing import Any, Literal, TypedDict",
            "",
            f"AccessLevel = Literal[{access}]",
        ]
        for name in self.order:
            out += ["", ""] + self.classes[name]
        return "\n".join(out) + "\n"


# The async resources are the sync ones with these rewrites (the unasync idea of httpcore).
UNASYNC = [
    (r'^"""The resources of `Pulse`', '"""The resources of `AsyncPulse`'),
    (r"^(\s+)def (?!__init__)", r"\1async def "),
    (r"\bself\._client\.(request|upload)\(", r"await self._client.\1("),
    (r"\bself\.(list|create|_send_mint)\(", r"await self.\1("),
    (r"\bIterator\b", "AsyncIterator"),
    (r"\bSyncTransport\b", "AsyncTransport"),
    (r"^class _Resource:", "class _AsyncResource:"),
    (r"\(_Resource\):", "(_AsyncResource):"),
    (r"^class ([A-Z]\w*)", r"class Async\1"),
]
ASYNC_HEADER = "# Generated from _resources.py by sdk/python/scripts/generate.py: do not edit.\n"


def unasync(source: str) -> str:
    lines = []
    for line in source.splitlines():
        for pattern, replacement in UNASYNC:
            line = re.sub(pattern, replacement, line)
        lines.append(line)
    return ASYNC_HEADER + "\n".join(lines) + "\n"


def formatted(path: Path, source: str) -> str:
    """The house format (ruff, with the package's settings), so a fresh file is a stable file."""
    command = [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"]
    done = subprocess.run(command, input=source, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout


def outputs() -> dict[Path, str]:
    contract = json.loads(CONTRACT.read_text())
    fresh = {TYPES: Generator(contract).render(), ASYNC: unasync(SYNC.read_text())}
    return {path: formatted(path, text) for path, text in fresh.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
    for path in stale:
        print(f"stale: {path} (run python sdk/python/scripts/generate.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
