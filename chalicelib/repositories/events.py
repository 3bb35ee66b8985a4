"""Room events: their place in the room's order (`seq`), written in the change's own transaction;
read back in order for a client catching up, and from the data table's stream for webhooks; and
the acknowledgements of socket writes a client named (clientMutationId), for its resends.

A room's seq lives in its log's head item, outside the room item: a room deleted and created
again goes on counting, so a seq is never reused. Each change's transaction moves the head from
the seq its request read to the next, on that condition; writers racing for the same seq lose the
condition, read the head again and retry, so committed changes take 1, 2, 3 ... with no gaps."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pynamodb.transactions import TransactWrite

from .. import codes, jsontext
from ..db.dynamo import TransactionCancelled, transaction, unavailable_on_throttle
from ..db.models import (
    EVENT_HEAD_SK,
    EVENT_SK_PREFIXES,
    EventHeadItem,
    EventItem,
    MutationItem,
    event_sk,
    events_pk,
    mutation_sk,
)
from ..entities import RoomEvent
from ..errors import Conflict, Replayed
from .reads import Read, fetch

# Writers racing for a room's next seq: each retry reads the head again (one GetItem), after a
# short random wait that grows, so that a burst of writers spreads out instead of colliding again.
SEQ_ATTEMPTS = 10
SEQ_BACKOFF_SECONDS = 0.005


def head_read(env_id: str, room_id: str) -> Read[int]:
    """The room's last seq (0 before its first change), for the request's batch read."""
    return Read((EventHeadItem, events_pk(env_id, room_id), EVENT_HEAD_SK), _seq_of)


def _seq_of(item: EventHeadItem | None) -> int:
    return int(item.seq) if item is not None else 0


def last_seq(env_id: str, room_id: str) -> int:
    """The room's last seq, read alone (consistent)."""
    with unavailable_on_throttle():
        try:
            item = EventHeadItem.get(
                events_pk(env_id, room_id), EVENT_HEAD_SK, consistent_read=True
            )
        except EventHeadItem.DoesNotExist:
            return 0
    return _seq_of(item)


def _mutation_sk(user_id: str, client_mutation_id: str) -> str:
    """The key of a user's write in a room: a digest, so that no id can spell another's key."""
    digest = hashlib.sha256(f"{user_id}\0{client_mutation_id}".encode()).hexdigest()
    return mutation_sk(digest)


@dataclass(frozen=True)
class StoredAck:
    """A write's acknowledgement as it was sent (without requestId), with the seq it took."""

    frame: dict[str, Any]
    seq: int


def mutation_read(
    env_id: str, room_id: str, user_id: str, client_mutation_id: str, now: int
) -> Read[StoredAck | None]:
    """The acknowledgement of an earlier write by this user with this clientMutationId in the
    room, if one is kept (within its day: DynamoDB removes expired items lazily)."""

    def convert(item: MutationItem | None) -> StoredAck | None:
        if item is None or (item.ttl is not None and item.ttl <= now):
            return None
        return StoredAck(jsontext.stored(item.frame), int(item.seq or 0))

    key = (MutationItem, events_pk(env_id, room_id), _mutation_sk(user_id, client_mutation_id))
    return Read(key, convert)


def add_event(tx: TransactWrite, event: RoomEvent) -> None:
    """Put the event in `tx` at `event.seq`, moving the room's head there from the seq before it
    (the condition that keeps the order gapless), with the acknowledgement of a named socket
    write: they exist, and the stream carries the event, only if the change commits."""
    pk = events_pk(event.env_id, event.room_id)
    previous = event.seq - 1
    tx.update(
        EventHeadItem(pk, EVENT_HEAD_SK),
        actions=[EventHeadItem.seq.set(event.seq)],
        condition=(EventHeadItem.seq == previous)
        if previous
        else EventHeadItem.pk.does_not_exist(),
    )
    item = EventItem(
        pk,
        event_sk(event.seq),
        event_id=event.id,
        seq=event.seq,
        type=event.type,
        env_id=event.env_id,
        room_id=event.room_id,
        created_at=event.created_at,
        data=jsontext.dumps(event.data, sort_keys=True),
        ttl=event.expires_at,
    )
    tx.save(item, condition=EventItem.pk.does_not_exist())
    ack = event.ack
    if ack is not None:
        tx.save(
            MutationItem(
                pk,
                _mutation_sk(ack.user_id, ack.client_mutation_id),
                frame=jsontext.dumps(ack.frame),
                seq=event.seq,
                ttl=ack.expires_at,
            ),
            # One past its day may linger (DynamoDB's TTL is lazy): it is free to take again.
            condition=MutationItem.pk.does_not_exist() | (MutationItem.ttl <= ack.written_at),
        )


