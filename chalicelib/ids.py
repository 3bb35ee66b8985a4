"""Prefixed, time-sortable ids and the base62 alphabet that keys and tokens share."""

from __future__ import annotations

import secrets
import time

# ASCII order, so fixed-width base62 strings sort like the numbers they encode.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}

TIME_CHARS = 7  # milliseconds since the epoch; 62**7 ms is ~111 years
RANDOM_CHARS = 9  # ~53 bits, per millisecond
RAW_ID_CHARS = TIME_CHARS + RANDOM_CHARS


def encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(ALPHABET[rem])
    if number:
        raise ValueError("number does not fit in width")
    return "".join(reversed(chars))


def random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def is_base62(text: str) -> bool:
    return all(c in _INDEX for c in text)


def new_raw_id(now_ms: int | None = None) -> str:
    """16 base62 chars: 7 of time then 9 random. Later ids sort after earlier ones."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return encode(ms, TIME_CHARS) + random_base62(RANDOM_CHARS)


def new_id(prefix: str) -> str:
    return f"{prefix}_{new_raw_id()}"


def raw_part(prefixed: str, prefix: str) -> str | None:
    """The raw 16 chars of `prefix_XXXXXXXXXXXXXXXX`, or None when it is not such an id."""
    head, sep, raw = prefixed.partition("_")
    if sep != "_" or head != prefix or len(raw) != RAW_ID_CHARS or not is_base62(raw):
        return None
    return raw
