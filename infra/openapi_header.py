"""The hand-written part of the OpenAPI documents: for each (the customer API, the Admin API)
its info and prose, servers, security scheme and tags; the headers and shared error answers
both use. Everything else is generated from the code (infra/openapi.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import codes as c

CUSTOMER_DESCRIPTION = """\
Pulse is a real-time collaboration backend: your users see who else is on a page (a **room**) \
and discuss in comment **threads**. This is the server-to-server API that your backend calls: \
it mints short-lived user tokens for the browser widget and reads and writes the collaboration \
data of one environment. (The Admin API, for operators, has its own document: \
`GET /admin/api/openapi.json`.)

**Authentication.** Every operation except `GET /api/v1/openapi.json` needs the environment's \
secret key: `Authorization: Bearer sk_...`. A publishable key (`pk_...`) gets 401 \
`{c.SECRET_KEY_REQUIRED}`; a missing key 401 `{c.MISSING_API_KEY}`; a malformed, unknown, \
revoked, rotated or expired key (a rolled key once its grace is over), or a key of a disabled \
environment, 401 `{c.INVALID_API_KEY}`. A key with `allowedIps` refuses a request from any \
other source address with 403 `{c.IP_NOT_ALLOWED}`, before anything is read. Keys \
never cross environments: an id of another environment is a 404, as if it did not exist.

{JSON}

{LISTS}

{ERRORS}

