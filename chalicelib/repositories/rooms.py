"""Rooms, threads and comments in the data table, each write in one transaction with its counters.

Deletes of a room or thread are one transaction over the parent and the counters (conditioned on
the counts it subtracts, so they stay exact under concurrent writes); the children are purged
afterwards, best-effort, and are invisible from the moment the transaction commits. A room's
delete also notes its generation in the room's purge item, which the purge removes last, so a
purge that died is finished by the next DELETE of the room."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from .. import cursors, ids, jsontext
from ..access import NONE, Level, RoomAccess, as_level
from ..db.dynamo import (
    TransactionCancelled,
    transaction,
    unavailable_on_throttle,
)
from ..db.models import (
    CommentItem,
    ReactionItem,
    RoomGrantItem,
    RoomItem,
    RoomPurgeItem,
    ThreadItem,
    ThreadPurgeItem,
    comment_sk,
    comments_pk,
    env_pk,
    grant_pk,
    purge_sk,
    reaction_sk,
    room_sk,
    thread_purge_sk,
    thread_sk,
    threads_pk,
)
from ..entities import Comment, Page, Reaction, Room, RoomEvent, Thread
from ..validation import is_room_id
from . import attachments, events, stats
from .pages import BASE_KEY, QueryPage, query_page
from .reads import Read, absent, fetch
from .records import to_record
from .stats import Change

log = logging.getLogger("pulse.rooms")


@dataclass(frozen=True)
class RoomState:
    room: Room
    gen: str
    thread_count: int
    comment_count: int
    access_version: int = 0  # moves with every change of the room's access

    @property
    def access(self) -> RoomAccess:
        r = self.room
        return RoomAccess(r.default_access, r.users_access, r.groups_access)


@dataclass(frozen=True)
class Changed:
    """A room whose access changed, and the event that says so (with its seq)."""

    state: RoomState
    event: RoomEvent


@dataclass(frozen=True)
class ThreadState:
    thread: Thread
    room_gen: str


# --- conversions and reads -------------------------------------------------------------------


def to_room_state(item: RoomItem) -> RoomState:
    room = to_record(
        Room,
        item,
        metadata=jsontext.stored(item.metadata),
        default_access=as_level(item.default_access),
        users_access=_levels(item.users_access),
        groups_access=_levels(item.groups_access),
    )
    return RoomState(
        room,
        item.gen,
        int(item.thread_count or 0),
        int(item.comment_count or 0),
        int(item.access_version or 0),
    )


def _levels(text: str | None) -> dict[str, Level]:
    """A stored id -> level map (absent: empty)."""
    if not text:
        return {}
    stored = jsontext.stored(text)
    return {k: as_level(v, NONE) for k, v in stored.items()} if isinstance(stored, dict) else {}


def levels_text(levels: dict[str, Level]) -> str | None:
    return jsontext.dumps(levels, sort_keys=True) if levels else None


def to_thread_state(item: ThreadItem) -> ThreadState:
    thread = to_record(
        Thread,
        item,
        metadata=jsontext.stored(item.metadata),
        resolved=bool(item.resolved),
        comment_count=int(item.comment_count or 0),
    )
    return ThreadState(thread, item.room_gen)


def to_comment(item: CommentItem) -> Comment:
    mentions = tuple(jsontext.stored(item.mentions)) if item.mentions else ()
    return to_record(
        Comment,
        item,
        reactions=reactions_of(item.reactions),
        mentions=mentions,
        attachments=attachments.from_stored(item.attachments),
    )


def reactions_of(text: str | None) -> tuple[Reaction, ...]:
    if not text:
        return ()
    return tuple(
        Reaction(r["emoji"], int(r["count"]), tuple(r["userIds"])) for r in jsontext.stored(text)
    )


def reactions_text(reactions: Sequence[Reaction]) -> str | None:
    """The stored form of a summary (None: no reactions). Deterministic: a change is conditioned
    on the text it replaces."""
    if not reactions:
        return None
    return jsontext.dumps(
        [{"emoji": r.emoji, "count": r.count, "userIds": list(r.user_ids)} for r in reactions]
    )


def room_read(env_id: str, room_id: str) -> Read[RoomState | None]:
    convert = _room_or_none
    if not is_room_id(room_id):
        return absent(convert)
    return Read((RoomItem, env_pk(env_id), room_sk(room_id)), convert)


def purge_read(env_id: str, room_id: str) -> Read[set[str]]:
    """The generations of the room whose threads a purge has not finished (an empty set)."""

    def convert(item: RoomPurgeItem | None) -> set[str]:
        return set(item.gens or ()) if item else set()

    if not is_room_id(room_id):
        return absent(convert)
    return Read((RoomPurgeItem, env_pk(env_id), purge_sk(room_id)), convert)


def thread_read(env_id: str, room_id: str, thread_id: str) -> Read[ThreadState | None]:
    convert = _thread_or_none
    if not is_room_id(room_id) or not ids.raw_part(thread_id, "th"):
        return absent(convert)
    return Read((ThreadItem, threads_pk(env_id, room_id), thread_sk(thread_id)), convert)


def comment_read(env_id: str, thread_id: str, comment_id: str) -> Read[Comment | None]:
    convert = _comment_or_none
    if not ids.raw_part(thread_id, "th") or not ids.raw_part(comment_id, "cm"):
        return absent(convert)
    return Read((CommentItem, comments_pk(env_id, thread_id), comment_sk(comment_id)), convert)


def _room_or_none(item: RoomItem | None) -> RoomState | None:
    return to_room_state(item) if item else None


def _thread_or_none(item: ThreadItem | None) -> ThreadState | None:
    return to_thread_state(item) if item else None


def _comment_or_none(item: CommentItem | None) -> Comment | None:
    return to_comment(item) if item else None


def _dump(metadata: dict[str, Any]) -> str:
    return jsontext.dumps(metadata, sort_keys=True)


def _writes(
    changes: list[Change],
    puts: Sequence[tuple[Any, Any]] = (),
    deletes: Sequence[tuple[Any, Any]] = (),
) -> Callable[[TransactWrite], None]:
    def write(tx: TransactWrite) -> None:
        for item, condition in puts:
            tx.save(item, condition=condition)
        for item, condition in deletes:
            tx.delete(item, condition=condition)
        for change in changes:
            tx.update(change.item, actions=change.actions, condition=change.condition)

    return write


def _run(
    changes: list[Change],
    puts: Sequence[tuple[Any, Any]] = (),
    deletes: Sequence[tuple[Any, Any]] = (),
) -> bool:
    """One transaction; False when a condition failed (the caller re-reads and decides)."""
    try:
        with transaction() as tx:
            _writes(changes, puts, deletes)(tx)
    except TransactionCancelled:
        return False
    return True


def _change(
    event: RoomEvent,
    changes: list[Change],
    puts: Sequence[tuple[Any, Any]] = (),
    deletes: Sequence[tuple[Any, Any]] = (),
) -> RoomEvent | None:
    """A change of the room with its event, in one transaction: the event as committed (with its
    seq), or None when a condition failed (the caller re-reads and decides)."""
    return events.commit(_writes(changes, puts, deletes), event)


# --- rooms -----------------------------------------------------------------------------------


def list_rooms(env_id: str, *, limit: int, cursor: str | None, secret: bytes) -> Page[Room]:
    def query(**kwargs: Any) -> Any:
        return RoomItem.query(env_pk(env_id), RoomItem.sk.startswith("ROOM#"), **kwargs)

    return query_page(
        query, limit=limit, cursor=cursor, scope=f"rooms:{env_id}", secret=secret
    ).page(lambda i: to_room_state(i).room)


def create_room(env_id: str, room: Room, gen: str) -> bool:
    """False when a room with this id exists."""
    item = RoomItem(
        env_pk(env_id),
        room_sk(room.id),
        id=room.id,
        metadata=_dump(room.metadata),
        created_at=room.created_at,
        updated_at=room.updated_at,
        gen=gen,
        thread_count=0,
        comment_count=0,
        default_access=room.default_access,
        users_access=levels_text(room.users_access),
        groups_access=levels_text(room.groups_access),
    )
    grants = [(g, None) for g in _grant_items(env_id, room.id, _entries(room))]
    return _run(
        [stats.totals(env_id, rooms=1)], puts=[(item, RoomItem.pk.does_not_exist()), *grants]
    )


# --- room access and its index -----------------------------------------------------------------

USER, GROUP = "U", "G"  # the two kinds of grant holder (db/models.grant_pk)


def _entries(room: Room) -> dict[tuple[str, str], str]:
    """(kind, holder) -> level of each entry of the room's maps."""
    found: dict[tuple[str, str], str] = {(USER, u): lv for u, lv in room.users_access.items()}
    found.update({(GROUP, g): level for g, level in room.groups_access.items()})
    return found


