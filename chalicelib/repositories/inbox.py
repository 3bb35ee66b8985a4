"""Each user's unread state of threads, their inbox (newest first) and its count, thread
subscriptions and per-room notification settings. A change of one user's state of one thread is
one transaction over its state, its inbox entry and the count, conditioned on the state's
version: the count always equals the entries, whoever races."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..db.dynamo import TransactionCancelled, transaction, unavailable_on_throttle
from ..db.models import (
    INBOX_COUNT_SK,
    INBOX_ENTRY_PREFIX,
    InboxCountItem,
    InboxEntryItem,
    InboxStateItem,
    RoomNotifyItem,
    SubscriptionItem,
    inbox_entry_sk,
    inbox_pk,
    inbox_state_sk,
    room_notify_sk,
    subscribers_pk,
    user_connections_pk,
)
from ..entities import InboxEntry, Page
from .pages import query_page
from .reads import Read, fetch

DEFAULT_SETTING = "all"


@dataclass(frozen=True)
class InboxState:
    """A user's state of a thread; `version` None: no item yet."""

    env_id: str
    user_id: str
    thread_id: str
    room_id: str
    unread: int = 0
    reason: str | None = None
    last_seq: int = 0
    activity_at: str | None = None
    read_at: str | None = None
    entry_sk: str | None = None
    notify_until: int | None = None
    version: int | None = None


def _state(env_id: str, user_id: str, thread_id: str, item: InboxStateItem | None) -> InboxState:
    if item is None:
        return InboxState(env_id, user_id, thread_id, room_id="")
    return InboxState(
        env_id=env_id,
        user_id=user_id,
        thread_id=thread_id,
        room_id=item.room_id,
        unread=int(item.unread or 0),
        reason=item.reason,
        last_seq=int(item.last_seq or 0),
        activity_at=item.activity_at,
        read_at=item.read_at,
        entry_sk=item.entry_sk,
        notify_until=int(item.notify_until) if item.notify_until is not None else None,
        version=int(item.version or 0),
    )


def state_read(env_id: str, user_id: str, thread_id: str) -> Read[InboxState]:
    key = (InboxStateItem, inbox_pk(env_id, user_id), inbox_state_sk(thread_id))
    return Read(key, lambda item: _state(env_id, user_id, thread_id, item))


def count_read(env_id: str, user_id: str) -> Read[int]:
    key = (InboxCountItem, inbox_pk(env_id, user_id), INBOX_COUNT_SK)
    return Read(key, lambda item: int(item.total or 0) if item else 0)


def subscription_read(env_id: str, thread_id: str, user_id: str) -> Read[str | None]:
    key = (SubscriptionItem, subscribers_pk(env_id, thread_id), user_id)
    return Read(key, lambda item: str(item.state) if item else None)


def setting_read(env_id: str, user_id: str, room_id: str) -> Read[str]:
    key = (RoomNotifyItem, user_connections_pk(env_id, user_id), room_notify_sk(room_id))
    return Read(key, lambda item: str(item.setting) if item else DEFAULT_SETTING)


def states(env_id: str, user_id: str, thread_ids: Iterable[str]) -> dict[str, InboxState]:
    reads = {t: state_read(env_id, user_id, t) for t in thread_ids}
    got = fetch(reads.values())
    return {t: got[r] for t, r in reads.items()}


def save(before: InboxState, after: InboxState) -> bool:
    """Write `after` over `before` (its entry moved or removed, the count adjusted) in one
    transaction; False if the state changed since `before` was read (read it again)."""
    pk = inbox_pk(before.env_id, before.user_id)
    delta = (after.unread > 0) - (before.unread > 0)
    try:
        with transaction() as tx:
            item = InboxStateItem(
                pk,
                inbox_state_sk(after.thread_id),
                room_id=after.room_id,
                thread_id=after.thread_id,
                unread=after.unread,
                reason=after.reason,
                last_seq=after.last_seq,
                activity_at=after.activity_at,
                read_at=after.read_at,
                entry_sk=after.entry_sk,
                notify_until=after.notify_until,
                version=(before.version or 0) + 1,
            )
            if before.version is None:
                tx.save(item, condition=InboxStateItem.pk.does_not_exist())
            else:
                tx.save(item, condition=InboxStateItem.version == before.version)
            if before.entry_sk and before.entry_sk != after.entry_sk:
                tx.delete(InboxEntryItem(pk, before.entry_sk))
            if after.entry_sk and after.unread > 0:
                tx.save(
                    InboxEntryItem(
                        pk,
                        after.entry_sk,
                        room_id=after.room_id,
                        thread_id=after.thread_id,
                        unread=after.unread,
                        reason=after.reason or "subscribed",
                        activity_at=after.activity_at or "",
                    )
                )
            if delta:
                tx.update(
                    InboxCountItem(pk, INBOX_COUNT_SK), actions=[InboxCountItem.total.add(delta)]
                )
    except TransactionCancelled as exc:
        if exc.conflict:
            return False
        raise
    return True