**Retries.** The POSTs that create or send something (`/auth/token`, rooms, threads, comments, \
broadcasts) accept an optional `Idempotency-Key` header: 1-255 printable ASCII characters, a \
new UUID per request. A retry with the same key and the same request (method, path, query and \
body; a JSON body counts by its content, not its spacing or key order) gets the first answer \
again, with `Idempotent-Replayed: true`, and changes nothing. Keys belong to the environment, \
and answers are kept 24 hours (a token's, as long as the token lives). The same key with \
another request is a 422 `{c.IDEMPOTENCY_KEY_REUSED}`; a retry while the first request still \
runs, a 409 `{c.IDEMPOTENCY_KEY_IN_USE}` with `Retry-After`. Answers that say "try again" (401, \
403, 409, 429, 5xx) are not kept: a retry with the key runs.

**Limits.** Requests are limited per second per environment and per key, and failed \
authentications per minute per address and per key: 429 `{c.RATE_LIMITED}` or \
`{c.TOO_MANY_FAILURES}`, with `Retry-After`. An environment its operators have suspended \
refuses every request made with a good key with 403 `{c.ENVIRONMENT_SUSPENDED}`.

**Ids.** Room ids are yours: 1-128 letters, digits and `-_.:`, URL-encoded in paths (`:` as \
`%3A`). Thread and comment ids are Pulse's (`th_...`, `cm_...`), and user ids are the \
`userId`s your backend minted tokens for. Every id is one path segment, so a new one may not \
be `.` or `..` (in any spelling, `%2e` included), contain `/` or `\\`, or start with `~` (400 \
`{c.INVALID_INPUT}` naming the field). An id stored before this rule that a URL cannot carry \
as it is (`.`, `..`: URL parsers resolve those, and encoding leaves them as they are) is sent \
escaped: `~` followed by its UTF-8 in unpadded base64url, such as `~Li4` for `..`. Any id may \
be sent that way; a path segment starting with `~` is always read as one (a malformed escape, \
or a raw `.`/`..` segment, is a 400). Paths match exactly: a trailing slash or an empty \
segment is a 404."""

ADMIN_DESCRIPTION = """\
The Admin API is what the Admin Panel calls: operators manage environments and their keys, \
browse and delete an environment's data, read its analytics and audit log, and manage \
operator accounts. Everything the panel does can be automated from this document.

**Authentication.** `POST /admin/api/login` with an operator's email and password answers a \
session token (`pso_...`); every other operation needs it: `Authorization: Bearer pso_...`. \
A missing, malformed, expired or revoked session is a 401 `{c.INVALID_SESSION}`. Sessions end \
at logout, after 12 hours by default, and when the operator's password changes or their role \
is lowered. Failed logins are throttled per address, per account and per browser (429).

**Roles.** Each operator has a role: `viewer` reads everything; `admin` also changes \
environments, keys and data; `owner` also manages operators and reads their audit log. Each \
operation states the least role it needs (`x-minimum-role`); a lower one gets 403 \
`{c.ROLE_REQUIRED}`.

{JSON}

{LISTS}

{ERRORS}

**Ids.** Environments, keys and operators have Pulse's ids (`env_...`, `key_...`, `op_...`). \
Rooms, threads, comments and users are named as in the customer API (`GET /api/v1/openapi.json`), \
escapes included."""

JSON = """\
**JSON.** Request and response bodies are JSON objects with camelCase names. Unknown fields in \
a request body are refused (400 `{c.UNKNOWN_FIELD}`). Bodies are limited to 64 KB (413). \
Numbers must be JSON numbers: `NaN`, `Infinity`, `-Infinity`, literals beyond about ±1.8e308 \
(such as `1e999`) and integers of more than 4300 digits are refused with 400 \
`{c.INVALID_INPUT}` naming where they are (`metadata.n`, `event.items[2]`). Responses are \
always valid JSON. Timestamps are UTC RFC 3339 strings with milliseconds, such as \
`2026-11-25T04:48:22.123Z`."""

LISTS = """\
**Lists** answer `{{"data": [...], "nextCursor": null | "..."}}`. `limit` is 1-100 (default \
20). A page also stops at about 1 MB of items (Lambda answers at most 6 MB), so it may hold \
fewer than `limit` items, never none, with a `nextCursor` that continues right after the last \
one. To read the next page, send the `nextCursor` as `cursor` with the same parameters; the \
last page has `"nextCursor": null`. A cursor only works for the list it came from (400 \
`{c.INVALID_CURSOR}` otherwise)."""

ERRORS = """\
**Errors** all have one shape: `{{"error": {{"code", "message", "suggestion"?, "field"?, \
"requestId"?}}}}`. `code` is stable and meant for programs; `message` and `suggestion` are for \
humans; `field` names the request field at fault. Each answer below lists the codes it can \
carry. Every response carries an `X-Request-Id` header; quote it when you report a problem."""


def _prose(text: str) -> str:
    common = {
        "JSON": JSON.format(c=c),
        "LISTS": LISTS.format(c=c),
        "ERRORS": ERRORS.format(c=c),
    }
    return text.format(c=c, **common)


SERVERS: list[dict[str, Any]] = [
    {"url": "http://127.0.0.1:8000", "description": "The local stack (`make dev`)"},
    {
        "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/api",
        "description": "A deployment (`chalice deploy`)",
        "variables": {
            "restApiId": {
                "default": "abcdef1234",
                "description": "The REST API id that `chalice deploy` prints.",
            },
            "region": {"default": "us-east-1"},
        },
    },
]


@dataclass(frozen=True)
class SharedResponse:
    """An error answer several operations give: one component, its codes listed. An operation
    refers to it when the codes it can answer with that status are among these (`exact`: only
    when they are these)."""

    name: str
    status: int
    intro: str
    codes: tuple[str, ...]
    exact: bool = False


@dataclass(frozen=True)
class Header:
    """What one document says before its operations."""

    contract: str
    info: dict[str, Any]
    scheme: str  # its security scheme's name
    security_scheme: dict[str, Any]
    tags: list[dict[str, str]]
    responses: tuple[SharedResponse, ...]

    def head(self) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": self.info,
            "servers": SERVERS,
            "security": [{self.scheme: []}],
            "tags": self.tags,
        }


