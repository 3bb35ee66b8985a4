# Generated from _resources.py by sdk/python/scripts/generate.py: do not edit.
"""The resources of `AsyncPulse`: a method per operation of the REST API v1 (operations.py maps
them to the contract's operationIds), and `list_all` iterators over cursor pages.

The async twin (_async_resources.py) is generated from this file by sdk/python/scripts/generate.py.
Optional arguments left as None are not sent (the API reads an absent field and `null` alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, cast

from . import _paths
from ._tokens import TokenCache, cache_key
from ._transport import AsyncTransport, build_call, multipart
from .types import (
    Accepted,
    AccessLevel,
    ActiveUser,
    ActiveUserList,
    Attachment,
    Comment,
    CommentPage,
    CreatedAttachment,
    EraseJob,
    InboxCount,
    InboxEntry,
    InboxEntryPage,
    MintedToken,
    NotificationSettings,
    OpenApiDocument,
    Room,
    RoomEvent,
    RoomEventPage,
    RoomPage,
    Thread,
    ThreadPage,
    ThreadRead,
    ThreadSubscription,
    ThreadWithComments,
    TokensRevoked,
    User,
    UserExportAnswer,
    UserPage,
)

Metadata = Mapping[str, str | float | bool]
Setting = Literal["all", "mentions", "none"]
V1 = "/api/v1"


def _fields(**fields: Any) -> dict[str, Any]:
    """A JSON body of the given fields, without those left as None."""
    return {name: value for name, value in fields.items() if value is not None}


def _room(room_id: str) -> str:
    return f"{V1}/rooms/{_paths.room(room_id)}"


def _thread(room_id: str, thread_id: str) -> str:
    return f"{_room(room_id)}/threads/{_paths.segment(thread_id)}"


def _comment(room_id: str, thread_id: str, comment_id: str) -> str:
    return f"{_thread(room_id, thread_id)}/comments/{_paths.segment(comment_id)}"


def _user(user_id: str) -> str:
    return f"{V1}/users/{_paths.user(user_id)}"


class _AsyncResource:
    def __init__(self, client: AsyncTransport) -> None:
        self._client = client


class AsyncTokens(_AsyncResource):
    """POST /auth/token: tokens for the widget and the browser client."""

    def __init__(self, client: AsyncTransport, cache: TokenCache) -> None:
        self._client = client
        self._cache = cache

    async def mint(
        self,
        user_id: str,
        *,
        name: str,
        avatar: str | None = None,
        group_ids: Sequence[str] | None = None,
        permissions: Mapping[str, AccessLevel] | None = None,
        idempotency_key: str | None = None,
        cache: bool = True,
    ) -> MintedToken:
        """A token for `user_id`. With `cache` (the default), a token minted earlier with the same
        parameters is returned while it has more than the client's refresh margin to live."""
        body = _fields(
            userId=user_id,
            name=name,
            avatar=avatar,
            groupIds=list(group_ids) if group_ids is not None else None,
            permissions=dict(permissions) if permissions is not None else None,
        )
        key = cache_key(body)
        if cache:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        token = await self._send_mint(body, idempotency_key)
        if cache:
            self._cache.put(key, token)
        return token

    async def _send_mint(self, body: dict[str, Any], key: str | None) -> MintedToken:
        call = build_call("POST", "/auth/token", json=body, idempotent=True, idempotency_key=key)
        return cast(MintedToken, await self._client.request(call))