def drop(before: InboxState) -> bool:
    """Remove the state and its entry (a thread deleted, a room no longer readable); False if it
    changed meanwhile."""
    pk = inbox_pk(before.env_id, before.user_id)
    if before.version is None:
        return True
    try:
        with transaction() as tx:
            tx.delete(
                InboxStateItem(pk, inbox_state_sk(before.thread_id)),
                condition=InboxStateItem.version == before.version,
            )
            if before.entry_sk:
                tx.delete(InboxEntryItem(pk, before.entry_sk))
            if before.unread > 0:
                tx.update(
                    InboxCountItem(pk, INBOX_COUNT_SK), actions=[InboxCountItem.total.add(-1)]
                )
    except TransactionCancelled as exc:
        if exc.conflict:
            return False
        raise
    return True


def entry_sk(activity_at: str, thread_id: str) -> str:
    return inbox_entry_sk(activity_at, thread_id)


def _entry(item: InboxEntryItem) -> InboxEntry:
    return InboxEntry(
        thread_id=item.thread_id,
        room_id=item.room_id,
        unread_count=int(item.unread),
        reason=item.reason,
        last_activity_at=item.activity_at,
    )


def entries(
    env_id: str, user_id: str, *, limit: int, cursor: str | None, secret: bytes
) -> Page[InboxEntry]:
    """The user's inbox, newest activity first (a consistent Query, `limit + 1` items)."""

    def query(**kwargs: Any) -> Any:
        return InboxEntryItem.query(
            inbox_pk(env_id, user_id),
            InboxEntryItem.sk.startswith(INBOX_ENTRY_PREFIX),
            scan_index_forward=False,
            consistent_read=True,
            **kwargs,
        )

    found = query_page(
        query, limit=limit, cursor=cursor, scope=f"inbox:{env_id}:{user_id}", secret=secret
    )
    return found.page(_entry)


# --- subscriptions and settings --------------------------------------------------------------


def subscribers(env_id: str, thread_id: str) -> dict[str, tuple[str, int]]:
    """Every subscription of the thread (`auto`, `on`, `off`, and the seq it started after)."""
    with unavailable_on_throttle():
        items = SubscriptionItem.query(subscribers_pk(env_id, thread_id), consistent_read=True)
        return {str(i.user_id): (str(i.state), int(i.since_seq or 0)) for i in items}


def subscribe(
    env_id: str, room_id: str, thread_id: str, user_id: str, state: str, since_seq: int
) -> None:
    """Set a chosen state (`on`, `off`), from after the room's seq `since_seq`."""
    with unavailable_on_throttle():
        SubscriptionItem(
            subscribers_pk(env_id, thread_id),
            user_id,
            room_id=room_id,
            user_id=user_id,
            state=state,
            since_seq=since_seq,
        ).save()


def subscribe_auto(
    env_id: str, room_id: str, thread_id: str, user_ids: Iterable[str], seq: int
) -> None:
    """Subscribe users who wrote in or were mentioned in the thread at `seq`, leaving a chosen
    state (and an earlier start) as it is."""
    for user_id in user_ids:
        item = SubscriptionItem(subscribers_pk(env_id, thread_id), user_id)
        with unavailable_on_throttle():
            item.update(
                actions=[
                    SubscriptionItem.state.set(SubscriptionItem.state | "auto"),
                    SubscriptionItem.since_seq.set(SubscriptionItem.since_seq | seq),
                    SubscriptionItem.room_id.set(room_id),
                    SubscriptionItem.user_id.set(user_id),
                ]
            )


def unsubscribe_all(env_id: str, thread_id: str, user_ids: Iterable[str]) -> None:
    with SubscriptionItem.batch_write() as batch:
        for user_id in user_ids:
            batch.delete(SubscriptionItem(subscribers_pk(env_id, thread_id), user_id))


def settings_of(env_id: str, room_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """Each user's setting for the room (one BatchGetItem per 100 users)."""
    reads = {u: setting_read(env_id, u, room_id) for u in user_ids}
    got = fetch(reads.values())
    return {u: got[r] for u, r in reads.items()}


def set_setting(env_id: str, user_id: str, room_id: str, setting: str) -> None:
    item = RoomNotifyItem(user_connections_pk(env_id, user_id), room_notify_sk(room_id))
    with unavailable_on_throttle():
        if setting == DEFAULT_SETTING:
            item.delete()
        else:
            item.room_id = room_id
            item.setting = setting
            item.save()