def _grant_items(
    env_id: str, room_id: str, entries: dict[tuple[str, str], str]
) -> list[RoomGrantItem]:
    return [
        RoomGrantItem(
            grant_pk(env_id, kind, holder), room_sk(room_id), room_id=room_id, level=level
        )
        for (kind, holder), level in entries.items()
    ]


def change_access(env_id: str, state: RoomState, after: Room, event: RoomEvent) -> Changed | None:
    """Write the room's access (and metadata) as `after` has them, with the index items of the
    entries that changed and the change's event, in one transaction conditioned on the room
    being the one read (its gen and access version). None when it changed meanwhile (the caller
    reads it again)."""
    before = _entries(state.room)
    now = _entries(after)
    put = {k: v for k, v in now.items() if before.get(k) != v}
    gone = [k for k in before if k not in now]
    version = state.access_version + 1
    same = (
        RoomItem.access_version == state.access_version
        if state.access_version
        else RoomItem.access_version.does_not_exist()
    )
    actions = [
        RoomItem.metadata.set(_dump(after.metadata)),
        RoomItem.updated_at.set(after.updated_at),
        RoomItem.default_access.set(after.default_access),
        RoomItem.access_version.set(version),
        _set_or_remove(RoomItem.users_access, levels_text(after.users_access)),
        _set_or_remove(RoomItem.groups_access, levels_text(after.groups_access)),
    ]

    def write(tx: TransactWrite) -> None:
        tx.update(
            RoomItem(env_pk(env_id), room_sk(after.id)),
            actions=actions,
            condition=(RoomItem.gen == state.gen) & same,
        )
        for item in _grant_items(env_id, after.id, put):
            tx.save(item)
        for kind, holder in gone:
            tx.delete(RoomGrantItem(grant_pk(env_id, kind, holder), room_sk(after.id)))

    committed = events.commit(write, event)
    if committed is None:
        return None
    return Changed(
        RoomState(after, state.gen, state.thread_count, state.comment_count, version), committed
    )