class AsyncRooms(_AsyncResource):
    """Rooms: their metadata and who may enter them."""

    async def list(
        self,
        *,
        user_id: str | None = None,
        group_ids: Sequence[str] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RoomPage:
        groups = ",".join(group_ids) if group_ids is not None else None
        params = {"userId": user_id, "groupIds": groups, "limit": limit, "cursor": cursor}
        call = build_call("GET", f"{V1}/rooms", params=params)
        return cast(RoomPage, await self._client.request(call))

    async def list_all(
        self,
        *,
        user_id: str | None = None,
        group_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Room]:
        """Every room, following `nextCursor` page after page (`limit`: the page size)."""
        cursor: str | None = None
        while True:
            page = await self.list(user_id=user_id, group_ids=group_ids, limit=limit, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return

    async def create(
        self,
        room_id: str,
        *,
        metadata: Metadata | None = None,
        default_access: AccessLevel | None = None,
        users_access: Mapping[str, AccessLevel] | None = None,
        groups_access: Mapping[str, AccessLevel] | None = None,
        idempotency_key: str | None = None,
    ) -> Room:
        body = _fields(
            id=room_id,
            metadata=metadata,
            defaultAccess=default_access,
            usersAccess=users_access,
            groupsAccess=groups_access,
        )
        call = build_call(
            "POST", f"{V1}/rooms", json=body, idempotent=True, idempotency_key=idempotency_key
        )
        return cast(Room, await self._client.request(call))

    async def get(self, room_id: str) -> Room:
        return cast(Room, await self._client.request(build_call("GET", _room(room_id))))

    async def update(
        self,
        room_id: str,
        *,
        metadata: Metadata | None = None,
        default_access: AccessLevel | None = None,
        users_access: Mapping[str, AccessLevel | None] | None = None,
        groups_access: Mapping[str, AccessLevel | None] | None = None,
    ) -> Room:
        """Changes what is given; in `users_access`/`groups_access` a None level removes the
        entry."""
        body = _fields(
            metadata=metadata,
            defaultAccess=default_access,
            usersAccess=users_access,
            groupsAccess=groups_access,
        )
        return cast(
            Room, await self._client.request(build_call("PATCH", _room(room_id), json=body))
        )

    async def delete(self, room_id: str) -> None:
        await self._client.request(build_call("DELETE", _room(room_id)))


class AsyncThreads(_AsyncResource):
    """Threads of comments in a room, and users' subscriptions to them."""

    async def list(
        self,
        room_id: str,
        *,
        resolved: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ThreadPage:
        params = {"resolved": resolved, "limit": limit, "cursor": cursor}
        call = build_call("GET", f"{_room(room_id)}/threads", params=params)
        return cast(ThreadPage, await self._client.request(call))

    async def list_all(
        self, room_id: str, *, resolved: bool | None = None, limit: int | None = None
    ) -> AsyncIterator[Thread]:
        """Every thread of the room, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(room_id, resolved=resolved, limit=limit, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return

    async def create(
        self,
        room_id: str,
        *,
        user_id: str,
        body: str,
        attachment_ids: Sequence[str] | None = None,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
    ) -> ThreadWithComments:
        """A thread, with its first comment (`user_id` writes `body`)."""
        comment = _fields(
            userId=user_id,
            body=body,
            attachmentIds=list(attachment_ids) if attachment_ids is not None else None,
        )
        call = build_call(
            "POST",
            f"{_room(room_id)}/threads",
            json=_fields(comment=comment, metadata=metadata),
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(ThreadWithComments, await self._client.request(call))

    async def get(self, room_id: str, thread_id: str) -> ThreadWithComments:
        call = build_call("GET", _thread(room_id, thread_id))
        return cast(ThreadWithComments, await self._client.request(call))

    async def update(
        self,
        room_id: str,
        thread_id: str,
        *,
        resolved: bool | None = None,
        metadata: Metadata | None = None,
    ) -> Thread:
        body = _fields(resolved=resolved, metadata=metadata)
        call = build_call("PATCH", _thread(room_id, thread_id), json=body)
        return cast(Thread, await self._client.request(call))

    async def delete(self, room_id: str, thread_id: str) -> None:
        await self._client.request(build_call("DELETE", _thread(room_id, thread_id)))

    async def subscribe(self, room_id: str, thread_id: str, *, user_id: str) -> ThreadSubscription:
        """Puts the thread in the user's inbox whenever it has news (idempotent by nature)."""
        path = f"{_thread(room_id, thread_id)}/subscribe"
        call = build_call("POST", path, json={"userId": user_id})
        return cast(ThreadSubscription, await self._client.request(call))

    async def unsubscribe(
        self, room_id: str, thread_id: str, *, user_id: str
    ) -> ThreadSubscription:
        path = f"{_thread(room_id, thread_id)}/unsubscribe"
        call = build_call("POST", path, json={"userId": user_id})
        return cast(ThreadSubscription, await self._client.request(call))


class AsyncComments(_AsyncResource):
    """The comments of a thread."""

    async def list(
        self, room_id: str, thread_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> CommentPage:
        path = f"{_thread(room_id, thread_id)}/comments"
        call = build_call("GET", path, params={"limit": limit, "cursor": cursor})
        return cast(CommentPage, await self._client.request(call))

    async def list_all(
        self, room_id: str, thread_id: str, *, limit: int | None = None
    ) -> AsyncIterator[Comment]:
        """Every comment of the thread, oldest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(room_id, thread_id, limit=limit, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return

    async def create(
        self,
        room_id: str,
        thread_id: str,
        *,
        user_id: str,
        body: str,
        attachment_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Comment:
        fields = _fields(
            userId=user_id,
            body=body,
            attachmentIds=list(attachment_ids) if attachment_ids is not None else None,
        )
        call = build_call(
            "POST",
            f"{_thread(room_id, thread_id)}/comments",
            json=fields,
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(Comment, await self._client.request(call))

    async def update(self, room_id: str, thread_id: str, comment_id: str, *, body: str) -> Comment:
        call = build_call("PATCH", _comment(room_id, thread_id, comment_id), json={"body": body})
        return cast(Comment, await self._client.request(call))

    async def delete(self, room_id: str, thread_id: str, comment_id: str) -> None:
        await self._client.request(build_call("DELETE", _comment(room_id, thread_id, comment_id)))


class AsyncReactions(_AsyncResource):
    """Emoji reactions to comments."""

    async def add(
        self,
        room_id: str,
        thread_id: str,
        comment_id: str,
        *,
        emoji: str,
        user_id: str,
        idempotency_key: str | None = None,
    ) -> Comment:
        """`user_id` reacts with `emoji`; the answer is the comment with its reactions."""
        call = build_call(
            "POST",
            f"{_comment(room_id, thread_id, comment_id)}/reactions",
            json={"emoji": emoji, "userId": user_id},
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(Comment, await self._client.request(call))

    async def remove(
        self,
        room_id: str,
        thread_id: str,
        comment_id: str,
        emoji: str,
        *,
        user_id: str | None = None,
    ) -> Comment:
        """Removes `user_id`'s reaction (None: every user's reaction with `emoji`)."""
        path = f"{_comment(room_id, thread_id, comment_id)}/reactions/{_paths.segment(emoji)}"
        call = build_call("DELETE", path, params={"userId": user_id})
        return cast(Comment, await self._client.request(call))


class AsyncAttachments(_AsyncResource):
    """Files attached to comments."""

    async def create(
        self,
        room_id: str,
        *,
        name: str,
        mime_type: str,
        size: int,
        idempotency_key: str | None = None,
    ) -> CreatedAttachment:
        """An attachment, and the presigned POST (`upload`) that takes its file: post every field
        of `upload["fields"]`, then the file as `file`, to `upload["url"]` (never send your secret
        key there), then name its id in a comment's `attachment_ids`."""
        call = build_call(
            "POST",
            f"{_room(room_id)}/attachments",
            json={"name": name, "mimeType": mime_type, "size": size},
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(CreatedAttachment, await self._client.request(call))

    async def upload(
        self,
        room_id: str,
        data: bytes,
        *,
        name: str,
        mime_type: str,
        idempotency_key: str | None = None,
    ) -> Attachment:
        """`create`, then the file's upload to storage (UploadError if storage refuses it): the
        attachment, ready for a comment's `attachment_ids`."""
        created = await self.create(
            room_id,
            name=name,
            mime_type=mime_type,
            size=len(data),
            idempotency_key=idempotency_key,
        )
        upload = created["upload"]
        await self._client.upload(upload["url"], multipart(upload["fields"], data, name, mime_type))
        return created["attachment"]


class AsyncEvents(_AsyncResource):
    """A room's changes in order (`seq`): catch up after a webhook gap."""

    async def list(
        self,
        room_id: str,
        *,
        since: int | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RoomEventPage:
        params = {"since": since, "limit": limit, "cursor": cursor}
        call = build_call("GET", f"{_room(room_id)}/events", params=params)
        return cast(RoomEventPage, await self._client.request(call))

    async def list_all(
        self, room_id: str, *, since: int | None = None, limit: int | None = None
    ) -> AsyncIterator[RoomEvent]:
        """Every event after `since`, in order, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(room_id, since=since, limit=limit, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return


class AsyncUsers(_AsyncResource):
    """The users tokens were minted for."""

    async def list(
        self, *, q: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> UserPage:
        call = build_call("GET", f"{V1}/users", params={"q": q, "limit": limit, "cursor": cursor})
        return cast(UserPage, await self._client.request(call))

    async def list_all(
        self, *, q: str | None = None, limit: int | None = None
    ) -> AsyncIterator[User]:
        """Every user (matching `q`), page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(q=q, limit=limit, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return

    async def get(self, user_id: str) -> User:
        return cast(User, await self._client.request(build_call("GET", _user(user_id))))

    async def revoke_tokens(
        self, user_id: str, *, idempotency_key: str | None = None
    ) -> TokensRevoked:
        """Tokens minted for the user until now stop connecting; their sockets are closed."""
        call = build_call(
            "POST",
            f"{_user(user_id)}/revoke-tokens",
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(TokensRevoked, await self._client.request(call))

    async def erase(
        self,
        user_id: str,
        *,
        mode: Literal["anonymize", "delete"],
        idempotency_key: str | None = None,
    ) -> EraseJob:
        """Start erasing the user (a job: poll `erase_job`); docs/privacy.md."""
        call = build_call(
            "POST",
            f"{_user(user_id)}/erase",
            json={"mode": mode},
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(EraseJob, await self._client.request(call))

    async def erase_job(self, user_id: str, job_id: str) -> EraseJob:
        """An erase job and what it has done so far."""
        call = build_call("GET", f"{_user(user_id)}/erase/{_paths.segment(job_id)}")
        return cast(EraseJob, await self._client.request(call))

    async def export(self, user_id: str) -> UserExportAnswer:
        """Everything held about the user (`document`), or its download (`url`) when large."""
        call = build_call("GET", f"{_user(user_id)}/export")
        return cast(UserExportAnswer, await self._client.request(call))


class AsyncInbox(_AsyncResource):
    """A user's threads with unread comments."""

    async def list(
        self, user_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> InboxEntryPage:
        path = f"{_user(user_id)}/inbox"
        call = build_call("GET", path, params={"limit": limit, "cursor": cursor})
        return cast(InboxEntryPage, await self._client.request(call))

    async def list_all(
        self, user_id: str, *, limit: int | None = None
    ) -> AsyncIterator[InboxEntry]:
        """Every entry of the user's inbox, newest activity first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(user_id, limit=limit, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return

    async def count(self, user_id: str) -> InboxCount:
        call = build_call("GET", f"{_user(user_id)}/inbox/count")
        return cast(InboxCount, await self._client.request(call))

    async def mark_read(self, user_id: str, thread_id: str) -> ThreadRead:
        """The user has read the thread up to now (idempotent by nature)."""
        path = f"{_user(user_id)}/threads/{_paths.segment(thread_id)}/read"
        return cast(ThreadRead, await self._client.request(build_call("POST", path)))


class AsyncSettings(_AsyncResource):
    """What a user is notified of in a room."""

    async def get(self, room_id: str, user_id: str) -> NotificationSettings:
        path = f"{_room(room_id)}/users/{_paths.user(user_id)}/notification-settings"
        return cast(NotificationSettings, await self._client.request(build_call("GET", path)))

    async def set(self, room_id: str, user_id: str, *, setting: Setting) -> NotificationSettings:
        path = f"{_room(room_id)}/users/{_paths.user(user_id)}/notification-settings"
        call = build_call("PUT", path, json={"setting": setting})
        return cast(NotificationSettings, await self._client.request(call))


class AsyncBroadcast(_AsyncResource):
    """Events sent to everyone connected to a room, stored nowhere."""

    async def send(
        self, room_id: str, event: Any, *, idempotency_key: str | None = None
    ) -> Accepted:
        call = build_call(
            "POST",
            f"{_room(room_id)}/broadcast",
            json={"event": event},
            idempotent=True,
            idempotency_key=idempotency_key,
        )
        return cast(Accepted, await self._client.request(call))


class AsyncActiveUsers(_AsyncResource):
    """Who is connected to a room now."""

    async def list(self, room_id: str, *, cursor: str | None = None) -> ActiveUserList:
        call = build_call("GET", f"{_room(room_id)}/active_users", params={"cursor": cursor})
        return cast(ActiveUserList, await self._client.request(call))

    async def list_all(self, room_id: str) -> AsyncIterator[ActiveUser]:
        """Every connection of the room, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(room_id, cursor=cursor)
            for item in page["data"]:
                yield item
            cursor = page["nextCursor"]
            if not cursor:
                return


class AsyncOpenApi(_AsyncResource):
    """The API's own contract."""

    async def get(self) -> OpenApiDocument:
        return cast(
            OpenApiDocument, await self._client.request(build_call("GET", f"{V1}/openapi.json"))
        )
