"""Admin API: an environment's analytics, its data browser (rooms, threads, comments, users) and
the room inspector (live connections, last events, closing a connection)."""

from __future__ import annotations

from .. import codes
from ..entities import (
    Actor,
    Analytics,
    Comment,
    Connection,
    CostEstimate,
    Page,
    Room,
    RoomEvent,
    Thread,
    User,
)
from ..errors import InvalidInput
from ..runtime import services
from ..services.callers import OperatorCaller
from ..wire import environments, events, params, rooms, threads, users
from . import http
from .routing import Router

router = Router(prefix="/admin/api/environments/{envId}", contract="admin", tag="Data")


def _page_args() -> tuple[int, str | None]:
    return http.limit(router.request), http.query(router.request, "cursor")


def _days() -> int:
    raw = http.query(router.request, "days")
    if raw is None:
        return 30
    if raw not in ("1", "7", "30", "90"):
        raise InvalidInput("days", "must be one of 1, 7, 30, 90")
    return int(raw)


@router.route(
    "/analytics", "GET", answer=environments.ANALYTICS, query=[params.DAYS], tag="Analytics"
)
def analytics(actor: Actor, envId: str) -> Analytics:
    """An environment's analytics

    Its totals; for each of the last `days` days its active users (who connected), connections
    opened and the peak open at once, messages in and pushes out, refused connections by code,
    429s by key, webhook deliveries and failures; its active users of today, this week and this
    month; and the period's busiest rooms. Counted exactly at every write, read without a scan
    (docs/analytics.md).

    Returns: The counts.
    """
    return services().metering.analytics(OperatorCaller(actor, envId), _days())


@router.route("/cost", "GET", answer=environments.COST, query=[params.DAYS], tag="Analytics")
def cost(actor: Actor, envId: str) -> CostEstimate:
    """An environment's AWS cost

    An estimate of what the environment's use of the last `days` days cost on the AWS bill, line
    by line (API Gateway messages and connection minutes, REST requests, Lambda requests and
    GB-seconds, DynamoDB reads and writes, S3 storage), at the region's unit prices or the
    stage's `PULSE_PRICES` (docs/analytics.md), and the same rate over 30 days.

    Returns: The estimate.
    """
    return services().metering.cost(OperatorCaller(actor, envId), _days())


@router.route("/rooms", "GET", answer=rooms.ROOMS, query=params.PAGE)
def list_rooms(actor: Actor, envId: str) -> Page[Room]:
    """List an environment's rooms

    Returns: A page of rooms, in id order.
    """
    return services().collab.list_rooms(OperatorCaller(actor, envId), *_page_args())


@router.route("/rooms/{roomId}", "GET", answer=rooms.ROOM)
def get_room(actor: Actor, envId: str, roomId: str) -> Room:
    """Get a room

    With what it grants (`defaultAccess`, `usersAccess`, `groupsAccess`).

    Returns: The room.
    """
    return services().collab.get_room(OperatorCaller(actor, envId), roomId)


@router.route(
    "/rooms/{roomId}",
    "PATCH",
    role="admin",
    body=rooms.UpdateRoomRequest,
    answer=rooms.ROOM,
    raises=[codes.CONCURRENT_CHANGE],
)
def update_room(actor: Actor, envId: str, roomId: str, body: rooms.UpdateRoomRequest) -> Room:
    """Change a room's metadata or access

    As `PATCH /api/v1/rooms/{roomId}`: its open connections are re-evaluated at once. Recorded
    in the environment's audit log (`room.updated`, with the fields sent).

    Returns: The updated room.
    """
    caller = OperatorCaller(actor, envId)
    room = services().collab.update_room(caller, roomId, body.metadata, body.access_change())
    details = {name: value for name, value in _sent(body).items() if value is not None}
    services().environments.record(actor, envId, "room.updated", "room", roomId, details)
    return room


def _sent(body: rooms.UpdateRoomRequest) -> dict[str, object]:
    return {
        "metadata": body.metadata,
        "defaultAccess": body.default_access,
        "usersAccess": body.users_access,
        "groupsAccess": body.groups_access,
    }


@router.route(
    "/rooms/{roomId}", "DELETE", role="admin", status=204, raises=[codes.CONCURRENT_CHANGE]
)
def delete_room(actor: Actor, envId: str, roomId: str) -> None:
    """Delete a room

    With its threads and comments; its live connections are closed. Recorded in the
    environment's audit log.
    """
    services().collab.delete_room(OperatorCaller(actor, envId), roomId)
    services().environments.record(actor, envId, "room.deleted", "room", roomId)


# --- the room inspector: who is connected now, its last events, closing a connection ----------

RECENT_EVENTS = 50


@router.route(
    "/rooms/{roomId}/connections",
    "GET",
    answer=rooms.LIVE_CONNECTIONS,
    query=[params.CURSOR],
    tag="Inspector",
)
def list_connections(actor: Actor, envId: str, roomId: str) -> Page[Connection]:
    """Who is connected to a room now

    The room's live WebSocket connections in connection id order, each with its user, access
    level, presence and since when (one entry per connection: a user with two tabs appears
    twice).

    Returns: The room's live connections.
    """
    cursor = http.query(router.request, "cursor")
    return services().realtime.active_users(OperatorCaller(actor, envId), roomId, cursor)


