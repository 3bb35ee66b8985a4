"""Request bodies declared as typed models. Each field carries its rule (a validation.py
function: the one implementation of each check), its JSON Schema and its words for the
contract. `Model.parse(body)` is the validation: unknown fields first (the first in sorted
order), then each field in the order declared, so the first error is the one reported, with
validation.py's codes, messages and field names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Self

from .. import access, codes
from .. import validation as v
from ..errors import InvalidInput
from .schemas import (
    COMMENT_BODY,
    LEVEL,
    METADATA,
    NEW_ROOM_ID,
    NEW_USER_ID,
    NO_CONTROL_CHARS,
    Schema,
)

# (the body, the field's name as the client sent it: "comment.userId" in a nested object)
Reader = Callable[[Mapping[str, Any], str], Any]


class Spec:
    """One field of a body: how it is read (raising InvalidInput) and what the contract says."""

    __slots__ = ("attr", "codes", "description", "examples", "name", "read", "required", "schema")

    def __init__(
        self,
        read: Reader,
        schema: Schema | Any,
        *,
        required: bool,
        description: str | None = None,
        examples: Sequence[Any] = (),
        raises: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        self.read = read
        self.schema = schema
        self.required = required
        self.description = description
        self.examples = tuple(examples)
        self.codes = (codes.INVALID_INPUT, *((codes.MISSING_FIELD,) if required else ()), *raises)
        self.attr = ""  # set by the model that declares it
        self.name = name or ""


def camel(name: str) -> str:
    """`confirm_name` -> `confirmName`: the JSON name of an attribute."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Body:
    """A request body. Subclasses declare fields as class attributes built by the functions
    below (`id: str = room_id()`); `parse` returns an instance holding the values read. The
    class docstring describes the body in the contract, with its `example` or named `examples`."""

    fields: ClassVar[tuple[Spec, ...]] = ()
    # Fields of which at least one must be sent (else 400 NOTHING_TO_UPDATE), for updates.
    at_least_one: ClassVar[tuple[str, ...]] = ()
    # No body at all is the same as `{}` (else 400 MISSING_BODY).
    optional: ClassVar[bool] = False
    example: ClassVar[dict[str, Any] | None] = None
    examples: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {}  # name -> (summary, body)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = []
        for attr, value in vars(cls).items():
            if isinstance(value, Spec):
                value.attr, value.name = attr, value.name or camel(attr)
                declared.append(value)
        cls.fields = tuple(declared)

    @classmethod
    def names(cls) -> list[str]:
        return [spec.name for spec in cls.fields]

    @classmethod
    def codes(cls) -> list[str]:
        """Every code parsing the body can answer (for the contract), besides 413 and 415."""
        found = [codes.MALFORMED_JSON, codes.INVALID_INPUT, codes.UNKNOWN_FIELD, codes.TOO_DEEP]
        if not cls.optional:
            found.append(codes.MISSING_BODY)
        if cls.at_least_one:
            found.append(codes.NOTHING_TO_UPDATE)
        found += [code for spec in cls.fields for code in spec.codes]
        return list(dict.fromkeys(found))

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Self:
        v.only_fields(body, cls.names())
        return cls.read(body, "")

    @classmethod
    def read(cls, body: Mapping[str, Any], prefix: str) -> Self:
        """The fields, read in declared order; `prefix` names a nested object's fields."""
        values = {spec.attr: spec.read(body, prefix + spec.name) for spec in cls.fields}
        if cls.at_least_one and all(values[attr] is None for attr in cls.at_least_one):
            wanted = " and/or ".join(camel(attr) for attr in cls.at_least_one)
            raise InvalidInput("body", f"send {wanted}", code=codes.NOTHING_TO_UPDATE)
        parsed = cls.__new__(cls)
        parsed.__dict__.update(values)
        return parsed


# --- fields: each a validation.py rule and its schema ------------------------------------------
# They return Any so that a declaration reads as the type it yields: `name: str = text(...)`.


def text(
    *,
    max_len: int,
    required: bool = True,
    strip: bool = False,
    description: str | None = None,
    examples: Sequence[Any] = (),
    schema: Any = None,
) -> Any:
    """Text without control characters; `strip`: surrounding whitespace is removed first (so
    it may hold some, and its length is counted without it)."""

    def read(body: Mapping[str, Any], name: str) -> str | None:
        return v.text(body, name, max_len=max_len, required=required, strip=strip)

    if schema is None:
        # An optional text field takes `null` as absent (validation.text).
        kind: Any = "string" if required else ["string", "null"]
        schema = {"type": kind, "minLength": 1, "maxLength": max_len}
        if not strip:
            schema["pattern"] = NO_CONTROL_CHARS
    return Spec(read, schema, required=required, description=description, examples=examples)


def reaction_emoji() -> Any:
    """One emoji (validation.one_emoji)."""

    def read(body: Mapping[str, Any], name: str) -> str:
        if name not in body:
            raise InvalidInput(name, "is required", code=codes.MISSING_FIELD)
        return v.one_emoji(body[name], name)

    schema = {"type": "string", "minLength": 1, "maxLength": v.EMOJI_MAX_CHARS}
    words = "One emoji (a single emoji grapheme: 👍, 👍🏽, 👨‍👩‍👧 and 🇫🇷 are each one)."
    return Spec(read, schema, required=True, description=words, examples=["👍"])


def secret_text(*, max_len: int, raises: Sequence[str] = (), description: str | None = None) -> Any:
    """A required string, as `text`, never echoed in an example (a password)."""

    def read(body: Mapping[str, Any], name: str) -> str:
        return v.required_text(body, name, max_len=max_len)

    schema: Schema = {"type": "string", "minLength": 1, "maxLength": max_len, "format": "password"}
    return Spec(read, schema, required=True, description=description, raises=raises)


