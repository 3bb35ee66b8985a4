"""Rooms, threads, comments and users of an environment: the rules the REST API, the admin data
browser and the WebSocket protocol share. Every method takes a Caller (a secret key, an operator
or a room member) and makes one check-and-read round trip plus at most one Query or one
transaction."""

from __future__ import annotations

import logging
import random
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from .. import codes, cursors, ids, meter
from ..access import NONE, AccessChange, RoomAccess, TokenAccess, level_for
from ..clock import Clock
from ..config import Settings
from ..entities import (
    Ack,
    Comment,
    Metadata,
    Page,
    Reaction,
    Room,
    RoomEvent,
    Thread,
    User,
)
from ..errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, Replayed
from ..mentions import mentioned
from ..repositories.reads import Fetched, Read
from ..repositories.rooms import RoomState, ThreadState
from ..validation import ACCESS_ENTRIES_MAX
from ..wire.rooms import ROOM
from ..wire.threads import COMMENT, REACTION, REACTION_USERS_SHOWN, THREAD
from .attachments import AttachmentService, Upload
from .authority import Authority
from .callers import Caller, MemberCaller
from .channel import event_message
from .events import EventSink
from .ports import EventLog, RoomStore, StatsStore, UserStore

log = logging.getLogger("pulse.collab")

THREAD_COMMENTS_PAGE = 100  # comments embedded in a thread returned alone
RETRIES = 3  # re-reads after a concurrent change to the same thread or room
# Reactions gather on one comment at once (a poll, an announcement): more re-reads, each after a
# short random wait that doubles up to a cap, so a burst spreads out instead of colliding again.
REACT_ATTEMPTS = 10
REACT_BACKOFF_SECONDS = 0.01
REACT_BACKOFF_MAX_SECONDS = 0.2


def _pause(attempt: int) -> None:
    wait = min(REACT_BACKOFF_MAX_SECONDS, REACT_BACKOFF_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, wait))  # noqa: S311 (jitter, not a secret)


def room_not_found() -> NotFound:
    return NotFound("No room with this id.", code=codes.ROOM_NOT_FOUND)


def thread_not_found() -> NotFound:
    return NotFound("No thread with this id in this room.", code=codes.THREAD_NOT_FOUND)


def comment_not_found() -> NotFound:
    return NotFound("No comment with this id in this thread.", code=codes.COMMENT_NOT_FOUND)


def user_not_found() -> NotFound:
    return NotFound("No user with this id.", code=codes.USER_NOT_FOUND)


# A transaction holds at most 100 items: the room, the environment's counters (a create) and
# one index item per entry a request names.
ACCESS_CHANGES_MAX = 98


def _entries_fit(access: AccessChange) -> None:
    """A request names at most ACCESS_CHANGES_MAX entries (usersAccess and groupsAccess)."""
    if access.entries > ACCESS_CHANGES_MAX:
        field = (
            "usersAccess" if len(access.users or {}) > len(access.groups or {}) else "groupsAccess"
        )
        raise InvalidInput(
            field,
            f"usersAccess and groupsAccess together may name at most {ACCESS_CHANGES_MAX} "
            f"entries in one request; this one names {access.entries}",
        )


def _maps_fit(grants: RoomAccess) -> None:
    """A room holds at most ACCESS_ENTRIES_MAX entries in each map."""
    for field, entries in (("usersAccess", grants.users), ("groupsAccess", grants.groups)):
        if len(entries) > ACCESS_ENTRIES_MAX:
            raise InvalidInput(
                field,
                f"a room holds at most {ACCESS_ENTRIES_MAX} entries; this change would leave "
                f"{len(entries)}",
            )


def parents(room: RoomState | None, thread: ThreadState | None) -> tuple[RoomState, ThreadState]:
    """The room and its thread, or 404 for either (a thread of a deleted room's gen included)."""
    if room is None:
        raise room_not_found()
    if thread is None or thread.room_gen != room.gen:
        raise thread_not_found()
    return room, thread


def resync_required(since: int, last: int, why: str) -> Gone:
    return Gone(
        f"since {since} {why}: the room's last seq is {last}.",
        suggestion="Reload the room's threads, then follow its events from its last seq.",
    )


# The live frame of each event type where they differ (a resolve is pushed as an update).
_FRAMES = {"thread.resolved": "thread.updated"}
ACK_SECONDS = 24 * 3600  # how long a named socket write's resends get its acknowledgement
SEARCH_POOL = 30  # users read for the `@` suggestions, of whom those who can read the room show
ROOM_ACCESS_FIELDS = ("usersAccess", "groupsAccess")


