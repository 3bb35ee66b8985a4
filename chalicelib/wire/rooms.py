"""Rooms on the wire: the bodies that create and change one, a room as answered, who is in it
(its live connections) and a broadcast to it."""

from __future__ import annotations

from typing import Any

from ..entities import Connection, Room
from .fields import Body, any_json, metadata, room_id
from .schemas import COLOR, LEVEL, ROOM_ID
from .shapes import Const, PageOf, Record


class CreateRoomRequest(Body):
    id: str = room_id()
    metadata: dict[str, Any] | None = metadata()

    examples = {
        "withMetadata": (
            "A room with metadata",
            {"id": "doc:42", "metadata": {"title": "Q3 plan", "pinned": True, "version": 3}},
        ),
        "bare": ("A room without metadata", {"id": "board-7"}),
    }


class UpdateRoomRequest(Body):
    metadata: dict[str, Any] = metadata(required=True)

    example = {"metadata": {"title": "Q3 plan (final)"}}


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


def member(connection: Connection) -> dict[str, Any]:
    return MEMBER.dump(connection)


ACCEPTED = Const("Accepted", {"status": "accepted"})
