"""Operator device cookies (OWASP's "device cookies" against login lockout): a random device id
bound to one operator email by an HMAC, issued at a successful login. A login that presents one
for its email comes from a device the operator has used, and is throttled on its own."""

from __future__ import annotations

import hashlib
import hmac

from .. import ids

PREFIX = "d1."
DEVICE_ID_CHARS = 22  # 131 random bits
MAC_CHARS = 64  # hex SHA-256
MAX_CHARS = len(PREFIX) + DEVICE_ID_CHARS + 1 + MAC_CHARS


def _mac(pepper: bytes, email: str, device_id: str) -> str:
    message = f"pulse-device-v1:{email}:{device_id}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def issue(pepper: bytes, email: str, device_id: str | None = None) -> str:
    """A device cookie's value for `email` (a new device id unless one is given)."""
    device_id = device_id or ids.random_base62(DEVICE_ID_CHARS)
    return f"{PREFIX}{device_id}.{_mac(pepper, email, device_id)}"


def device_of(pepper: bytes, email: str, value: str | None) -> str | None:
    """The device id of a cookie value issued for `email`; None for anything else (no I/O)."""
    if not value or len(value) != MAX_CHARS or not value.startswith(PREFIX):
        return None
    device_id, dot, mac = value[len(PREFIX) :].partition(".")
    if not dot or len(device_id) != DEVICE_ID_CHARS or not ids.is_base62(device_id):
        return None
    if not hmac.compare_digest(mac, _mac(pepper, email, device_id)):
        return None
    return device_id
