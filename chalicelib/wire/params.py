"""Path, query and header parameters as the contract names them: every `{name}` of a route's
path is declared here once (with the 404 its lookup answers), and routes list the query
parameters they read (the readers are api/http.py's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import codes
from .schemas import COMMENT_ID, ROOM_ID_IN_PATH, THREAD_ID, USER_ID_IN_PATH, Schema


class Param:
    """One parameter; a named one is written once under components/parameters. (A plain class:
    a dataclass costs most of a millisecond to create, on every cold start.)"""

    def __init__(
        self,
        name: str,
        where: str,  # path | query | header
        schema: Any,
        description: str,
        *,
        component: str | None = None,
        allow_empty: bool = False,
        example: Any = None,
        raises: Sequence[str] = (codes.INVALID_INPUT,),  # a path parameter: its 404 too
    ) -> None:
        self.name, self.where, self.schema, self.description = name, where, schema, description
        self.component, self.allow_empty, self.example = component, allow_empty, example
        self.codes = tuple(raises)

    def definition(self) -> Schema:
        out: Schema = {"name": self.name, "in": self.where}
        if self.where == "path":
            out["required"] = True
        elif self.where == "header":
            out["required"] = False
        out["description"] = self.description
        if self.allow_empty:
            out["allowEmptyValue"] = True
        out["schema"] = self.schema
        if self.example is not None:
            out["example"] = self.example
        return out


def _id(name: str, what: str, prefix: str, not_found: str) -> Param:
    """An id Pulse made: its prefix and 16 base62 characters."""
    schema = {"type": "string", "pattern": f"^{prefix}_[0-9A-Za-z]{{16}}$"}
    example = f"{prefix}_0Q9cZk1aB2cD3eF4"
    return Param(
        name,
        "path",
        schema,
        f"The {what}'s id.",
        component=name[:1].upper() + name[1:],
        example=example,
        raises=(codes.INVALID_INPUT, not_found),
    )


ROOM = Param(
    "roomId",
    "path",
    ROOM_ID_IN_PATH,
    "The room's id, URL-encoded (`doc:42` is `doc%3A42`). A room stored with an id a URL "
    "cannot carry (`..`, `.`) is named escaped: `~` + the unpadded base64url of the id (`~Li4`).",
    component="RoomId",
    raises=(codes.INVALID_INPUT, codes.ROOM_NOT_FOUND),
)
THREAD = Param(
    "threadId",
    "path",
    THREAD_ID,
    "The thread's id.",
    component="ThreadId",
    raises=(codes.INVALID_INPUT, codes.THREAD_NOT_FOUND),
)
COMMENT = Param(
    "commentId",
    "path",
    COMMENT_ID,
    "The comment's id.",
    component="CommentId",
    raises=(codes.INVALID_INPUT, codes.COMMENT_NOT_FOUND),
)
USER = Param(
    "userId",
    "path",
    USER_ID_IN_PATH,
    "The user's id, as minted, URL-encoded. A user stored with an id a URL cannot carry (`..`, "
    "`.`, or one starting with `~`) is named escaped: `~` + the unpadded base64url of the id's "
    "UTF-8 (`~Li4`).",
    component="UserId",
    raises=(codes.INVALID_INPUT, codes.USER_NOT_FOUND),
)
CONNECTION = Param(
    "connectionId",
    "path",
    {"type": "string", "minLength": 1, "maxLength": 128},
    "A live connection's id (`connectionId`), URL-encoded.",
    component="ConnectionId",
    example="L0SM9cOFvHcCIhw%3D",
    raises=(codes.INVALID_INPUT, codes.CONNECTION_NOT_FOUND),
)
EMOJI = Param(
    "emoji",
    "path",
    {"type": "string", "minLength": 1},
    "The emoji, URL-encoded (`👍` is `%F0%9F%91%8D`).",
    example="%F0%9F%91%8D",
)
ENVIRONMENT = _id("envId", "environment", "env", codes.ENVIRONMENT_NOT_FOUND)
KEY = _id("keyId", "key", "key", codes.KEY_NOT_FOUND)
OPERATOR = _id("operatorId", "operator", "op", codes.OPERATOR_NOT_FOUND)
WEBHOOK = _id("webhookId", "webhook endpoint", "wh", codes.WEBHOOK_NOT_FOUND)
DELIVERY = _id("deliveryId", "delivery", "msg", codes.DELIVERY_NOT_FOUND)
JOB = _id("jobId", "erase job", "job", codes.JOB_NOT_FOUND)

# Every path parameter of every documented route, by the name its path gives it.
PATH: dict[str, Param] = {
    p.name: p
    for p in (
        ROOM,
        THREAD,
        COMMENT,
        EMOJI,
        USER,
        CONNECTION,
        ENVIRONMENT,
        KEY,
        OPERATOR,
        WEBHOOK,
        DELIVERY,
        JOB,
    )
}

LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    "Page size. Empty (`limit=`) is the same as absent.",
    component="Limit",
    allow_empty=True,
)
CURSOR = Param(
    "cursor",
    "query",
    {"type": "string"},
    "The `nextCursor` of the previous page of this same list. Empty (`cursor=`) is the same as "
    "absent: the first page.",
    component="Cursor",
    raises=(codes.INVALID_CURSOR,),
)
PAGE = (LIMIT, CURSOR)
RESOLVED = Param(
    "resolved",
    "query",
    {"type": "boolean"},
    "Only resolved (`true`) or only open (`false`) threads; both when absent or empty.",
    allow_empty=True,
    example=False,
)
SEARCH = Param(
    "q",
    "query",
    {"type": "string", "maxLength": 200},
    "Only items whose name or id contains this text. Empty is the same as absent.",
    component="Search",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "Makes retrying this request safe: a retry with the same key and the same request gets the "
    "first answer (with `Idempotent-Replayed: true`) and changes nothing. 1-255 printable ASCII "
    "characters (400 `INVALID_IDEMPOTENCY_KEY` otherwise); use a new UUID for each request. "
    "Kept per environment for 24 hours (`POST /auth/token`: as long as its token).",
    component="IdempotencyKey",
    example="8e2f6a1c-6f3b-4a51-9c8e-0f5b2d7c9a11",
    raises=(codes.INVALID_IDEMPOTENCY_KEY,),
)
GRANTED_USER = Param(
    "userId",
    "query",
    {"type": "string", "minLength": 1, "maxLength": 128},
    "Only the rooms whose `usersAccess` names this user (with `groupIds`: or those groups). "
    "Empty is the same as absent.",
    allow_empty=True,
)
GRANTED_GROUPS = Param(
    "groupIds",
    "query",
    {"type": "string", "minLength": 1},
    "Only the rooms whose `groupsAccess` names one of these groups, comma-separated, at most "
    "50 (with `userId`: or that user). Empty is the same as absent.",
    allow_empty=True,
    example="acme,acme-eng",
)
DAYS = Param(
    "days",
    "query",
    {"type": "integer", "enum": [1, 7, 30, 90]},
    "The days counted, today (UTC) included: 1, 7, 30 or 90. Absent or empty: 30.",
    allow_empty=True,
    example=7,
)
SINCE = Param(
    "since",
    "query",
    {"type": "integer", "minimum": 0},
    "The events after this `seq` (the last one you have). 410 `RESYNC_REQUIRED` when the events "
    "right after it are no longer kept (or it is past the room's last seq): reload the room's "
    "state, then follow on from its last seq. Absent: every event still kept. Ignored with a "
    "`cursor`.",
    example=41,
    raises=(codes.INVALID_INPUT, codes.RESYNC_REQUIRED),
)
REACTING_USER = Param(
    "userId",
    "query",
    {"type": "string", "minLength": 1, "maxLength": 128},
    "The user whose reaction is removed.",
    example="user-43",
    raises=(codes.INVALID_INPUT, codes.MISSING_FIELD),
)
USER_SEARCH_MAX = 128
USER_SEARCH = Param(
    "q",
    "query",
    {"type": "string", "maxLength": USER_SEARCH_MAX},
    "Only users whose id, or a word of whose name, starts with this (names case-insensitive). "
    "Empty is the same as absent.",
    allow_empty=True,
    example="ada",
)
