"""WebSocket connections in the data table: one transaction writes a connection's three rows
(by id, in its room, in its environment) together with the room's live count (and the room
itself when it is new) and its user's live connections (user_connections.py); readers skip rows
past their expiry. Every transaction that removes rows removes their user entries too."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from .. import jsontext
from ..access import LEGACY_DEFAULT, as_level
from ..db.dynamo import (
    TransactionCancelled,
    is_condition_failure,
    transaction,
    unavailable_on_throttle,
)
from ..db.models import (
    CONNECTION_SK,
    USER_CONNECTIONS_SK,
    ConnectionItem,
    RoomItem,
    connection_pk,
    connection_sk,
    env_connections_pk,
    env_pk,
    room_sk,
    threads_pk,
    user_connections_pk,
)
from ..entities import Connection
from . import stats
from . import user_connections as users
from .reads import Read, fetch
from .records import to_record
from .rooms import RoomState
from .user_connections import Entry, UserConnections
from .users import Revocation, generation_unchanged, user_key

ROOM_PREFIX = "CONN#"


class RoomFull(Exception):
    """The room's live-connection count is at the cap."""


class Changed(Exception):
    """The room, or the user's live connections, changed since they were read: read again."""


@dataclass(frozen=True)
class UserWrite:
    """What a connect changes in its user's live connections: the item as read, the entries to
    store (the live ones and the new one), and the connections whose rows become `shared`."""

    before: UserConnections
    entries: dict[str, Entry]
    flag_shared: tuple[str, ...]


def to_connection(item: ConnectionItem) -> Connection:
    return to_record(
        Connection,
        item,
        presence=_presence(item.presence),
        expires_at=float(item.expires_at),
        tracked=bool(item.tracked),
        shared=bool(item.shared),
        access=as_level(item.access),
        access_fixed=bool(item.access_fixed),
        group_ids=tuple(sorted(item.group_ids or ())),
    )


