"""What each error code of the HTTP APIs means, for the OpenAPI documents: its status there, a
line saying when it is answered, and example answers. The codes are chalicelib/codes.py's
constants; infra/openapi.py lists, for each answer of each operation, the codes it can give."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import codes as c


@dataclass(frozen=True)
class CodeDoc:
    status: int
    meaning: str
    # name -> the `error` object of an example answer (its code is added)
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)


CODES: dict[str, CodeDoc] = {
    # --- 400 -------------------------------------------------------------------------------
    c.MALFORMED_JSON: CodeDoc(
        400,
        "the body is not JSON (or not UTF-8, or nested past the parser's limit).",
        {"malformedJson": {"message": "The body is not valid UTF-8 JSON."}},
    ),
    c.MISSING_BODY: CodeDoc(400, "the request has no body; it needs a JSON object."),
    c.INVALID_INPUT: CodeDoc(
        400,
        "a field has the wrong type, length or format, or holds a number that is not JSON "
        "(such as `NaN` or `1e999`); or a path parameter is a raw `.`/`..` segment or a "
        "malformed `~` escape; or a query parameter is out of range.",
        {
            "invalidInput": {
                "message": "limit: must be an integer from 1 to 100",
                "field": "limit",
            },
            "notAJsonNumber": {
                "message": "metadata.n: must be a finite number (at most about 1.8e308 in "
                "magnitude)",
                "field": "metadata.n",
            },
        },
    ),
    c.MISSING_FIELD: CodeDoc(400, "a required field is absent (or `null`)."),
    c.UNKNOWN_FIELD: CodeDoc(
        400,
        "the body has a field this operation does not take (the first in sorted order).",
        {"unknownField": {"message": "colour: unknown field", "field": "colour"}},
    ),
    c.TOO_DEEP: CodeDoc(400, "a field nests deeper than 32 levels."),
    c.NOTHING_TO_UPDATE: CodeDoc(400, "an update sent none of the fields it changes."),
    c.INVALID_CURSOR: CodeDoc(
        400, "`cursor` is not a `nextCursor` of this same list (another list, or edited)."
    ),
    c.INVALID_IDEMPOTENCY_KEY: CodeDoc(
        400, "the `Idempotency-Key` header is not 1-255 printable ASCII characters."
    ),
    c.EMAIL_NOT_ASCII: CodeDoc(
        400,
        "an operator's email must be ASCII (letters of other scripts can pass for another "
        "address); an internationalized domain goes in its `xn--` form.",
    ),
    c.WEAK_PASSWORD: CodeDoc(400, "a password must be 12-256 characters."),
    c.WEBHOOK_URL_REFUSED: CodeDoc(
        400,
        "the webhook `url` is not one Pulse posts to: not https, or a literal private, "
        "loopback, link-local or cloud-metadata address.",
    ),
    c.CONFIRM_NAME_MISMATCH: CodeDoc(
        400, "`confirmName` is not the environment's name; nothing was changed."
    ),
    # --- 401 -------------------------------------------------------------------------------
    c.MISSING_API_KEY: CodeDoc(
        401,
        "no key was sent.",
        {
            "missing": {
                "message": "Missing API key.",
                "suggestion": "Send it as `Authorization: Bearer sk_...`.",
            }
        },
    ),
    c.INVALID_API_KEY: CodeDoc(
        401,
        "the key is malformed, unknown, revoked or rotated, or its environment is disabled.",
        {
            "invalid": {
                "message": "The API key is invalid or no longer active.",
                "suggestion": "Check the key in the Admin Panel; rotated and revoked keys stop "
                "at once.",
            }
        },
    ),
    c.SECRET_KEY_REQUIRED: CodeDoc(
        401,
        "a publishable key (`pk_...`) was sent.",
        {
            "publishable": {
                "message": "This endpoint needs a secret key (sk_...); a publishable key was sent.",
                "suggestion": "Call this endpoint from your backend with the environment's sk_ "
                "key. Publishable keys (pk_...) belong in the browser widget only.",
            }
        },
    ),
    c.INSUFFICIENT_SCOPE: CodeDoc(
        403,
        "a restricted key (`rk_...`) lacks the scope the operation needs (its `x-pulse-scope`), "
        "or the room is outside the key's rooms pattern (a list of every room, and a mint "
        "without `permissions`, are refused to a key limited to rooms).",
        {
            "scope": {
                "message": "This restricted key lacks the `comments:write` scope this request "
                "needs.",
                "suggestion": "Create a restricted key with this scope, or call from a backend "
                "holding one.",
            },
            "room": {
                "message": "This restricted key is limited to rooms `acme:*`; the room is "
                "outside it.",
                "suggestion": "Use a key whose rooms pattern includes this room.",
            },
        },
    ),
    c.INVALID_SESSION: CodeDoc(
        401,
        "no session token was sent, or it is malformed, expired or revoked (a logout, a new "
        "password, a lower role).",
        {
            "invalidSession": {
                "message": "Missing, expired or revoked session.",
                "suggestion": "Log in again with POST /admin/api/login.",
            }
        },
    ),
    c.INVALID_CREDENTIALS: CodeDoc(
        401,
        "the email or the password is wrong (the same answer for both).",
        {"invalidCredentials": {"message": "Email or password is incorrect."}},
    ),
    # --- 403 -------------------------------------------------------------------------------
    c.ENVIRONMENT_SUSPENDED: CodeDoc(
        403,
        "the key is good, but the environment's operators have suspended it; every request "
        "is refused until they resume it.",
        {
            "suspended": {
                "message": "This environment is suspended by its operators.",
                "suggestion": "Every request and connection of it is refused until an operator "
                "resumes it.",
            }
        },
    ),
    c.IP_NOT_ALLOWED: CodeDoc(
        403,
        "the key is good, but its `allowedIps` leave out the address the request came from "
        "(API Gateway's source address; `X-Forwarded-For` is not read).",
        {
            "ipNotAllowed": {
                "message": "This key is not accepted from this address.",
                "suggestion": "Call from one of the networks in the key's allowedIps, or use "
                "another key.",
            }
        },
    ),
    c.ROLE_REQUIRED: CodeDoc(
        403,
        "the operator's role is below the one this operation needs.",
        {"roleRequired": {"message": "This needs the admin role; you are viewer."}},
    ),
    c.CANNOT_DELETE_SELF: CodeDoc(403, "nobody deletes their own account."),
    # --- 404 -------------------------------------------------------------------------------
    c.ROOM_NOT_FOUND: CodeDoc(
        404, "no room with this id.", {"room": {"message": "No room with this id."}}
    ),
    c.THREAD_NOT_FOUND: CodeDoc(
        404,
        "no thread with this id in this room.",
        {"thread": {"message": "No thread with this id in this room."}},
    ),
    c.COMMENT_NOT_FOUND: CodeDoc(404, "no comment with this id in this thread."),
    c.USER_NOT_FOUND: CodeDoc(404, "no user with this id."),
    c.CONNECTION_NOT_FOUND: CodeDoc(404, "no live connection with this id in this room."),
    c.JOB_NOT_FOUND: CodeDoc(404, "no erase job with this id for this user."),
    c.ENVIRONMENT_NOT_FOUND: CodeDoc(
        404,
        "no environment with this id.",
        {"environment": {"message": "No environment with this id."}},
    ),
    c.KEY_NOT_FOUND: CodeDoc(404, "no key with this id in this environment."),
    c.OPERATOR_NOT_FOUND: CodeDoc(404, "no operator with this id."),
    c.WEBHOOK_NOT_FOUND: CodeDoc(404, "no webhook endpoint with this id in this environment."),
    c.DELIVERY_NOT_FOUND: CodeDoc(404, "no delivery with this id for this webhook endpoint."),
    # --- 410 -------------------------------------------------------------------------------
    c.RESYNC_REQUIRED: CodeDoc(
        410,
        "the room's events right after `since` are no longer kept (24 hours by default), or "
        "`since` is past the room's last seq: reload the room's state (its threads), then follow "
        "its events from its last seq, which the message names.",
        {
            "resyncRequired": {
                "message": "since 3 is older than the events kept: the room's last seq is 912.",
                "suggestion": "Reload the room's threads, then follow its events from its last "
                "seq.",
            }
        },
    ),
    # --- 409 -------------------------------------------------------------------------------
    c.TOO_MANY_REACTIONS: CodeDoc(
        409,
        "the comment already has 20 different emoji: react with one of those.",
        {
            "tooManyReactions": {
                "message": "This comment already has 20 different reactions.",
                "suggestion": "React with one of the emoji it already has.",
            }
        },
    ),
    c.ROOM_EXISTS: CodeDoc(
        409,
        "a room with this id exists.",
        {"roomExists": {"message": "A room with this id exists."}},
    ),
    c.CONCURRENT_CHANGE: CodeDoc(
        409,
        "the item kept changing while the request ran (for example comments arriving during a "
        "delete); nothing was changed. Retry.",
        {
            "concurrentChange": {
                "message": "The item kept changing while this request ran; nothing was changed.",
                "suggestion": "Retry the request.",
            }
        },
    ),
    c.IDEMPOTENCY_KEY_IN_USE: CodeDoc(
        409,
        "a request with this `Idempotency-Key` is still running. Retry after `Retry-After` "
        "seconds: once it has answered, a retry gets its answer.",
        {"keyInUse": {"message": "A request with this Idempotency-Key is still running."}},
    ),
    c.EMAIL_TAKEN: CodeDoc(409, "an operator with this email exists."),
    c.LAST_OWNER: CodeDoc(
        409,
        "this would leave no owner; make another operator owner first.",
        {
            "lastOwner": {
                "message": "This would leave no owner.",
                "suggestion": "Make another operator owner first.",
            }
        },
    ),
    c.CONFLICT: CodeDoc(409, "the operator changed while the request ran; nothing was changed."),
    c.ENVIRONMENT_DISABLED: CodeDoc(409, "the environment is disabled; it cannot change."),
    c.ENVIRONMENT_CHANGED: CodeDoc(
        409, "the environment changed while the request ran; nothing was changed."
    ),
    c.ENVIRONMENT_ALREADY_SUSPENDED: CodeDoc(409, "the environment is already suspended."),
    c.ENVIRONMENT_NOT_SUSPENDED: CodeDoc(409, "the environment is not suspended."),
    c.KEYS_CHANGED: CodeDoc(
        409, "the environment's keys changed while the request ran; nothing was changed."
    ),
    c.KEY_ALREADY_REVOKED: CodeDoc(409, "the key is already revoked."),
    c.KEY_EXPIRED: CodeDoc(
        409, "the key has expired (its `expiresAt` is past): it cannot be rolled."
    ),
    c.TOO_MANY_KEYS: CodeDoc(409, "the environment has as many active keys as it may."),
    c.TOO_MANY_WEBHOOKS: CodeDoc(
        409, "the environment has as many webhook endpoints as it may (20); delete one first."
    ),
    # --- 413, 415, 422 ---------------------------------------------------------------------
    c.PAYLOAD_TOO_LARGE: CodeDoc(
        413,
        "the body is over 64 KB.",
        {"tooLarge": {"message": "Request bodies are limited to 64 KB."}},
    ),
    c.EVENT_TOO_LARGE: CodeDoc(
        413,
        "for a broadcast: the message it makes is over the 128 KB a WebSocket connection may "
        "be sent.",
    ),
    c.UNSUPPORTED_MEDIA_TYPE: CodeDoc(
        415,
        "the body is not sent as `application/json`.",
        {
            "unsupportedMediaType": {
                "message": "Unsupported media type: text/plain",
                "suggestion": "Send a JSON body with `Content-Type: application/json`.",
            }
        },
    ),
    c.IDEMPOTENCY_KEY_REUSED: CodeDoc(
        422,
        "this `Idempotency-Key` was sent with another request (another operation, path, query "
        "or body) in the last 24 hours. Nothing ran.",
        {
            "keyReused": {
                "message": "This Idempotency-Key was used for a different request.",
                "suggestion": "Use a new key for each distinct request (a UUID), the same key "
                "only for retries of the same request.",
            }
        },
    ),
    # --- 429 -------------------------------------------------------------------------------
    c.RATE_LIMITED: CodeDoc(
        429,
        "too many requests this second: for the environment or for the key (API requests and "
        "token mints are limited apart), or for the whole API at the gateway.",
        {"rateLimited": {"message": "This key is over its limit of 50 API requests per second."}},
    ),
    c.TOO_MANY_FAILURES: CodeDoc(
        429,
        "too many failed authentications (keys, logins) from this address, with this key id, "
        "or for this browser, recently; wait `Retry-After` seconds.",
        {
            "tooManyFailures": {
                "message": "Too many failed authentications from this address; wait before "
                "retrying."
            }
        },
    ),
    c.TOO_MANY_ATTEMPTS: CodeDoc(
        429, "too many login attempts for this account from browsers it does not know, this hour."
    ),
    # --- 500, 503 --------------------------------------------------------------------------
    c.INTERNAL_ERROR: CodeDoc(
        500,
        "a bug on our side. The body carries only the request id, which the server's log line "
        "(with the details) also has.",
        {
            "internalError": {
                "message": "Something went wrong on our side.",
                "suggestion": "Retry later; if it persists, report request id "
                "0b7e6c1e-4a4e-4f67-9d7c-1b2f0c9d3e11.",
                "requestId": "0b7e6c1e-4a4e-4f67-9d7c-1b2f0c9d3e11",
            }
        },
    ),
    c.SERVICE_UNAVAILABLE: CodeDoc(
        503,
        "the database is busy or unreachable; safe to retry.",
        {"unavailable": {"message": "The database is busy; retry shortly."}},
    ),
}