def _set_or_remove(attribute: Any, value: str | None) -> Any:
    return attribute.set(value) if value is not None else attribute.remove()


def purge_grants(env_id: str, room: Room) -> None:
    """Best-effort, after a room delete: its index items (a listing checks each room it finds,
    so any left behind show nothing)."""
    try:
        with RoomGrantItem.batch_write() as batch:
            for item in _grant_items(env_id, room.id, _entries(room)):
                batch.delete(item)
    except Exception:
        log.warning("room grants not purged; listings skip them", extra={"roomId": room.id})


def list_granted(
    env_id: str,
    user_id: str | None,
    group_ids: Sequence[str],
    *,
    limit: int,
    cursor: str | None,
    secret: bytes,
) -> Page[Room]:
    """Rooms whose entries name the user or one of the groups, in room id order: one Query of
    each holder's index partition (from after the cursor's room, limit + 1 items) and one
    BatchGetItem of the rooms found, whatever the environment holds. A room is kept only if it
    names them still (index items of a deleted room linger until purged)."""
    holders = ([(USER, user_id)] if user_id is not None else []) + [(GROUP, g) for g in group_ids]
    scope = "granted:" + env_id + ":" + jsontext.dumps(sorted(holders))
    start = str(cursors.decode(secret, scope, cursor).get("after", "")) if cursor else ""
    found: set[str] = set()
    with unavailable_on_throttle():
        for kind, holder in holders:
            condition = RoomGrantItem.sk > room_sk(start) if start else None
            query = RoomGrantItem.query(
                grant_pk(env_id, kind, holder),
                condition,
                limit=limit + 1,
                consistent_read=True,
                attributes_to_get=["pk", "sk", "room_id"],
            )
            found.update(i.room_id for i in query)
    ids_in_order = sorted(found)[: limit + 1]
    more = len(ids_in_order) > limit
    ids_in_order = ids_in_order[:limit]
    reads = [room_read(env_id, r) for r in ids_in_order]
    got = fetch(reads)
    rooms = [
        state.room
        for read in reads
        if (state := got[read]) is not None and state.access.names(user_id, list(group_ids))
    ]

    def after(index: int) -> str:
        last = rooms[index].id if index >= 0 else start
        return cursors.encode(secret, scope, {"after": last})

    next_cursor = cursors.encode(secret, scope, {"after": ids_in_order[-1]}) if more else None
    return Page(rooms, next_cursor, after)


