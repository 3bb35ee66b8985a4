"""Unread state, subscriptions, the inbox and notifications: who is told of a new comment, how
many threads each user has unread, and the `notification.created` webhook after the
environment's delay.

A comment's transaction writes its event item; the data table's stream hands it to `on_stream`
(the webhook pipeline's handler, after the deliveries), which subscribes its author and the users
it mentions and counts it in the inbox of each subscriber whose room setting lets it through.
Each user's change is one transaction over their state of the thread, their inbox entry and their
count (repositories/inbox.py), so the count equals the entries whatever races; a stream record
handed over again finds the comment's seq already counted and changes nothing."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import codes, ids
from ..access import NONE, TokenAccess, level_for
from ..clock import Clock, iso
from ..config import Settings
from ..entities import Comment, InboxEntry, Page, RoomEvent, User
from ..errors import Conflict, InvalidInput, NotFound
from ..repositories.events import from_record
from ..repositories.inbox import InboxState
from ..repositories.reads import Read, fetch
from .authority import Authority
from .callers import Caller
from .channel import RoomChannel
from .collab import parents, thread_not_found, user_not_found
from .ports import (
    ConnectionStore,
    EnvironmentStore,
    EventLog,
    InboxStore,
    RoomStore,
    UserConnectionStore,
    UserStore,
)
from .webhook_delivery import WebhookPipeline

log = logging.getLogger("pulse.inbox")

SETTINGS = ("all", "mentions", "none")
# Why a thread is in an inbox, weakest first: a stronger reason replaces a weaker one until read.
REASONS = ("subscribed", "reply", "mention")
ATTEMPTS = 8  # re-reads of one user's state after a concurrent change
BATCH = 100  # keys of one BatchGetItem
NOTIFIED_COMMENTS = 10  # the newest unread comments a notification carries
NOTIFICATION = "notification.created"


@dataclass(frozen=True)
class ThreadMark:
    """A user's view of one thread: unread comments and whether they are subscribed."""

    unread_count: int
    subscribed: bool


