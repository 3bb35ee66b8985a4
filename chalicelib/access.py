"""Room access levels and the one decision of who gets which level in a room (pure: no I/O).

Levels `none` < `read` < `comment` < `write`. A token with `permissions` (an access token)
decides alone: the most specific pattern matching the room wins (an exact id over any prefix, a
longer prefix over a shorter), and a room no pattern matches is `none`. A token without them (an
identity token) gets the highest of the room's `defaultAccess`, its user's entry and its groups'
entries. docs/protocol.md, "Room access", says the same for clients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["none", "read", "comment", "write"]
LEVELS: tuple[Level, ...] = ("none", "read", "comment", "write")  # ascending
_RANK = {level: n for n, level in enumerate(LEVELS)}
NONE: Level = "none"
READ: Level = "read"
COMMENT: Level = "comment"
WRITE: Level = "write"
# What a room that predates access control (no stored defaultAccess) grants: what it always did.
LEGACY_DEFAULT: Level = "write"
PREFIX_WILDCARD = "*"


def rank(level: str) -> int:
    return _RANK[level]  # type: ignore[index]


def at_least(level: str, needed: str) -> bool:
    """Whether `level` allows what `needed` does."""
    return rank(level) >= rank(needed)


def highest(*levels: str) -> Level:
    return LEVELS[max((rank(x) for x in levels), default=0)]


def as_level(value: object, default: Level = LEGACY_DEFAULT) -> Level:
    """A stored level; `default` for none stored (or one no longer known)."""
    return value if isinstance(value, str) and value in _RANK else default  # type: ignore[return-value]


@dataclass(frozen=True)
class TokenAccess:
    """What a verified token says about access: its user, its groups, and, for an access token,
    its permissions (pattern -> level; None for an identity token)."""

    user_id: str
    group_ids: tuple[str, ...] = ()
    permissions: Mapping[str, str] | None = None

    @property
    def decides_alone(self) -> bool:
        return self.permissions is not None


@dataclass(frozen=True)
class RoomAccess:
    """What a room grants identity tokens."""

    default: Level = LEGACY_DEFAULT
    users: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)

    def names(self, user_id: str | None, group_ids: tuple[str, ...] | list[str]) -> bool:
        """Whether the room's entries name this user or one of these groups."""
        return (user_id is not None and user_id in self.users) or any(
            g in self.groups for g in group_ids
        )


def permission_for(permissions: Mapping[str, str], room_id: str) -> Level:
    """An access token's level in a room: its exact entry, else its longest matching prefix,
    else `none`."""
    exact = permissions.get(room_id)
    if exact is not None:
        return as_level(exact, NONE)
    best, best_len = NONE, -1
    for pattern, level in permissions.items():
        if pattern.endswith(PREFIX_WILDCARD):
            prefix = pattern[:-1]
            if len(prefix) > best_len and room_id.startswith(prefix):
                best, best_len = as_level(level, NONE), len(prefix)
    return best


def level_for(token: TokenAccess, room_id: str, room: RoomAccess) -> Level:
    """The level `token` has in room `room_id`, which grants `room` (for a room still to be
    created by this connection: what it will grant)."""
    if token.permissions is not None:
        return permission_for(token.permissions, room_id)
    levels = [room.default, room.users.get(token.user_id, NONE)]
    levels += [room.groups.get(g, NONE) for g in token.group_ids]
    return highest(*levels)


def is_pattern(value: str) -> bool:
    """A permissions key: a room id, or a prefix of one ending with `*` (`*` alone: every
    room). The caller checks the room-id characters."""
    return value.count(PREFIX_WILDCARD) <= 1 and (
        PREFIX_WILDCARD not in value or value.endswith(PREFIX_WILDCARD)
    )


@dataclass(frozen=True)
class AccessChange:
    """A change of what a room grants: a new default, and entries to set (a level) or remove
    (None) in its maps. None: unchanged."""

    default: Level | None = None
    users: Mapping[str, Level | None] | None = None
    groups: Mapping[str, Level | None] | None = None

    @property
    def entries(self) -> int:
        """How many map entries it names (each is one index item to write or delete)."""
        return len(self.users or {}) + len(self.groups or {})

    def applied(self, room: RoomAccess) -> RoomAccess:
        return RoomAccess(
            self.default or room.default,
            _merged(room.users, self.users),
            _merged(room.groups, self.groups),
        )


def _merged(
    current: Mapping[str, str], change: Mapping[str, Level | None] | None
) -> dict[str, str]:
    out = dict(current)
    for key, level in (change or {}).items():
        if level is None:
            out.pop(key, None)
        else:
            out[key] = level
    return out
