"""Users on the wire: the people a customer backend minted tokens for, as answered."""

from __future__ import annotations

from ..entities import TokensRevoked, User
from .schemas import COLOR, TIMESTAMP, USER_ID
from .shapes import PageOf, Record

USER = Record(
    User,
    "User",
    exclude=("group_ids", "permissions"),  # what its token granted: for the server's own use
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
TOKENS_REVOKED = Record(
    TokensRevoked,
    "TokensRevoked",
    schemas={"user_id": USER_ID, "revoked_at": TIMESTAMP},
    describe={
        "revoked_at": "Tokens minted for the user until then no longer connect; later ones do.",
        "closed_connections": "The user's open sockets in the environment that were closed.",
    },
    examples=[
        {"userId": "user-42", "revokedAt": "2026-11-25T05:12:00.000Z", "closedConnections": 2}
    ],
)