def update_room(
    env_id: str, room_id: str, metadata: dict[str, Any], now_iso: str, event: RoomEvent
) -> RoomEvent | None:
    """The metadata and its event in one transaction; None when the room is gone."""
    item = RoomItem(env_pk(env_id), room_sk(room_id))
    actions = [RoomItem.metadata.set(_dump(metadata)), RoomItem.updated_at.set(now_iso)]
    return _change(event, [Change(item, actions, RoomItem.pk.exists())])


def delete_room(env_id: str, state: RoomState, event: RoomEvent) -> RoomEvent | None:
    """Remove the room and subtract exactly what it held; None if it changed meanwhile. A room
    with threads leaves its gen in the purge item until purge_room has removed them."""
    item = RoomItem(env_pk(env_id), room_sk(state.room.id))
    condition = (
        (RoomItem.gen == state.gen)
        & (RoomItem.thread_count == state.thread_count)
        & (RoomItem.comment_count == state.comment_count)
    )
    changes = [
        stats.totals(env_id, rooms=-1, threads=-state.thread_count, comments=-state.comment_count)
    ]
    if state.thread_count:
        pending = RoomPurgeItem(env_pk(env_id), purge_sk(state.room.id))
        changes.append(Change(pending, [RoomPurgeItem.gens.add({state.gen})]))
    return _change(event, changes, deletes=[(item, condition)])


def purge_room(env_id: str, room_id: str, gens: set[str]) -> bool:
    """Delete the threads (and their comments) of deleted room generations, then the purge item
    that remembered them. Best-effort: False (logged) if it stopped; the purge item then stays,
    and the next DELETE of the room calls this again. A thread goes only after its comments."""
    try:
        threads = ThreadItem.query(
            threads_pk(env_id, room_id),
            ThreadItem.sk.startswith("THREAD#"),
            filter_condition=ThreadItem.room_gen.is_in(*sorted(gens)),
        )
        with ThreadItem.batch_write() as batch:
            for thread in threads:
                _purge_comments(env_id, thread.id)
                batch.delete(thread)
            batch.delete(RoomPurgeItem(env_pk(env_id), purge_sk(room_id)))
    except Exception:
        log.warning("room purge incomplete; the next delete finishes it", extra={"roomId": room_id})
        return False
    return True


# --- threads ---------------------------------------------------------------------------------


def list_threads(
    env_id: str,
    room: RoomState,
    resolved: bool | None,
    *,
    limit: int,
    cursor: str | None,
    secret: bytes,
) -> Page[Thread]:
    condition = ThreadItem.room_gen == room.gen
    if resolved is not None:
        condition &= ThreadItem.resolved == resolved

    def query(**kwargs: Any) -> Any:
        return ThreadItem.query(
            threads_pk(env_id, room.room.id),
            ThreadItem.sk.startswith("THREAD#"),
            filter_condition=condition,
            scan_index_forward=False,
            **kwargs,
        )

    scope = f"threads:{env_id}:{room.room.id}:{room.gen}:{resolved}"
    return query_page(
        query, limit=limit, cursor=cursor, scope=scope, secret=secret, filtered=True
    ).page(lambda i: to_thread_state(i).thread)


def _comment_item(env_id: str, c: Comment) -> CommentItem:
    return CommentItem(
        comments_pk(env_id, c.thread_id),
        comment_sk(c.id),
        id=c.id,
        thread_id=c.thread_id,
        room_id=c.room_id,
        user_id=c.user_id,
        body=c.body,
        created_at=c.created_at,
        edited_at=c.edited_at,
        mentions=_mentions_text(c.mentions),
        attachments=attachments.stored_text(c.attachments),
    )


def _mentions_text(mentions: Sequence[str]) -> str | None:
    return jsontext.dumps(list(mentions)) if mentions else None


def _room_counts(env_id: str, room: RoomState, *, threads: int, comments: int) -> Change:
    item = RoomItem(env_pk(env_id), room_sk(room.room.id))
    actions = []
    if threads:
        actions.append(RoomItem.thread_count.add(threads))
    if comments:
        actions.append(RoomItem.comment_count.add(comments))
    return Change(item, actions, RoomItem.gen == room.gen)


