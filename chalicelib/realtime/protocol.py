"""The WebSocket protocol (docs/protocol.md): parse a client frame, dispatch on its `type`, and
answer. Every failure is an `error` message to the sender; the connection stays up. Every reply
fits one WebSocket message (128 KB): lists are cut to fit and the cursor continues, and the
members of a big room come in several frames.

A handler answers with `ctx.reply`. A write's acknowledgement is the sender's own copy of the
event it caused: the service publishes it with the member as its origin (`ctx.member`), and the
room channel sends that copy first, with the message's requestId."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .. import access, codes, jsontext
from .. import validation as v
from ..entities import Connection, Page, Thread
from ..errors import Forbidden, InvalidInput, PulseError, RateLimited, Replayed, Unavailable
from ..services.callers import MemberCaller
from ..services.collab import CatchUp, CollabService, for_members
from ..services.inbox import InboxService
from ..services.realtime import RealtimeService
from ..wire import sizing
from ..wire.attachments import ATTACHMENT, CreateAttachmentRequest
from ..wire.events import EVENT
from ..wire.inbox import INBOX_ENTRY
from ..wire.rooms import member
from ..wire.threads import COMMENT, REACTION, THREAD, thread_within

log = logging.getLogger("pulse.protocol")

MAX_PRESENCE_BYTES = 1024
MAX_REQUEST_ID = 64
MAX_MUTATION_ID = 64
# Events a `join` with `sinceSeq` replays at most; a client further behind reloads instead
# (resync.required), which costs less than hundreds of frames.
CATCH_UP_MAX = 500
THREADS_PAGE = 20
INBOX_PAGE = 20
COMMENTS_PAGE = 100  # as many as a thread embeds
# An error names a field, and may quote it: a client's 60 KB key must not make it unsendable.
ERROR_TEXT_MAX = 1000


@dataclass(frozen=True)
class Context:
    member: MemberCaller
    message: dict[str, Any]
    realtime: RealtimeService
    collab: CollabService
    inbox: InboxService

    @classmethod
    def of(
        cls,
        connection: Connection,
        message: dict[str, Any],
        realtime: RealtimeService,
        collab: CollabService,
        inbox: InboxService,
    ) -> Context:
        named = message.get("clientMutationId")
        member = MemberCaller(
            connection, message.get("requestId"), named if isinstance(named, str) else None
        )
        return cls(member, message, realtime, collab, inbox)

    @property
    def connection(self) -> Connection:
        return self.member.connection

    def reply(self, body: dict[str, Any]) -> None:
        self.realtime.reply(self.connection, self._echo(body))

    def budget(self, envelope: dict[str, Any], list_field: str) -> int:
        """Bytes left in one message for the JSON array `list_field` of `envelope` (as replied,
        with the requestId and, in a `nextCursor` field, the longest cursor)."""
        empty = {**envelope, list_field: []}
        if "nextCursor" in empty:
            empty["nextCursor"] = sizing.CURSOR_PLACEHOLDER
        return sizing.FRAME_MAX_BYTES - sizing.size(self._echo(empty)) + 2

    def _echo(self, body: dict[str, Any]) -> dict[str, Any]:
        request_id = self.message.get("requestId")
        return {**body, **({"requestId": request_id} if request_id else {})}


Handler = Callable[[Context], None]
HANDLERS: dict[str, tuple[tuple[str, ...], Handler]] = {}
# The least access level each message type needs (chalicelib/access.py), declared with it.
NEEDS: dict[str, access.Level] = {}


def handles(
    message_type: str, *fields: str, level: access.Level = access.READ
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[message_type] = (fields, fn)
        NEEDS[message_type] = level
        return fn

    return register


def needed(message_type: str) -> access.Level:
    return NEEDS[message_type]


class AccessDenied(Forbidden):
    """A message above the connection's level: the error names the level it needs."""

    code = codes.ACCESS_DENIED

    def __init__(self, message_type: str, level: str, needed: str) -> None:
        super().__init__(
            f"{message_type} needs `{needed}` access to this room; this connection has `{level}`."
        )
        self.needed = needed


def parse(body: str | None) -> dict[str, Any]:
    message, problem = decode(body)
    check(message, problem)
    return message