BAD_REQUEST_INTRO = "The request is invalid. `field` names the culprit."
BODY_400 = (
    c.MALFORMED_JSON,
    c.MISSING_BODY,
    c.INVALID_INPUT,
    c.MISSING_FIELD,
    c.UNKNOWN_FIELD,
    c.TOO_DEEP,
    c.NOTHING_TO_UPDATE,
    c.INVALID_CURSOR,
)
COMMON = (
    SharedResponse(
        "PayloadTooLarge",
        413,
        "The request, or what it would send, is too large.",
        (c.PAYLOAD_TOO_LARGE, c.EVENT_TOO_LARGE),
    ),
    SharedResponse(
        "UnsupportedMediaType", 415, "Not JSON.", (c.UNSUPPORTED_MEDIA_TYPE,), exact=True
    ),
    SharedResponse(
        "TooManyRequests",
        429,
        "Over a limit; retry after `Retry-After` seconds.",
        (c.RATE_LIMITED, c.TOO_MANY_FAILURES),
    ),
    SharedResponse("InternalError", 500, "Our fault.", (c.INTERNAL_ERROR,), exact=True),
    SharedResponse(
        "ServiceUnavailable", 503, "Try again shortly.", (c.SERVICE_UNAVAILABLE,), exact=True
    ),
)

CUSTOMER = Header(
    contract="customer",
    info={
        "title": "Pulse API",
        "version": "1.0.0",
        "summary": "Rooms, comment threads and users of a Pulse environment, for your backend.",
        "description": _prose(CUSTOMER_DESCRIPTION),
        "contact": {"name": "Pulse"},
    },
    scheme="secretKey",
    security_scheme={
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sk_... or rk_...",
        "description": "The environment's secret key (`sk_...`), or a restricted key (`rk_...`) "
        "holding the scope each operation names in its security requirement and its "
        "`x-pulse-scope` (and, for a key limited to rooms, the room). From the Admin Panel. "
        "Backend only: never ship it to a browser.",
    },
    tags=[
        {"name": "Auth", "description": "User tokens for the browser widget."},
        {
            "name": "Rooms",
            "description": "The pages (or documents, boards...) your users collaborate on.",
        },
        {"name": "Threads", "description": "Comment threads in a room."},
        {"name": "Comments", "description": "The comments of a thread."},
        {
            "name": "Attachments",
            "description": "Files a comment references: uploaded straight to S3 with a presigned "
            "POST, read through short-lived presigned GETs (docs/attachments.md).",
        },
        {
            "name": "Events",
            "description": "Every change of a room in order (`seq`), to catch up after a gap; "
            "webhooks push the same events (docs/webhooks.md).",
        },
        {"name": "Users", "description": "The people your backend minted tokens for."},
        {
            "name": "Privacy",
            "description": "Erasing a user (a resumable job) and exporting everything held about "
            "them (docs/privacy.md).",
        },
        {
            "name": "Inbox",
            "description": "Each user's unread threads, subscriptions and notification settings "
            "(docs/inbox.md).",
        },
        {
            "name": "Realtime",
            "description": "Who is connected to a room right now, and messages to everyone in it.",
        },
        {"name": "Contract", "description": "This document."},
    ],
    responses=(
        SharedResponse(
            "BadRequest", 400, BAD_REQUEST_INTRO, (*BODY_400, c.INVALID_IDEMPOTENCY_KEY)
        ),
        SharedResponse(
            "Unauthorized",
            401,
            "No valid secret key.",
            (c.MISSING_API_KEY, c.INVALID_API_KEY, c.SECRET_KEY_REQUIRED),
        ),
        SharedResponse(
            "KeyRefusedHere",
            403,
            "Suspended, or not from this address.",
            (c.ENVIRONMENT_SUSPENDED, c.IP_NOT_ALLOWED),
            exact=True,
        ),
        SharedResponse(
            "NotFound",
            404,
            "No such item in this environment; ids of other environments are not found either.",
            (c.ROOM_NOT_FOUND, c.THREAD_NOT_FOUND, c.COMMENT_NOT_FOUND, c.USER_NOT_FOUND),
        ),
        SharedResponse("ConcurrentChange", 409, "Retry.", (c.CONCURRENT_CHANGE,), exact=True),
        SharedResponse(
            "IdempotencyKeyInUse", 409, "Retry later.", (c.IDEMPOTENCY_KEY_IN_USE,), exact=True
        ),
        *COMMON,
        SharedResponse(
            "IdempotencyKeyReused", 422, "Nothing ran.", (c.IDEMPOTENCY_KEY_REUSED,), exact=True
        ),
    ),
)

