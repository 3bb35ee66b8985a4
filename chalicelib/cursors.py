"""Opaque pagination cursors: the last key of a page, bound by HMAC to the list it came from."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from . import codes, jsontext
from .errors import InvalidInput, PulseError

MAX_CURSOR_CHARS = 1024


def _tag(secret: bytes, scope: str, payload: bytes) -> str:
    mac = hmac.new(secret, b"cursor:" + scope.encode() + b"\x00" + payload, hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def encode(secret: bytes, scope: str, key: dict[str, Any]) -> str:
    payload = jsontext.dumps(key, sort_keys=True).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_tag(secret, scope, payload)}"


def decode(secret: bytes, scope: str, cursor: str) -> dict[str, Any]:
    """The key a cursor holds; InvalidInput if it is malformed, tampered, or from another list."""
    bad = InvalidInput("cursor", "is not a cursor from this list", code=codes.INVALID_CURSOR)
    # Non-ASCII text would make hmac.compare_digest raise TypeError (a 500), not refuse.
    if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii() or cursor.count(".") != 1:
        raise bad
    body, tag = cursor.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise bad from exc
    if not hmac.compare_digest(_tag(secret, scope, payload), tag):
        raise bad
    try:
        key = jsontext.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, PulseError) as exc:
        raise bad from exc
    if not isinstance(key, dict):
        raise bad
    return key