def decode(body: str | None) -> tuple[dict[str, Any], PulseError | None]:
    """The frame as a JSON object whose requestId, if any, is valid (so errors can echo it), and
    the error a number in it that JSON cannot carry makes (check() raises it, with that echo)."""
    problem: PulseError | None = None
    try:
        message = jsontext.loads(
            body or "", whole="message", malformed="The frame is not valid JSON."
        )
    except jsontext.BadNumber as exc:
        message, problem = exc.document, exc
    if not isinstance(message, dict):
        raise problem or InvalidInput("message", "must be a JSON object")
    request_id = message.get("requestId")
    if request_id is not None and (
        not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_REQUEST_ID
    ):
        message.pop("requestId")
        raise InvalidInput("requestId", f"must be a string of 1-{MAX_REQUEST_ID} characters")
    return message, problem


def check(message: dict[str, Any], problem: PulseError | None = None) -> None:
    """No number JSON cannot carry, nested at most as deep as a REST body, a known `type` and only
    its fields (after decode, so that these errors echo the message's requestId)."""
    if problem is not None:
        raise problem
    v.within_depth(message)  # as a REST body: `broadcast` events and presence are any JSON
    message_type = message.get("type")
    if not isinstance(message_type, str):
        raise InvalidInput("type", "is required (a string)", code=codes.MISSING_FIELD)
    if message_type not in HANDLERS:
        raise InvalidInput(
            "type", f"unknown message type {message_type!r}", code=codes.UNKNOWN_TYPE
        )
    v.only_fields(message, ("type", "requestId", *HANDLERS[message_type][0]))
    named = message.get("clientMutationId")
    if "clientMutationId" in message and (
        not isinstance(named, str)
        or not 0 < len(named) <= MAX_MUTATION_ID
        or v.has_control_chars(named)
    ):
        raise InvalidInput(
            "clientMutationId",
            f"must be a string of 1-{MAX_MUTATION_ID} characters, without control characters",
        )
    if "clientMutationId" in message:  # no lone surrogate: the id is hashed as UTF-8
        v.text(message, "clientMutationId", max_len=MAX_MUTATION_ID)


def error_message(exc: PulseError, request_id: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "code": exc.code, "message": _cut(exc.message)}
    if isinstance(exc, InvalidInput) and exc.field:
        error["field"] = _cut(exc.field)
    if isinstance(exc, (RateLimited, Unavailable)):
        error["retryAfter"] = exc.retry_after
    if isinstance(exc, AccessDenied):
        error["needed"] = exc.needed
    if isinstance(exc, sizing.ItemTooLarge):
        error["itemId"] = exc.item_id
        error["nextCursor"] = exc.next_cursor
    if request_id is not None:
        error["requestId"] = request_id
    return error


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 1] + "…"


def dispatch(ctx: Context) -> None:
    """Run the message's handler if the connection's level allows it (no read: the level came
    with the connection's row, read by the rate count)."""
    message_type = ctx.message["type"]
    have, need = ctx.connection.access, NEEDS[message_type]
    if not access.at_least(have, need):
        raise AccessDenied(message_type, have, need)
    _, handler = HANDLERS[message_type]
    try:
        handler(ctx)
    except Replayed as replayed:  # a resend of a write made before: its acknowledgement again
        ctx.reply({**replayed.frame, "seq": replayed.seq, "replay": True})


# --- presence and signals -----------------------------------------------------------------------


@handles("ping")
def ping(ctx: Context) -> None:
    ctx.reply({"type": "pong"})


@handles("join", "sinceSeq")
def join(ctx: Context) -> None:
    """`room.joined` with the others that fit one message and the room's last `seq`; in a big
    room it says `more: true` and `room.members` frames follow with the rest, the last with
    `more: false`. With `sinceSeq`: then the events after it (`room.events` frames) and
    `room.caughtUp`, or `resync.required` when they are no longer all kept."""
    since = v.whole_number(ctx.message, "sinceSeq")
    me = ctx.connection
    catch_up = None
    if since is None:
        last = ctx.collab.last_seq(ctx.member, me.room_id)
    else:
        catch_up = ctx.collab.catch_up(ctx.member, me.room_id, since, CATCH_UP_MAX)
        last = catch_up.last
    members = ctx.realtime.members(ctx.member)
    others = [{**member(m), "presence": m.presence} for m in members if m.id != me.id]
    joined = {
        "type": "room.joined",
        "connectionId": me.id,
        "self": {k: val for k, val in member(me).items() if k != "connectionId"},
        "others": [],
        "more": True,
        "access": me.access,
        "seq": last,
    }
    rest = {"type": "room.members", "others": [], "more": False}  # false: the longest
    budget = min(ctx.budget(joined, "others"), ctx.budget(rest, "others"))
    runs = sizing.chunks(others, budget)
    joined["others"] = runs[0]
    if len(runs) == 1:
        del joined["more"]  # one frame, as it always was
    ctx.reply(joined)
    for n, run in enumerate(runs[1:], start=2):
        ctx.reply({**rest, "others": run, "more": n < len(runs)})
    if catch_up is not None:
        _catch_up(ctx, catch_up)
    # Presence lives on the room row (set_presence), not on the by-id row `me` was read from.
    presence = next((m.presence for m in members if m.id == me.id), me.presence)
    joined = {"type": "user.joined", **member(me), "presence": presence}
    ctx.realtime.to_others(ctx.member, joined, members)


