"""Webhook signing secrets and signatures, as the Standard Webhooks specification has them:
`whsec_` + base64 of random bytes; `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
keyed with the secret's bytes (the part after `whsec_`, base64-decoded)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature, `v1,<base64>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per live secret (two while a rotated one overlaps)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)
