"""REST API v1 for customer backends (`Bearer sk_...`): rooms, threads and comments."""

from __future__ import annotations

from typing import Any

from .. import codes
from ..access import AccessChange
from ..entities import Comment, Page, Room, RoomEvent, Thread, TokensRevoked, User
from ..errors import InvalidInput
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..validation import one_emoji
from ..wire import attachments, events, params, rooms, threads, users
from . import http
from .routing import Router, SecretKey

router = Router(prefix="/api/v1", contract="customer")
# Every route here: a secret key, the REST API's rates, and the one scope a restricted key needs.
ROOMS_LIST = SecretKey(limit="rest", scope="rooms:read", every_room=True)
ROOMS_READ = SecretKey(limit="rest", scope="rooms:read")
ROOMS_WRITE = SecretKey(limit="rest", scope="rooms:write")
COMMENTS_READ = SecretKey(limit="rest", scope="comments:read")
COMMENTS_WRITE = SecretKey(limit="rest", scope="comments:write")
BROADCAST = SecretKey(limit="rest", scope="broadcast")
EVENTS_READ = SecretKey(limit="rest", scope="events:read")
USERS_READ = SecretKey(limit="rest", scope="users:read")
USERS_WRITE = SecretKey(limit="rest", scope="users:write")
USER_ID_MAX = threads.USER_ID_MAX


def _page_args() -> tuple[int, str | None]:
    return http.limit(router.request), http.query(router.request, "cursor")


# --- rooms -------------------------------------------------------------------------------------


@router.route(
    "/rooms",
    "GET",
    auth=ROOMS_LIST,
    answer=rooms.ROOMS,
    query=[params.GRANTED_USER, params.GRANTED_GROUPS, *params.PAGE],
    tag="Rooms",
)
def list_rooms(access: SecretKeyCaller) -> Page[Room]:
    """List rooms

    The environment's rooms, in id order. With `userId` and/or `groupIds`: only the rooms
    whose `usersAccess` names that user or whose `groupsAccess` names one of those groups
    (the rooms a user with an identity token gets more than `defaultAccess` in), at the same
    cost however many rooms the environment holds.

    Returns: A page of rooms.
    """
    req = router.request
    user_id = http.short_text(req, "userId", max_len=USER_ID_MAX)
    group_ids = http.id_list(req, "groupIds", max_items=50, max_len=128)
    return services().collab.list_rooms(access, *_page_args(), user_id=user_id, group_ids=group_ids)


@router.route(
    "/rooms",
    "POST",
    auth=ROOMS_WRITE,
    status=201,
    idempotent=True,
    body=rooms.CreateRoomRequest,
    answer=rooms.ROOM,
    raises=[codes.ROOM_EXISTS],
    tag="Rooms",
)
def create_room(access: SecretKeyCaller, body: rooms.CreateRoomRequest) -> Room:
    """Create a room

    Creates a room with your id, and what it grants identity tokens (`defaultAccess`,
    `usersAccess`, `groupsAccess`). A room also comes into being when a widget first connects
    to it (unless the environment's `createRoomsOnJoin` is off), granting the environment's
    `defaultRoomAccess`, so creating rooms beforehand is optional.

    Returns: The new room.
    """
    grants = AccessChange(body.default_access, body.users_access, body.groups_access)
    # The room is in the body: a key limited to rooms must include it.
    return services().collab.create_room(access.in_room(body.id), body.id, body.metadata, grants)


@router.route("/rooms/{roomId}", "GET", auth=ROOMS_READ, answer=rooms.ROOM, tag="Rooms")
def get_room(access: SecretKeyCaller, roomId: str) -> Room:
    """Get a room

    Returns: The room.
    """
    return services().collab.get_room(access, roomId)


@router.route(
    "/rooms/{roomId}",
    "PATCH",
    auth=ROOMS_WRITE,
    body=rooms.UpdateRoomRequest,
    answer=rooms.ROOM,
    tag="Rooms",
)
def update_room(access: SecretKeyCaller, roomId: str, body: rooms.UpdateRoomRequest) -> Room:
    """Change a room's metadata or access

    `metadata` replaces the room's metadata as a whole (`{}` clears it). `defaultAccess`,
    `usersAccess` and `groupsAccess` change what the room grants (in the maps, `null` removes
    an entry); its open connections are re-evaluated at once: one whose level changes gets
    `access.changed` and is held to it from its next message, one whose level becomes `none`
    gets `access.changed` `none` and is closed. An access token's connections keep theirs.

    Returns: The updated room.
    """
    return services().collab.update_room(access, roomId, body.metadata, body.access_change())