def _catch_up(ctx: Context, found: CatchUp) -> None:
    """The events a rejoining client missed, in frames that fit, then `room.caughtUp`; or
    `resync.required` when they are not all kept, too many, or one cannot fit a frame."""
    resync = {"type": "resync.required", "seq": found.last}
    if not found.kept or found.more:
        ctx.reply(resync)
        return
    frame: dict[str, Any] = {"type": "room.events", "events": []}
    items = [EVENT.dump(replace(e, data=for_members(e.type, e.data))) for e in found.events]
    try:
        runs = sizing.chunks(items, ctx.budget(frame, "events"))
    except sizing.ItemTooLarge:
        ctx.reply(resync)
        return
    for run in runs:
        if run:
            ctx.reply({**frame, "events": run})
    ctx.reply({"type": "room.caughtUp", "seq": found.last})


@handles("presence.update", "data")
def presence_update(ctx: Context) -> None:
    data = ctx.message.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("data", "must be an object")
    if len(jsontext.dumps(data)) > MAX_PRESENCE_BYTES:
        raise InvalidInput(
            "data",
            f"must be at most {MAX_PRESENCE_BYTES} bytes as JSON",
            code=codes.PRESENCE_TOO_LARGE,
        )
    ctx.realtime.set_presence(ctx.member, data)


@handles("broadcast", "event", level=access.WRITE)
def broadcast(ctx: Context) -> None:
    if "event" not in ctx.message:
        raise InvalidInput("event", "is required", code=codes.MISSING_FIELD)
    me = ctx.connection
    message = {
        "type": "broadcast",
        "connectionId": me.id,
        "userId": me.user_id,
        "event": ctx.message["event"],
    }
    ctx.realtime.to_others(ctx.member, message)


# --- threads and comments (the same rules as the REST API) -----------------------------------


def _thread_id(ctx: Context) -> str:
    return v.required_text(ctx.message, "threadId", max_len=64)


@handles("threads.list", "cursor", "resolved", "comments")
def threads_list(ctx: Context) -> None:
    cursor = v.text(ctx.message, "cursor", max_len=1024, required=False)
    resolved = v.boolean(ctx.message, "resolved")
    # `comments: true` embeds each thread's first comments (one more Query per thread): without
    # it a client that (re)connects could never show the discussion that happened before.
    listing = (
        ctx.collab.browse_threads if v.boolean(ctx.message, "comments") else ctx.collab.list_threads
    )
    page = listing(ctx.member, ctx.connection.room_id, resolved, THREADS_PAGE, cursor)
    page = _marked(ctx, page)
    listed: dict[str, Any] = {"type": "threads.listed", "data": [], "nextCursor": None}
    data, next_cursor = sizing.fit(
        page, THREAD.dump, ctx.budget(listed, "data"), strict=True, shrink=thread_within
    )
    ctx.reply({**listed, "data": data, "nextCursor": next_cursor})


def _marked(ctx: Context, page: Page[Thread]) -> Page[Thread]:
    """Each thread with the connection's user's unread count and subscription."""
    me = ctx.connection
    marks = ctx.inbox.marks(me.env_id, me.user_id, [t.id for t in page.data])
    data = [
        replace(t, unread_count=marks[t.id].unread_count, subscribed=marks[t.id].subscribed)
        for t in page.data
    ]
    return Page(data, page.next_cursor, page.after)


