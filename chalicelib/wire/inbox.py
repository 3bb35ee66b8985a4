"""Unread state, subscriptions and the inbox on the wire (docs/inbox.md)."""

from __future__ import annotations

from ..entities import InboxCount, InboxEntry, NotificationSettings, ThreadRead, ThreadSubscription
from .fields import Body, choice, user_id
from .schemas import ROOM_ID, THREAD_ID, TIMESTAMP, USER_ID
from .shapes import PageOf, Record

SETTINGS = ("all", "mentions", "none")
REASONS = ("mention", "reply", "subscribed")
USER_ID_MAX = 128

INBOX_ENTRY = Record(
    InboxEntry,
    "InboxEntry",
    schemas={
        "thread_id": THREAD_ID,
        "room_id": ROOM_ID,
        "unread_count": {"type": "integer", "minimum": 1},
        "reason": {"type": "string", "enum": list(REASONS)},
        "last_activity_at": TIMESTAMP,
    },
    describe={
        "unread_count": "Comments in the thread the user has not read.",
        "reason": "Why the thread is in the inbox: `mention` (a comment mentions the user), "
        "`reply` (they wrote in it), `subscribed` (they chose to follow it); the strongest "
        "since they last read it.",
        "last_activity_at": "When the newest unread comment was written (the inbox's order).",
    },
    examples=[
        {
            "threadId": "th_0Q9cZk1aB2cD3eF4",
            "roomId": "design-review",
            "unreadCount": 2,
            "reason": "mention",
            "lastActivityAt": "2026-11-25T05:12:00.000Z",
        }
    ],
)
INBOX = PageOf(INBOX_ENTRY)

INBOX_COUNT = Record(
    InboxCount,
    "InboxCount",
    schemas={"user_id": USER_ID, "count": {"type": "integer", "minimum": 0}},
    describe={"count": "Threads with unread activity in the user's inbox (exact)."},
    examples=[{"userId": "user-42", "count": 3}],
)

THREAD_READ = Record(
    ThreadRead,
    "ThreadRead",
    schemas={
        "user_id": USER_ID,
        "thread_id": THREAD_ID,
        "unread_count": {"type": "integer", "minimum": 0},
    },
    examples=[{"userId": "user-42", "threadId": "th_0Q9cZk1aB2cD3eF4", "unreadCount": 0}],
)

THREAD_SUBSCRIPTION = Record(
    ThreadSubscription,
    "ThreadSubscription",
    schemas={"user_id": USER_ID, "thread_id": THREAD_ID},
    examples=[{"userId": "user-42", "threadId": "th_0Q9cZk1aB2cD3eF4", "subscribed": True}],
)

NOTIFICATION_SETTINGS = Record(
    NotificationSettings,
    "NotificationSettings",
    schemas={
        "user_id": USER_ID,
        "room_id": ROOM_ID,
        "setting": {"type": "string", "enum": list(SETTINGS)},
    },
    describe={
        "setting": "`all` (the default): every comment of the threads the user is subscribed "
        "to, and mentions; `mentions`: only comments that mention them; `none`: nothing from "
        "this room."
    },
    examples=[{"userId": "user-42", "roomId": "design-review", "setting": "mentions"}],
)


class SubscriptionRequest(Body):
    user_id: str = user_id(max_len=USER_ID_MAX)

    example = {"userId": "user-42"}


class NotificationSettingsRequest(Body):
    setting: str = choice(SETTINGS)

    example = {"setting": "mentions"}