def commit(write: Callable[[TransactWrite], None], event: RoomEvent) -> RoomEvent | None:
    """Run `write` and `event` in one transaction: the committed event (with the seq it took), or
    None when one of `write`'s conditions failed (the caller reads again and decides). A lost race
    for the room's next seq is retried here, at the next one; a resend of a named socket write that
    committed meanwhile raises Replayed with its acknowledgement."""
    pk = events_pk(event.env_id, event.room_id)
    head = (pk, EVENT_HEAD_SK)
    ack_key = (
        (pk, _mutation_sk(event.ack.user_id, event.ack.client_mutation_id)) if event.ack else None
    )
    for attempt in range(SEQ_ATTEMPTS):
        try:
            with transaction() as tx:
                write(tx)
                add_event(tx, event)
            return event
        except TransactionCancelled as exc:
            refusals = exc.refusals
            if ack_key is not None and refusals.get(ack_key) == "ConditionalCheckFailed":
                _replay(event)
            # The head's condition, or the event's (its seq taken): a race for the seq, retried.
            ours = (head, (pk, event_sk(event.seq)))
            if "ConditionalCheckFailed" in [r for k, r in refusals.items() if k not in ours]:
                return None
        # The seq moved, or a concurrent transaction held an item: at the head's seq again.
        time.sleep(random.uniform(0, SEQ_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 (jitter)
        event = at_seq(event, last_seq(event.env_id, event.room_id) + 1)
    raise Conflict(
        "The room kept changing while this request ran; nothing was changed.",
        code=codes.CONCURRENT_CHANGE,
        suggestion="Retry the request.",
    )


def _replay(event: RoomEvent) -> None:
    ack = event.ack
    assert ack is not None
    read = mutation_read(event.env_id, event.room_id, ack.user_id, ack.client_mutation_id, 0)
    stored = fetch([read])[read]
    if stored is not None:
        raise Replayed(stored.frame, stored.seq)


def at_seq(event: RoomEvent, seq: int) -> RoomEvent:
    """The event placed at `seq` (its data says so too)."""
    return replace(event, seq=seq, data={**event.data, "seq": seq})


@dataclass(frozen=True)
class EventsAfter:
    """The events after a seq, in order (at most the limit asked), whether more follow, and
    whether they continue it: False when events right after it are no longer kept."""

    events: list[RoomEvent]
    more: bool
    continuous: bool


def events_after(env_id: str, room_id: str, since: int, limit: int, now: int) -> EventsAfter:
    """One Query of the room's log from after `since` (expired events, which DynamoDB removes
    lazily, are left out as if gone)."""
    with unavailable_on_throttle():
        query = EventItem.query(
            events_pk(env_id, room_id),
            EventItem.sk.between(event_sk(since + 1), event_sk(10**12 - 1)),
            filter_condition=EventItem.ttl.does_not_exist() | (EventItem.ttl > now),
            consistent_read=True,
            limit=limit + 1,
        )
        found = [to_event(item) for item in query]
    more = len(found) > limit
    found = found[:limit]
    continuous = bool(found) and found[0].seq == since + 1  # asked only when some follow it
    return EventsAfter(found, more, continuous)


def to_event(item: EventItem) -> RoomEvent:
    return RoomEvent(
        id=item.event_id,
        env_id=item.env_id,
        room_id=item.room_id,
        type=item.type,
        data=jsontext.stored(item.data),
        created_at=item.created_at,
        expires_at=int(item.ttl or 0),
        seq=int(item.seq or 0),
    )


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

    def number(name: str) -> int:
        value = (image.get(name) or {}).get("N")
        return int(value) if value else 0

    return RoomEvent(
        id=text("event_id"),
        env_id=text("env_id"),
        room_id=text("room_id"),
        type=text("type"),
        data=jsontext.stored(text("data")),
        created_at=text("created_at"),
        expires_at=number("ttl"),
        seq=number("seq"),
    )
