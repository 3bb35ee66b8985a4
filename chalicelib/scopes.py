"""What a restricted key (rk_) may do: the scope names, its rooms pattern, and the narrowing of
the permissions of a token it mints (pure: no I/O).

A route declares the one scope it needs (api/routing.SecretKey); a secret key (sk_) holds every
scope and every room. A rooms pattern is a room id (that room only) or a prefix of room ids
ending with `*` (`acme:*`: every room whose id starts with `acme:`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from .access import PREFIX_WILDCARD, permission_for

KeyScope = Literal[
    "tokens:mint",
    "rooms:read",
    "rooms:write",
    "comments:read",
    "comments:write",
    "users:read",
    "users:write",
    "broadcast",
    "events:read",
]
SCOPES: tuple[KeyScope, ...] = get_args(KeyScope)  # in the order the type lists them


def room_in(pattern: str | None, room_id: str) -> bool:
    """Whether `room_id` is within a key's rooms pattern (None: every room)."""
    if pattern is None:
        return True
    if pattern.endswith(PREFIX_WILDCARD):
        return room_id.startswith(pattern[:-1])
    return room_id == pattern


def narrow(permissions: Mapping[str, str], pattern: str | None) -> dict[str, str]:
    """The permissions of a token minted by a key limited to `pattern`: in every room within
    the pattern the level `permissions` give, in every other room none. Entries outside the
    pattern go; a broader prefix (`*`, `ac*` for `acme:*`) becomes the pattern itself, with the
    level of the longest such prefix; narrower entries stay as sent (a `none` among them too: it
    overrides a broader one). May be empty."""
    if pattern is None:
        return dict(permissions)
    if not pattern.endswith(PREFIX_WILDCARD):  # one room: the level the permissions give it
        level: str = permission_for(permissions, pattern)
        return {pattern: level} if level != "none" else {}
    prefix = pattern[:-1]
    out: dict[str, str] = {}
    broader: tuple[int, str] | None = None  # (its length, its level)
    for entry, level in permissions.items():
        if entry.endswith(PREFIX_WILDCARD):
            head = entry[:-1]
            if head.startswith(prefix):
                out[entry] = level  # as narrow as the pattern, or narrower
            elif prefix.startswith(head) and (broader is None or len(head) > broader[0]):
                broader = (len(head), level)
        elif entry.startswith(prefix):
            out[entry] = level
    if broader is not None and pattern not in out:
        out[pattern] = broader[1]
    return out