@router.route(
    "/rooms/{roomId}/connections/{connectionId}",
    "DELETE",
    role="admin",
    status=204,
    raises=[codes.CONNECTION_NOT_FOUND],
    tag="Inspector",
)
def close_connection(actor: Actor, envId: str, roomId: str, connectionId: str) -> None:
    """Close a live connection

    The connection is sent an `error` `CONNECTION_CLOSED`, the room is told it left, and its
    socket is closed. Its client may connect again with a valid token (to keep a user out,
    revoke their tokens or change what the room grants them). Recorded in the environment's
    audit log.
    """
    closed = services().realtime.close_connection(
        OperatorCaller(actor, envId), roomId, connectionId
    )
    details: dict[str, object] = {"roomId": closed.room_id, "userId": closed.user_id}
    services().environments.record(
        actor, envId, "connection.closed", "connection", connectionId, details
    )


@router.route(
    "/rooms/{roomId}/events",
    "GET",
    answer=events.EVENTS,
    query=[params.SINCE, params.CURSOR],
    raises=[codes.RESYNC_REQUIRED],
    tag="Inspector",
)
def list_room_events(actor: Actor, envId: str, roomId: str) -> Page[RoomEvent]:
    """A room's last events

    Without `since` or `cursor`, the room's last 50 events still kept, oldest first; with
    `since`, up to 50 of those after it (the panel asks every few seconds with the last `seq`
    it has), and `nextCursor` continues them.

    Returns: A page of events, oldest first.
    """
    caller = OperatorCaller(actor, envId)
    since = http.whole_number(router.request, "since")
    cursor = http.query(router.request, "cursor")
    if since is None and not cursor:
        return services().collab.recent_events(caller, roomId, RECENT_EVENTS)
    return services().collab.list_events(caller, roomId, since, RECENT_EVENTS, cursor)


@router.route(
    "/rooms/{roomId}/threads",
    "GET",
    answer=threads.THREADS_WITH_COMMENTS,
    query=[params.RESOLVED, *params.PAGE],
)
def list_threads(actor: Actor, envId: str, roomId: str) -> Page[Thread]:
    """List a room's threads, with their first comments

    Newest first; each with its first comments (as many as fit).

    Returns: A page of threads.
    """
    resolved = http.flag(router.request, "resolved")
    return services().collab.browse_threads(
        OperatorCaller(actor, envId), roomId, resolved, *_page_args()
    )


@router.route("/rooms/{roomId}/threads/{threadId}", "GET", answer=threads.THREAD_WITH_COMMENTS)
def get_thread(actor: Actor, envId: str, roomId: str, threadId: str) -> Thread:
    """Get a thread with its comments

    Returns: The thread, with its first comments.
    """
    return services().collab.get_thread(OperatorCaller(actor, envId), roomId, threadId)


@router.route(
    "/rooms/{roomId}/threads/{threadId}",
    "DELETE",
    role="admin",
    status=204,
    raises=[codes.CONCURRENT_CHANGE],
)
def delete_thread(actor: Actor, envId: str, roomId: str, threadId: str) -> None:
    """Delete a thread

    With its comments. Recorded in the environment's audit log.
    """
    services().collab.delete_thread(OperatorCaller(actor, envId), roomId, threadId)
    services().environments.record(actor, envId, "thread.deleted", "thread", threadId)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments", "GET", answer=threads.COMMENTS, query=params.PAGE
)
def list_comments(actor: Actor, envId: str, roomId: str, threadId: str) -> Page[Comment]:
    """List a thread's comments

    Returns: A page of comments, oldest first.
    """
    return services().collab.list_comments(
        OperatorCaller(actor, envId), roomId, threadId, *_page_args()
    )


@router.route(
    "/rooms/{roomId}/threads/{threadId}/comments/{commentId}",
    "DELETE",
    role="admin",
    status=204,
    raises=[codes.CONCURRENT_CHANGE],
)
def delete_comment(actor: Actor, envId: str, roomId: str, threadId: str, commentId: str) -> None:
    """Delete a comment

    Deleting the only comment of a thread deletes the thread. Recorded in the environment's
    audit log.
    """
    services().collab.delete_comment(OperatorCaller(actor, envId), roomId, threadId, commentId)
    services().environments.record(actor, envId, "comment.deleted", "comment", commentId)


@router.route("/users", "GET", answer=users.USERS, query=params.PAGE)
def list_users(actor: Actor, envId: str) -> Page[User]:
    """List an environment's users

    Returns: A page of users, in id order.
    """
    return services().collab.list_users(OperatorCaller(actor, envId), *_page_args())


@router.route("/users/{userId}", "GET", answer=users.USER)
def get_user(actor: Actor, envId: str, userId: str) -> User:
    """Get a user

    The data browser names comment authors with it.

    Returns: The user.
    """
    return services().collab.get_user(OperatorCaller(actor, envId), userId)