def _chunks(items: Sequence[str], size: int = BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stronger(a: str | None, b: str) -> str:
    return b if a is None or REASONS.index(b) > REASONS.index(a) else a


def _first_comment(event: RoomEvent) -> dict[str, Any] | None:
    """The comment an event adds (a thread's first comment, or a reply), else None."""
    if event.type == "comment.created":
        return event.data
    if event.type == "thread.created":
        comments = event.data.get("comments") or []
        return comments[0] if comments else None
    return None


def notification_event_id(env_id: str, user_id: str, thread_id: str, due: int) -> str:
    """The same id for the same window (a redelivered message starts no second delivery)."""
    digest = int(hashlib.sha256(f"{env_id}/{user_id}/{thread_id}/{due}".encode()).hexdigest(), 16)
    return "evt_" + ids.encode(due * 1000, ids.TIME_CHARS) + ids.encode(digest % 62**9, 9)


class InboxService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        authority: Authority,
        channel: RoomChannel,
        pipeline: WebhookPipeline,
        *,
        inbox: InboxStore,
        rooms: RoomStore,
        users: UserStore,
        environments: EnvironmentStore,
        connections: ConnectionStore,
        user_connections: UserConnectionStore,
        history: EventLog,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.authority = authority
        self.channel = channel
        self.pipeline = pipeline
        self.inbox = inbox
        self.rooms = rooms
        self.users = users
        self.environments = environments
        self.connections = connections
        self.user_connections = user_connections
        self.history = history

    # --- reading and changing one user's state ---------------------------------------------

    def marks(self, env_id: str, user_id: str, thread_ids: Sequence[str]) -> dict[str, ThreadMark]:
        """Each thread's unread count and subscription for the user (one BatchGetItem)."""
        states = {t: self.inbox.state_read(env_id, user_id, t) for t in thread_ids}
        subs = {t: self.inbox.subscription_read(env_id, t, user_id) for t in thread_ids}
        got = fetch([*states.values(), *subs.values()])
        return {
            t: ThreadMark(got[states[t]].unread, got[subs[t]] in ("auto", "on")) for t in thread_ids
        }

    def mark_read(
        self, caller: Caller, user_id: str, thread_id: str, room_id: str | None = None
    ) -> int:
        """Move the user's read position to the thread's end; their unread count after (0).
        From a socket (`room_id` set), the thread must be one of its room's. Nothing unread:
        nothing is written (from the REST API, one Query makes sure the thread exists)."""
        read = self.inbox.state_read(caller.env_id, user_id, thread_id)
        extra: list[Read[Any]] = []
        if room_id is not None:
            room = self.rooms.room_read(caller.env_id, room_id)
            thread = self.rooms.thread_read(caller.env_id, room_id, thread_id)
            extra = [room, thread]
            got = self.authority.load(caller, read, *extra)
            parents(got[room], got[thread])
        else:
            user = self.users.user_read(caller.env_id, user_id)
            got = self.authority.load(caller, read, user)
            if got[user] is None:
                raise user_not_found()
            if got[read].version is None and not self._exists(caller.env_id, thread_id):
                raise thread_not_found()
        before = got[read]
        for _ in range(ATTEMPTS):
            if before.unread == 0:
                return 0
            if room_id is not None and before.room_id != room_id:
                raise thread_not_found()
            after = replace(
                before, unread=0, reason=None, read_at=self.clock.now_iso(), entry_sk=None
            )
            if self.inbox.save(before, after):
                self._tell(caller.env_id, user_id, after.room_id, after.thread_id, after.unread)
                return 0
            before = fetch([read])[read]
        raise Conflict("The thread changed meanwhile; try again.", code=codes.CONCURRENT_CHANGE)

    def _exists(self, env_id: str, thread_id: str) -> bool:
        """Whether the thread has a comment (every thread does until it is deleted)."""
        return bool(ids.raw_part(thread_id, "th")) and bool(
            self.rooms.latest_comments(env_id, thread_id, 1)
        )

    def subscribe(
        self, caller: Caller, room_id: str, thread_id: str, user_id: str, on: bool
    ) -> bool:
        """Subscribe the user to the thread (or unsubscribe: nothing from it reaches them)."""
        room = self.rooms.room_read(caller.env_id, room_id)
        thread = self.rooms.thread_read(caller.env_id, room_id, thread_id)
        head = self.history.head_read(caller.env_id, room_id)
        user = self.users.user_read(caller.env_id, user_id)
        got = self.authority.load(caller, room, thread, head, user)
        parents(got[room], got[thread])
        if got[user] is None:
            raise user_not_found()
        state = "on" if on else "off"
        self.inbox.subscribe(caller.env_id, room_id, thread_id, user_id, state, got[head])
        return on

    def room_setting(self, caller: Caller, room_id: str, user_id: str) -> str:
        room = self.rooms.room_read(caller.env_id, room_id)
        setting = self.inbox.setting_read(caller.env_id, user_id, room_id)
        user = self.users.user_read(caller.env_id, user_id)
        got = self.authority.load(caller, room, setting, user)
        self._room_and_user(got[room], got[user])
        return got[setting]

    def set_room_setting(self, caller: Caller, room_id: str, user_id: str, setting: str) -> str:
        if setting not in SETTINGS:
            raise InvalidInput("setting", "must be one of all, mentions, none")
        room = self.rooms.room_read(caller.env_id, room_id)
        user = self.users.user_read(caller.env_id, user_id)
        got = self.authority.load(caller, room, user)
        self._room_and_user(got[room], got[user])
        self.inbox.set_setting(caller.env_id, user_id, room_id, setting)
        return setting

    @staticmethod
    def _room_and_user(room: object | None, user: User | None) -> None:
        if room is None:
            raise NotFound("Room not found.", code=codes.ROOM_NOT_FOUND)
        if user is None:
            raise user_not_found()

    def list_inbox(
        self, caller: Caller, user_id: str, limit: int, cursor: str | None
    ) -> Page[InboxEntry]:
        """Threads with unread activity, newest first, in rooms the user can still read: an
        entry of a room they lost (or a thread deleted) leaves the inbox and its count here."""
        return self.inbox_page(caller, user_id, limit, cursor)[0]

    def inbox_page(
        self, caller: Caller, user_id: str, limit: int, cursor: str | None
    ) -> tuple[Page[InboxEntry], int]:
        """`list_inbox` and the user's count after it: the count is read with the user (one
        BatchGetItem), and again only when listing dropped unreadable entries."""
        user = self.users.user_read(caller.env_id, user_id)
        count = self.inbox.count_read(caller.env_id, user_id)
        got = self.authority.load(caller, user, count)
        found = got[user]
        if found is None:
            raise user_not_found()
        page = self.inbox.entries(
            caller.env_id, user_id, limit=limit, cursor=cursor, secret=self._secret()
        )
        gone = self._unreadable(caller.env_id, found, page.data)
        if not gone:
            return page, got[count]
        for entry in gone:
            self._forget(caller.env_id, user_id, entry.thread_id)
        keep = [e for e in page.data if e not in gone]
        return Page(keep, page.next_cursor, None), fetch([count])[count]

    def count(self, caller: Caller, user_id: str) -> int:
        """Threads with unread activity: one read, kept by every change of the user's state."""
        count = self.inbox.count_read(caller.env_id, user_id)
        user = self.users.user_read(caller.env_id, user_id)
        got = self.authority.load(caller, count, user)
        if got[user] is None:
            raise user_not_found()
        return got[count]

    def _unreadable(self, env_id: str, user: User, entries: list[InboxEntry]) -> list[InboxEntry]:
        rooms = {e.room_id: self.rooms.room_read(env_id, e.room_id) for e in entries}
        threads = {
            e.thread_id: self.rooms.thread_read(env_id, e.room_id, e.thread_id) for e in entries
        }
        if not entries:
            return []
        got = fetch([*rooms.values(), *threads.values()])
        token = TokenAccess(user.id, user.group_ids, user.permissions)
        gone = []
        for e in entries:
            room, thread = got[rooms[e.room_id]], got[threads[e.thread_id]]
            if room is None or thread is None or thread.room_gen != room.gen:
                gone.append(e)
                continue
            if level_for(token, e.room_id, room.access) == NONE:
                gone.append(e)
        return gone

    def _forget(self, env_id: str, user_id: str, thread_id: str) -> None:
        read = self.inbox.state_read(env_id, user_id, thread_id)
        for _ in range(ATTEMPTS):
            if self.inbox.drop(fetch([read])[read]):
                return

    # --- the fan-out (the data table's stream) --------------------------------------------

    def on_stream(self, records: Iterable[dict[str, Any]]) -> int:
        """Count the new comments among `records` in their readers' inboxes; the number of
        inboxes changed."""
        changed = 0
        for record in records:
            event = from_record(record)
            if event is None:
                continue
            if event.type in ("comment.created", "thread.created"):
                changed += self.on_comment(event)
            elif event.type == "comment.updated":
                changed += self.on_edit(event)
            elif event.type == "thread.deleted":
                self.on_thread_gone(event.env_id, event.room_id, str(event.data.get("id", "")))
        return changed

    def on_comment(self, event: RoomEvent) -> int:
        comment = _first_comment(event)
        if not comment:
            return 0
        env_id, room_id = event.env_id, event.room_id
        thread_id, author = str(comment["threadId"]), str(comment["userId"])
        mentions = [str(m) for m in comment.get("mentions") or []]
        self.inbox.subscribe_auto(env_id, room_id, thread_id, [author, *mentions], event.seq)
        subs = self.inbox.subscribers(env_id, thread_id)
        reasons: dict[str, str] = {}
        for user_id, (chosen, since) in subs.items():
            if chosen != "off" and since < event.seq:
                reasons[user_id] = "reply" if chosen == "auto" else "subscribed"
        for user_id in mentions:
            if subs.get(user_id, ("auto", 0))[0] != "off":  # unsubscribed: mentions too
                reasons[user_id] = "mention"
        reasons.pop(author, None)
        return self._count_all(event, thread_id, self._let_through(env_id, room_id, reasons))

    def on_edit(self, event: RoomEvent) -> int:
        """A comment edited to mention users who do not follow its thread: each is subscribed
        and told as a new mention would be (reason `mention`, the comment counted unread).
        Those who follow the thread already were reached by the comment itself, and an
        unsubscribe silences the thread: the edit is no new activity for them."""
        comment = event.data
        mentions = [str(m) for m in comment.get("mentions") or []]
        if not mentions or "threadId" not in comment:
            return 0
        env_id, room_id = event.env_id, event.room_id
        thread_id, author = str(comment["threadId"]), str(comment["userId"])
        subs = self.inbox.subscribers(env_id, thread_id)
        # Not following it, or subscribed by this very edit (a record handed over again after
        # a pass that stopped short: its counting checks the seq, so nobody counts twice).
        added = [
            u for u in mentions if u != author and (u not in subs or subs[u] == ("auto", event.seq))
        ]
        if not added:
            return 0
        self.inbox.subscribe_auto(env_id, room_id, thread_id, added, event.seq)
        reasons = dict.fromkeys(added, "mention")
        return self._count_all(event, thread_id, self._let_through(env_id, room_id, reasons))

    def _count_all(self, event: RoomEvent, thread_id: str, recipients: dict[str, str]) -> int:
        """Count the event's comment in each recipient's inbox (with their reason); how many
        inboxes changed."""
        env_id = event.env_id
        environment = self.environments.get(env_id)
        delay = environment.environment.notification_delay_seconds if environment else 0
        wanted = bool(environment) and self._notifications_wanted(env_id)
        changed = 0
        for user_id, reason in recipients.items():
            counted = self._count_in(event, thread_id, user_id, reason, delay if wanted else None)
            changed += counted is not None
        return changed

    def _let_through(self, env_id: str, room_id: str, reasons: dict[str, str]) -> dict[str, str]:
        """The users whose room setting and access let the comment reach them."""
        users = list(reasons)
        kept: dict[str, str] = {}
        room_read = self.rooms.room_read(env_id, room_id)
        for part in _chunks(users, BATCH // 2 - 1):
            settings = {u: self.inbox.setting_read(env_id, u, room_id) for u in part}
            found = {u: self.users.user_read(env_id, u) for u in part}
            got = fetch([room_read, *settings.values(), *found.values()])
            room = got[room_read]
            if room is None:
                return {}
            for u in part:
                setting, user, reason = got[settings[u]], got[found[u]], reasons[u]
                if setting == "none" or (setting == "mentions" and reason != "mention"):
                    continue
                if user is None:
                    continue
                token = TokenAccess(user.id, user.group_ids, user.permissions)
                if level_for(token, room_id, room.access) != NONE:
                    kept[u] = reason
        return kept

    def _count_in(
        self, event: RoomEvent, thread_id: str, user_id: str, reason: str, delay: int | None
    ) -> InboxState | None:
        """One more unread comment in the user's state of the thread; None if it was counted
        already (a record handed over again) or the state kept changing."""
        read = self.inbox.state_read(event.env_id, user_id, thread_id)
        for _ in range(ATTEMPTS):
            before = fetch([read])[read]
            if before.last_seq >= event.seq:
                return None
            now = int(self.clock.now())
            schedule = delay is not None and (before.notify_until or 0) <= now
            after = replace(
                before,
                room_id=event.room_id,
                unread=before.unread + 1,
                reason=stronger(before.reason if before.unread else None, reason),
                last_seq=event.seq,
                activity_at=event.created_at,
                entry_sk=self.inbox.entry_sk(event.created_at, thread_id),
                notify_until=now + (delay or 0) if schedule else before.notify_until,
            )
            if self.inbox.save(before, after):
                self._tell(event.env_id, user_id, after.room_id, after.thread_id, after.unread)
                if schedule:
                    self._schedule(event.env_id, user_id, thread_id, now + (delay or 0))
                return after
        log.warning("inbox change lost to concurrent changes", extra={"threadId": thread_id})
        return None

    def on_thread_gone(self, env_id: str, room_id: str, thread_id: str) -> None:
        """A deleted thread leaves every subscriber's inbox (and their counts)."""
        if not ids.raw_part(thread_id, "th"):
            return
        subs = list(self.inbox.subscribers(env_id, thread_id))
        for user_id in subs:
            self._forget(env_id, user_id, thread_id)
            self._tell(env_id, user_id, room_id, thread_id, 0)
        self.inbox.unsubscribe_all(env_id, thread_id, subs)

    def _tell(self, env_id: str, user_id: str, room_id: str, thread_id: str, unread: int) -> None:
        """`inbox.updated` to the user's open sockets, in any room of the environment: their
        count and their connections item in one BatchGetItem, then the rows by id."""
        try:
            count = self.inbox.count_read(env_id, user_id)
            sockets = self.user_connections.read(env_id, user_id)
            got = fetch([count, sockets])
            live = list(got[sockets].live(self.clock.now()))
            message = {
                "type": "inbox.updated",
                "count": got[count],
                "roomId": room_id,
                "threadId": thread_id,
                "unreadCount": unread,
            }
            for c in self.connections.by_ids(live):
                self.channel.to(c, message)
        except Exception as exc:  # a push is a courtesy: the count is read again on demand
            log.warning("inbox push failed", extra={"reason": type(exc).__name__})

    # --- notifications --------------------------------------------------------------------

    def _notifications_wanted(self, env_id: str) -> bool:
        return any(
            self.pipeline.wants(state, NOTIFICATION) for state in self.pipeline.endpoints(env_id)
        )

    def _schedule(self, env_id: str, user_id: str, thread_id: str, due: int) -> None:
        message = {
            "kind": "notification",
            "envId": env_id,
            "userId": user_id,
            "threadId": thread_id,
            "due": due,
        }
        self.pipeline.queue.send(message, max(0, min(900, due - int(self.clock.now()))))

    def on_notification(self, message: dict[str, Any]) -> int:
        """The delay is over: if the user still has unread comments in the thread, tell the
        environment's endpoints (`notification.created`); the number of deliveries started."""
        env_id, user_id = str(message["envId"]), str(message["userId"])
        thread_id, due = str(message["threadId"]), int(message["due"])
        now = self.clock.now()
        if due - now > 1:  # longer than SQS's longest delay: wait again
            self.pipeline.queue.send(message, int(min(900, due - now)))
            return 0
        read = self.inbox.state_read(env_id, user_id, thread_id)
        state = fetch([read])[read]
        if state.unread == 0 or state.version is None:
            return 0  # read in time (or the thread is gone): nobody is emailed
        shown = min(state.unread, NOTIFIED_COMMENTS)
        comments = self.rooms.latest_comments(env_id, thread_id, shown)
        data = {
            "environmentId": env_id,
            "roomId": state.room_id,
            "userId": user_id,
            "threadId": thread_id,
            "reason": state.reason or "subscribed",
            "unreadCount": state.unread,
            "comments": [self._comment(c) for c in comments],
        }
        event = RoomEvent(
            id=notification_event_id(env_id, user_id, thread_id, due),
            env_id=env_id,
            room_id=state.room_id,
            type=NOTIFICATION,
            data=data,
            created_at=iso(now),
            expires_at=int(now) + self.settings.events_ttl_seconds,
        )
        return self.pipeline.deliver(event)

    @staticmethod
    def _comment(c: Comment) -> dict[str, Any]:
        from ..wire.threads import COMMENT

        return COMMENT.dump(c)

    def _secret(self) -> bytes:
        return self.settings.signing_secret