def create_thread(
    env_id: str,
    room: RoomState,
    thread: Thread,
    first: Comment,
    today: str,
    event: RoomEvent,
    claims: Sequence[Change] = (),
) -> RoomEvent | None:
    """Thread + first comment + counters (+ the claims of its attachments); None if the room is
    gone (or was re-created) or an attachment was claimed meanwhile."""
    item = ThreadItem(
        threads_pk(env_id, room.room.id),
        thread_sk(thread.id),
        id=thread.id,
        room_id=room.room.id,
        room_gen=room.gen,
        resolved=thread.resolved,
        metadata=_dump(thread.metadata),
        created_at=thread.created_at,
        updated_at=thread.updated_at,
        created_by=thread.created_by,
        comment_count=1,
    )
    return _change(
        event,
        [
            _room_counts(env_id, room, threads=1, comments=1),
            stats.totals(env_id, threads=1, comments=1),
            stats.daily(env_id, today, comments=1),
            *claims,
        ],
        puts=[
            (item, ThreadItem.pk.does_not_exist()),
            (_comment_item(env_id, first), CommentItem.pk.does_not_exist()),
        ],
    )


def update_thread(
    env_id: str,
    state: ThreadState,
    *,
    resolved: bool | None,
    metadata: dict[str, Any] | None,
    now_iso: str,
    event: RoomEvent,
) -> RoomEvent | None:
    """The thread and its event in one transaction; None when the thread is gone."""
    t = state.thread
    item = ThreadItem(threads_pk(env_id, t.room_id), thread_sk(t.id))
    actions: list[Any] = [ThreadItem.updated_at.set(now_iso)]
    if resolved is not None:
        actions.append(ThreadItem.resolved.set(resolved))
    if metadata is not None:
        actions.append(ThreadItem.metadata.set(_dump(metadata)))
    return _change(event, [Change(item, actions, ThreadItem.room_gen == state.room_gen)])


def delete_thread(
    env_id: str,
    room: RoomState,
    state: ThreadState,
    event: RoomEvent,
    files: list[str] | None = None,
) -> RoomEvent | None:
    """Thread + counters in one transaction (its comments purged after); None if it changed.
    `files` gets the attachment ids of the comments purged (their files go next)."""
    t = state.thread
    item = ThreadItem(threads_pk(env_id, t.room_id), thread_sk(t.id))
    condition = (ThreadItem.room_gen == state.room_gen) & (
        ThreadItem.comment_count == t.comment_count
    )
    # Its purge is pending until the purge deletes this marker with its last comments: a purge
    # that dies is finished by the retention job (services/retention.py).
    marker = ThreadPurgeItem(
        env_pk(env_id), thread_purge_sk(t.id), room_id=t.room_id, thread_id=t.id
    )
    ok = _change(
        event,
        [
            _room_counts(env_id, room, threads=-1, comments=-t.comment_count),
            stats.totals(env_id, threads=-1, comments=-t.comment_count),
        ],
        puts=[(marker, None)],
        deletes=[(item, condition)],
    )
    if ok is not None:
        found = purge_comments(env_id, t.id)
        if files is not None:
            files.extend(found or ())
    return ok


def purge_comments(env_id: str, thread_id: str) -> list[str]:
    """Best-effort: the comments of a deleted thread are invisible whether or not this ends.
    The attachment ids of the comments it removed."""
    found: list[str] = []
    try:
        _purge_comments(env_id, thread_id, found, marker=True)
    except Exception:
        log.warning(
            "comment purge incomplete; leftovers are invisible", extra={"threadId": thread_id}
        )
    return found


def _purge_comments(
    env_id: str, thread_id: str, files: list[str] | None = None, *, marker: bool = False
) -> None:
    """The thread's partition (comments, reactions), then its purge marker (`marker`: a thread
    delete put one), in the last batch."""
    comments = CommentItem.query(
        comments_pk(env_id, thread_id), attributes_to_get=["pk", "sk", "attachments"]
    )
    with CommentItem.batch_write() as batch:
        for comment in comments:
            if files is not None:
                files.extend(a.id for a in attachments.from_stored(comment.attachments))
            batch.delete(comment)
        if marker:
            batch.delete(ThreadPurgeItem(env_pk(env_id), thread_purge_sk(thread_id)))


