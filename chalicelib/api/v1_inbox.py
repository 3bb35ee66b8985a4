"""REST API v1 for customer backends: each user's unread state, inbox, thread subscriptions and
notification settings (docs/inbox.md)."""

from __future__ import annotations

from .. import codes
from ..entities import (
    InboxCount,
    InboxEntry,
    NotificationSettings,
    Page,
    ThreadRead,
    ThreadSubscription,
)
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..wire import inbox, params
from . import http
from .routing import Router, SecretKey

router = Router(prefix="/api/v1", contract="customer", tag="Inbox")
SECRET = SecretKey(limit="rest")


@router.route(
    "/users/{userId}/inbox",
    "GET",
    auth=SECRET,
    answer=inbox.INBOX,
    query=list(params.PAGE),
    raises=[codes.USER_NOT_FOUND],
)
def list_inbox(access: SecretKeyCaller, userId: str) -> Page[InboxEntry]:
    """List a user's inbox

    The threads with comments the user has not read, newest activity first, across the rooms
    they can still read, each with its unread count and why it is there (`mention`, `reply`,
    `subscribed`). A thread of a room the user can no longer read (as their latest token and
    the room's access decide), or a thread deleted, leaves the inbox and its count when listed.

    Returns: A page of inbox entries.
    """
    request = router.request
    limit, cursor = http.limit(request), http.query(request, "cursor")
    return services().inbox.list_inbox(access, userId, limit, cursor)


@router.route(
    "/users/{userId}/inbox/count",
    "GET",
    auth=SECRET,
    answer=inbox.INBOX_COUNT,
    raises=[codes.USER_NOT_FOUND],
)
def inbox_count(access: SecretKeyCaller, userId: str) -> InboxCount:
    """Count a user's unread threads

    The number of threads in the user's inbox: exact (kept by every change of the user's
    unread state, in that change's own transaction), and one read (with the key's).

    Returns: The count.
    """
    return InboxCount(userId, services().inbox.count(access, userId))


@router.route(
    "/users/{userId}/threads/{threadId}/read",
    "POST",
    auth=SECRET,
    answer=inbox.THREAD_READ,
    raises=[codes.USER_NOT_FOUND, codes.THREAD_NOT_FOUND, codes.CONCURRENT_CHANGE],
)
def mark_read(access: SecretKeyCaller, userId: str, threadId: str) -> ThreadRead:
    """Mark a thread read for a user

    Moves the user's read position to the thread's end: its unread count becomes 0, it leaves
    their inbox, and the user's open sockets get `inbox.updated`. A thread with nothing unread
    for the user is already read: nothing changes (and no error). It takes no body. A thread
    that does not exist (or was deleted) is a 404.

    Returns: The thread's unread count for the user after it (0).
    """
    unread = services().inbox.mark_read(access, userId, threadId)
    return ThreadRead(userId, threadId, unread)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/subscribe",
    "POST",
    auth=SECRET,
    body=inbox.SubscriptionRequest,
    answer=inbox.THREAD_SUBSCRIPTION,
    raises=[codes.ROOM_NOT_FOUND, codes.THREAD_NOT_FOUND, codes.USER_NOT_FOUND],
)
def subscribe(
    access: SecretKeyCaller, roomId: str, threadId: str, body: inbox.SubscriptionRequest
) -> ThreadSubscription:
    """Subscribe a user to a thread

    Every new comment in the thread then reaches the user's inbox (unless their setting for
    the room is `mentions` or `none`). Users are subscribed to threads they write in or are
    mentioned in without asking.

    Returns: The subscription.
    """
    services().inbox.subscribe(access, roomId, threadId, body.user_id, True)
    return ThreadSubscription(body.user_id, threadId, True)


@router.route(
    "/rooms/{roomId}/threads/{threadId}/unsubscribe",
    "POST",
    auth=SECRET,
    body=inbox.SubscriptionRequest,
    answer=inbox.THREAD_SUBSCRIPTION,
    raises=[codes.ROOM_NOT_FOUND, codes.THREAD_NOT_FOUND, codes.USER_NOT_FOUND],
)
def unsubscribe(
    access: SecretKeyCaller, roomId: str, threadId: str, body: inbox.SubscriptionRequest
) -> ThreadSubscription:
    """Unsubscribe a user from a thread

    Nothing more from the thread reaches the user's inbox, mentions included, until they
    subscribe again (writing in it does not subscribe them again).

    Returns: The subscription.
    """
    services().inbox.subscribe(access, roomId, threadId, body.user_id, False)
    return ThreadSubscription(body.user_id, threadId, False)


@router.route(
    "/rooms/{roomId}/users/{userId}/notification-settings",
    "GET",
    auth=SECRET,
    answer=inbox.NOTIFICATION_SETTINGS,
    raises=[codes.ROOM_NOT_FOUND, codes.USER_NOT_FOUND],
)
def get_settings(access: SecretKeyCaller, roomId: str, userId: str) -> NotificationSettings:
    """Get a user's notification setting for a room

    Returns: The setting (`all` until changed).
    """
    setting = services().inbox.room_setting(access, roomId, userId)
    return NotificationSettings(userId, roomId, setting)


@router.route(
    "/rooms/{roomId}/users/{userId}/notification-settings",
    "PUT",
    auth=SECRET,
    body=inbox.NotificationSettingsRequest,
    answer=inbox.NOTIFICATION_SETTINGS,
    raises=[codes.ROOM_NOT_FOUND, codes.USER_NOT_FOUND],
)
def put_settings(
    access: SecretKeyCaller, roomId: str, userId: str, body: inbox.NotificationSettingsRequest
) -> NotificationSettings:
    """Set a user's notification setting for a room

    `all`: every comment of the threads the user is subscribed to, and mentions; `mentions`:
    only comments that mention them; `none`: nothing from this room reaches their inbox.

    Returns: The setting.
    """
    setting = services().inbox.set_room_setting(access, roomId, userId, body.setting)
    return NotificationSettings(userId, roomId, setting)