ADMIN = Header(
    contract="admin",
    info={
        "title": "Pulse Admin API",
        "version": "1.0.0",
        "summary": "Environments, keys, data, analytics and operators of a Pulse deployment, for "
        "its operators.",
        "description": _prose(ADMIN_DESCRIPTION),
        "contact": {"name": "Pulse"},
    },
    scheme="operatorSession",
    security_scheme={
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pso_...",
        "description": "An operator session token (`pso_...`), from `POST /admin/api/login`.",
    },
    tags=[
        {"name": "Session", "description": "Logging in and out."},
        {
            "name": "Environments",
            "description": "Isolated tenants, each with its own keys and data.",
        },
        {"name": "Keys", "description": "An environment's publishable and secret keys."},
        {"name": "Data", "description": "An environment's rooms, threads, comments and users."},
        {"name": "Analytics", "description": "An environment's counts."},
        {
            "name": "Inspector",
            "description": "A room live: who is connected now, its last events, closing a "
            "connection.",
        },
        {"name": "Audit", "description": "What operators did."},
        {
            "name": "Webhooks",
            "description": "Endpoints Pulse posts an environment's events to, signed "
            "(Standard Webhooks), retried, and logged as deliveries.",
        },
        {"name": "Operators", "description": "The accounts that log in here (owners only)."},
        {"name": "Contract", "description": "This document."},
    ],
    responses=(
        SharedResponse(
            "BadRequest",
            400,
            BAD_REQUEST_INTRO,
            (*BODY_400, c.EMAIL_NOT_ASCII, c.WEAK_PASSWORD, c.CONFIRM_NAME_MISMATCH),
        ),
        SharedResponse("Unauthorized", 401, "No valid session.", (c.INVALID_SESSION,), exact=True),
        SharedResponse("RoleRequired", 403, "Not allowed.", (c.ROLE_REQUIRED,), exact=True),
        SharedResponse(
            "NotFound",
            404,
            "No such item.",
            (
                c.ENVIRONMENT_NOT_FOUND,
                c.KEY_NOT_FOUND,
                c.OPERATOR_NOT_FOUND,
                c.ROOM_NOT_FOUND,
                c.THREAD_NOT_FOUND,
                c.COMMENT_NOT_FOUND,
                c.USER_NOT_FOUND,
            ),
        ),
        SharedResponse("ConcurrentChange", 409, "Retry.", (c.CONCURRENT_CHANGE,), exact=True),
        *COMMON,
    ),
)

HEADERS = {"customer": CUSTOMER, "admin": ADMIN}

# Response headers, written once under components/headers.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "Idempotent-Replayed": {
        "description": "`true` on an answer replayed for a retry with the same "
        "`Idempotency-Key`: nothing ran again. Absent on an answer that ran.",
        "required": False,
        "schema": {"type": "string", "const": "true"},
    },
    "Retry-After-If-In-Use": {
        "description": "With `IDEMPOTENCY_KEY_IN_USE`, seconds to wait before retrying.",
        "required": False,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-Request-Id": {
        "description": "This request's id; the server's log line carries the same id.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for programs (`ROOM_NOT_FOUND`, `INVALID_INPUT`, ...).",
                    "pattern": "^[A-Z][A-Z0-9_]*$",
                },
                "message": {"type": "string", "description": "For humans; may change."},
                "suggestion": {"type": "string", "description": "What to do about it."},
                "field": {
                    "type": "string",
                    "description": "The request field at fault (`limit`, `metadata.title`, "
                    "`comment.body`).",
                },
                "requestId": {"type": "string", "description": "On 500s, the id to report."},
            },
        }
    },
}
