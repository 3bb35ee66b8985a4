"""Threads and comments on the wire: the bodies that start, answer, edit and resolve them, and
a thread as answered, with as many of its comments as fit the answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..entities import Comment, Page, Reaction, Thread
from . import sizing
from .attachments import ATTACHMENTS, attachment_ids_field
from .fields import Body, boolean, comment_body, metadata, nested, reaction_emoji, user_id
from .schemas import COMMENT_ID, CURSOR, ROOM_ID, THREAD_ID
from .shapes import OMIT, Extra, Many, PageOf, Record, Shape

USER_ID_MAX = 128


class CreateCommentRequest(Body):
    user_id: str = user_id(max_len=USER_ID_MAX)
    body: str = comment_body()
    attachment_ids: tuple[str, ...] = attachment_ids_field()

    example = {"userId": "user-43", "body": "Tuesday works for me."}


class UpdateCommentRequest(Body):
    body: str = comment_body()

    example = {"body": "Tuesday works for me, after 10:00."}


class CreateThreadRequest(Body):
    comment: CreateCommentRequest = nested(CreateCommentRequest)
    metadata: dict[str, Any] | None = metadata()

    example = {
        "comment": {"userId": "user-42", "body": "Should we move the launch to Tuesday?"},
        "metadata": {"anchor": "paragraph-3"},
    }


class UpdateThreadRequest(Body):
    resolved: bool | None = boolean()
    metadata: dict[str, Any] | None = metadata()

    at_least_one = ("resolved", "metadata")
    example = {"resolved": True}


REACTION_USERS_SHOWN = 5  # the user ids a reaction names (its count is exact)

REACTION = Record(
    Reaction,
    "Reaction",
    schemas={
        "emoji": {"type": "string", "minLength": 1, "maxLength": 32},
        "count": {"type": "integer", "minimum": 1},
        "user_ids": {
            "type": "array",
            "maxItems": REACTION_USERS_SHOWN,
            "items": {"type": "string"},
        },
    },
    describe={
        "count": "How many users reacted with it.",
        "user_ids": f"The first of them (at most {REACTION_USERS_SHOWN}).",
    },
)

COMMENT = Record(
    Comment,
    "Comment",
    nested={"reactions": Many(REACTION), "attachments": ATTACHMENTS},
    schemas={
        "id": COMMENT_ID,
        "thread_id": THREAD_ID,
        "room_id": ROOM_ID,
        "mentions": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
    },
    describe={
        "edited_at": "When the body was last edited; `null` if never.",
        "reactions": "Each emoji users reacted with (at most 20), in the order first used.",
        "mentions": "The users the body mentions as `<@userId>` who could read the room when "
        "it was written (in order, each once); a mention of anyone else is plain text.",
        "attachments": "The files it references, each with a download URL signed for an hour.",
    },
    examples=[
        {
            "id": "cm_0Q9cZk1aB2cD3eF5",
            "threadId": "th_0Q9cZk1aB2cD3eF4",
            "roomId": "doc:42",
            "userId": "user-42",
            "body": "Should we move the launch to Tuesday?",
            "createdAt": "2026-11-25T04:48:22.123Z",
            "editedAt": None,
            "reactions": [{"emoji": "👍", "count": 2, "userIds": ["user-43", "user-44"]}],
            "mentions": [],
            "attachments": [],
        }
    ],
)
COMMENTS = PageOf(COMMENT)


class ReactionRequest(Body):
    emoji: str = reaction_emoji()
    user_id: str = user_id(max_len=USER_ID_MAX)

    example = {"emoji": "👍", "userId": "user-43"}


def _comments(t: Thread) -> Any:
    return OMIT if t.comments is None else [COMMENT.dump(c) for c in t.comments.data]


def _comments_cursor(t: Thread) -> Any:
    return OMIT if t.comments is None else t.comments.next_cursor


THREAD = Record(
    Thread,
    "Thread",
    exclude=("comments",),
    omit_none=("unread_count", "subscribed"),
    schemas={
        "id": THREAD_ID,
        "room_id": ROOM_ID,
        "comment_count": {"type": "integer", "minimum": 0},
        "unread_count": {"type": "integer", "minimum": 0},
    },
    describe={
        "updated_at": "The last change to the thread or one of its comments.",
        "created_by": "The `userId` of the thread's first comment.",
        "unread_count": "Where the thread is answered for one user (a socket's `threads.list`): "
        "the comments they have not read (docs/inbox.md).",
        "subscribed": "Where the thread is answered for one user: whether they are subscribed.",
    },
    extra={
        # Where the thread is answered with its comments (create, get one, browse).
        "comments": Extra(
            _comments,
            {
                "type": "array",
                "description": "The first comments, oldest first (up to 100).",
                "maxItems": 100,
                "items": COMMENT,
            },
            required=False,
        ),
        "commentsNextCursor": Extra(
            _comments_cursor,
            {
                "description": "Where `comments` stops short, the `cursor` for `GET .../comments`.",
                "$ref": CURSOR,
            },
            required=False,
        ),
    },
)
THREADS = PageOf(THREAD)


def thread_within(t: Thread, budget: int) -> dict[str, Any] | None:
    """The thread with as many of its embedded comments as fit `budget` bytes (its
    commentsNextCursor continues after them); None if it does not fit even without comments."""
    full = THREAD.dump(t)
    if sizing.size(full) <= budget:
        return full
    if t.comments is None:
        return None
    shell = THREAD.dump(replace(t, comments=Page([], sizing.CURSOR_PLACEHOLDER)))
    room = budget - sizing.size(shell) + 2  # the shell's own `[]` is the array measured below
    if room < 2:
        return None
    shown = sizing.fitting([COMMENT.dump(c) for c in t.comments.data], room)
    return THREAD.dump(replace(t, comments=t.comments.first(shown)))


def thread_fitting(t: Thread, budget: int = sizing.PAGE_BUDGET_BYTES) -> dict[str, Any]:
    """thread_within(t, budget), or the whole thread when even its shell is over (REST)."""
    return thread_within(t, budget) or THREAD.dump(t)


class _WithComments(Shape):
    """A thread with its first comments, cut to fit one REST answer (1 MiB)."""

    name = "ThreadWithComments"
    description = "A thread with its first comments."
    examples = [
        {
            "id": "th_0Q9cZk1aB2cD3eF4",
            "roomId": "doc:42",
            "resolved": False,
            "metadata": {},
            "createdAt": "2026-11-25T04:48:22.123Z",
            "updatedAt": "2026-11-25T04:48:22.123Z",
            "createdBy": "user-42",
            "commentCount": 1,
            "comments": [COMMENT.examples[0]],
            "commentsNextCursor": None,
        }
    ]

    def dump(self, value: Thread) -> dict[str, Any]:
        return thread_fitting(value)

    def schema(self) -> dict[str, Any]:
        return self._documented(
            {"allOf": [THREAD, {"required": ["comments", "commentsNextCursor"]}]}
        )


THREAD_WITH_COMMENTS = _WithComments()
# The Admin API's browser lists threads with their first comments, each cut to fit.
THREADS_WITH_COMMENTS = PageOf(THREAD, shrink=thread_within)
