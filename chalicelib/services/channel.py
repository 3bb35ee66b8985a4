"""Room fan-out: serialize an event once, push it to the room's live connections, and clean up
the ones API Gateway says are gone (telling the room `user.left`, or one `users.left` for
several). It is the EventSink the services publish to, so REST and WebSocket writes reach sockets
the same way, and the one way anything reaches a socket (the protocol's replies go through
RealtimeService to it).

No frame over API Gateway's 128 KB is ever posted (the post would fail and the client never
learn): a thread in an event sheds embedded comments to fit, a broadcast too large is refused
before anything is read, and a reply or event that still cannot fit goes out as an `error`
(REPLY_TOO_LARGE) the client can act on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .. import codes, jsontext, meter
from ..access import NONE, RoomAccess, TokenAccess, level_for
from ..clock import Clock, parse_iso
from ..entities import Comment, Connection, Endpoint, Thread
from ..errors import PayloadTooLarge
from ..sockets.sender import Delivery
from ..wire import sizing
from ..wire.threads import COMMENT, THREAD, thread_within
from .callers import MemberCaller
from .ports import ConnectionStore

log = logging.getLogger("pulse.channel")

# Room kept in an event's frame for the sender's requestId (1-64 characters, escaped).
REQUEST_ID_RESERVE = 1024


def encode(message: dict[str, Any]) -> bytes:
    return jsontext.dumps(message).encode()


def too_large(message: dict[str, Any], size: int) -> dict[str, Any]:
    """The `error` a client gets instead of a frame that cannot be posted."""
    error = {
        "type": "error",
        "code": codes.REPLY_TOO_LARGE,
        "message": f"A {str(message.get('type'))[:64]} message of {size} bytes could not be "
        f"sent: a WebSocket message is at most {sizing.FRAME_MAX_BYTES} bytes. List again "
        "(threads.list, comments.list) to see the current state.",
    }
    if isinstance(message.get("requestId"), str):
        error["requestId"] = message["requestId"]
    return error


def event_message(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The event's frame. A thread sheds embedded comments until the frame fits (its
    commentsNextCursor continues with them: comments.list)."""
    body: dict[str, Any] = {"type": event_type}
    threads: dict[str, Thread] = {}
    for key, value in payload.items():
        if isinstance(value, Thread):
            threads[key] = value
            body[key] = None
        elif isinstance(value, Comment):
            body[key] = COMMENT.dump(value)
        else:
            body[key] = value
    for key, thread in threads.items():
        budget = sizing.FRAME_MAX_BYTES - sizing.size(body) - REQUEST_ID_RESERVE
        body[key] = thread_within(thread, budget) or THREAD.dump(thread)
    return body


def departures(left: list[Connection]) -> list[bytes]:
    """The frames that tell a room `left` are gone: `user.left` {connectionId, userId} for one
    (as it always was: clients rely on it), else `users.left` {left: [...]} naming them all,
    split only where one frame would pass API Gateway's 128 KB."""
    named = [{"connectionId": c.id, "userId": c.user_id} for c in left]
    if len(named) == 1:
        return [encode({"type": "user.left", **named[0]})]
    envelope: dict[str, Any] = {"type": "users.left", "left": []}
    budget = sizing.FRAME_MAX_BYTES - sizing.size(envelope) + 2  # the empty list's [] counted
    return [encode({**envelope, "left": run}) for run in sizing.chunks(named, budget) if run]


class FrameTooLarge(PayloadTooLarge):
    """A message for the room is over what API Gateway posts to a connection."""

    code = codes.EVENT_TOO_LARGE

    def __init__(self, message: dict[str, Any], size: int) -> None:
        super().__init__(
            f"This {str(message.get('type'))[:64]} message would be {size} bytes as JSON; a "
            f"WebSocket message is at most {sizing.FRAME_MAX_BYTES} bytes.",
            suggestion="Send less: a broadcast event must fit with its envelope in 128 KB.",
        )
        self.size = size


class Sender(Protocol):
    """What reaches sockets: API Gateway's Management API (sockets/sender.py), or a test's fake."""

    def post(self, c: Connection | Endpoint, data: bytes) -> str:
        """ "ok", "gone" (410) or "failed"."""

    def post_many(self, targets: list[Connection], data: bytes) -> Delivery: ...

    def gone_of(self, targets: list[Connection]) -> list[Connection]: ...

    def close(self, c: Connection) -> None: ...


def _count_pushes(targets: Sequence[Connection], data: bytes) -> None:
    """Each post is a message API Gateway bills (per 32 KB): counted for the usage analytics."""
    if targets:
        env_id = targets[0].env_id
        meter.count(env_id, "pushesOut", len(targets))
        meter.count(env_id, "pushUnitsOut", len(targets) * meter.units(len(data)))


