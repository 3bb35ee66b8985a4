"""Exporting a user (GET /users/{userId}/export): everything Pulse holds about them in the
environment as one JSON document, answered inline when it fits, else written to the attachments
bucket and answered as a presigned download (Lambda answers at most 6 MB).

The document is gathered by the same walk as an erase (services/erasure.py): the environment's
rooms, their threads and comment partitions, then the user's own partitions; Queries on known
keys only, so its cost grows with the environment, as an erase's does (docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import codes, ids, jsontext
from ..clock import Clock, iso
from ..config import Settings
from ..entities import Comment, User
from ..errors import NotFound, Unavailable
from .authority import Authority
from .callers import SecretKeyCaller
from .ports import ErasureStore, FileStore, UserStore

PAGE = 100
DOWNLOAD_SECONDS = 3600  # a presigned export's life


def export_key(env_id: str) -> str:
    """Under the environment's attachments prefix, beside its rooms' (`~` is never in a room's
    base64url prefix); tagged `pending`, so the bucket's lifecycle rule removes it in a day."""
    return f"att/{env_id}/~exports/{ids.new_id('exp')}.json"


class ExportService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        authority: Authority,
        *,
        store: ErasureStore,
        users: UserStore,
        files: FileStore | None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.authority = authority
        self.store = store
        self.users = users
        self.files = files

    def export(self, caller: SecretKeyCaller, user_id: str) -> dict[str, Any]:
        user_read = self.users.user_read(caller.env_id, user_id)
        user = self.authority.load(caller, user_read)[user_read]
        if user is None:
            raise NotFound("No user with this id in the environment.", code=codes.USER_NOT_FOUND)
        document = self.document(caller.env_id, user)
        text = jsontext.dumps(document)
        if len(text.encode()) <= self.settings.export_inline_bytes:
            return {"document": document, "url": None, "expiresAt": None}
        if self.files is None:
            raise Unavailable(
                "The export is too large to answer inline and no bucket is configured "
                "(PULSE_ATTACHMENTS_BUCKET).",
                retry_after=3600,
            )
        key = export_key(caller.env_id)
        self.files.put(key, text.encode(), "application/json")
        expires = self.clock.now() + DOWNLOAD_SECONDS
        url = self.files.download_url(key, DOWNLOAD_SECONDS)
        return {"document": None, "url": url, "expiresAt": iso(expires)}

    def document(self, env_id: str, user: User) -> dict[str, Any]:
        out: dict[str, Any] = {
            "userId": user.id,
            "exportedAt": iso(self.clock.now()),
            "profile": {
                "id": user.id,
                "name": user.name,
                "avatar": user.avatar,
                "color": user.color,
                "firstSeenAt": user.first_seen_at,
                "lastSeenAt": user.last_seen_at,
                "groupIds": list(user.group_ids),
                "permissions": user.permissions,
            },
            "comments": [],
            "threadsStarted": [],
            "reactions": [],
            "subscriptions": [],
            "attachments": [],
        }
        for prefix in ("ROOM#", "PURGE#"):
            for room_id in self._room_ids(env_id, prefix):
                self._room(env_id, user.id, room_id, out)
        self._own(env_id, user.id, out)
        return out

    def _room_ids(self, env_id: str, prefix: str) -> Iterator[str]:
        after = None
        while True:
            page = self.store.room_ids(env_id, prefix, after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1]

    def _room(self, env_id: str, user_id: str, room_id: str, out: dict[str, Any]) -> None:
        after: str | None = None
        while True:
            threads = self.store.threads(env_id, room_id, after, PAGE)
            ids_ = [t.thread.id for t in threads]
            subscribed = self.store.subscriptions(env_id, ids_, user_id) if ids_ else {}
            for t in threads:
                th = t.thread
                if th.created_by == user_id:
                    out["threadsStarted"].append(
                        {"id": th.id, "roomId": room_id, "createdAt": th.created_at}
                    )
                self._comments(env_id, user_id, room_id, th.id, out)
                if th.id in subscribed:
                    out["subscriptions"].append(
                        {"roomId": room_id, "threadId": th.id, "state": subscribed[th.id]}
                    )
            if len(threads) < PAGE:
                return
            after = threads[-1].thread.id

    def _comments(
        self, env_id: str, user_id: str, room_id: str, thread_id: str, out: dict[str, Any]
    ) -> None:
        at: str | None = None
        while True:
            page = self.store.comments(env_id, thread_id, at, PAGE)
            for c in page:
                if c.user_id == user_id:
                    out["comments"].append(_comment(c))
                    out["attachments"] += [
                        {
                            "id": a.id,
                            "name": a.name,
                            "mimeType": a.mime_type,
                            "size": a.size,
                            "commentId": c.id,
                            "threadId": c.thread_id,
                            "roomId": c.room_id,
                        }
                        for a in c.attachments
                    ]
            if len(page) < PAGE:
                break
            at = "COMMENT#" + page[-1].id
        at = None
        while True:
            reactions = self.store.reactions(env_id, thread_id, at, PAGE)
            out["reactions"] += [
                {
                    "roomId": room_id,
                    "threadId": thread_id,
                    "commentId": r.comment_id,
                    "emoji": r.emoji,
                }
                for r in reactions
                if r.user_id == user_id
            ]
            if len(reactions) < PAGE:
                return
            at = reactions[-1].sk

    def _own(self, env_id: str, user_id: str, out: dict[str, Any]) -> None:
        inbox_pk, settings_pk = self.store.own_partitions(env_id, user_id)
        states = self._all(inbox_pk, "T#")
        out["readState"] = [
            {
                "roomId": s.get("room_id"),
                "threadId": s.get("thread_id"),
                "unread": s.get("unread", 0),
                "reason": s.get("reason"),
                "readAt": s.get("read_at"),
                "activityAt": s.get("activity_at"),
            }
            for s in states
        ]
        # The inbox count is the states with unread comments, exactly (repositories/inbox.py).
        out["inbox"] = {"unreadThreads": sum(1 for s in states if s.get("unread", 0) > 0)}
        out["notificationSettings"] = [
            {"roomId": s.get("room_id"), "setting": s.get("setting")}
            for s in self._all(settings_pk, "NOTIFY#")
        ]

    def _all(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = self.store.items_under(pk, prefix, after, PAGE)
            found += page
            if len(page) < PAGE:
                return found
            after = str(page[-1]["sk"])


def _comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "roomId": c.room_id,
        "threadId": c.thread_id,
        "body": c.body,
        "createdAt": c.created_at,
        "editedAt": c.edited_at,
        "mentions": list(c.mentions),
    }
