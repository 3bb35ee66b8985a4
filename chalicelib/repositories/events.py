"""Room events: the one place that writes them (inside the change's own transaction) and reads
them back from the data table's stream. Adding the room's `seq` changes only this module."""

from __future__ import annotations

from typing import Any

from pynamodb.transactions import TransactWrite

from .. import jsontext
from ..db.models import EVENT_SK_PREFIXES, EventItem, event_sk, events_pk
from ..entities import RoomEvent


def add_event(tx: TransactWrite, event: RoomEvent) -> None:
    """Put the event in `tx`: it exists, and the stream carries it, only if the change commits."""
    item = EventItem(
        events_pk(event.env_id, event.room_id),
        event_sk(event.id),
        event_id=event.id,
        type=event.type,
        env_id=event.env_id,
        room_id=event.room_id,
        created_at=event.created_at,
        data=jsontext.dumps(event.data, sort_keys=True),
        ttl=event.expires_at,
    )
    tx.save(item, condition=EventItem.pk.does_not_exist())


def is_event_record(record: dict[str, Any]) -> bool:
    """A stream record of a new event item (the same test as the event source's filter)."""
    if record.get("eventName") != "INSERT":
        return False
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    sk = (image.get("sk") or {}).get("S", "")
    return isinstance(sk, str) and sk.startswith(EVENT_SK_PREFIXES)


def from_record(record: dict[str, Any]) -> RoomEvent | None:
    """The event of a stream record (DynamoDB JSON, NEW_IMAGE), or None if it is not one."""
    if not is_event_record(record):
        return None
    image = record["dynamodb"]["NewImage"]

    def text(name: str) -> str:
        return str((image.get(name) or {}).get("S", ""))

    ttl = (image.get("ttl") or {}).get("N")
    return RoomEvent(
        id=text("event_id"),
        env_id=text("env_id"),
        room_id=text("room_id"),
        type=text("type"),
        data=jsontext.stored(text("data")),
        created_at=text("created_at"),
        expires_at=int(ttl) if ttl else 0,
    )
