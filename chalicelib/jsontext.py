"""JSON text in and out, for REST and the socket alike: the one parser (it refuses the numbers JSON
cannot carry, naming where they are) and the one encoder (it never writes anything but JSON)."""

from __future__ import annotations

import decimal
import json
import math
import sys
from typing import Any

from .errors import InvalidInput, MalformedJson, PulseError

# Python refuses to parse integers longer than this (int_max_str_digits, a DoS guard).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class _Refused:
    """Stands, in a parsed document, where a number was that JSON cannot carry."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class BadNumber(InvalidInput):
    """A number that is not JSON: NaN, Infinity, a literal that overflows to infinity (1e999),
    or an integer too long to parse. `document` is the rest of the parse, with such numbers as
    None, so that an adapter can still read what it needs to answer (a frame's requestId)."""

    def __init__(self, field: str, message: str, document: Any) -> None:
        super().__init__(field, message)
        self.document = document


def loads(text: str, *, whole: str = "body", malformed: str = "The text is not valid JSON.") -> Any:
    """Parse JSON text. Raises MalformedJson(`malformed`) or BadNumber, an INVALID_INPUT naming
    the field (`metadata.x`, `event.items[2]`; `whole` for the document itself, or its array)."""
    refused: list[_Refused] = []

    def constant(name: str) -> Any:  # NaN, Infinity, -Infinity: JavaScript, not JSON
        refused.append(_Refused(f"{name} is not a JSON number; send a finite number"))
        return refused[-1]

    def floating(literal: str) -> Any:
        value = float(literal)
        if math.isfinite(value):
            return value
        refused.append(_Refused("must be a finite number (at most about 1.8e308 in magnitude)"))
        return refused[-1]

    def integer(literal: str) -> Any:
        try:
            return int(literal)
        except ValueError:
            digits = len(literal.lstrip("-"))
            refused.append(
                _Refused(f"is an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted")
            )
            return refused[-1]

    try:
        value = json.loads(text, parse_constant=constant, parse_float=floating, parse_int=integer)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to parse
        raise MalformedJson(malformed) from exc
    if not refused:
        return value
    field, reason, document = _first_refused(value, whole)
    raise BadNumber(field, reason, document)


def stored(text: str) -> Any:
    """JSON this service wrote (metadata, presence, audit details), parsed as strictly: a number
    in it that JSON cannot carry is the server's fault, a ValueError (a 500), never a 400."""
    try:
        return loads(text)
    except PulseError as exc:
        raise ValueError(f"stored JSON is not valid JSON: {exc.message}") from None


def _first_refused(value: Any, whole: str) -> tuple[str, str, Any]:
    """The path and reason of the first refused number (in document order), and the document
    with every refused number replaced by None. Iterative: a document may nest as deep as the
    parser allows, deeper than this function could recurse."""
    if isinstance(value, _Refused):
        return whole, value.reason, None
    found: tuple[str, str] | None = None
    root = "" if isinstance(value, dict) else whole  # an object's fields are named bare
    stack: list[tuple[Any, Any, Any, str]] = [(None, None, value, root)]
    while stack:
        parent, key, node, path = stack.pop()
        if isinstance(node, _Refused):
            if found is None:
                found = (path, node.reason)
            parent[key] = None
        elif isinstance(node, dict):
            for k, child in reversed(list(node.items())):
                stack.append((node, k, child, f"{path}.{k}" if path else str(k)))
        elif isinstance(node, list):
            for i in reversed(range(len(node))):
                stack.append((node, i, node[i], f"{path}[{i}]"))
    assert found is not None
    return found[0], found[1], value


def _extra(value: Any) -> Any:
    # What DynamoDB hands back as numbers (Decimal) is written as the number it is.
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"Out of range float values are not JSON compliant: {value}")
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact, ASCII-only JSON. Raises ValueError rather than write NaN or Infinity."""
    return json.dumps(
        value, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys, default=_extra
    )