@handles("comments.list", "threadId", "cursor")
def comments_list(ctx: Context) -> None:
    """A thread's comments, oldest first: what follows a thread's embedded ones
    (`commentsNextCursor`), or all of them from the start."""
    thread_id = _thread_id(ctx)
    cursor = v.text(ctx.message, "cursor", max_len=1024, required=False)
    room_id = ctx.connection.room_id
    page = ctx.collab.list_comments(ctx.member, room_id, thread_id, COMMENTS_PAGE, cursor)
    listed: dict[str, Any] = {
        "type": "comments.listed",
        "threadId": thread_id,
        "data": [],
        "nextCursor": None,
    }
    data, next_cursor = sizing.fit(page, COMMENT.dump, ctx.budget(listed, "data"), strict=True)
    ctx.reply({**listed, "data": data, "nextCursor": next_cursor})


USERS_FOUND = 10  # suggestions a `users.search` answers


@handles("users.search", "q")
def users_search(ctx: Context) -> None:
    """The composer's `@` suggestions: users of the environment who can read this room whose id,
    or a word of whose name, starts with `q` (`users.found`, at most USERS_FOUND)."""
    empty = ctx.message.get("q") == ""  # the composer's bare `@`: nothing to suggest yet
    q = "" if empty else (v.text(ctx.message, "q", max_len=128, required=False) or "")
    me = ctx.connection
    found = ctx.collab.search_users(ctx.member, q, USERS_FOUND, room_id=me.room_id) if q else []
    people = [{"userId": u.id, "name": u.name, "avatar": u.avatar, "color": u.color} for u in found]
    ctx.reply({"type": "users.found", "q": q, "data": people})


@handles(
    "thread.create", "body", "metadata", "attachmentIds", "clientMutationId", level=access.COMMENT
)
def thread_create(ctx: Context) -> None:
    body, metadata = v.comment_body(ctx.message), v.metadata(ctx.message)
    files = v.attachment_ids(ctx.message)
    me = ctx.connection
    ctx.collab.create_thread(ctx.member, me.room_id, me.user_id, body, metadata, files)


@handles(
    "comment.create", "threadId", "body", "attachmentIds", "clientMutationId", level=access.COMMENT
)
def comment_create(ctx: Context) -> None:
    thread_id, body = _thread_id(ctx), v.comment_body(ctx.message)
    files = v.attachment_ids(ctx.message)
    me = ctx.connection
    ctx.collab.create_comment(ctx.member, me.room_id, thread_id, me.user_id, body, files)


@handles(
    "comment.update", "threadId", "commentId", "body", "clientMutationId", level=access.COMMENT
)
def comment_update(ctx: Context) -> None:
    thread_id, body = _thread_id(ctx), v.comment_body(ctx.message)
    comment_id = v.required_text(ctx.message, "commentId", max_len=64)
    me = ctx.connection
    ctx.collab.update_comment(
        ctx.member, me.room_id, thread_id, comment_id, body, author=me.user_id
    )


@handles("comment.delete", "threadId", "commentId", "clientMutationId", level=access.COMMENT)
def comment_delete(ctx: Context) -> None:
    thread_id = _thread_id(ctx)
    comment_id = v.required_text(ctx.message, "commentId", max_len=64)
    me = ctx.connection
    ctx.collab.delete_comment(ctx.member, me.room_id, thread_id, comment_id, author=me.user_id)


@handles("thread.resolve", "threadId", "resolved", "clientMutationId", level=access.COMMENT)
def thread_resolve(ctx: Context) -> None:
    thread_id, resolved = _thread_id(ctx), v.boolean(ctx.message, "resolved")
    if resolved is None:
        raise InvalidInput("resolved", "is required (true or false)", code=codes.MISSING_FIELD)
    me = ctx.connection
    ctx.collab.update_thread(ctx.member, me.room_id, thread_id, resolved=resolved, metadata=None)


# --- reactions -------------------------------------------------------------------------------


@handles("reaction.add", "threadId", "commentId", "emoji", "clientMutationId", level=access.COMMENT)
def reaction_add(ctx: Context) -> None:
    _react(ctx, add=True)


@handles(
    "reaction.remove", "threadId", "commentId", "emoji", "clientMutationId", level=access.COMMENT
)
def reaction_remove(ctx: Context) -> None:
    _react(ctx, add=False)