@router.route(
    "/rooms/{roomId}",
    "DELETE",
    auth=ROOMS_WRITE,
    status=204,
    raises=[codes.CONCURRENT_CHANGE],
    tag="Rooms",
)
def delete_room(access: SecretKeyCaller, roomId: str) -> None:
    """Delete a room

    Deletes the room with its threads and comments, and closes the room's live connections.
    The id may be used again: a new room with it starts empty.
    """
    services().collab.delete_room(access, roomId)


@router.route(
    "/rooms/{roomId}/active_users",
    "GET",
    auth=ROOMS_READ,
    answer=rooms.MEMBERS,
    query=[params.CURSOR],
    tag="Realtime",
    operation_id="listActiveUsers",
)
def active_users(access: SecretKeyCaller, roomId: str) -> Page[Any]:
    """Who is connected to a room

    The room's live WebSocket connections, one entry per connection (a user with two tabs open
    appears twice), in connection id order. A room holds at most 100 connections by default,
    which one answer holds; a page stops at about 1 MB (a room with a raised cap), and
    `nextCursor` continues after it.

    Returns: The room's connections.
    """
    cursor = http.query(router.request, "cursor")
    return services().realtime.active_users(access, roomId, cursor)


@router.route(
    "/rooms/{roomId}/broadcast",
    "POST",
    auth=BROADCAST,
    status=202,
    idempotent=True,
    body=rooms.BroadcastRequest,
    answer=rooms.ACCEPTED,
    raises=[codes.EVENT_TOO_LARGE],
    tag="Realtime",
    operation_id="broadcastToRoom",
)
def broadcast(access: SecretKeyCaller, roomId: str, body: rooms.BroadcastRequest) -> None:
    """Send an event to everyone in a room

    Every live connection of the room gets `{"type": "broadcast", "connectionId": null,
    "userId": null, "event": ...}`. Nothing is stored. That message must fit API Gateway's
    128 KB as JSON (non-ASCII text counts as `\\uXXXX` escapes, 6 bytes a character): a larger
    one is refused with 413 `EVENT_TOO_LARGE` and sent to nobody.

    Returns: Accepted and sent to the room's connections.
    """
    services().realtime.broadcast(access, roomId, body.event)


# --- threads -----------------------------------------------------------------------------------


@router.route(
    "/rooms/{roomId}/threads",
    "GET",
    auth=COMMENTS_READ,
    answer=threads.THREADS,
    query=[params.RESOLVED, *params.PAGE],
    tag="Threads",
)
def list_threads(access: SecretKeyCaller, roomId: str) -> Page[Thread]:
    """List a room's threads

    Newest first, without their comments.

    Returns: A page of threads.
    """
    resolved = http.flag(router.request, "resolved")
    return services().collab.list_threads(access, roomId, resolved, *_page_args())


@router.route(
    "/rooms/{roomId}/threads",
    "POST",
    auth=COMMENTS_WRITE,
    status=201,
    idempotent=True,
    body=threads.CreateThreadRequest,
    answer=threads.THREAD_WITH_COMMENTS,
    tag="Threads",
)
def create_thread(
    access: SecretKeyCaller, roomId: str, body: threads.CreateThreadRequest
) -> Thread:
    """Start a thread

    Creates a thread with its first comment.

    Returns: The new thread, with its first comment.
    """
    first = body.comment
    return services().collab.create_thread(
        access, roomId, first.user_id, first.body, body.metadata, first.attachment_ids
    )


@router.route(
    "/rooms/{roomId}/threads/{threadId}",
    "GET",
    auth=COMMENTS_READ,
    answer=threads.THREAD_WITH_COMMENTS,
    tag="Threads",
)
def get_thread(access: SecretKeyCaller, roomId: str, threadId: str) -> Thread:
    """Get a thread with its comments

    The thread with its first comments, oldest first: up to 100, and no more than fit about
    1 MB. When it has more, `commentsNextCursor` reads on through `GET .../comments?cursor=`.

    Returns: The thread.
    """
    return services().collab.get_thread(access, roomId, threadId)


@router.route(
    "/rooms/{roomId}/threads/{threadId}",
    "PATCH",
    auth=COMMENTS_WRITE,
    body=threads.UpdateThreadRequest,
    answer=threads.THREAD,
    tag="Threads",
)
def update_thread(
    access: SecretKeyCaller, roomId: str, threadId: str, body: threads.UpdateThreadRequest
) -> Thread:
    """Resolve, reopen or re-label a thread

    Send `resolved`, `metadata` (which replaces the thread's metadata) or both.

    Returns: The updated thread (without its comments).
    """
    return services().collab.update_thread(
        access, roomId, threadId, resolved=body.resolved, metadata=body.metadata
    )