def choice(options: Sequence[str], *, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> str:
        return v.choice(body, name, tuple(options))

    return Spec(
        read, {"type": "string", "enum": list(options)}, required=True, description=description
    )


def boolean(*, description: str | None = None) -> Any:
    """Optional `true`/`false`."""

    def read(body: Mapping[str, Any], name: str) -> bool | None:
        return v.boolean(body, name)

    return Spec(read, {"type": "boolean"}, required=False, description=description)


def room_id(*, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> str:
        return v.room_id(body.get(name), name)

    return Spec(read, NEW_ROOM_ID, required=True, description=description)


def user_id(*, max_len: int, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> str:
        return v.user_id(body, name, max_len=max_len)

    return Spec(read, NEW_USER_ID, required=True, description=description)


def metadata(*, required: bool = False, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        return v.metadata(body, name, required=required)

    return Spec(read, METADATA, required=required, description=description)


def comment_body(*, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> str:
        return v.comment_body(body, name)

    return Spec(read, COMMENT_BODY, required=True, description=description)


def http_url(
    *, max_len: int = 2048, description: str | None = None, examples: Sequence[Any] = ()
) -> Any:
    """An optional http(s) URL; `null` is the same as absent."""

    def read(body: Mapping[str, Any], name: str) -> str | None:
        return v.http_url(body, name, max_len=max_len)

    schema: Schema = {
        "type": ["string", "null"],
        "maxLength": max_len,
        # http(s)://, a host, then anything but spaces and control characters.
        "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?# \\u0000-\\u001F\\u007F-\\u009F]+"
        "([/?#][^ \\u0000-\\u001F\\u007F-\\u009F]*)?$",
    }
    return Spec(read, schema, required=False, description=description, examples=examples)


def email(*, operator: bool = False, description: str | None = None) -> Any:
    """An email address, lower-cased; `operator`: one to be set as an operator's (ASCII)."""

    def read(body: Mapping[str, Any], name: str) -> str:
        return v.operator_email(body, name) if operator else v.email(body, name)

    schema: Schema = {"type": "string", "format": "email", "minLength": 3, "maxLength": 254}
    raises = (codes.EMAIL_NOT_ASCII,) if operator else ()
    return Spec(read, schema, required=True, description=description, raises=raises)


def any_json(*, description: str | None = None) -> Any:
    """Any JSON value, required (relayed as is)."""

    def read(body: Mapping[str, Any], name: str) -> Any:
        return v.any_value(body, name)

    return Spec(read, {}, required=True, description=description)


def nested(model: type[Body], *, description: str | None = None) -> Any:
    """A required object of `model`'s fields; its errors name `field.name`."""

    def read(body: Mapping[str, Any], name: str) -> Body:
        return model.read(v.nested(body, name, model.names()), name + ".")

    raises = tuple(c for spec in model.fields for c in spec.codes)
    return Spec(read, model, required=True, description=description, raises=raises)


def if_sent(spec: Any) -> Any:
    """`spec`, read only when the field is in the body (None when absent): an update's field
    that is required to have a value when sent (`null` included)."""
    assert isinstance(spec, Spec)
    inner = spec.read

    def read(body: Mapping[str, Any], name: str) -> Any:
        return inner(body, name) if name in body else None

    spec.read, spec.required = read, False
    spec.codes = tuple(c for c in spec.codes if c != codes.MISSING_FIELD)
    return spec


class NoBody(Body):
    """Nothing, `{}`, or no body at all."""

    optional = True


# --- room access ----------------------------------------------------------------------------------


# The optional access fields below take `null` as absent, as optional text does.


def level(*, description: str | None = None) -> Any:
    """An optional access level (chalicelib/access.py)."""

    def read(body: Mapping[str, Any], name: str) -> Any:
        return v.level(body, name)

    schema: Schema = {"type": ["string", "null"], "enum": [*access.LEVELS, None]}
    return Spec(read, schema, required=False, description=description)


def group_ids(*, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> Any:
        return v.group_ids(body, name)

    schema: Schema = {
        "type": ["array", "null"],
        "maxItems": v.GROUP_IDS_MAX,
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": v.GROUP_ID_MAX,
            "pattern": NO_CONTROL_CHARS,
        },
    }
    return Spec(read, schema, required=False, description=description, examples=[["acme"]])


def permissions(*, description: str | None = None) -> Any:
    def read(body: Mapping[str, Any], name: str) -> Any:
        return v.permissions(body, name)

    schema: Schema = {
        "type": ["object", "null"],
        "maxProperties": v.PERMISSIONS_MAX,
        "propertyNames": {
            "minLength": 1,
            "maxLength": v.ROOM_ID_MAX,
            "pattern": "^([A-Za-z0-9_.:-]+\\*?|\\*)$",
        },
        "additionalProperties": LEVEL,
    }
    return Spec(
        read,
        schema,
        required=False,
        description=description,
        examples=[{"acme:*": "read", "acme:doc-1": "write"}],
    )


def access_map(*, removals: bool, description: str | None = None) -> Any:
    """Id -> level; in an update (`removals`) `null` removes the entry."""

    def read(body: Mapping[str, Any], name: str) -> Any:
        return v.access_map(body, name, removals=removals)

    value: Any = {"oneOf": [LEVEL, {"type": "null"}]} if removals else LEVEL
    schema: Schema = {
        "type": ["object", "null"],
        "maxProperties": v.ACCESS_ENTRIES_MAX,
        "propertyNames": {
            "minLength": 1,
            "maxLength": v.ACCESS_KEY_MAX,
            "pattern": NO_CONTROL_CHARS,
        },
        "additionalProperties": value,
    }
    return Spec(read, schema, required=False, description=description)
