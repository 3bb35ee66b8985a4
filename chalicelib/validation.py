"""Field validators shared by the REST and WebSocket adapters; each error names its field."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .errors import InvalidInput

E = TypeVar("E", bound=str)


def only_fields(obj: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise InvalidInput(unknown[0], "unknown field", code="UNKNOWN_FIELD")


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def text(
    obj: Mapping[str, Any],
    field: str,
    *,
    max_len: int,
    min_len: int = 1,
    required: bool = True,
    strip: bool = False,
    allow_newlines: bool = False,
) -> str | None:
    """A string field of min_len..max_len characters without control characters."""
    value = obj.get(field)
    if value is None:
        if required:
            raise InvalidInput(field, "is required", code="MISSING_FIELD")
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if strip:
        value = value.strip()
    if not min_len <= len(value) <= max_len:
        raise InvalidInput(field, f"must be {min_len}-{max_len} characters")
    checked = value.replace("\n", "").replace("\t", "") if allow_newlines else value
    if _has_control_chars(checked):
        raise InvalidInput(field, "must not contain control characters")
    return value


def required_text(obj: Mapping[str, Any], field: str, *, max_len: int, strip: bool = False) -> str:
    value = text(obj, field, max_len=max_len, strip=strip)
    assert value is not None
    return value


def choice(obj: Mapping[str, Any], field: str, options: tuple[E, ...]) -> E:
    value = obj.get(field)
    if value is None:
        raise InvalidInput(field, "is required", code="MISSING_FIELD")
    for option in options:
        if value == option:
            return option
    raise InvalidInput(field, "must be one of " + ", ".join(options))


def http_url(obj: Mapping[str, Any], field: str, *, max_len: int = 2048) -> str | None:
    value = text(obj, field, max_len=max_len, required=False)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise InvalidInput(field, "must be an http(s) URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise InvalidInput(field, "must be an http(s) URL")
    return value


def email(obj: Mapping[str, Any], field: str = "email") -> str:
    value = required_text(obj, field, max_len=254, strip=True).lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or " " in value:
        raise InvalidInput(field, "must be an email address")
    return value
