"""A room's events on the wire: each change with its place in the room's order (`seq`), as the
REST API, a socket catching up and webhooks see it."""

from __future__ import annotations

from ..entities import RoomEvent
from .shapes import PageOf, Record
from .webhooks import EVENT_TYPES

EVENT = Record(
    RoomEvent,
    "RoomEvent",
    only=("id", "seq", "type", "data", "created_at"),
    schemas={
        "id": {"type": "string", "pattern": "^evt_[0-9A-Za-z]{16}$"},
        "seq": {"type": "integer", "minimum": 1},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "data": {"type": "object"},
    },
    describe={
        "seq": "Its place in the room's order: 1, 2, 3 ... with no gaps, never reused.",
        "type": "What changed.",
        "data": "The resource as the REST API answers it (`{id}` for a deletion, `{id, "
        "threadId}` for a comment's), with `environmentId`, `roomId` and `seq`.",
        "created_at": "When the change committed (ISO 8601, UTC).",
    },
    examples=[
        {
            "id": "evt_0Q9cZk1aB2cD3eF7",
            "seq": 42,
            "type": "comment.created",
            "data": {
                "id": "cm_0Q9cZk1aB2cD3eF5",
                "threadId": "th_0Q9cZk1aB2cD3eF4",
                "roomId": "doc:42",
                "userId": "user-43",
                "body": "Tuesday works for me.",
                "createdAt": "2026-11-25T04:48:22.123Z",
                "editedAt": None,
                "environmentId": "env_0Q9cZk1aB2cD3eF1",
                "seq": 42,
            },
            "createdAt": "2026-11-25T04:48:22.123Z",
        }
    ],
)
EVENTS = PageOf(EVENT)
