"""Rooms, threads, comments and users of an environment: the rules the REST API, the admin data
browser and (later) the WebSocket protocol share. Every method takes an Access (a secret key or an
operator) and makes one check-and-read round trip plus at most one Query or one transaction."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import Any

from .. import codes, ids
from ..clock import Clock
from ..config import Settings
from ..entities import Analytics, Comment, Metadata, Page, Room, Thread, User
from ..errors import Conflict, Forbidden, NotFound
from ..repositories import rooms as repo
from ..repositories import stats as stats_repo
from ..repositories import users as users_repo
from ..repositories.rooms import RoomState, ThreadState
from ..validation import is_room_id
from .access import Access, load
from .events import EventSink, NullSink

log = logging.getLogger("pulse.collab")

THREAD_COMMENTS_PAGE = 100  # comments embedded in a thread returned alone
ANALYTICS_DAYS = 30
RETRIES = 3  # re-reads after a concurrent change to the same thread or room
USER_ID_MAX = 128  # the longest userId POST /auth/token accepts


def room_not_found() -> NotFound:
    return NotFound("No room with this id.", code=codes.ROOM_NOT_FOUND)


def thread_not_found() -> NotFound:
    return NotFound("No thread with this id in this room.", code=codes.THREAD_NOT_FOUND)


def comment_not_found() -> NotFound:
    return NotFound("No comment with this id in this thread.", code=codes.COMMENT_NOT_FOUND)


def user_not_found() -> NotFound:
    return NotFound("No user with this id.", code=codes.USER_NOT_FOUND)


def busy() -> Conflict:
    return Conflict(
        "The item kept changing while this request ran; nothing was changed.",
        code=codes.CONCURRENT_CHANGE,
        suggestion="Retry the request.",
    )


class CollabService:
    def __init__(self, settings: Settings, clock: Clock, events: EventSink | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.events: EventSink = events or NullSink()

    # --- rooms -------------------------------------------------------------------------------

    def list_rooms(self, access: Access, limit: int, cursor: str | None) -> Page[Room]:
        load(self.settings, self.clock, access, [])
        return repo.list_rooms(access.env_id, limit=limit, cursor=cursor, secret=self._secret)

    def create_room(self, access: Access, room_id: str, metadata: Metadata | None) -> Room:
        load(self.settings, self.clock, access, [])
        now = self.clock.now_iso()
        room = Room(id=room_id, metadata=metadata or {}, created_at=now, updated_at=now)
        if not repo.create_room(access.env_id, room, secrets.token_hex(8)):
            raise Conflict("A room with this id exists.", code=codes.ROOM_EXISTS)
        return room

    def get_room(self, access: Access, room_id: str) -> Room:
        return self._room(access, room_id).room

    def update_room(self, access: Access, room_id: str, metadata: Metadata) -> Room:
        self._room(access, room_id)
        state = repo.update_room(access.env_id, room_id, metadata, self.clock.now_iso())
        if state is None:
            raise room_not_found()
        return state.room

    def delete_room(self, access: Access, room_id: str) -> None:
        """The room and its counts go in one transaction; its threads and comments (invisible
        from then on) are purged after it. If that purge did not finish, the room's purge item
        says so, and a DELETE of the room (a client's retry) finishes it and answers 204."""
        for _ in range(RETRIES):
            state, pending = self._room_and_purge(access, room_id)
            if state is None:
                if not pending:
                    raise room_not_found()
                self._publish(access, room_id, "room.deleted", roomId=room_id)
                repo.purge_room(access.env_id, room_id, pending)
                return
            if repo.delete_room(access.env_id, state):
                self._publish(access, room_id, "room.deleted", roomId=room_id)
                if state.thread_count:
                    pending = pending | {state.gen}
                if pending:
                    repo.purge_room(access.env_id, room_id, pending)
                return
        raise busy()

    # --- threads -----------------------------------------------------------------------------

    def list_threads(
        self, access: Access, room_id: str, resolved: bool | None, limit: int, cursor: str | None
    ) -> Page[Thread]:
        room = self._room(access, room_id)
        return repo.list_threads(
            access.env_id, room, resolved, limit=limit, cursor=cursor, secret=self._secret
        )

    def create_thread(
        self, access: Access, room_id: str, user_id: str, body: str, metadata: Metadata | None
    ) -> Thread:
        room = self._room(access, room_id)
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
        )
        thread = Thread(
            id=thread_id,
            room_id=room_id,
            resolved=False,
            metadata=metadata or {},
            created_at=now,
            updated_at=now,
            created_by=user_id,
            comment_count=1,
            comments=repo.first_comments(access.env_id, thread_id, [comment], self._secret),
        )
        if not repo.create_thread(access.env_id, room, thread, comment, now[:10]):
            raise room_not_found()  # deleted (or re-created) between the read and the write
        self._publish(access, room_id, "thread.created", thread=thread)
        return thread

    def get_thread(self, access: Access, room_id: str, thread_id: str) -> Thread:
        _, state = self._thread(access, room_id, thread_id)
        comments = repo.list_comments(
            access.env_id, thread_id, limit=THREAD_COMMENTS_PAGE, cursor=None, secret=self._secret
        )
        return replace(state.thread, comments=comments)

    def update_thread(
        self,
        access: Access,
        room_id: str,
        thread_id: str,
        *,
        resolved: bool | None,
        metadata: Metadata | None,
    ) -> Thread:
        _, state = self._thread(access, room_id, thread_id)
        updated = repo.update_thread(
            access.env_id,
            state,
            resolved=resolved,
            metadata=metadata,
            now_iso=self.clock.now_iso(),
        )
        if updated is None:
            raise thread_not_found()
        self._publish(access, room_id, "thread.updated", thread=updated.thread)
        return updated.thread

    def delete_thread(self, access: Access, room_id: str, thread_id: str) -> None:
        for _ in range(RETRIES):
            room, state = self._thread(access, room_id, thread_id)
            if repo.delete_thread(access.env_id, room, state):
                self._publish(access, room_id, "thread.deleted", threadId=thread_id, roomId=room_id)
                return
        raise busy()

    def browse_threads(
        self, access: Access, room_id: str, resolved: bool | None, limit: int, cursor: str | None
    ) -> Page[Thread]:
        """Threads, each with its first comments (the admin data browser): one Query per thread."""
        page = self.list_threads(access, room_id, resolved, limit, cursor)
        threads = [
            replace(
                t,
                comments=repo.list_comments(
                    access.env_id,
                    t.id,
                    limit=THREAD_COMMENTS_PAGE,
                    cursor=None,
                    secret=self._secret,
                ),
            )
            for t in page.data
        ]
        return Page(threads, page.next_cursor, page.after)

    # --- comments ----------------------------------------------------------------------------

    def list_comments(
        self, access: Access, room_id: str, thread_id: str, limit: int, cursor: str | None
    ) -> Page[Comment]:
        self._thread(access, room_id, thread_id)
        return repo.list_comments(
            access.env_id, thread_id, limit=limit, cursor=cursor, secret=self._secret
        )

    def create_comment(
        self, access: Access, room_id: str, thread_id: str, user_id: str, body: str
    ) -> Comment:
        for _ in range(RETRIES):
            room, state = self._thread(access, room_id, thread_id)
            now = self.clock.now_iso()
            comment = Comment(
                id=ids.new_id("cm"),
                thread_id=thread_id,
                room_id=room_id,
                user_id=user_id,
                body=body,
                created_at=now,
                edited_at=None,
            )
            if repo.create_comment(access.env_id, room, state, comment, now[:10]):
                self._publish(access, room_id, "comment.created", comment=comment)
                return comment
        raise busy()

    def update_comment(
        self,
        access: Access,
        room_id: str,
        thread_id: str,
        comment_id: str,
        body: str,
        *,
        author: str | None = None,
    ) -> Comment:
        """`author` set: only that user's comment may change (the widget edits its own)."""
        _, _, comment = self._comment(access, room_id, thread_id, comment_id, author)
        updated = repo.update_comment(access.env_id, comment, body, self.clock.now_iso())
        if updated is None:
            raise comment_not_found()
        self._publish(access, room_id, "comment.updated", comment=updated)
        return updated

    def delete_comment(
        self,
        access: Access,
        room_id: str,
        thread_id: str,
        comment_id: str,
        *,
        author: str | None = None,
    ) -> None:
        """Deleting the last comment of a thread deletes the thread."""
        for _ in range(RETRIES):
            room, state, comment = self._comment(access, room_id, thread_id, comment_id, author)
            if state.thread.comment_count <= 1:
                if repo.delete_thread(access.env_id, room, state):
                    self._publish(
                        access, room_id, "thread.deleted", threadId=thread_id, roomId=room_id
                    )
                    return
            elif repo.delete_comment(access.env_id, room, state, comment):
                self._publish(
                    access,
                    room_id,
                    "comment.deleted",
                    commentId=comment_id,
                    threadId=thread_id,
                    roomId=room_id,
                )
                return
        raise busy()

    # --- users and analytics -----------------------------------------------------------------

    def list_users(self, access: Access, limit: int, cursor: str | None) -> Page[User]:
        load(self.settings, self.clock, access, [])
        return users_repo.list_users(access.env_id, limit=limit, cursor=cursor, secret=self._secret)

    def get_user(self, access: Access, user_id: str) -> User:
        if not 0 < len(user_id) <= USER_ID_MAX:  # no mint stores it; DynamoDB would refuse the key
            load(self.settings, self.clock, access, [])  # credentials first, then the 404
            raise user_not_found()
        (user,) = load(
            self.settings, self.clock, access, [users_repo.user_read(access.env_id, user_id)]
        )
        if not isinstance(user, User):
            raise user_not_found()
        return user

    def analytics(self, access: Access) -> Analytics:
        load(self.settings, self.clock, access, [])
        return stats_repo.analytics(access.env_id, self.clock.today(), ANALYTICS_DAYS)

    # --- helpers -----------------------------------------------------------------------------

    @property
    def _secret(self) -> bytes:
        return self.settings.signing_secret

    def _room(self, access: Access, room_id: str) -> RoomState:
        if not is_room_id(room_id):
            load(self.settings, self.clock, access, [])  # credentials first, then the 404
            raise room_not_found()
        (room,) = load(self.settings, self.clock, access, [repo.room_read(access.env_id, room_id)])
        if not isinstance(room, RoomState):
            raise room_not_found()
        return room

    def _room_and_purge(self, access: Access, room_id: str) -> tuple[RoomState | None, set[str]]:
        """The room (None if there is none) and the generations it still has to purge."""
        if not is_room_id(room_id):
            load(self.settings, self.clock, access, [])
            raise room_not_found()
        room, pending = load(
            self.settings,
            self.clock,
            access,
            [repo.room_read(access.env_id, room_id), repo.purge_read(access.env_id, room_id)],
        )
        return room, pending

    def _thread(
        self, access: Access, room_id: str, thread_id: str
    ) -> tuple[RoomState, ThreadState]:
        if not is_room_id(room_id) or not ids.raw_part(thread_id, "th"):
            self._room(access, room_id)  # the credentials, then ROOM_NOT_FOUND if it is that
            raise thread_not_found()
        room, thread = load(
            self.settings,
            self.clock,
            access,
            [
                repo.room_read(access.env_id, room_id),
                repo.thread_read(access.env_id, room_id, thread_id),
            ],
        )
        if room is None:
            raise room_not_found()
        if thread is None or thread.room_gen != room.gen:
            raise thread_not_found()
        return room, thread

    def _comment(
        self, access: Access, room_id: str, thread_id: str, comment_id: str, author: str | None
    ) -> tuple[RoomState, ThreadState, Comment]:
        if not ids.raw_part(comment_id, "cm"):
            self._thread(access, room_id, thread_id)  # the credentials and parents' 404s first
            raise comment_not_found()
        if not is_room_id(room_id) or not ids.raw_part(thread_id, "th"):
            self._thread(access, room_id, thread_id)  # raises the parent's 404
        room, thread, comment = load(
            self.settings,
            self.clock,
            access,
            [
                repo.room_read(access.env_id, room_id),
                repo.thread_read(access.env_id, room_id, thread_id),
                repo.comment_read(access.env_id, thread_id, comment_id),
            ],
        )
        if room is None:
            raise room_not_found()
        if thread is None or thread.room_gen != room.gen:
            raise thread_not_found()
        if comment is None or comment.room_id != room_id:
            raise comment_not_found()
        if author is not None and comment.user_id != author:
            raise Forbidden("You can only change your own comments.", code=codes.NOT_COMMENT_AUTHOR)
        return room, thread, comment

    def _publish(self, access: Access, room_id: str, event_type: str, **payload: Any) -> None:
        """After the commit: a failing announcement must not turn a write that happened into an
        error (the client would retry it and write twice)."""
        try:
            self.events.publish(access.env_id, room_id, event_type, payload)
        except Exception:
            log.exception("event not published", extra={"roomId": room_id, "type": event_type})
