"""The shapes the REST API v1 answers, generated from chalicelib/openapi.json by
sdk/python/scripts/generate.py: do not edit (a test checks that it is fresh)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

AccessLevel = Literal["none", "read", "comment", "write"]


class Accepted(TypedDict):
    """The contract's `Accepted`."""

    status: Literal["accepted"]


class ActiveUser(TypedDict):
    """The contract's `ActiveUser`."""

    connectionId: str
    userId: str
    name: str
    avatar: str | None
    color: str
    access: AccessLevel


class ActiveUserList(TypedDict):
    """The contract's `ActiveUserList`."""

    data: list[ActiveUser]
    nextCursor: str | None


class Attachment(TypedDict):
    """The contract's `Attachment`."""

    id: str
    name: str
    mimeType: str
    size: int
    url: str | None
    urlExpiresAt: str | None


class Reaction(TypedDict):
    """The contract's `Reaction`."""

    emoji: str
    count: int
    userIds: list[str]


class Comment(TypedDict):
    """The contract's `Comment`."""

    id: str
    threadId: str
    roomId: str
    userId: str
    body: str
    createdAt: str
    editedAt: str | None
    reactions: list[Reaction]
    mentions: list[str]
    attachments: list[Attachment]


class CommentPage(TypedDict):
    """The contract's `CommentPage`."""

    data: list[Comment]
    nextCursor: str | None


class CreatedAttachmentUpload(TypedDict):
    """The contract's `CreatedAttachmentUpload`."""

    url: str
    fields: dict[str, str]


class CreatedAttachment(TypedDict):
    """The contract's `CreatedAttachment`."""

    attachment: Attachment
    upload: CreatedAttachmentUpload


class EraseJob(TypedDict):
    """The contract's `EraseJob`."""

    id: str
    userId: str
    mode: Literal["anonymize", "delete"]
    status: Literal["queued", "running", "succeeded", "failed"]
    phase: str
    createdAt: str
    updatedAt: str
    finishedAt: str | None
    error: str | None
    commentsDeleted: int
    commentsTombstoned: int
    threadsDeleted: int
    reactionsRemoved: int
    mentionsReplaced: int
    filesDeleted: int
    itemsRemoved: int


class _ErrorErrorRequired(TypedDict):
    code: str
    message: str


class ErrorError(_ErrorErrorRequired, total=False):
    """The contract's `ErrorError`."""

    suggestion: str
    field: str
    requestId: str


class Error(TypedDict):
    """The contract's `Error`."""

    error: ErrorError


class InboxCount(TypedDict):
    """The contract's `InboxCount`."""

    userId: str
    count: int


class InboxEntry(TypedDict):
    """The contract's `InboxEntry`."""

    threadId: str
    roomId: str
    unreadCount: int
    reason: Literal["mention", "reply", "subscribed"]
    lastActivityAt: str


class InboxEntryPage(TypedDict):
    """The contract's `InboxEntryPage`."""

    data: list[InboxEntry]
    nextCursor: str | None


class MintedToken(TypedDict):
    """The contract's `MintedToken`."""

    token: str
    expiresAt: str


class NotificationSettings(TypedDict):
    """The contract's `NotificationSettings`."""

    userId: str
    roomId: str
    setting: Literal["all", "mentions", "none"]


class Room(TypedDict):
    """The contract's `Room`."""

    id: str
    metadata: dict[str, str | float | bool]
    createdAt: str
    updatedAt: str
    defaultAccess: AccessLevel
    usersAccess: dict[str, AccessLevel]
    groupsAccess: dict[str, AccessLevel]


class RoomEvent(TypedDict):
    """The contract's `RoomEvent`."""

    id: str
    type: Literal[
        "comment.created",
        "comment.updated",
        "comment.deleted",
        "thread.created",
        "thread.updated",
        "thread.resolved",
        "thread.deleted",
        "room.updated",
        "room.deleted",
        "reaction.added",
        "reaction.removed",
        "notification.created",
    ]
    data: dict[str, Any]
    createdAt: str
    seq: int


class RoomEventPage(TypedDict):
    """The contract's `RoomEventPage`."""

    data: list[RoomEvent]
    nextCursor: str | None


class RoomPage(TypedDict):
    """The contract's `RoomPage`."""

    data: list[Room]
    nextCursor: str | None


class _ThreadRequired(TypedDict):
    id: str
    roomId: str
    resolved: bool
    metadata: dict[str, str | float | bool]
    createdAt: str
    updatedAt: str
    createdBy: str
    commentCount: int


class Thread(_ThreadRequired, total=False):
    """The contract's `Thread`."""

    unreadCount: int
    subscribed: bool | None
    comments: list[Comment]
    commentsNextCursor: str | None


class ThreadPage(TypedDict):
    """The contract's `ThreadPage`."""

    data: list[Thread]
    nextCursor: str | None


class ThreadRead(TypedDict):
    """The contract's `ThreadRead`."""

    userId: str
    threadId: str
    unreadCount: int


class ThreadSubscription(TypedDict):
    """The contract's `ThreadSubscription`."""

    userId: str
    threadId: str
    subscribed: bool


class _ThreadWithCommentsRequired(TypedDict):
    id: str
    roomId: str
    resolved: bool
    metadata: dict[str, str | float | bool]
    createdAt: str
    updatedAt: str
    createdBy: str
    commentCount: int
    comments: list[Comment]
    commentsNextCursor: str | None


class ThreadWithComments(_ThreadWithCommentsRequired, total=False):
    """The contract's `ThreadWithComments`."""

    unreadCount: int
    subscribed: bool | None


class TokensRevoked(TypedDict):
    """The contract's `TokensRevoked`."""

    userId: str
    revokedAt: str
    closedConnections: int


class User(TypedDict):
    """The contract's `User`."""

    id: str
    name: str
    avatar: str | None
    color: str
    firstSeenAt: str
    lastSeenAt: str


class UserExport(TypedDict):
    """The contract's `UserExport`."""

    userId: str
    exportedAt: str
    profile: dict[str, Any]
    comments: list[dict[str, Any]]
    threadsStarted: list[dict[str, Any]]
    reactions: list[dict[str, Any]]
    readState: list[dict[str, Any]]
    inbox: dict[str, Any]
    subscriptions: list[dict[str, Any]]
    notificationSettings: list[dict[str, Any]]
    attachments: list[dict[str, Any]]


class UserExportAnswer(TypedDict):
    """The contract's `UserExportAnswer`."""

    document: UserExport | None
    url: str | None
    expiresAt: str | None


class UserPage(TypedDict):
    """The contract's `UserPage`."""

    data: list[User]
    nextCursor: str | None


class OpenApiDocument(TypedDict):
    """The contract's `OpenApiDocument`."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