@router.route(
    "/rooms/{roomId}/threads/{threadId}",
    "DELETE",
    auth=COMMENTS_WRITE,
    status=204,
    raises=[codes.CONCURRENT_CHANGE],
    tag="Threads",
)
def delete_thread(access: SecretKeyCaller, roomId: str, threadId: str) -> None:
    """Delete a thread

    Deletes the thread and its comments.
    """
    services().collab.delete_thread(access, roomId, threadId)


# --- events ----------------------------------------------------------------------------------


@router.route(
    "/rooms/{roomId}/events",
    "GET",
    auth=EVENTS_READ,
    answer=events.EVENTS,
    query=[params.SINCE, *params.PAGE],
    raises=[codes.RESYNC_REQUIRED],
    tag="Events",
)
def list_events(access: SecretKeyCaller, roomId: str) -> Page[RoomEvent]:
    """List a room's events

    Every change of the room in order (`seq` 1, 2, 3 ...): threads and comments created,
    updated, resolved and deleted, the room updated or deleted. The same events its sockets and
    webhooks get, kept 24 hours by default (`PULSE_EVENTS_TTL_SECONDS`), and those of a deleted
    room too while they are kept. Pass the last `seq` you have as `since`; follow `nextCursor`
    to the end (its absence: you are caught up).

    Returns: A page of events, oldest first.
    """
    req = router.request
    since = http.whole_number(req, "since")
    limit, cursor = _page_args()
    return services().collab.list_events(access, roomId, since, limit, cursor)


# --- reactions ---------------------------------------------------------------------------------

REACTIONS = "/rooms/{roomId}/threads/{threadId}/comments/{commentId}/reactions"


@router.route(
    REACTIONS,
    "POST",
    auth=COMMENTS_WRITE,
    idempotent=True,
    body=threads.ReactionRequest,
    answer=threads.COMMENT,
    raises=[codes.TOO_MANY_REACTIONS, codes.CONCURRENT_CHANGE],
    tag="Comments",
)
def add_reaction(
    access: SecretKeyCaller,
    roomId: str,
    threadId: str,
    commentId: str,
    body: threads.ReactionRequest,
) -> Comment:
    """React to a comment

    Adds the user's emoji to the comment (`reaction.added` to the room's sockets and webhooks).
    Reacting again with the same emoji changes nothing (and is not an error). A comment holds
    at most 20 different emoji.

    Returns: The comment with its `reactions`.
    """
    collab = services().collab
    return collab.react(
        access, roomId, threadId, commentId, body.user_id, body.emoji, add=True
    ).comment


@router.route(
    REACTIONS + "/{emoji}",
    "DELETE",
    auth=COMMENTS_WRITE,
    query=[params.REACTING_USER],
    answer=threads.COMMENT,
    raises=[codes.CONCURRENT_CHANGE],
    tag="Comments",
)
def remove_reaction(
    access: SecretKeyCaller, roomId: str, threadId: str, commentId: str, emoji: str
) -> Comment:
    """Remove a reaction

    Removes the user's emoji from the comment (`reaction.removed`). Removing one that is not
    there changes nothing (and is not an error).

    Returns: The comment with its `reactions`.
    """
    user_id = http.short_text(router.request, "userId", max_len=USER_ID_MAX)
    if user_id is None:
        raise InvalidInput(
            "userId", "is required (the user whose reaction goes)", code=codes.MISSING_FIELD
        )
    emoji = one_emoji(emoji)
    collab = services().collab
    return collab.react(access, roomId, threadId, commentId, user_id, emoji, add=False).comment


