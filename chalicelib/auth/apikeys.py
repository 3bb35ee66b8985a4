"""API key format: `pk_`/`sk_`/`rk_` + environment id + key id + 131 random bits + CRC32 checksum.

    sk_ 0Q5cZkT8abcdefgh 0Q5cZkU1ijklmnop <22 random base62> <6 base62 CRC32>
        environment      key id

The ids inside the key let verification fetch exactly one key item (inside its environment) with
no index; the checksum refuses typos and junk before any database read. Only an HMAC of the key
is stored, so a database leak reveals no usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from dataclasses import dataclass
from typing import Literal

from .. import ids

KeyKind = Literal["publishable", "secret", "restricted"]
PREFIX: dict[str, str] = {"publishable": "pk", "secret": "sk", "restricted": "rk"}
KIND_BY_PREFIX: dict[str, KeyKind] = {"pk": "publishable", "sk": "secret", "rk": "restricted"}
# A restricted key (rk_) is a secret key limited to scopes and rooms (services/grants.py).
SECRET_KINDS: frozenset[str] = frozenset({"secret", "restricted"})
SECRET_CHARS = 22  # 22 * log2(62) ~ 131 bits
CHECKSUM_CHARS = 6  # 62**6 > 2**32
BODY_CHARS = 2 * ids.RAW_ID_CHARS + SECRET_CHARS
KEY_LENGTH = 3 + BODY_CHARS + CHECKSUM_CHARS


@dataclass(frozen=True)
class ParsedKey:
    kind: KeyKind
    env_id: str
    key_id: str


def _checksum(text: str) -> str:
    return ids.encode(zlib.crc32(text.encode()), CHECKSUM_CHARS)


def generate(kind: KeyKind, env_id: str, key_id: str) -> str:
    env_raw = ids.raw_part(env_id, "env")
    key_raw = ids.raw_part(key_id, "key")
    if env_raw is None or key_raw is None:
        raise ValueError("generate() needs env_ and key_ ids")
    head = f"{PREFIX[kind]}_{env_raw}{key_raw}{ids.random_base62(SECRET_CHARS)}"
    return head + _checksum(head)


def parse(key: str) -> ParsedKey | None:
    """The kind and ids of a well-formed key with a valid checksum; None otherwise (no I/O)."""
    if len(key) != KEY_LENGTH or key[2] != "_" or key[:2] not in KIND_BY_PREFIX:
        return None
    body = key[3:]
    if not ids.is_base62(body):
        return None
    head, checksum = key[:-CHECKSUM_CHARS], key[-CHECKSUM_CHARS:]
    if not hmac.compare_digest(_checksum(head), checksum):
        return None
    raw = ids.RAW_ID_CHARS
    return ParsedKey(
        kind=KIND_BY_PREFIX[key[:2]],
        env_id=f"env_{body[:raw]}",
        key_id=f"key_{body[raw : 2 * raw]}",
    )


def kind_of_prefix(text: str) -> KeyKind | None:
    """The kind a string claims by its prefix, even when malformed (for helpful errors)."""
    return KIND_BY_PREFIX.get(text[:2]) if text[2:3] == "_" else None


def digest(pepper: bytes, key: str) -> str:
    """HMAC-SHA256 under a server-side pepper: keys are high-entropy, so no slow hash is needed."""
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def matches(pepper: bytes, key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(pepper, key), stored_digest)


def preview(key: str) -> str:
    """`sk_...a1b2`: the prefix and the last 4 chars (checksum chars, which reveal nothing)."""
    return f"{key[:3]}...{key[-4:]}"
