"""User tokens on the wire: what a customer backend sends to mint one, and the token answered."""

from __future__ import annotations

from ..entities import MintedToken
from .fields import Body, http_url, text, user_id
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

    examples = {
        "withAvatar": (
            "A user with an avatar",
            {"userId": "user-42", "name": "Ada Lovelace", "avatar": "https://example.com/ada.png"},
        ),
        "withoutAvatar": (
            "A user without an avatar",
            {"userId": "user-43", "name": "Charles Babbage"},
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
