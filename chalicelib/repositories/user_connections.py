"""A user's live WebSocket connections in one environment: the one item the per-user connection
limits count (services/user_limits.py). `$connect` reads it in its one BatchGetItem and rewrites
it in its one transaction; every transaction that removes connection rows removes their entries
too, so the item holds exactly the user's connections. Entries carry their expiry: readers skip
expired ones (sockets API Gateway ended without a `$disconnect`), the next connect drops them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from ..db.models import USER_CONNECTIONS_SK, UserConnectionsItem, user_connections_pk
from .reads import Read

# The item outlives its newest entry by a day (TTL is lazy anyway): a late removal of an entry
# finds the item still there.
ITEM_GRACE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Entry:
    room_id: str
    expires_at: float
    shared: bool  # its connection row is flagged `shared` (the user had another connection)


@dataclass(frozen=True)
class UserConnections:
    """The stored entries (expired ones included) and the version the next write is
    conditioned on (None: no item yet)."""

    env_id: str
    user_id: str
    version: int | None
    entries: Mapping[str, Entry]

    def live(self, now: float) -> dict[str, Entry]:
        return {cid: e for cid, e in self.entries.items() if e.expires_at > now}


def _entry(raw: Any) -> Entry:
    return Entry(room_id=str(raw["r"]), expires_at=float(raw["x"]), shared=bool(raw.get("s")))


def to_state(env_id: str, user_id: str, item: UserConnectionsItem | None) -> UserConnections:
    if item is None:
        return UserConnections(env_id, user_id, None, {})
    conns = item.conns.as_dict() if item.conns is not None else {}
    entries = {str(cid): _entry(raw) for cid, raw in conns.items()}
    return UserConnections(env_id, user_id, int(item.version or 0), entries)


def read(env_id: str, user_id: str) -> Read[UserConnections]:
    """The user's item, for $connect's BatchGetItem (an empty state when absent)."""
    key = (UserConnectionsItem, user_connections_pk(env_id, user_id), USER_CONNECTIONS_SK)
    return Read(key, lambda item: to_state(env_id, user_id, item))


def replace(tx: TransactWrite, before: UserConnections, entries: Mapping[str, Entry]) -> None:
    """Write the item with exactly `entries`, conditioned on the version `before` was read at
    (a concurrent connect or removal of the user's connections cancels the transaction)."""
    newest = max((e.expires_at for e in entries.values()), default=0.0)
    item = UserConnectionsItem(
        user_connections_pk(before.env_id, before.user_id),
        USER_CONNECTIONS_SK,
        conns={
            cid: {"r": e.room_id, "x": e.expires_at, "s": e.shared} for cid, e in entries.items()
        },
        version=(before.version or 0) + 1,
        ttl=int(newest) + ITEM_GRACE_SECONDS,
    )
    if before.version is None:
        tx.save(item, condition=UserConnectionsItem.pk.does_not_exist())
    else:
        tx.save(item, condition=UserConnectionsItem.version == before.version)


def remove(tx: TransactWrite, env_id: str, user_id: str, connection_ids: Iterable[str]) -> None:
    """Remove entries (a connect's version condition then fails, and it reads again). Conditioned
    on the item existing: DynamoDB refuses to remove an entry of a map that is not there."""
    item = UserConnectionsItem(user_connections_pk(env_id, user_id), USER_CONNECTIONS_SK)
    actions = [UserConnectionsItem.conns[cid].remove() for cid in connection_ids]
    tx.update(
        item,
        actions=[*actions, UserConnectionsItem.version.add(1)],
        condition=UserConnectionsItem.conns.exists(),
    )
