"""Response shapes: how an entity, a page of them or a few together become the JSON an adapter
sends, declared once. `dump` makes the JSON; `schema` describes it for the contract and is
derived from the same declaration (and from the entity's type annotations), so the document
cannot promise one thing while the code sends another.

A `Record` sends every field of its entity dataclass under its camelCase name: a field added
to an entity appears in the answers that show it, and in their schema, with no line here.
What must not appear is declared (`exclude`, `only`), as are renames and fields made of
several (`extra`)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from ..entities import Metadata, Page
from . import sizing
from .fields import camel
from .schemas import CURSOR, METADATA, TIMESTAMP, Named, Schema

OMIT: Any = object()  # what an `extra` returns to leave its key out of the answer


class Shape:
    """What an answer looks like. A shape with a `name` is one component of the contract."""

    name: str | None = None
    description: str | None = None
    examples: Sequence[Any] = ()
    headers: Mapping[str, str] = {}  # response headers it comes with: name -> what they say

    def dump(self, value: Any) -> Any:
        raise NotImplementedError

    def schema(self) -> Schema:
        """Its JSON Schema; may hold Named schemas and other shapes (the generator refers to
        named ones by `$ref`)."""
        raise NotImplementedError

    def _documented(self, schema: Schema) -> Schema:
        if self.description:
            schema = {"description": self.description, **schema}
        if self.examples:
            schema["examples"] = list(self.examples)
        return schema


class Extra:
    """A key of a Record's answer that is not one field of the entity (`dump(entity)`; OMIT
    leaves it out)."""

    __slots__ = ("dump", "required", "schema")

    def __init__(self, dump: Callable[[Any], Any], schema: Any, *, required: bool = True) -> None:
        self.dump, self.schema, self.required = dump, schema, required


class Record(Shape):
    def __init__(
        self,
        entity: type,
        name: str,
        *,
        exclude: Iterable[str] = (),
        only: Iterable[str] | None = None,
        rename: Mapping[str, str] | None = None,
        omit_none: Iterable[str] = (),
        nested: Mapping[str, Shape] | None = None,
        extra: Mapping[str, Extra] | None = None,
        schemas: Mapping[str, Any] | None = None,
        describe: Mapping[str, str] | None = None,
        description: str | None = None,
        examples: Sequence[Any] = (),
    ) -> None:
        self.entity, self.name = entity, name
        self.description, self.examples = description, examples
        self.exclude, self.only = tuple(exclude), only if only is None else tuple(only)
        self.rename, self.nested, self.omit_none = rename or {}, nested or {}, tuple(omit_none)
        self.extra = tuple((extra or {}).items())
        self.schemas, self.describe = schemas or {}, describe or {}
        # Worked out on first use: a cold start pays only for the shapes its request sends.
        self._plan: tuple[tuple[str, str, Shape | None, bool], ...] | None = None

    @property
    def plan(self) -> tuple[tuple[str, str, Shape | None, bool], ...]:
        """(JSON key, attribute, nested shape, left out when None) of each field sent."""
        if self._plan is None:
            self._plan = tuple(
                (
                    self.rename.get(f.name, camel(f.name)),
                    f.name,
                    self.nested.get(f.name),
                    f.name in self.omit_none,
                )
                for f in dataclasses.fields(self.entity)
                if f.name not in self.exclude and (self.only is None or f.name in self.only)
            )
        return self._plan

    def dump(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, attr, shape, omit_none in self._plan or self.plan:
            item = getattr(value, attr)
            if item is None:
                if not omit_none:
                    out[key] = None
            else:
                out[key] = item if shape is None else shape.dump(item)
        for key, extra in self.extra:
            item = extra.dump(value)
            if item is not OMIT:
                out[key] = item
        return out

    def schema(self) -> Schema:
        hints = typing.get_type_hints(self.entity)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for key, attr, shape, omit_none in self.plan:
            if attr in self.schemas:
                prop = self.schemas[attr]
            elif shape is not None:
                prop = shape
            else:
                prop = schema_of(hints[attr], attr)
            properties[key] = described(prop, self.describe.get(attr))
            if not omit_none:
                required.append(key)
        for key, extra in self.extra:
            properties[key] = extra.schema
            if extra.required:
                required.append(key)
        return self._documented(
            {
                "type": "object",
                "additionalProperties": False,
                "required": required,
                "properties": properties,
            }
        )


class Many(Shape):
    """A JSON array of `item`."""

    def __init__(self, item: Shape) -> None:
        self.item = item

    def dump(self, value: Iterable[Any]) -> list[Any]:
        return [self.item.dump(x) for x in value]

    def schema(self) -> Schema:
        return {"type": "array", "items": self.item}


class Value(Shape):
    """Sent as it is (a string, a list of ids), with the schema it has."""

    def __init__(self, schema: Schema) -> None:
        self._schema = schema

    def dump(self, value: Any) -> Any:
        return value

    def schema(self) -> Schema:
        return self._schema


class Const(Shape):
    """Always the same answer, whatever the view returns."""

    def __init__(
        self, name: str, value: dict[str, str | bool], *, description: str | None = None
    ) -> None:
        self.name, self.value, self.description = name, value, description

    def dump(self, value: Any) -> dict[str, str | bool]:
        return dict(self.value)

    def schema(self) -> Schema:
        return self._documented(
            {
                "type": "object",
                "additionalProperties": False,
                "required": list(self.value),
                "properties": {
                    k: {"type": "boolean" if isinstance(v, bool) else "string", "const": v}
                    for k, v in self.value.items()
                },
            }
        )


class Obj(Shape):
    """A few values under fixed keys (`{"environment": ..., "keys": [...]}`): the view returns a
    mapping with those keys, each sent through its shape."""

    def __init__(
        self, name: str, fields: Mapping[str, Shape], *, description: str | None = None
    ) -> None:
        self.name, self.fields, self.description = name, dict(fields), description

    def dump(self, value: Mapping[str, Any]) -> dict[str, Any]:
        return {key: shape.dump(value[key]) for key, shape in self.fields.items()}

    def schema(self) -> Schema:
        return self._documented(
            {
                "type": "object",
                "additionalProperties": False,
                "required": list(self.fields),
                "properties": dict(self.fields),
            }
        )


class PageOf(Shape):
    """A list answer: `{"data": [...], "nextCursor"}` with the page's items that fit the REST
    budget (sizing.PAGE_BUDGET_BYTES; the first always goes), and the cursor that continues
    after the last of them. `shrink(item, budget)` may cut an item too large alone."""

    def __init__(
        self,
        item: Shape,
        *,
        name: str | None = None,
        shrink: Callable[[Any, int], dict[str, Any] | None] | None = None,
    ) -> None:
        self.item, self.shrink = item, shrink
        self.name = name or f"{item.name}Page"

    def dump(self, value: Page[Any]) -> dict[str, Any]:
        budget = sizing.PAGE_BUDGET_BYTES  # read at each call: tests lower it
        data, next_cursor = sizing.fit(
            value, self.item.dump, budget, strict=False, shrink=self.shrink
        )
        return {"data": data, "nextCursor": next_cursor}

    def schema(self) -> Schema:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["data", "nextCursor"],
            "properties": {"data": {"type": "array", "items": self.item}, "nextCursor": CURSOR},
        }


# --- schemas from type annotations (contract generation only) ----------------------------------

_SCALARS: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
# Aliases that are one named schema wherever an entity uses them.
_ALIASES: list[tuple[Any, Named]] = [(Metadata, METADATA)]


def schema_of(hint: Any, attr: str) -> Any:
    """The JSON Schema of a field of this type: `*_at` strings are timestamps, `X | None`
    allows null, Literal is an enum."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        base = schema_of(inner, attr)
        if isinstance(base, dict) and isinstance(base.get("type"), str) and len(base) == 1:
            return {"type": [base["type"], "null"]}
        return {"oneOf": [base, {"type": "null"}]}
    for alias, named in _ALIASES:
        if hint == alias:  # equal, not identical: get_type_hints rebuilds generic aliases
            return named
    if hint is str and attr.endswith("_at"):
        return TIMESTAMP
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if typing.get_origin(hint) is Literal:
        return {"type": "string", "enum": list(args)}
    if typing.get_origin(hint) is dict:
        return {"type": "object"}
    raise TypeError(f"no JSON Schema for {attr}: {hint!r}; declare it in the shape's schemas")


def described(schema: Any, description: str | None) -> Any:
    """`schema` with a description of its own (a reference keeps its target's)."""
    if not description:
        return schema
    if isinstance(schema, Shape) and not schema.name:
        return {"description": description, **schema.schema()}
    if isinstance(schema, (Named, Shape)):
        return {"description": description, "$ref": schema}
    return {"description": description, **schema}