def pending_purges(env_id: str) -> tuple[list[tuple[str, set[str]]], list[tuple[str, str]]]:
    """What dead purges left: rooms with generations still to purge (`PURGE#`), and deleted
    threads whose comments remain (`TPURGE#`). Two Queries of the environment's partition."""
    with unavailable_on_throttle():
        rooms = [
            (i.sk[len("PURGE#") :], set(i.gens or ()))
            for i in RoomPurgeItem.query(env_pk(env_id), RoomPurgeItem.sk.startswith("PURGE#"))
        ]
        threads = [
            (str(i.room_id), str(i.thread_id))
            for i in ThreadPurgeItem.query(env_pk(env_id), ThreadPurgeItem.sk.startswith("TPURGE#"))
        ]
    return rooms, threads


def expired_threads(
    env_id: str, room: RoomState, cutoff_iso: str, after: str | None, limit: int
) -> tuple[list[str], str | None]:
    """Resolved threads of the room (its current generation) last changed before the cutoff: a
    page of their ids, and where the next page starts (None: no more). One Query."""
    condition = (
        (ThreadItem.room_gen == room.gen)
        & (ThreadItem.resolved == True)  # noqa: E712 (a condition, not a comparison)
        & (ThreadItem.updated_at < cutoff_iso)
    )
    pk = threads_pk(env_id, room.room.id)
    start = {"pk": {"S": pk}, "sk": {"S": thread_sk(after)}} if after else None
    ids_: list[str] = []
    with unavailable_on_throttle():
        for t in ThreadItem.query(
            pk,
            ThreadItem.sk.startswith("THREAD#"),
            filter_condition=condition,
            last_evaluated_key=start,
            consistent_read=True,
            attributes_to_get=["pk", "sk", "id"],
        ):
            ids_.append(str(t.id))
            if len(ids_) == limit:
                return ids_, ids_[-1]
    return ids_, None


def finish_thread_purge(env_id: str, thread_id: str) -> list[str]:
    """A dead thread purge, finished (raises if it stops again); the attachment ids found."""
    found: list[str] = []
    _purge_comments(env_id, thread_id, found, marker=True)
    return found


# --- comments --------------------------------------------------------------------------------


def list_comments(
    env_id: str, thread_id: str, *, limit: int, cursor: str | None, secret: bytes
) -> Page[Comment]:
    def query(**kwargs: Any) -> Any:
        return CommentItem.query(
            comments_pk(env_id, thread_id), CommentItem.sk.startswith("COMMENT#"), **kwargs
        )

    return query_page(
        query, limit=limit, cursor=cursor, scope=_comments_scope(env_id, thread_id), secret=secret
    ).page(to_comment)


def latest_comments(env_id: str, thread_id: str, n: int) -> list[Comment]:
    """The thread's newest `n` comments, oldest of them first (one Query, newest first)."""
    with unavailable_on_throttle():
        items = CommentItem.query(
            comments_pk(env_id, thread_id),
            CommentItem.sk.startswith("COMMENT#"),
            scan_index_forward=False,
            limit=n,
            consistent_read=True,
        )
        return [to_comment(i) for i in reversed(list(items))]


def first_comments(
    env_id: str, thread_id: str, comments: list[Comment], secret: bytes
) -> Page[Comment]:
    """A new thread's comments as the first page of its comments list (no more to come), with
    the cursors that continue after any of them, as a page read from the list has."""
    keys = [_CommentKey(comments_pk(env_id, thread_id), comment_sk(c.id)) for c in comments]
    read = QueryPage(keys, None, None, _comments_scope(env_id, thread_id), secret, BASE_KEY)
    return Page(list(comments), None, read.after)


@dataclass(frozen=True)
class _CommentKey:
    pk: str
    sk: str


def _comments_scope(env_id: str, thread_id: str) -> str:
    return f"comments:{env_id}:{thread_id}"


