"""The events port: services announce what changed in a room; the realtime layer delivers it.

Until a sender is installed (WebSocket fan-out), events go nowhere."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    def publish(self, env_id: str, room_id: str, event_type: str, payload: dict[str, Any]) -> None:
        """`payload` holds domain records (Thread, Comment) or ids; the sender serializes.
        Called after the change committed: it should not raise (the caller logs if it does)."""


class NullSink:
    def publish(self, env_id: str, room_id: str, event_type: str, payload: dict[str, Any]) -> None:
        return None
