"""The events port: services announce what changed in a room; the room channel delivers it."""

from __future__ import annotations

from typing import Any, Protocol

from ..access import RoomAccess
from .callers import MemberCaller


class EventSink(Protocol):
    def publish(
        self,
        env_id: str,
        room_id: str,
        event_type: str,
        payload: dict[str, Any],
        origin: MemberCaller | None = None,
    ) -> None:
        """`payload` holds domain records (Thread, Comment) or ids; the sink serializes. Called
        after the change committed: it should not raise (the caller logs if it does).

        `origin`: the member whose socket message made the change. It gets its own copy first,
        echoing its message's requestId: that copy is its acknowledgement."""

    def access_changed(
        self,
        env_id: str,
        room_id: str,
        grants: RoomAccess,
        then: tuple[str, dict[str, Any]] | None = None,
    ) -> tuple[int, int]:
        """The room now grants `grants`: re-evaluate its open connections at once, then send
        `then` (an event's type and payload) to those still in it. Returns how many changed
        level and how many were closed (their level became `none`)."""
        ...
