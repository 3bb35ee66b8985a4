"""Per-user connection limits of the WebSocket API, so that one user cannot take a room: live
connections per room and per environment, decided at `$connect` from the user's live
connections (repositories/user_connections.py), which ride in its one BatchGetItem and are
rewritten in its one transaction. (The per-user message rate is counted in services/limits.py.)

A user is a token's `sub` in its environment: the limits hold whatever the number of tokens,
keys or addresses behind it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import codes
from ..config import Settings
from ..entities import Connection
from ..errors import RateLimited
from ..repositories.connections import UserWrite
from ..repositories.user_connections import Entry, UserConnections

# At a refusal: when one of the user's connections might close (a tab the user closes, or a
# socket API Gateway ends), not knowable; clients back off anyway.
RETRY_AFTER_SECONDS = 30
# A connect flags the user's other connections `shared`; by construction at most one is not yet
# (once a user has two connections, all are). A bound keeps the transaction small regardless.
MAX_FLAGS = 10


def too_many_in_room(limit: int) -> RateLimited:
    return RateLimited(
        f"This user already has {limit} live connections in this room, the most one user may hold.",
        retry_after=RETRY_AFTER_SECONDS,
        code=codes.TOO_MANY_ROOM_CONNECTIONS,
    )


def too_many_in_environment(limit: int) -> RateLimited:
    return RateLimited(
        f"This user already has {limit} live connections in this environment, the most one "
        "user may hold.",
        retry_after=RETRY_AFTER_SECONDS,
        code=codes.TOO_MANY_CONNECTIONS,
    )


def tracking(settings: Settings) -> bool:
    """Whether connections are entered in their user's item (either connection limit is on)."""
    return bool(settings.user_connections_per_room or settings.user_connections_per_env)


@dataclass(frozen=True)
class Over:
    """A connect the user's limits refuse, and the live connections that fill the limit (the
    service asks API Gateway whether they are still open before refusing)."""

    error: RateLimited
    counted: tuple[tuple[str, str], ...]  # (connection id, room id)


@dataclass(frozen=True)
class Admitted:
    connection: Connection  # tracked, and `shared` when the user has another live connection
    write: UserWrite


def admit(settings: Settings, user: UserConnections, c: Connection, now: float) -> Admitted | Over:
    """Count the user's live connections (expired entries are sockets API Gateway has ended)
    and either refuse, or say what the connect writes."""
    # The connection being admitted is never its own sibling: a connect stored by a transaction
    # whose answer was lost, and handled again, would otherwise count against itself and be
    # written and flagged in one transaction, which DynamoDB refuses.
    live = {cid: e for cid, e in user.live(now).items() if cid != c.id}
    everywhere = tuple((cid, e.room_id) for cid, e in live.items())
    in_room = tuple((cid, room_id) for cid, room_id in everywhere if room_id == c.room_id)
    per_room, per_env = settings.user_connections_per_room, settings.user_connections_per_env
    if per_room and len(in_room) >= per_room:
        return Over(too_many_in_room(per_room), in_room)
    if per_env and len(everywhere) >= per_env:
        return Over(too_many_in_environment(per_env), everywhere)
    # With another live connection, each of the user's connections counts its messages against
    # the user's rate too (services/limits.py); a user's only connection needs no such count.
    shared = bool(live)
    flag = tuple(cid for cid, e in live.items() if not e.shared)[:MAX_FLAGS]
    entries = {cid: replace(e, shared=e.shared or cid in flag) for cid, e in live.items()}
    entries[c.id] = Entry(room_id=c.room_id, expires_at=c.expires_at, shared=shared)
    return Admitted(
        connection=replace(c, tracked=True, shared=shared),
        write=UserWrite(before=user, entries=entries, flag_shared=flag),
    )