def _react(ctx: Context, *, add: bool) -> None:
    """The change goes to the room as `reaction.added` / `reaction.removed` (the sender's copy
    with its requestId); one that changes nothing (reacting twice) is answered to the sender
    alone, with `unchanged: true` and no seq."""
    thread_id = _thread_id(ctx)
    comment_id = v.required_text(ctx.message, "commentId", max_len=64)
    if "emoji" not in ctx.message:
        raise InvalidInput("emoji", "is required", code=codes.MISSING_FIELD)
    emoji = v.one_emoji(ctx.message["emoji"])
    me = ctx.connection
    done = ctx.collab.react(
        ctx.member, me.room_id, thread_id, comment_id, me.user_id, emoji, add=add
    )
    if not done.changed:
        ctx.reply(
            {
                "type": "reaction.added" if add else "reaction.removed",
                "threadId": thread_id,
                "commentId": comment_id,
                "emoji": emoji,
                "userId": me.user_id,
                "reactions": [REACTION.dump(r) for r in done.comment.reactions],
                "unchanged": True,
            }
        )


# --- unread state, subscriptions, notification settings -----------------------------------


@handles("thread.markRead", "threadId")
def thread_mark_read(ctx: Context) -> None:
    """The user has read the thread to its end: `thread.read`, and `inbox.updated` to each of
    their sockets if their unread count changed."""
    thread_id = _thread_id(ctx)
    me = ctx.connection
    unread = ctx.inbox.mark_read(ctx.member, me.user_id, thread_id, room_id=me.room_id)
    ctx.reply({"type": "thread.read", "threadId": thread_id, "unreadCount": unread})


@handles("thread.subscribe", "threadId")
def thread_subscribe(ctx: Context) -> None:
    _subscription(ctx, on=True)


@handles("thread.unsubscribe", "threadId")
def thread_unsubscribe(ctx: Context) -> None:
    _subscription(ctx, on=False)


def _subscription(ctx: Context, *, on: bool) -> None:
    thread_id = _thread_id(ctx)
    me = ctx.connection
    ctx.inbox.subscribe(ctx.member, me.room_id, thread_id, me.user_id, on)
    ctx.reply({"type": "thread.subscription", "threadId": thread_id, "subscribed": on})


@handles("inbox.list", "cursor")
def inbox_list(ctx: Context) -> None:
    """The user's inbox across the environment's rooms (as `GET /api/v1/users/{userId}/inbox`),
    newest first, with their unread count: what a client's inbox shows before `inbox.updated`
    keeps it current."""
    cursor = v.text(ctx.message, "cursor", max_len=1024, required=False)
    page, count = ctx.inbox.inbox_page(ctx.member, ctx.connection.user_id, INBOX_PAGE, cursor)
    listed: dict[str, Any] = {
        "type": "inbox.listed",
        "data": [],
        "nextCursor": None,
        "count": count,
    }
    data, next_cursor = sizing.fit(page, INBOX_ENTRY.dump, ctx.budget(listed, "data"), strict=True)
    ctx.reply({**listed, "data": data, "nextCursor": next_cursor})


@handles("notifications.get")
def notifications_get(ctx: Context) -> None:
    me = ctx.connection
    setting = ctx.inbox.room_setting(ctx.member, me.room_id, me.user_id)
    ctx.reply({"type": "notifications.settings", "roomId": me.room_id, "setting": setting})


@handles("notifications.set", "setting")
def notifications_set(ctx: Context) -> None:
    """The user's setting for this room: `all`, `mentions` or `none` (docs/inbox.md)."""
    me = ctx.connection
    wanted = v.required_text(ctx.message, "setting", max_len=16)
    setting = ctx.inbox.set_room_setting(ctx.member, me.room_id, me.user_id, wanted)
    ctx.reply({"type": "notifications.settings", "roomId": me.room_id, "setting": setting})


# --- attachments -------------------------------------------------------------------------------


@handles("attachment.create", "name", "mimeType", "size", level=access.COMMENT)
def attachment_create(ctx: Context) -> None:
    """An upload of the room for a comment to come: the attachment and its presigned POST."""
    request = CreateAttachmentRequest.parse(
        {key: value for key, value in ctx.message.items() if key in ("name", "mimeType", "size")}
    )
    upload = ctx.collab.create_attachment(
        ctx.member, ctx.connection.room_id, request.name, request.mime_type, request.size
    )
    ctx.reply(
        {
            "type": "attachment.created",
            "attachment": ATTACHMENT.dump(upload.attachment),
            "upload": {"url": upload.url, "fields": upload.fields},
        }
    )