def create_comment(
    env_id: str,
    room: RoomState,
    state: ThreadState,
    comment: Comment,
    today: str,
    event: RoomEvent,
    claims: Sequence[Change] = (),
) -> RoomEvent | None:
    t = state.thread
    thread = Change(
        ThreadItem(threads_pk(env_id, t.room_id), thread_sk(t.id)),
        [ThreadItem.comment_count.add(1), ThreadItem.updated_at.set(comment.created_at)],
        ThreadItem.room_gen == state.room_gen,
    )
    return _change(
        event,
        [
            thread,
            _room_counts(env_id, room, threads=0, comments=1),
            stats.totals(env_id, comments=1),
            stats.daily(env_id, today, comments=1),
            *claims,
        ],
        puts=[(_comment_item(env_id, comment), CommentItem.pk.does_not_exist())],
    )


def update_comment(
    env_id: str,
    comment: Comment,
    body: str,
    mentions: Sequence[str],
    now_iso: str,
    event: RoomEvent,
) -> RoomEvent | None:
    """The body (and whom it mentions) and its event in one transaction; None when the comment
    is gone."""
    item = CommentItem(comments_pk(env_id, comment.thread_id), comment_sk(comment.id))
    actions = [
        CommentItem.body.set(body),
        CommentItem.edited_at.set(now_iso),
        _set_or_remove(CommentItem.mentions, _mentions_text(mentions)),
    ]
    return _change(event, [Change(item, actions, CommentItem.pk.exists())])


def delete_comment(
    env_id: str, room: RoomState, state: ThreadState, comment: Comment, event: RoomEvent
) -> RoomEvent | None:
    """One comment and its counts; None if the thread changed meanwhile (the caller re-reads).
    The last comment of a thread goes with its thread (delete_thread)."""
    t = state.thread
    item = CommentItem(comments_pk(env_id, t.id), comment_sk(comment.id))
    thread = Change(
        ThreadItem(threads_pk(env_id, t.room_id), thread_sk(t.id)),
        [ThreadItem.comment_count.add(-1)],
        (ThreadItem.room_gen == state.room_gen) & (ThreadItem.comment_count == t.comment_count),
    )
    ok = _change(
        event,
        [
            thread,
            _room_counts(env_id, room, threads=0, comments=-1),
            stats.totals(env_id, comments=-1),
        ],
        deletes=[(item, CommentItem.pk.exists())],
    )
    if ok is not None and comment.reactions:
        purge_reactions(env_id, t.id, comment.id)
    return ok


# --- reactions -------------------------------------------------------------------------------


def reaction_read(
    env_id: str, thread_id: str, comment_id: str, emoji: str, user_id: str
) -> Read[bool]:
    """Whether the user has reacted to the comment with the emoji."""
    key = (ReactionItem, comments_pk(env_id, thread_id), reaction_sk(comment_id, emoji, user_id))
    return Read(key, _exists)


def _exists(item: object | None) -> bool:
    return item is not None


def react(
    env_id: str,
    state: ThreadState,
    comment: Comment,
    after: Sequence[Reaction],
    *,
    emoji: str,
    user_id: str,
    added: bool,
    event: RoomEvent,
) -> RoomEvent | None:
    """The user's reaction item put (added) or deleted, and the comment's summary rewritten to
    `after`, with the event, in one transaction conditioned on the summary being the one read
    and the reaction being absent (added) or there (removed): None when either moved."""
    t = state.thread
    pk = comments_pk(env_id, t.id)
    item = ReactionItem(pk, reaction_sk(comment.id, emoji, user_id), emoji=emoji, user_id=user_id)
    before = reactions_text(comment.reactions)
    summary = reactions_text(after)
    same = (
        CommentItem.reactions == before if before else CommentItem.reactions.does_not_exist()
    ) & CommentItem.pk.exists()
    change = Change(
        CommentItem(pk, comment_sk(comment.id)),
        [_set_or_remove(CommentItem.reactions, summary)],
        same,
    )
    if added:
        return _change(event, [change], puts=[(item, ReactionItem.pk.does_not_exist())])
    return _change(event, [change], deletes=[(item, ReactionItem.pk.exists())])


def purge_reactions(env_id: str, thread_id: str, comment_id: str) -> None:
    """Best-effort, after a comment's delete: its reaction items (invisible without it)."""
    try:
        found = ReactionItem.query(
            comments_pk(env_id, thread_id),
            ReactionItem.sk.startswith(f"REACT#{comment_id}#"),
            attributes_to_get=["pk", "sk"],
        )
        with ReactionItem.batch_write() as batch:
            for item in found:
                batch.delete(item)
    except Exception:
        log.warning("reaction purge incomplete; leftovers are invisible", extra={"id": comment_id})