# --- comments ----------------------------------------------------------------------------------


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments",
    "GET",
    auth=COMMENTS_READ,
    answer=threads.COMMENTS,
    query=params.PAGE,
    tag="Comments",
)
def list_comments(access: SecretKeyCaller, roomId: str, threadId: str) -> Page[Comment]:
    """List a thread's comments

    Oldest first.

    Returns: A page of comments.
    """
    return services().collab.list_comments(access, roomId, threadId, *_page_args())


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments",
    "POST",
    auth=COMMENTS_WRITE,
    status=201,
    idempotent=True,
    body=threads.CreateCommentRequest,
    answer=threads.COMMENT,
    raises=[codes.CONCURRENT_CHANGE],
    tag="Comments",
)
def create_comment(
    access: SecretKeyCaller, roomId: str, threadId: str, body: threads.CreateCommentRequest
) -> Comment:
    """Reply in a thread

    Returns: The new comment.
    """
    return services().collab.create_comment(
        access, roomId, threadId, body.user_id, body.body, body.attachment_ids
    )


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments/{commentId}",
    "PATCH",
    auth=COMMENTS_WRITE,
    body=threads.UpdateCommentRequest,
    answer=threads.COMMENT,
    tag="Comments",
)
def update_comment(
    access: SecretKeyCaller,
    roomId: str,
    threadId: str,
    commentId: str,
    body: threads.UpdateCommentRequest,
) -> Comment:
    """Edit a comment

    Replaces the comment's body and sets `editedAt`.

    Returns: The edited comment.
    """
    return services().collab.update_comment(access, roomId, threadId, commentId, body.body)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments/{commentId}",
    "DELETE",
    auth=COMMENTS_WRITE,
    status=204,
    raises=[codes.CONCURRENT_CHANGE],
    tag="Comments",
)
def delete_comment(access: SecretKeyCaller, roomId: str, threadId: str, commentId: str) -> None:
    """Delete a comment

    Deleting the only comment of a thread deletes the thread.
    """
    services().collab.delete_comment(access, roomId, threadId, commentId)


# --- attachments -------------------------------------------------------------------------------


@router.route(
    "/rooms/{roomId}/attachments",
    "POST",
    auth=COMMENTS_WRITE,
    status=201,
    idempotent=True,
    body=attachments.CreateAttachmentRequest,
    answer=attachments.CREATED_ATTACHMENT,
    tag="Attachments",
)
def create_attachment(
    access: SecretKeyCaller, roomId: str, body: attachments.CreateAttachmentRequest
) -> dict[str, Any]:
    """Upload a file for a comment

    Answers the attachment's id and an S3 presigned POST for its file. Upload the file with
    it (from the browser, straight to S3) within 10 minutes, then name the id in
    `attachmentIds` of a comment or thread create. The POST's policy holds exactly the `size`
    and `mimeType` declared here: S3 refuses any other. `size` is at most the environment's
    `attachmentMaxBytes` and `mimeType` one of its `attachmentTypes` (else 400 naming the
    field, and nothing is recorded). An upload no comment references within 24 hours is deleted.

    Returns: The attachment and its upload.
    """
    upload = services().collab.create_attachment(
        access, roomId, body.name, body.mime_type, body.size
    )
    return {"attachment": upload.attachment, "upload": {"url": upload.url, "fields": upload.fields}}


# --- users -------------------------------------------------------------------------------------


@router.route(
    "/users",
    "GET",
    auth=USERS_READ,
    answer=users.USERS,
    query=[params.USER_SEARCH, *params.PAGE],
    tag="Users",
)
def list_users(access: SecretKeyCaller) -> Page[User]:
    """List or search users

    Everyone a token was minted for in this environment, in id order. With `q`: the users whose
    id, or a word of whose name, starts with it (case-insensitive for names; ids first), at
    most `limit`, in one page (no cursor), at a cost that does not grow with the environment.

    Returns: A page of users.
    """
    q = http.short_text(router.request, "q", max_len=params.USER_SEARCH_MAX)
    collab = services().collab
    if q is None:
        return collab.list_users(access, *_page_args())
    return Page(collab.search_users(access, q, http.limit(router.request)), None)


@router.route("/users/{userId}", "GET", auth=USERS_READ, answer=users.USER, tag="Users")
def get_user(access: SecretKeyCaller, userId: str) -> User:
    """Get a user

    Returns: The user.
    """
    return services().collab.get_user(access, userId)


@router.route(
    "/users/{userId}/revoke-tokens",
    "POST",
    auth=USERS_WRITE,
    idempotent=True,
    answer=users.TOKENS_REVOKED,
    raises=[codes.USER_NOT_FOUND],
    tag="Users",
)
def revoke_tokens(access: SecretKeyCaller, userId: str) -> TokensRevoked:
    """Revoke a user's tokens

    Every token minted for the user until now stops working: the user's open sockets in this
    environment get an `error` frame with code `TOKEN_REVOKED` and are closed, and a
    connection attempt with one of those tokens is refused (401 `TOKEN_REVOKED`). Tokens minted
    afterwards work. It takes no body. Use it when someone leaves a team or loses a device; to
    change what a user may do in a room, change the room's access instead.

    Returns: When the tokens were revoked and how many sockets were closed.
    """
    return services().realtime.revoke_tokens(access, userId)
