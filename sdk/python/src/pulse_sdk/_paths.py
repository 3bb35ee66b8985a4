"""Ids as URL path segments, as the API reads them (docs: the RoomId and UserId parameters)."""

from __future__ import annotations

import base64
from urllib.parse import quote

# A browser or proxy resolves `.` and `..` segments: ids a URL cannot carry go escaped.
_UNCARRIABLE = (".", "..")


def _escaped(value: str) -> str:
    return "~" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def segment(value: str) -> str:
    """A thread, comment or emoji id, percent-encoded."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def room(room_id: str) -> str:
    """A room id (`doc:42` -> `doc%3A42`; `..` -> `~Li4`)."""
    return _escaped(room_id) if room_id in _UNCARRIABLE else segment(room_id)


def user(user_id: str) -> str:
    """A user id; `.`, `..` and ids starting with `~` go escaped."""
    if user_id in _UNCARRIABLE or user_id.startswith("~"):
        return _escaped(user_id)
    return segment(user_id)
