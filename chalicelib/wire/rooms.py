"""Rooms on the wire: the bodies that create and change one, a room as answered, who is in it
(its live connections) and a broadcast to it."""

from __future__ import annotations

from typing import Any

from ..entities import Connection, Room
from .fields import Body, any_json, metadata, room_id
from .schemas import COLOR, ROOM_ID
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


ROOM = Record(
    Room,
    "Room",
    schemas={"id": ROOM_ID},
    examples=[
        {
            "id": "doc:42",
            "metadata": {"title": "Q3 plan"},
            "createdAt": "2026-11-25T04:48:22.123Z",
            "updatedAt": "2026-11-25T04:48:22.123Z",
        }
    ],
)
ROOMS = PageOf(ROOM)

# One live connection of a room: who is behind it (REST active_users, socket presence).
MEMBER = Record(
    Connection,
    "ActiveUser",
    only=("id", "user_id", "name", "avatar", "color"),
    rename={"id": "connectionId"},
    schemas={"color": COLOR},
)
MEMBERS = PageOf(MEMBER, name="ActiveUserList")


def member(connection: Connection) -> dict[str, Any]:
    return MEMBER.dump(connection)


ACCEPTED = Const("Accepted", {"status": "accepted"})
