"""User tokens on the wire: what a customer backend sends to mint one, and the token answered."""

from __future__ import annotations

from ..entities import MintedToken
from .fields import Body, group_ids, http_url, permissions, text, user_id
from .schemas import TEXT_128
from .shapes import Record

FIELD_MAX = 128


class MintRequest(Body):
    user_id: str = user_id(max_len=FIELD_MAX)
    name: str = text(max_len=FIELD_MAX, schema=TEXT_128)
    avatar: str | None = http_url(
        description="An http(s) URL of the user's picture, at most 2048 characters, without "
        "spaces. `null` or absent: no picture.",
        examples=["https://example.com/ada.png"],
    )
    group_ids: tuple[str, ...] | None = group_ids(
        description="The user's groups (up to 50 ids of 1-128 characters): rooms grant access "
        "to groups (`groupsAccess`)."
    )
    permissions: dict[str, str] | None = permissions(
        description="Makes the token an access token, which alone decides the user's level in "
        "each room: a room id, or a prefix ending with `*`, to a level (up to 50 entries). The "
        "most specific entry wins (an exact id over a prefix, a longer prefix over a shorter); "
        "rooms no entry matches are `none`. Without it (an identity token) the user gets what "
        "each room grants."
    )

    examples = {
        "withAvatar": (
            "A user with an avatar",
            {"userId": "user-42", "name": "Ada Lovelace", "avatar": "https://example.com/ada.png"},
        ),
        "withoutAvatar": (
            "A user without an avatar",
            {"userId": "user-43", "name": "Charles Babbage"},
        ),
        "identityToken": (
            "An identity token: rooms grant access to the user and its groups",
            {"userId": "user-44", "name": "Grace Hopper", "groupIds": ["acme", "acme-eng"]},
        ),
        "accessToken": (
            "An access token: it alone decides which rooms the user may enter",
            {
                "userId": "user-45",
                "name": "Alan Turing",
                "permissions": {"acme:*": "read", "acme:design-doc": "write"},
            },
        ),
    }


MINTED = Record(
    MintedToken,
    "MintedToken",
    exclude=("user",),
    schemas={
        "token": {
            "type": "string",
            "description": "A JWT for the widget (`?token=` when it connects).",
            "examples": [
                "eyJhbGciOiJIUzI1NiIsImtpZCI6IlZieFMyUnZOTG5aUDAzVlMiLCJ0eXAiOiJKV1QifQ"
                ".eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl"
            ],
        }
    },
)