def _presence(text: str | None) -> dict[str, Any] | None:
    """Stored presence; None for none, and for a row written before non-finite numbers were
    refused (its `Infinity` is not JSON; such rows expire with their connection)."""
    if not text:
        return None
    try:
        value = jsontext.stored(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _rows(c: Connection) -> list[ConnectionItem]:
    base: dict[str, Any] = {
        "id": c.id,
        "env_id": c.env_id,
        "room_id": c.room_id,
        "user_id": c.user_id,
        "name": c.name,
        "avatar": c.avatar,
        "color": c.color,
        "domain_name": c.domain_name,
        "stage": c.stage,
        "publishable_key_id": c.publishable_key_id,
        "secret_key_id": c.secret_key_id,
        "connected_at": c.connected_at,
        "expires_at": c.expires_at,
        "ttl": int(c.expires_at),
        "tracked": c.tracked or None,
        "shared": c.shared or None,
        "access": c.access,
        "access_fixed": c.access_fixed or None,
        "group_ids": set(c.group_ids) or None,
    }
    return [
        ConnectionItem(connection_pk(c.id), CONNECTION_SK, **base),
        ConnectionItem(threads_pk(c.env_id, c.room_id), connection_sk(c.id), **base),
        ConnectionItem(env_connections_pk(c.env_id), connection_sk(c.id), **base),
    ]


def add(
    c: Connection,
    room: RoomState | None,
    *,
    cap: int,
    now_iso: str,
    user: UserWrite | None = None,
    revocation: Revocation | None = None,
    default_access: str = LEGACY_DEFAULT,
) -> None:
    """Store the connection; create the room if `room` is None (granting `default_access`);
    with `user`, rewrite the user's live connections and flag its other connections `shared`;
    with `revocation`, only if the user's tokens were not revoked since it was read. Raises
    RoomFull at the cap, and Changed when the room, the user's connections or its tokens changed
    meanwhile (a room created or deleted, its access changed, a connection of the user added or
    removed concurrently, a revocation: whose sweep of the user's sockets may have run before
    this connection existed)."""
    room_item = RoomItem(env_pk(c.env_id), room_sk(c.room_id))
    try:
        with transaction() as tx:
            if room is None:
                tx.save(
                    RoomItem(
                        env_pk(c.env_id),
                        room_sk(c.room_id),
                        id=c.room_id,
                        metadata="{}",
                        created_at=now_iso,
                        updated_at=now_iso,
                        gen=secrets.token_hex(8),
                        thread_count=0,
                        comment_count=0,
                        connections=1,
                        default_access=default_access,
                    ),
                    condition=RoomItem.pk.does_not_exist(),
                )
                totals = stats.totals(c.env_id, rooms=1)
                tx.update(totals.item, actions=totals.actions)
            else:
                # The level was decided on the access read: it must still be the room's.
                same_access = (
                    RoomItem.access_version == room.access_version
                    if room.access_version
                    else RoomItem.access_version.does_not_exist()
                )
                tx.update(
                    room_item,
                    actions=[RoomItem.connections.add(1)],
                    condition=(RoomItem.gen == room.gen)
                    & same_access
                    & (RoomItem.connections.does_not_exist() | (RoomItem.connections < cap)),
                )
            for row in _rows(c):
                tx.save(row)
            if revocation is not None:
                item = user_key(revocation.env_id, revocation.user_id)
                tx.condition_check(
                    type(item), item.pk, item.sk, condition=generation_unchanged(revocation)
                )
            if user is not None:
                users.replace(tx, user.before, user.entries)
                for sibling in user.flag_shared:
                    tx.update(
                        ConnectionItem(connection_pk(sibling), CONNECTION_SK),
                        actions=[ConnectionItem.shared.set(True)],
                        condition=ConnectionItem.pk.exists(),
                    )
    except TransactionCancelled as exc:
        refused = exc.reason(env_pk(c.env_id), room_sk(c.room_id)) == "ConditionalCheckFailed"
        if room is not None and refused:
            raise RoomFull() from exc
        raise Changed() from exc


def get(connection_id: str) -> Connection | None:
    """The connection by id (consistent), or None."""
    with unavailable_on_throttle():
        try:
            item = ConnectionItem.get(
                connection_pk(connection_id), CONNECTION_SK, consistent_read=True
            )
        except ConnectionItem.DoesNotExist:
            return None
    return to_connection(item)


def hit(connection_id: str, window: int, limit: int) -> tuple[Connection | None, bool]:
    """Count one message in the connection's one-second window and return the connection with
    whether it is within `limit`: one UpdateItem (two when a new window starts)."""
    item = ConnectionItem(connection_pk(connection_id), CONNECTION_SK)
    try:
        with unavailable_on_throttle():
            try:
                item.update(
                    actions=[ConnectionItem.rate_count.add(1)],
                    condition=ConnectionItem.rate_window == window,
                )
            except PynamoDBException as exc:
                if not is_condition_failure(exc):
                    raise
                item.update(
                    actions=[
                        ConnectionItem.rate_window.set(window),
                        ConnectionItem.rate_count.set(1),
                    ],
                    condition=ConnectionItem.pk.exists(),
                )
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return None, False
        raise
    return to_connection(item), int(item.rate_count) <= limit


def room_members(env_id: str, room_id: str, now: float) -> list[Connection]:
    """Live connections of a room (consistent Query; expired rows skipped)."""
    with unavailable_on_throttle():
        items = ConnectionItem.query(
            threads_pk(env_id, room_id),
            ConnectionItem.sk.startswith(ROOM_PREFIX),
            filter_condition=ConnectionItem.expires_at > now,
            consistent_read=True,
        )
        return [to_connection(i) for i in items]


def user_connections_in(env_id: str, user_id: str, now: float) -> list[Connection]:
    """A user's live connections in an environment, whatever the limits tracked (consistent
    Query of the environment's rows, filtered: read capacity grows with the environment's live
    connections, the answer only with the user's)."""
    with unavailable_on_throttle():
        items = ConnectionItem.query(
            env_connections_pk(env_id),
            ConnectionItem.sk.startswith(ROOM_PREFIX),
            filter_condition=(ConnectionItem.expires_at > now)
            & (ConnectionItem.user_id == user_id),
            consistent_read=True,
        )
        return [to_connection(i) for i in items]


def by_ids(connection_ids: Sequence[str]) -> list[Connection]:
    """The rows of these connections that still exist (one BatchGetItem; none for no ids): a
    user's live ones, from the ids their connections item lists, flat in the environment's size."""
    if not connection_ids:
        return []
    rows = [
        Read((ConnectionItem, connection_pk(cid), CONNECTION_SK), _live_or_none)
        for cid in connection_ids
    ]
    got = fetch(rows)
    return [c for c in (got[r] for r in rows) if c is not None]


def _live_or_none(item: ConnectionItem | None) -> Connection | None:
    return to_connection(item) if item is not None else None


def environment_connections(env_id: str, now: float) -> list[Connection]:
    with unavailable_on_throttle():
        items = ConnectionItem.query(
            env_connections_pk(env_id),
            ConnectionItem.sk.startswith(ROOM_PREFIX),
            filter_condition=ConnectionItem.expires_at > now,
            consistent_read=True,
        )
        return [to_connection(i) for i in items]


def set_presence(c: Connection, presence: dict[str, Any]) -> None:
    item = ConnectionItem(threads_pk(c.env_id, c.room_id), connection_sk(c.id))
    with unavailable_on_throttle():
        try:
            item.update(
                actions=[ConnectionItem.presence.set(jsontext.dumps(presence))],
                condition=ConnectionItem.pk.exists(),
            )
        except PynamoDBException as exc:
            if not is_condition_failure(exc):
                raise


def _access_rows(c: Connection) -> tuple[ConnectionItem, ConnectionItem]:
    """The rows that carry a connection's level for readers: by id (its messages) and in its
    room (the room's lists). Its environment row, read only to kick, keeps the level it opened
    with."""
    return (
        ConnectionItem(connection_pk(c.id), CONNECTION_SK),
        ConnectionItem(threads_pk(c.env_id, c.room_id), connection_sk(c.id)),
    )


def set_access(c: Connection, level: str) -> None:
    """A connection's new level on both rows (two UpdateItems); a row already gone stays gone."""
    for item in _access_rows(c):
        with unavailable_on_throttle():
            try:
                item.update(
                    actions=[ConnectionItem.access.set(level)],
                    condition=ConnectionItem.pk.exists(),
                )
            except PynamoDBException as exc:
                if not is_condition_failure(exc):
                    raise


# Two rows a connection: 50 connections fill a transaction's 100 items.
ACCESS_BATCH = 50


def set_access_many(changes: Sequence[tuple[Connection, str]]) -> None:
    """New levels of many connections: one transaction per ACCESS_BATCH (each row conditioned
    on existing, so a gone connection leaves no half row). A batch refused because one of its
    connections went meanwhile is written one connection at a time."""
    for start in range(0, len(changes), ACCESS_BATCH):
        batch = changes[start : start + ACCESS_BATCH]
        if len(batch) == 1:
            set_access(*batch[0])
            continue
        try:
            with transaction() as tx:
                for c, level in batch:
                    for item in _access_rows(c):
                        tx.update(
                            item,
                            actions=[ConnectionItem.access.set(level)],
                            condition=ConnectionItem.pk.exists(),
                        )
        except TransactionCancelled:
            for c, level in batch:
                set_access(c, level)


CONDITION_FAILED = "ConditionalCheckFailed"


def _delete_rows(tx: TransactWrite, c: Connection) -> None:
    """The three rows; the by-id row conditioned on existing (False from `remove` otherwise)."""
    rows = _rows(c)
    tx.delete(rows[0], condition=ConnectionItem.pk.exists())
    for row in rows[1:]:
        tx.delete(row)


def remove(c: Connection) -> bool:
    """Delete the three rows, count the room down and drop the user's entry; False if the rows
    were already gone. A room that is gone (or already at 0), or a user item that is gone, is
    left out on a second try: the rows always go."""
    room, user = True, c.tracked
    room_key = (env_pk(c.env_id), room_sk(c.room_id))
    user_key = (user_connections_pk(c.env_id, c.user_id), USER_CONNECTIONS_SK)
    for _ in range(3):
        try:
            with transaction() as tx:
                _delete_rows(tx, c)
                if room:
                    tx.update(
                        RoomItem(*room_key),
                        actions=[RoomItem.connections.add(-1)],
                        condition=RoomItem.connections > 0,
                    )
                if user:
                    users.remove(tx, c.env_id, c.user_id, [c.id])
            return True
        except TransactionCancelled as exc:
            if exc.reason(connection_pk(c.id), CONNECTION_SK) == CONDITION_FAILED:
                return False
            room = room and exc.reason(*room_key) != CONDITION_FAILED
            user = user and exc.reason(*user_key) != CONDITION_FAILED
    with transaction() as tx:  # still refused (conflicts): the rows at least
        for row in _rows(c):
            tx.delete(row)
    return True


# A transaction holds at most 100 items: per connection its 3 rows and (at most) its user's item,
# and the room's count.
REMOVE_BATCH = 24


def remove_many(gone: Sequence[Connection]) -> list[Connection]:
    """Delete the rows of many connections, count their rooms down and drop their users' entries:
    one transaction per room per REMOVE_BATCH connections. Returns those this call removed (each
    id once). A refused batch (one was already removed, or the room's count is off) is retried
    one connection at a time."""
    rooms: dict[tuple[str, str], dict[str, Connection]] = {}
    for c in gone:
        rooms.setdefault((c.env_id, c.room_id), {}).setdefault(c.id, c)
    removed: list[Connection] = []
    for (env_id, room_id), by_id in rooms.items():
        members = list(by_id.values())
        for start in range(0, len(members), REMOVE_BATCH):
            batch = members[start : start + REMOVE_BATCH]
            if len(batch) == 1:
                removed += [c for c in batch if remove(c)]
                continue
            by_user: dict[str, list[str]] = {}
            for c in batch:
                if c.tracked:
                    by_user.setdefault(c.user_id, []).append(c.id)
            try:
                with transaction() as tx:
                    for c in batch:
                        _delete_rows(tx, c)
                    tx.update(
                        RoomItem(env_pk(env_id), room_sk(room_id)),
                        actions=[RoomItem.connections.add(-len(batch))],
                        condition=RoomItem.connections >= len(batch),
                    )
                    for user_id, connection_ids in by_user.items():
                        users.remove(tx, env_id, user_id, connection_ids)
            except TransactionCancelled:
                removed += [c for c in batch if remove(c)]
            else:
                removed += batch
    return removed


def recount(env_id: str, room_id: str, now: float) -> int:
    """Reset the room's live count to its live rows (heals missed $disconnects)."""
    live = len(room_members(env_id, room_id, now))
    with unavailable_on_throttle():
        try:
            RoomItem(env_pk(env_id), room_sk(room_id)).update(
                actions=[RoomItem.connections.set(live)], condition=RoomItem.pk.exists()
            )
        except PynamoDBException as exc:
            if not is_condition_failure(exc):
                raise
    return live
