"""Users on the wire: the people a customer backend minted tokens for, as answered."""

from __future__ import annotations

from ..entities import User
from .schemas import COLOR, USER_ID
from .shapes import PageOf, Record

USER = Record(
    User,
    "User",
    schemas={"id": USER_ID, "color": COLOR},
    describe={"last_seen_at": "The last time a token was minted for the user."},
    examples=[
        {
            "id": "user-42",
            "name": "Ada Lovelace",
            "avatar": "https://example.com/ada.png",
            "color": "#E5484D",
            "firstSeenAt": "2026-11-25T04:48:22.123Z",
            "lastSeenAt": "2026-11-25T05:10:03.456Z",
        }
    ],
)
USERS = PageOf(USER)
