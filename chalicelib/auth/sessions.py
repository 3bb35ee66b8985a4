"""Operator session tokens: `pso_` + operator id + 190 random bits; only an HMAC is stored."""

from __future__ import annotations

import hashlib
import hmac

from .. import ids

PREFIX = "pso_"
SECRET_CHARS = 32
TOKEN_LENGTH = len(PREFIX) + ids.RAW_ID_CHARS + SECRET_CHARS


def generate(operator_id: str) -> str:
    raw = ids.raw_part(operator_id, "op")
    if raw is None:
        raise ValueError("generate() needs an op_ id")
    return f"{PREFIX}{raw}{ids.random_base62(SECRET_CHARS)}"


def operator_of(token: str) -> str | None:
    """The operator id a well-formed session token names (no I/O); None when malformed."""
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIX):
        return None
    body = token[len(PREFIX) :]
    if not ids.is_base62(body):
        return None
    return f"op_{body[: ids.RAW_ID_CHARS]}"


def digest(pepper: bytes, token: str) -> str:
    return hmac.new(pepper, b"session:" + token.encode(), hashlib.sha256).hexdigest()