class RoomChannel:
    def __init__(
        self,
        api: Sender,
        clock: Clock,
        connections: ConnectionStore,
        on_removed: Callable[[Sequence[Connection]], None] | None = None,
        settle_seconds: int = 30,
    ) -> None:
        self.settle_seconds = settle_seconds  # see _settled
        self.connections = connections
        self.api = api
        self.clock = clock
        self.on_removed = on_removed  # told of every connection removed (the usage meter)

    def members(self, env_id: str, room_id: str) -> list[Connection]:
        return self.connections.room_members(env_id, room_id, self.clock.now())

    def publish(
        self,
        env_id: str,
        room_id: str,
        event_type: str,
        payload: dict[str, Any],
        origin: MemberCaller | None = None,
    ) -> None:
        """EventSink: every live connection of the room gets the event, the sender included.
        `room.deleted` then closes them: the room they were in no longer exists.

        Never raises: the change it announces is committed. The member whose message made the
        change (`origin`) gets its copy first, echoing its requestId: its acknowledgement, so it
        never retries a write that happened, whatever becomes of the rest. If the room's
        connections cannot be read, or the fan-out dies half way, the others see the change when
        they next list (docs/protocol.md)."""
        message = event_message(event_type, payload)
        try:
            if origin is not None:
                self._ack(origin, message)
            members = self.members(env_id, room_id)
            mine = origin.connection.id if origin is not None else None
            try:
                self.send(env_id, room_id, message, exclude=mine, members=members)
            except FrameTooLarge as exc:  # the others are told, to list again
                log.error("event too large to send", extra={"roomId": room_id, "type": event_type})
                notice = too_large(message, exc.size)
                if "seq" in message:  # the change they missed: a client knows its order moved
                    notice["seq"] = message["seq"]
                self.send(env_id, room_id, notice, exclude=mine, members=members)
            if event_type == "room.deleted" and members:
                for c in members:
                    self.api.close(c)
                self._forget(members)
        except Exception:
            log.exception("fan-out failed; the change is committed", extra={"roomId": room_id})

    def send(
        self,
        env_id: str,
        room_id: str,
        message: dict[str, Any],
        *,
        exclude: str | None = None,
        members: list[Connection] | None = None,
    ) -> None:
        """Raises FrameTooLarge, before anything is read, for a message no connection could be
        sent."""
        data = self.frame(message)
        targets = [
            c
            for c in (members if members is not None else self.members(env_id, room_id))
            if c.id != exclude
        ]
        self._deliver(targets, data)

    @staticmethod
    def frame(message: dict[str, Any]) -> bytes:
        """The message as a frame; FrameTooLarge past API Gateway's limit."""
        data = encode(message)
        if len(data) > sizing.FRAME_MAX_BYTES:
            raise FrameTooLarge(message, len(data))
        return data

    def to(self, c: Connection | Endpoint, message: dict[str, Any]) -> bool:
        """One frame to one socket; False (and a known connection cleaned up) when it is gone. A
        message too large to post goes as a REPLY_TOO_LARGE `error` (with its requestId)."""
        try:
            data = self.frame(message)
        except FrameTooLarge as exc:
            log.error("reply too large to send", extra={"type": str(message.get("type"))[:64]})
            data = encode(too_large(message, exc.size))
        result = self.api.post(c, data)
        if isinstance(c, Connection):
            _count_pushes([c], data)
            if result == "gone":
                self._forget([c])
        return result == "ok"

    def _ack(self, origin: MemberCaller, message: dict[str, Any]) -> None:
        request_id = origin.request_id
        self.to(origin.connection, {**message, "requestId": request_id} if request_id else message)

    def _deliver(self, targets: list[Connection], data: bytes) -> None:
        if not targets:
            return
        delivery = self.api.post_many(targets, data)
        _count_pushes(targets, data)
        if delivery.gone:
            self._forget(delivery.gone)

    def _forget(self, gone: list[Connection]) -> None:
        """drop(), best-effort: a delivery never fails for the cleanup after it. Rows left
        behind are found gone again by the next fan-out, and expire anyway."""
        try:
            self.drop(self._settled(gone))
        except Exception:
            log.exception("gone connections not removed", extra={"count": len(gone)})

    def _settled(self, gone: list[Connection]) -> list[Connection]:
        """Of connections a post found gone, those past their `$connect`: API Gateway answers
        410 to a post until `$connect` has returned, and the rows are written before it returns,
        so a fan-out in between would remove a connection that is about to open (its first
        message then answered NOT_CONNECTED). A young one that is really gone is removed by its
        `$disconnect`, or by a fan-out once it is older (`settle_seconds`: 30 on a stage, API
        Gateway's integration timeout, which no `$connect` outlives)."""
        settled_before = self.clock.now() - self.settle_seconds
        return [c for c in gone if parse_iso(c.connected_at) <= settled_before]

    def drop(self, gone: list[Connection]) -> None:
        """Remove connections whose sockets are gone and tell their rooms: the rows go in
        batches (one transaction per room per REMOVE_BATCH), each room's survivors are read once
        and get one frame naming all of the room's departures (`departures`), so G connections
        leaving a room of N cost N - G posts, not G x (N - G). One found gone while announcing
        is dropped (and announced) in turn; each row is removed once, so this ends."""
        rooms: dict[tuple[str, str], list[Connection]] = {}
        removed = self.connections.remove_many(gone)
        if removed and self.on_removed is not None:
            self.on_removed(removed)
        for c in removed:
            rooms.setdefault((c.env_id, c.room_id), []).append(c)
        found_gone: list[Connection] = []
        for (env_id, room_id), left in rooms.items():
            left_ids = {c.id for c in left}
            survivors = [m for m in self.members(env_id, room_id) if m.id not in left_ids]
            for data in departures(left):
                if not survivors:
                    break
                delivery = self.api.post_many(survivors, data)
                _count_pushes(survivors, data)
                if delivery.gone:
                    dead = {d.id for d in delivery.gone}
                    survivors = [m for m in survivors if m.id not in dead]
                    found_gone += delivery.gone
        found_gone = self._settled(found_gone)
        if found_gone:
            self.drop(found_gone)

    def access_changed(
        self,
        env_id: str,
        room_id: str,
        grants: RoomAccess,
        then: tuple[str, dict[str, Any]] | None = None,
    ) -> tuple[int, int]:
        """Re-evaluate the room's open connections against what it now grants (an access
        token's connections keep theirs: it decides alone). One whose level changes has it
        stored (the rows its next message and its room's lists read: one transaction per 50
        connections) and then gets `access.changed`; one whose
        level becomes `none` gets `access.changed` `none`, so that its client can say why, has
        its rows removed (the room told once: `user.left`, or `users.left` for several), and is
        closed. `then` (an event's type
        and payload) goes to the others after. Never raises (the change is
        committed); returns (changed, closed)."""
        try:
            members = self.members(env_id, room_id)
            moved: dict[str, list[Connection]] = {}
            for c in members:
                if c.access_fixed:
                    continue
                level = level_for(TokenAccess(c.user_id, c.group_ids), room_id, grants)
                if level != c.access:
                    moved.setdefault(level, []).append(c)
            closing = moved.pop(NONE, [])
            changes = [(c, new) for new, targets in moved.items() for c in targets]
            if changes:
                self.connections.set_access_many(changes)
            for new, targets in moved.items():
                self._deliver(targets, encode({"type": "access.changed", "access": new}))
            self.hang_up(closing, {"type": "access.changed", "access": NONE})
            if then is not None:  # the change itself, to those still in the room (same read)
                gone = {c.id for c in closing}
                self._deliver(
                    [c for c in members if c.id not in gone], encode(event_message(*then))
                )
            return sum(len(t) for t in moved.values()), len(closing)
        except Exception:
            log.exception("access re-evaluation failed", extra={"roomId": room_id})
            return 0, 0

    def forget_closed(self, candidates: list[Connection]) -> list[Connection]:
        """Ask API Gateway which of `candidates` are closed (their `$disconnect` never ran),
        remove those and tell their rooms: the ones removed."""
        gone = self.api.gone_of(candidates) if candidates else []
        if gone:
            self.drop(gone)
        return gone

    def kick(self, env_id: str, key_ids: set[str] | None) -> int:
        """Close every live connection of the environment opened with one of `key_ids` (a pk_,
        or the sk_ that minted its token); all of them when `key_ids` is None."""
        now = self.clock.now()
        doomed = [
            c
            for c in self.connections.environment_connections(env_id, now)
            if key_ids is None or c.publishable_key_id in key_ids or c.secret_key_id in key_ids
        ]
        return self.hang_up(doomed)

    def hang_up(self, doomed: list[Connection], why: dict[str, Any] | None = None) -> int:
        """Close `doomed`, each told `why` first (a frame it receives before its socket closes):
        how many. Rows first (each room told once, one frame naming them all), then `why`, then
        the sockets: each close runs a `$disconnect`, which then finds nothing to do, instead of
        telling the room once per closed socket while the others are still in it (100 closes:
        ~5,000 posts; now one per survivor). `why` goes after the rows so that a client closing
        its socket on reading it cannot race its `$disconnect` into the batch (which would then
        be announced one departure at a time)."""
        if not doomed:
            return 0
        self.drop(doomed)
        if why is not None:
            frame = encode(why)
            self.api.post_many(doomed, frame)  # a gone one is already removed
            _count_pushes(doomed, frame)
        for c in doomed:
            self.api.close(c)
        return len(doomed)