def _mentionable(
    reads: list[Read[User | None]], got: Fetched, room_id: str, grants: RoomAccess
) -> tuple[str, ...]:
    """The mentioned users who can read the room, as their latest token and the room's access
    decide (a user never minted for, or one without `read`, stays plain text: nobody is told)."""
    found = []
    for read in reads:
        user = got[read]
        if user is None:
            continue
        token = TokenAccess(user.id, user.group_ids, user.permissions)
        if level_for(token, room_id, grants) != NONE:
            found.append(user.id)
    return tuple(found)


def _named(caller: Caller) -> tuple[str, str] | None:
    """(user, clientMutationId) of a socket write its client named, else None."""
    if isinstance(caller, MemberCaller) and caller.mutation_id:
        return caller.connection.user_id, caller.mutation_id
    return None


def _for_members(room: Room) -> dict[str, Any]:
    """A room as its members' sockets see it: without who else it names (REST and webhooks, the
    customer's backend, see everything)."""
    return for_members("room.updated", ROOM.dump(room))


def for_members(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as a room's sockets get it (a room's without its access lists)."""
    if not event_type.startswith("room."):
        return data
    return {k: v for k, v in data.items() if k not in ROOM_ACCESS_FIELDS}


def busy() -> Conflict:
    return Conflict(
        "The item kept changing while this request ran; nothing was changed.",
        code=codes.CONCURRENT_CHANGE,
        suggestion="Retry the request.",
    )


@dataclass(frozen=True)
class Reacted:
    comment: Comment  # as it is now
    changed: bool  # False: it already was so (nothing written, nothing sent)


REACTION_EMOJI_MAX = 20  # distinct emoji on one comment


def reacted(
    reactions: tuple[Reaction, ...], emoji: str, user_id: str, *, add: bool
) -> tuple[Reaction, ...]:
    """The summary after the user's reaction is added (or removed): counts exact, the first
    REACTION_USERS_SHOWN users named, an emoji gone when its count reaches 0. Conflict
    (TOO_MANY_REACTIONS) for a 21st distinct emoji."""
    out = list(reactions)
    at = next((n for n, r in enumerate(out) if r.emoji == emoji), None)
    if add:
        if at is None:
            if len(out) >= REACTION_EMOJI_MAX:
                raise Conflict(
                    f"This comment already has {REACTION_EMOJI_MAX} different reactions.",
                    code=codes.TOO_MANY_REACTIONS,
                    suggestion="React with one of the emoji it already has.",
                )
            out.append(Reaction(emoji, 1, (user_id,)))
        else:
            r = out[at]
            shown = (
                r.user_ids if len(r.user_ids) >= REACTION_USERS_SHOWN else (*r.user_ids, user_id)
            )
            out[at] = Reaction(emoji, r.count + 1, shown)
    elif at is not None:
        r = out[at]
        if r.count <= 1:
            del out[at]
        else:
            out[at] = Reaction(emoji, r.count - 1, tuple(u for u in r.user_ids if u != user_id))
    return tuple(out)


@dataclass(frozen=True)
class CatchUp:
    events: list[RoomEvent]
    more: bool
    last: int
    kept: bool
    why: str = ""


class CollabService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        authority: Authority,
        events: EventSink,
        *,
        rooms: RoomStore,
        users: UserStore,
        stats: StatsStore,
        history: EventLog,
        attachments: AttachmentService,
    ) -> None:
        self.history = history
        self.attachments = attachments
        self.settings = settings
        self.clock = clock
        self.authority = authority
        self.events = events
        self.rooms = rooms
        self.users = users
        self.stats = stats

    # --- rooms -------------------------------------------------------------------------------

    def list_rooms(
        self,
        caller: Caller,
        limit: int,
        cursor: str | None,
        *,
        user_id: str | None = None,
        group_ids: tuple[str, ...] = (),
    ) -> Page[Room]:
        """Every room in id order; with `user_id` and/or `group_ids`, the rooms whose access
        names that user or one of those groups (from their index: flat cost)."""
        self.authority.load(caller)
        if user_id is None and not group_ids:
            return self.rooms.list_rooms(
                caller.env_id, limit=limit, cursor=cursor, secret=self._secret
            )
        return self.rooms.list_granted(
            caller.env_id, user_id, group_ids, limit=limit, cursor=cursor, secret=self._secret
        )

    def create_room(
        self,
        caller: Caller,
        room_id: str,
        metadata: Metadata | None,
        access: AccessChange | None = None,
    ) -> Room:
        """A room granting `access` (its default: the environment's defaultRoomAccess); its
        entries and their index items in the one transaction that creates it."""
        access = access or AccessChange()
        _entries_fit(access)
        environment, _ = self.authority.load_with_environment(caller)
        now = self.clock.now_iso()
        grants = access.applied(RoomAccess(environment.default_room_access))
        room = Room(
            id=room_id,
            metadata=metadata or {},
            created_at=now,
            updated_at=now,
            default_access=grants.default,
            users_access=dict(grants.users),  # type: ignore[arg-type]
            groups_access=dict(grants.groups),  # type: ignore[arg-type]
        )
        if not self.rooms.create_room(caller.env_id, room, secrets.token_hex(8)):
            raise Conflict("A room with this id exists.", code=codes.ROOM_EXISTS)
        return room

    def get_room(self, caller: Caller, room_id: str) -> Room:
        return self._room(caller, room_id).room

    def update_room(
        self,
        caller: Caller,
        room_id: str,
        metadata: Metadata | None,
        access: AccessChange | None = None,
    ) -> Room:
        """Metadata alone: one transaction (the room and its `room.updated` event). A change of
        access: one transaction (the room, its changed index items and its event, conditioned on
        the access read), then the room's open connections are re-evaluated at once."""
        if access is None:
            state, last, _ = self._room_to_change(caller, room_id)
            assert metadata is not None  # the body names at least one field
            now = self.clock.now_iso()
            room = replace(state.room, metadata=metadata, updated_at=now)
            event = self._event(caller, room_id, "room.updated", ROOM.dump(room), last)
            committed = self.rooms.update_room(caller.env_id, room_id, metadata, now, event)
            if committed is None:
                raise room_not_found()
            self._publish(
                caller, room_id, "room.updated", room=_for_members(room), seq=committed.seq
            )
            return room
        _entries_fit(access)
        for _ in range(RETRIES):
            before, last, _ = self._room_to_change(caller, room_id)
            grants = access.applied(before.access)
            _maps_fit(grants)
            after = replace(
                before.room,
                metadata=metadata if metadata is not None else before.room.metadata,
                updated_at=self.clock.now_iso(),
                default_access=grants.default,
                users_access=dict(grants.users),  # type: ignore[arg-type]
                groups_access=dict(grants.groups),  # type: ignore[arg-type]
            )
            event = self._event(caller, room_id, "room.updated", ROOM.dump(after), last)
            changed = self.rooms.change_access(caller.env_id, before, after, event)
            if changed is not None:
                room = changed.state.room
                news = ("room.updated", {"room": _for_members(room), "seq": changed.event.seq})
                if grants != before.access:
                    self.events.access_changed(caller.env_id, room_id, grants, then=news)
                else:
                    self._publish(caller, room_id, news[0], **news[1])
                return room
        raise busy()

    def delete_room(self, caller: Caller, room_id: str) -> None:
        """The room and its counts go in one transaction; its threads and comments (invisible
        from then on) are purged after it. If that purge did not finish, the room's purge item
        says so, and a DELETE of the room (a client's retry) finishes it and answers 204."""
        for _ in range(RETRIES):
            state, pending, last = self._room_and_purge(caller, room_id)
            if state is None:
                if not pending:
                    raise room_not_found()
                self._publish(caller, room_id, "room.deleted", roomId=room_id)
                self.rooms.purge_room(caller.env_id, room_id, pending)
                self.attachments.delete_room_files(caller.env_id, room_id)
                return
            event = self._event(caller, room_id, "room.deleted", {"id": room_id}, last)
            committed = self.rooms.delete_room(caller.env_id, state, event)
            if committed is not None:
                self._publish(caller, room_id, "room.deleted", roomId=room_id, seq=committed.seq)
                self.rooms.purge_grants(caller.env_id, state.room)
                if state.thread_count:
                    pending = pending | {state.gen}
                if pending:
                    self.rooms.purge_room(caller.env_id, room_id, pending)
                self.attachments.delete_room_files(caller.env_id, room_id)
                return
        raise busy()

    # --- threads -----------------------------------------------------------------------------

    def list_threads(
        self, caller: Caller, room_id: str, resolved: bool | None, limit: int, cursor: str | None
    ) -> Page[Thread]:
        room = self._room(caller, room_id)
        return self.rooms.list_threads(
            caller.env_id, room, resolved, limit=limit, cursor=cursor, secret=self._secret
        )

    def create_thread(
        self,
        caller: Caller,
        room_id: str,
        user_id: str,
        body: str,
        metadata: Metadata | None,
        attachment_ids: tuple[str, ...] = (),
    ) -> Thread:
        named = self._mention_reads(caller, body)
        files = self.attachments.reads(caller.env_id, attachment_ids)
        room, last, got = self._room_to_change(caller, room_id, *named, *files)
        attached = self.attachments.claimable(got, files, room_id)
        now = self.clock.now_iso()
        thread_id = ids.new_id("th")
        comment = Comment(
            id=ids.new_id("cm"),
            thread_id=thread_id,
            room_id=room_id,
            user_id=user_id,
            body=body,
            created_at=now,
            edited_at=None,
            mentions=_mentionable(named, got, room_id, room.access),
            attachments=tuple(attached),
        )
        claims = self.attachments.claims(caller.env_id, room_id, attached, thread_id, comment.id)
        comment = self.attachments.signed(caller.env_id, comment)
        thread = Thread(
            id=thread_id,
            room_id=room_id,
            resolved=False,
            metadata=metadata or {},
            created_at=now,
            updated_at=now,
            created_by=user_id,
            comment_count=1,
            comments=self.rooms.first_comments(caller.env_id, thread_id, [comment], self._secret),
        )
        event = self._event(
            caller, room_id, "thread.created", THREAD.dump(thread), last, thread=thread
        )
        self.attachments.check_uploaded(caller.env_id, room_id, attached)
        committed = self.rooms.create_thread(
            caller.env_id, room, thread, comment, now[:10], event, claims
        )
        if committed is None:
            if attached:  # the room, or an attachment another comment claimed first
                self._room_to_change(caller, room_id)
                raise InvalidInput("attachmentIds", "an attachment was attached meanwhile")
            raise room_not_found()  # deleted (or re-created) between the read and the write
        self.attachments.mark_attached(caller.env_id, room_id, attached)
        meter.count_room(caller.env_id, room_id, "comments")
        self._publish(caller, room_id, "thread.created", thread=thread, seq=committed.seq)
        return thread

    def get_thread(self, caller: Caller, room_id: str, thread_id: str) -> Thread:
        _, state = self._thread(caller, room_id, thread_id)
        comments = self.rooms.list_comments(
            caller.env_id, thread_id, limit=THREAD_COMMENTS_PAGE, cursor=None, secret=self._secret
        )
        return replace(state.thread, comments=self.attachments.signed_page(caller.env_id, comments))

    def update_thread(
        self,
        caller: Caller,
        room_id: str,
        thread_id: str,
        *,
        resolved: bool | None,
        metadata: Metadata | None,
    ) -> Thread:
        _, state, last, _ = self._thread_to_change(caller, room_id, thread_id)
        now = self.clock.now_iso()
        thread = replace(state.thread, updated_at=now)
        if resolved is not None:
            thread = replace(thread, resolved=resolved)
        if metadata is not None:
            thread = replace(thread, metadata=metadata)
        # A resolve is its own event type, so a backend can follow resolutions alone.
        kind = "thread.resolved" if resolved and not state.thread.resolved else "thread.updated"
        event = self._event(caller, room_id, kind, THREAD.dump(thread), last, thread=thread)
        committed = self.rooms.update_thread(
            caller.env_id, state, resolved=resolved, metadata=metadata, now_iso=now, event=event
        )
        if committed is None:
            raise thread_not_found()
        self._publish(caller, room_id, "thread.updated", thread=thread, seq=committed.seq)
        return thread

    def delete_thread(self, caller: Caller, room_id: str, thread_id: str) -> None:
        for _ in range(RETRIES):
            room, state, last, _ = self._thread_to_change(caller, room_id, thread_id)
            gone = self._thread_deleted(caller, room_id, thread_id, last)
            files: list[str] = []
            committed = self.rooms.delete_thread(caller.env_id, room, state, gone, files)
            if committed is not None:
                self._published_thread_deleted(caller, room_id, thread_id, committed.seq)
                self.attachments.delete_files(caller.env_id, room_id, files)
                return
        raise busy()

    def browse_threads(
        self, caller: Caller, room_id: str, resolved: bool | None, limit: int, cursor: str | None
    ) -> Page[Thread]:
        """Threads, each with its first comments (the admin data browser): one Query per thread."""
        page = self.list_threads(caller, room_id, resolved, limit, cursor)
        threads = [
            replace(
                t,
                comments=self.attachments.signed_page(
                    caller.env_id,
                    self.rooms.list_comments(
                        caller.env_id,
                        t.id,
                        limit=THREAD_COMMENTS_PAGE,
                        cursor=None,
                        secret=self._secret,
                    ),
                ),
            )
            for t in page.data
        ]
        return Page(threads, page.next_cursor, page.after)

    # --- comments ----------------------------------------------------------------------------

    def list_comments(
        self, caller: Caller, room_id: str, thread_id: str, limit: int, cursor: str | None
    ) -> Page[Comment]:
        self._thread(caller, room_id, thread_id)
        page = self.rooms.list_comments(
            caller.env_id, thread_id, limit=limit, cursor=cursor, secret=self._secret
        )
        return self.attachments.signed_page(caller.env_id, page)

    def create_comment(
        self,
        caller: Caller,
        room_id: str,
        thread_id: str,
        user_id: str,
        body: str,
        attachment_ids: tuple[str, ...] = (),
    ) -> Comment:
        for _ in range(RETRIES):
            named = self._mention_reads(caller, body)
            files = self.attachments.reads(caller.env_id, attachment_ids)
            room, state, last, got = self._thread_to_change(
                caller, room_id, thread_id, *named, *files
            )
            attached = self.attachments.claimable(got, files, room_id)
            now = self.clock.now_iso()
            comment = Comment(
                id=ids.new_id("cm"),
                thread_id=thread_id,
                room_id=room_id,
                user_id=user_id,
                body=body,
                created_at=now,
                edited_at=None,
                mentions=_mentionable(named, got, room_id, room.access),
                attachments=tuple(attached),
            )
            claims = self.attachments.claims(
                caller.env_id, room_id, attached, thread_id, comment.id
            )
            comment = self.attachments.signed(caller.env_id, comment)
            event = self._event(
                caller, room_id, "comment.created", COMMENT.dump(comment), last, comment=comment
            )
            self.attachments.check_uploaded(caller.env_id, room_id, attached)
            committed = self.rooms.create_comment(
                caller.env_id, room, state, comment, now[:10], event, claims
            )
            if committed is not None:
                self.attachments.mark_attached(caller.env_id, room_id, attached)
                meter.count_room(caller.env_id, room_id, "comments")
                self._publish(
                    caller, room_id, "comment.created", comment=comment, seq=committed.seq
                )
                return comment
        raise busy()

    def update_comment(
        self,
        caller: Caller,
        room_id: str,
        thread_id: str,
        comment_id: str,
        body: str,
        *,
        author: str | None = None,
    ) -> Comment:
        """`author` set: only that user's comment may change (the widget edits its own)."""
        named = self._mention_reads(caller, body)
        room, _, comment, last, got = self._comment(
            caller, room_id, thread_id, comment_id, author, *named
        )
        now = self.clock.now_iso()
        mentions = _mentionable(named, got, room_id, room.access)
        updated = replace(comment, body=body, edited_at=now, mentions=mentions)
        event = self._event(
            caller, room_id, "comment.updated", COMMENT.dump(updated), last, comment=updated
        )
        committed = self.rooms.update_comment(caller.env_id, comment, body, mentions, now, event)
        if committed is None:
            raise comment_not_found()
        updated = self.attachments.signed(caller.env_id, updated)
        self._publish(caller, room_id, "comment.updated", comment=updated, seq=committed.seq)
        return updated

    def delete_comment(
        self,
        caller: Caller,
        room_id: str,
        thread_id: str,
        comment_id: str,
        *,
        author: str | None = None,
    ) -> None:
        """Deleting the last comment of a thread deletes the thread."""
        for _ in range(RETRIES):
            room, state, comment, last, _ = self._comment(
                caller, room_id, thread_id, comment_id, author
            )
            if state.thread.comment_count <= 1:
                gone = self._thread_deleted(caller, room_id, thread_id, last)
                files: list[str] = []
                committed = self.rooms.delete_thread(caller.env_id, room, state, gone, files)
                if committed is not None:
                    self._published_thread_deleted(caller, room_id, thread_id, committed.seq)
                    self.attachments.delete_files(caller.env_id, room_id, files)
                    return
                continue
            removed = {"commentId": comment_id, "threadId": thread_id, "roomId": room_id}
            event = self._event(
                caller,
                room_id,
                "comment.deleted",
                {"id": comment_id, "threadId": thread_id},
                last,
                frame=("comment.deleted", removed),
            )
            committed = self.rooms.delete_comment(caller.env_id, room, state, comment, event)
            if committed is not None:
                self._publish(caller, room_id, "comment.deleted", **removed, seq=committed.seq)
                self.attachments.delete_files(
                    caller.env_id, room_id, [a.id for a in comment.attachments]
                )
                return
        raise busy()

    # --- reactions -------------------------------------------------------------------------

    def react(
        self,
        caller: Caller,
        room_id: str,
        thread_id: str,
        comment_id: str,
        user_id: str,
        emoji: str,
        *,
        add: bool,
    ) -> Reacted:
        """Add (or remove) the user's `emoji` on the comment: its reaction item and the comment's
        summary in one transaction with the event (`reaction.added` / `reaction.removed`).
        Reacting twice, or removing a reaction that is not there, changes nothing and is not an
        error (`changed` False). At most REACTION_EMOJI_MAX distinct emoji on a comment."""
        kind = "reaction.added" if add else "reaction.removed"
        for attempt in range(REACT_ATTEMPTS):
            if attempt:
                _pause(attempt)
            env_id = caller.env_id
            room, thread = (
                self.rooms.room_read(env_id, room_id),
                self.rooms.thread_read(env_id, room_id, thread_id),
            )
            comment = self.rooms.comment_read(env_id, thread_id, comment_id)
            mine = self.rooms.reaction_read(env_id, thread_id, comment_id, emoji, user_id)
            got, last = self._load_to_change(caller, room_id, room, thread, comment, mine)
            _, state = parents(got[room], got[thread])
            found = got[comment]
            if found is None or found.room_id != room_id:
                raise comment_not_found()
            if got[mine] == add:
                return Reacted(found, False)
            after = reacted(found.reactions, emoji, user_id, add=add)
            updated = replace(found, reactions=after)
            news = {
                "threadId": thread_id,
                "commentId": comment_id,
                "emoji": emoji,
                "userId": user_id,
                "reactions": [REACTION.dump(r) for r in after],
            }
            data = {"id": comment_id, **news}
            event = self._event(caller, room_id, kind, data, last, frame=(kind, news))
            committed = self.rooms.react(
                env_id, state, found, after, emoji=emoji, user_id=user_id, added=add, event=event
            )
            if committed is not None:
                self._publish(caller, room_id, kind, **news, seq=committed.seq)
                return Reacted(updated, True)
        raise busy()

    # --- attachments -------------------------------------------------------------------------

    def create_attachment(
        self, caller: Caller, room_id: str, name: str, mime_type: str, size: int
    ) -> Upload:
        """An upload of the room: checked against the environment's limits (read with the
        room in the request's one BatchGetItem), recorded, then its POST signed."""
        room = self.rooms.room_read(caller.env_id, room_id)
        environment, got = self.authority.load_with_environment(caller, room)
        if got[room] is None:
            raise room_not_found()
        return self.attachments.new_upload(
            caller.env_id, environment, room_id, name, mime_type, size
        )

    # --- the room's events -------------------------------------------------------------------

    def list_events(
        self, caller: Caller, room_id: str, since: int | None, limit: int, cursor: str | None
    ) -> Page[RoomEvent]:
        """The room's events in order, after `since` (None: all those kept) or after the seq its
        cursor names. Gone (RESYNC_REQUIRED) when the events right after `since` are no longer
        kept, or `since` is past the room's last seq. The credentials and the room are checked
        before the cursor is read."""
        last = self._last_of(caller, room_id)
        scope = f"events:{caller.env_id}:{room_id}"
        if cursor:
            since, check = int(cursors.decode(self._secret, scope, cursor).get("after", 0)), True
        else:
            since, check = (since or 0), since is not None
        found = self._after(caller, room_id, since, limit, last)
        if check and not found.kept:
            raise resync_required(since, found.last, found.why)
        return self._events_page(caller, room_id, since, found)

    def _events_page(
        self, caller: Caller, room_id: str, since: int, found: CatchUp
    ) -> Page[RoomEvent]:
        """The events found after `since` as a page whose cursors continue `list_events`."""
        scope = f"events:{caller.env_id}:{room_id}"
        events = found.events

        def after(index: int) -> str:
            at = events[index].seq if index >= 0 else since
            return cursors.encode(self._secret, scope, {"after": at})

        next_cursor = after(len(events) - 1) if found.more else None
        return Page(events, next_cursor, after)

    def catch_up(self, caller: Caller, room_id: str, since: int, limit: int) -> CatchUp:
        """The room's events after `since`, in order (at most `limit`), and its last seq: one
        read of the room and its log's head, and one Query of the log unless `since` is the
        last. `kept` is False (and `why` says why) when events right after `since` are no longer
        kept or `since` is past the last seq. A deleted room's events stay readable while they
        are kept."""
        return self._after(caller, room_id, since, limit, self._last_of(caller, room_id))

    def _last_of(self, caller: Caller, room_id: str) -> int:
        """The room's last seq, in the request's one read (with the credentials' check); 404 for
        a room that neither exists nor ever had an event."""
        room, head = (
            self.rooms.room_read(caller.env_id, room_id),
            self.history.head_read(caller.env_id, room_id),
        )
        got = self.authority.load(caller, room, head)
        last = got[head]
        if got[room] is None and last == 0:
            raise room_not_found()
        return last

    def _after(self, caller: Caller, room_id: str, since: int, limit: int, last: int) -> CatchUp:
        if since > last:
            return CatchUp([], False, last, False, "is past the room's last seq")
        if since == last:
            return CatchUp([], False, last, True)
        found = self.history.events_after(
            caller.env_id, room_id, since, limit, int(self.clock.now())
        )
        if not found.continuous:
            return CatchUp(found.events, found.more, last, False, "is older than the events kept")
        return CatchUp(found.events, found.more, last, True)

    def recent_events(self, caller: Caller, room_id: str, count: int) -> Page[RoomEvent]:
        """The room's last `count` events still kept, oldest first (the Admin Panel's room
        inspector; it then asks for those after the last with `list_events`)."""
        last = self._last_of(caller, room_id)
        since = max(0, last - count)
        return self._events_page(
            caller, room_id, since, self._after(caller, room_id, since, count, last)
        )

    def last_seq(self, caller: Caller, room_id: str) -> int:
        """The room's last seq (0 before its first change)."""
        head = self.history.head_read(caller.env_id, room_id)
        return self.authority.load(caller, head)[head]

    # --- users and analytics -----------------------------------------------------------------

    def list_users(self, caller: Caller, limit: int, cursor: str | None) -> Page[User]:
        self.authority.load(caller)
        return self.users.list_users(caller.env_id, limit=limit, cursor=cursor, secret=self._secret)

    def search_users(
        self, caller: Caller, q: str, limit: int, *, room_id: str | None = None
    ) -> list[User]:
        """Users whose id, or a word of whose name, starts with `q` (ids first), at most `limit`,
        at a cost that never grows with the environment. With `room_id`: only those who can
        read that room (the composer's `@` suggestions)."""
        if room_id is None:
            self.authority.load(caller)
            return self.users.search(caller.env_id, q, limit)
        room = self._room(caller, room_id)
        found = self.users.search(caller.env_id, q, SEARCH_POOL)
        readers = [
            u
            for u in found
            if level_for(TokenAccess(u.id, u.group_ids, u.permissions), room_id, room.access)
            != NONE
        ]
        return readers[:limit]

    def get_user(self, caller: Caller, user_id: str) -> User:
        user = self.users.user_read(caller.env_id, user_id)
        found = self.authority.load(caller, user)[user]
        if found is None:
            raise user_not_found()
        return found

    # --- helpers -----------------------------------------------------------------------------

    @property
    def _secret(self) -> bytes:
        return self.settings.signing_secret

    def _room(self, caller: Caller, room_id: str) -> RoomState:
        room = self.rooms.room_read(caller.env_id, room_id)
        found = self.authority.load(caller, room)[room]
        if found is None:
            raise room_not_found()
        return found

    def _room_to_change(
        self, caller: Caller, room_id: str, *extra: Read[Any]
    ) -> tuple[RoomState, int, Fetched]:
        """The room, its last seq (the change's event takes the next), and the answers of the
        `extra` reads made with them."""
        room = self.rooms.room_read(caller.env_id, room_id)
        got, last = self._load_to_change(caller, room_id, room, *extra)
        found = got[room]
        if found is None:
            raise room_not_found()
        return found, last, got

    def _room_and_purge(
        self, caller: Caller, room_id: str
    ) -> tuple[RoomState | None, set[str], int]:
        """The room (None if there is none), the generations it still has to purge, and its last
        seq."""
        room, purge = (
            self.rooms.room_read(caller.env_id, room_id),
            self.rooms.purge_read(caller.env_id, room_id),
        )
        got, last = self._load_to_change(caller, room_id, room, purge)
        return got[room], got[purge], last

    def _mention_reads(self, caller: Caller, body: str) -> list[Read[User | None]]:
        """A read of each user the body mentions (in the request's one read)."""
        return [self.users.user_read(caller.env_id, u) for u in mentioned(body)]

    def _load_to_change(
        self, caller: Caller, room_id: str, *reads: Read[Any]
    ) -> tuple[Fetched, int]:
        """`reads` with the room's last seq and, for a socket write its client named, that
        write's acknowledgement, in the request's one read. Raises Replayed if it was made."""
        head = self.history.head_read(caller.env_id, room_id)
        named = _named(caller)
        ack = (
            self.history.mutation_read(
                caller.env_id, room_id, named[0], named[1], int(self.clock.now())
            )
            if named
            else None
        )
        got = self.authority.load(caller, *reads, head, *([ack] if ack else []))
        if ack is not None and (stored := got[ack]) is not None:
            raise Replayed(stored.frame, stored.seq)
        return got, got[head]

    def _thread(
        self, caller: Caller, room_id: str, thread_id: str
    ) -> tuple[RoomState, ThreadState]:
        env_id = caller.env_id
        room, thread = (
            self.rooms.room_read(env_id, room_id),
            self.rooms.thread_read(env_id, room_id, thread_id),
        )
        got = self.authority.load(caller, room, thread)
        return parents(got[room], got[thread])

    def _thread_to_change(
        self, caller: Caller, room_id: str, thread_id: str, *extra: Read[Any]
    ) -> tuple[RoomState, ThreadState, int, Fetched]:
        env_id = caller.env_id
        room, thread = (
            self.rooms.room_read(env_id, room_id),
            self.rooms.thread_read(env_id, room_id, thread_id),
        )
        got, last = self._load_to_change(caller, room_id, room, thread, *extra)
        return (*parents(got[room], got[thread]), last, got)

    def _comment(
        self,
        caller: Caller,
        room_id: str,
        thread_id: str,
        comment_id: str,
        author: str | None,
        *extra: Read[Any],
    ) -> tuple[RoomState, ThreadState, Comment, int, Fetched]:
        """For a change of the comment: with the room's last seq (and `extra`'s answers)."""
        env_id = caller.env_id
        room, thread = (
            self.rooms.room_read(env_id, room_id),
            self.rooms.thread_read(env_id, room_id, thread_id),
        )
        comment = self.rooms.comment_read(env_id, thread_id, comment_id)
        got, last = self._load_to_change(caller, room_id, room, thread, comment, *extra)
        pair = parents(got[room], got[thread])
        found = got[comment]
        if found is None or found.room_id != room_id:
            raise comment_not_found()
        if author is not None and found.user_id != author:
            raise Forbidden("You can only change your own comments.", code=codes.NOT_COMMENT_AUTHOR)
        return (*pair, found, last, got)

    def _event(
        self,
        caller: Caller,
        room_id: str,
        event_type: str,
        data: dict[str, Any],
        last: int,
        *,
        frame: tuple[str, dict[str, Any]] | None = None,
        **payload: Any,
    ) -> RoomEvent:
        """The change's event at the seq after `last`, written in its transaction (webhooks read
        it from the stream). For a socket write its client named, the acknowledgement its resends
        get: the frame `frame` (type and payload; else the event's type and `payload`)."""
        now = self.clock.now()
        seq = last + 1
        named = _named(caller)
        ack = None
        if named:
            kind, body = frame or (_FRAMES.get(event_type, event_type), payload)
            ack = Ack(
                named[0],
                named[1],
                event_message(kind, body),
                int(now),
                int(now) + ACK_SECONDS,
            )
        return RoomEvent(
            id=ids.new_id("evt"),
            env_id=caller.env_id,
            room_id=room_id,
            type=event_type,
            data={**data, "environmentId": caller.env_id, "roomId": room_id, "seq": seq},
            created_at=self.clock.now_iso(),
            expires_at=int(now) + self.settings.events_ttl_seconds,
            seq=seq,
            ack=ack,
        )

    def _thread_deleted(self, caller: Caller, room_id: str, thread_id: str, last: int) -> RoomEvent:
        removed = {"threadId": thread_id, "roomId": room_id}
        return self._event(
            caller,
            room_id,
            "thread.deleted",
            {"id": thread_id},
            last,
            frame=("thread.deleted", removed),
        )

    def _published_thread_deleted(
        self, caller: Caller, room_id: str, thread_id: str, seq: int
    ) -> None:
        self._publish(
            caller, room_id, "thread.deleted", threadId=thread_id, roomId=room_id, seq=seq
        )

    def _publish(self, caller: Caller, room_id: str, event_type: str, **payload: Any) -> None:
        """After the commit: a failing announcement must not turn a write that happened into an
        error (the client would retry it and write twice)."""
        try:
            origin = caller if isinstance(caller, MemberCaller) else None
            self.events.publish(caller.env_id, room_id, event_type, payload, origin)
        except Exception:
            log.exception("event not published", extra={"roomId": room_id, "type": event_type})
