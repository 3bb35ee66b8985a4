"""Rooms on the wire: the bodies that create and change one, a room as answered, who is in it
(its live connections) and a broadcast to it."""

from __future__ import annotations

from typing import Any

from ..access import AccessChange, Level
from ..entities import Connection, Room
from .fields import Body, access_map, any_json, level, metadata, room_id
from .schemas import COLOR, LEVEL, ROOM_ID
from .shapes import Const, PageOf, Record

GRANTS = (
    "Up to 100 entries a room; a request names at most 98 entries in `usersAccess` and "
    "`groupsAccess` together."
)


class CreateRoomRequest(Body):
    id: str = room_id()
    metadata: dict[str, Any] | None = metadata()
    default_access: Level | None = level(
        description="What the room grants every identity token; absent: the environment's "
        "`defaultRoomAccess` (`write` unless changed)."
    )
    users_access: dict[str, Level] | None = access_map(
        removals=False, description="What it grants these users' identity tokens. " + GRANTS
    )
    groups_access: dict[str, Level] | None = access_map(
        removals=False,
        description="What it grants identity tokens of these groups (`groupIds`). " + GRANTS,
    )

    examples = {
        "withMetadata": (
            "A room with metadata",
            {"id": "doc:42", "metadata": {"title": "Q3 plan", "pinned": True, "version": 3}},
        ),
        "bare": ("A room without metadata", {"id": "board-7"}),
        "private": (
            "A room only some users and groups may enter",
            {
                "id": "acme:plan",
                "defaultAccess": "none",
                "usersAccess": {"user-42": "write"},
                "groupsAccess": {"acme-eng": "comment", "acme": "read"},
            },
        ),
    }


class UpdateRoomRequest(Body):
    """Any non-empty subset of the fields; what is absent stays."""

    metadata: dict[str, Any] | None = metadata(
        description="Replaces the room's metadata as a whole (`{}` clears it)."
    )
    default_access: Level | None = level(description="What the room grants every identity token.")
    users_access: dict[str, Level | None] | None = access_map(
        removals=True,
        description="Entries to set (a level) or remove (`null`); the others stay. " + GRANTS,
    )
    groups_access: dict[str, Level | None] | None = access_map(
        removals=True,
        description="Entries to set (a level) or remove (`null`); the others stay. " + GRANTS,
    )

    at_least_one = ("metadata", "default_access", "users_access", "groups_access")
    examples = {
        "metadata": ("New metadata", {"metadata": {"title": "Q3 plan (final)"}}),
        "access": (
            "Let a group in, and one user out",
            {"groupsAccess": {"acme-sales": "read"}, "usersAccess": {"user-43": None}},
        ),
    }

    def access_change(self) -> AccessChange | None:
        """The change of access it asks for (None: metadata only)."""
        if self.default_access is None and self.users_access is None and self.groups_access is None:
            return None
        return AccessChange(self.default_access, self.users_access, self.groups_access)


class BroadcastRequest(Body):
    event: Any = any_json(description="Any JSON value, passed on as is.")

    example = {"event": {"kind": "deploy-finished", "version": "1.4.2"}}


LEVELS_BY_ID = {"type": "object", "additionalProperties": LEVEL}
ROOM = Record(
    Room,
    "Room",
    schemas={
        "id": ROOM_ID,
        "default_access": LEVEL,
        "users_access": LEVELS_BY_ID,
        "groups_access": LEVELS_BY_ID,
    },
    describe={
        "default_access": "What the room grants every identity token.",
        "users_access": "What it grants identity tokens of these users (user id -> level).",
        "groups_access": "What it grants identity tokens of these groups (group id -> level).",
    },
    examples=[
        {
            "id": "doc:42",
            "metadata": {"title": "Q3 plan"},
            "createdAt": "2026-11-25T04:48:22.123Z",
            "updatedAt": "2026-11-25T04:48:22.123Z",
            "defaultAccess": "read",
            "usersAccess": {"user-42": "write"},
            "groupsAccess": {"acme-eng": "comment"},
        }
    ],
)
ROOMS = PageOf(ROOM)

# One live connection of a room: who is behind it (socket presence).
MEMBER = Record(
    Connection,
    "Member",
    only=("id", "user_id", "name", "avatar", "color"),
    rename={"id": "connectionId"},
    schemas={"color": COLOR},
)
# In the REST list, each connection's own access level too (not told to the room's sockets).
ACTIVE_USER = Record(
    Connection,
    "ActiveUser",
    only=("id", "user_id", "name", "avatar", "color", "access"),
    rename={"id": "connectionId"},
    schemas={"color": COLOR, "access": LEVEL},
)
MEMBERS = PageOf(ACTIVE_USER, name="ActiveUserList")
# The Admin Panel's room inspector: each live connection with its presence and since when.
LIVE_CONNECTION = Record(
    Connection,
    "LiveConnection",
    only=("id", "user_id", "name", "avatar", "color", "access", "presence", "connected_at"),
    rename={"id": "connectionId"},
    schemas={"color": COLOR},
    describe={
        "presence": "What its client last set as its presence (null: none yet).",
        "connected_at": "When it connected (ISO 8601).",
    },
)
LIVE_CONNECTIONS = PageOf(LIVE_CONNECTION, name="LiveConnectionList")


def member(connection: Connection) -> dict[str, Any]:
    return MEMBER.dump(connection)


ACCEPTED = Const("Accepted", {"status": "accepted"})
