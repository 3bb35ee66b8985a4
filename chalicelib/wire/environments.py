"""Environments on the wire (Admin API): the bodies that create, rename and disable one and
make its keys; an environment, an API key and an audit event as answered; an environment's
analytics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import validation as v
from ..access import Level
from ..entities import (
    ATTACHMENT_MAX_BYTES_CAP,
    NOTIFICATION_DELAY_MAX,
    Analytics,
    ApiKey,
    AuditEvent,
    DailyStats,
    Environment,
)
from ..scopes import SCOPES
from .fields import Body, Spec, boolean, choice, if_sent, level, text
from .fields import NoBody as NoBody  # the admin routes' action bodies
from .schemas import LEVEL, MIME_TYPE
from .shapes import Const, Extra, Many, Obj, PageOf, Record, Value

if TYPE_CHECKING:  # a type only: wire/ imports no auth, service or storage module
    from ..auth.apikeys import KeyKind

NAME_MAX = 100
KEY_NAME_MAX = 100
LEAKED_KEY_MAX = 200  # a key is 69 characters; room for what a scanner hands over around it
KEY_KINDS: tuple[KeyKind, ...] = ("publishable", "secret", "restricted")
ROOMS_PATTERN: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": v.ROOM_ID_MAX + 1,
    "pattern": r"^[A-Za-z0-9_.:-]+\*?$",
}


class CreateEnvironmentRequest(Body):
    name: str = text(
        max_len=NAME_MAX, strip=True, description="Shown in the Admin Panel; not unique."
    )

    example = {"name": "Production"}


def _spec(*args: Any, **kwargs: Any) -> Any:
    """A field declared in place (its type is the value it reads)."""
    return Spec(*args, **kwargs)


class UpdateEnvironmentRequest(Body):
    """Any of the fields; what is absent stays."""

    name: str | None = if_sent(text(max_len=NAME_MAX, strip=True))
    default_room_access: Level | None = level(
        description="The `defaultAccess` of a room created without one, by `POST "
        "/api/v1/rooms` or by a connection (`write` until changed)."
    )
    create_rooms_on_join: bool | None = boolean(
        description="Whether a connection to a room that does not exist creates it (`true` "
        "until changed); `false`: its handshake is refused with 404 `ROOM_NOT_FOUND`."
    )

    attachment_max_bytes: int | None = _spec(
        lambda body, name: v.max_bytes(body, name, ATTACHMENT_MAX_BYTES_CAP),
        {"type": ["integer", "null"], "minimum": 1, "maximum": ATTACHMENT_MAX_BYTES_CAP},
        required=False,
        description="The largest attachment an upload may be, in bytes (10 MB until changed; "
        "at most 100 MB). Uploads already signed keep the limit they were signed with.",
    )
    attachment_types: tuple[str, ...] | None = _spec(
        lambda body, name: v.mime_types(body, name),
        {
            "type": ["array", "null"],
            "minItems": 1,
            "maxItems": v.ATTACHMENT_TYPES_MAX,
            "uniqueItems": True,
            "items": MIME_TYPE,
        },
        required=False,
        description="The MIME types an attachment may have (common image, PDF, text and "
        "office types until changed); the list replaces the one before.",
    )
    notification_delay_seconds: int | None = _spec(
        lambda body, name: v.seconds(body, name, NOTIFICATION_DELAY_MAX),
        {"type": ["integer", "null"], "minimum": 0, "maximum": NOTIFICATION_DELAY_MAX},
        required=False,
        description="How long a user's unread activity in a thread waits before "
        "`notification.created` is sent (300 until changed; 0-604800): a user who reads it "
        "first is not notified, and a thread notifies a user at most once per delay.",
    )

    at_least_one = (
        "name",
        "default_room_access",
        "create_rooms_on_join",
        "attachment_max_bytes",
        "attachment_types",
        "notification_delay_seconds",
    )
    examples = {
        "rename": ("Rename", {"name": "Production (EU)"}),
        "lockDown": (
            "Rooms only by invitation",
            {"defaultRoomAccess": "none", "createRoomsOnJoin": False},
        ),
    }


class DisableEnvironmentRequest(Body):
    """Names the environment, so that a request that reaches the route by accident changes
    nothing."""

    confirm_name: str = text(
        max_len=NAME_MAX, description="The environment's name, exactly as it is now."
    )

    optional = True  # no body is a 400 MISSING_FIELD naming confirmName, as `{}`
    example = {"confirmName": "Production"}


class CreateKeyRequest(Body):
    kind: KeyKind = choice(KEY_KINDS)
    name: str | None = text(
        max_len=KEY_NAME_MAX,
        strip=True,
        required=False,
        description="Absent: `Secret key`, `Publishable key` or `Restricted key`.",
    )
    scopes: tuple[str, ...] | None = _spec(
        lambda body, name: v.key_scopes(body, name),
        {
            "type": ["array", "null"],
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "enum": list(SCOPES)},
        },
        required=False,
        description="A restricted key's scopes (required for `restricted`, refused for the "
        "others): what it may do. Each operation of the customer API names the one it needs "
        "(`x-pulse-scope`).",
    )
    rooms: str | None = _spec(
        lambda body, name: v.rooms_pattern(body, name),
        {**ROOMS_PATTERN, "type": ["string", "null"]},
        required=False,
        description="A restricted key's rooms: one room id, or a prefix of room ids ending with "
        "`*` (`acme:*`). Absent: every room. Tokens it mints reach only these rooms.",
    )

    examples = {
        "secret": ("A secret key", {"kind": "secret", "name": "CI"}),
        "restricted": (
            "A restricted key",
            {
                "kind": "restricted",
                "name": "Support bot",
                "scopes": ["tokens:mint", "comments:read"],
                "rooms": "acme:*",
            },
        ),
    }


class ReportLeakRequest(Body):
    key: str = text(
        max_len=LEAKED_KEY_MAX,
        strip=True,
        description="The whole key as it was found (`pk_...`, `sk_...` or `rk_...`).",
    )

    example = {"key": "sk_VbxS2RvaEHXy9cNQVbxS2RvNLnZP03VSYkGZuv0KlN6UgB0wEjSKYt3P3kva"}


ENVIRONMENT = Record(
    Environment,
    "Environment",
    schemas={
        "status": {"type": "string", "enum": ["active", "disabled"]},
        "default_room_access": LEVEL,
        "attachment_max_bytes": {"type": "integer", "minimum": 1},
        "attachment_types": {"type": "array", "items": MIME_TYPE},
        "notification_delay_seconds": {"type": "integer", "minimum": 0},
    },
    describe={
        "created_by": "The id of the operator who created it.",
        "disabled_at": "When it was disabled (for good); `null` while it is not.",
        "suspended_at": "While suspended (reversible), since when; else `null`.",
        "default_room_access": "The `defaultAccess` of a room created without one (by a "
        "connection too).",
        "create_rooms_on_join": "Whether a connection to a room that does not exist creates "
        "it (else its `$connect` is a 404 `ROOM_NOT_FOUND`).",
        "leak_reported_at": "When a key of it was last reported leaked (and revoked), until an "
        "operator dismisses it; absent otherwise.",
        "leaked_key": "That key's preview (`sk_...a1b2`); absent otherwise.",
    },
    omit_none=("leak_reported_at", "leaked_key"),
    examples=[
        {
            "id": "env_0Q9cZk1aB2cD3eF4",
            "name": "Production",
            "status": "active",
            "createdAt": "2026-11-25T04:48:22.123Z",
            "createdBy": "op_0Q9cZk1aB2cD3eF0",
            "updatedAt": "2026-11-25T04:48:22.123Z",
            "disabledAt": None,
            "suspendedAt": None,
            "defaultRoomAccess": "write",
            "createRoomsOnJoin": True,
            "attachmentMaxBytes": 10485760,
            "attachmentTypes": ["image/png", "image/jpeg", "application/pdf", "text/plain"],
            "notificationDelaySeconds": 300,
        }
    ],
)
ENVIRONMENTS = PageOf(ENVIRONMENT)

API_KEY = Record(
    ApiKey,
    "ApiKey",
    rename={"env_id": "environmentId"},
    omit_none=("key", "scopes", "rooms"),
    schemas={
        "kind": {"type": "string", "enum": list(KEY_KINDS)},
        "status": {"type": "string", "enum": ["active", "revoked"]},
        "key": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}},
        "rooms": ROOMS_PATTERN,
    },
    describe={
        "preview": "The key's first and last characters, to recognise it.",
        "key": "The whole key: only in the answer that creates it, never again.",
        "scopes": "A restricted key's scopes; absent for the others (a secret key has them all).",
        "rooms": "A restricted key's rooms pattern; absent: every room.",
    },
)
API_KEYS = PageOf(API_KEY)

CREATED_ENVIRONMENT = Obj(
    "CreatedEnvironment",
    {"environment": ENVIRONMENT, "keys": Many(API_KEY)},
    description="The new environment and its first keys, a publishable and a secret one, with "
    "their `key` (shown this once).",
)
LEAK_RECEIVED = Const(
    "LeakReportReceived",
    {"received": True},
    description="The report was received. The same answer whatever the key was (found and "
    "revoked, already revoked, publishable, unknown or no key at all), so it reveals nothing; "
    "what it did shows in the key's environment (its keys, its audit log, its banner).",
)
ROTATED_KEYS = Obj(
    "RotatedKeys",
    {"keys": Many(API_KEY), "revoked": Value({"type": "array", "items": {"type": "string"}})},
    description="The new keys (with their `key`, shown this once) and the ids of the keys they "
    "replace, revoked.",
)


def _actor(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.actor_id, "email": e.actor_email}


def _target(e: AuditEvent) -> dict[str, Any]:
    return {"type": e.target_type, "id": e.target_id}


def _pair(first: str, second: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [first, second],
        "properties": {first: {"type": "string"}, second: {"type": "string"}},
    }


AUDIT_EVENT = Record(
    AuditEvent,
    "AuditEvent",
    exclude=("actor_id", "actor_email", "target_type", "target_id"),
    rename={"env_id": "environmentId"},
    extra={
        "actor": Extra(_actor, {"description": "The operator who did it.", **_pair("id", "email")}),
        "target": Extra(_target, {"description": "What it was done to.", **_pair("type", "id")}),
    },
    describe={"action": "What happened: `environment.created`, `key.revoked`, ..."},
)
AUDIT_EVENTS = PageOf(AUDIT_EVENT)

DAILY = Record(DailyStats, "DailyStats", schemas={"date": {"type": "string", "format": "date"}})
ANALYTICS = Record(
    Analytics,
    "Analytics",
    nested={"daily": Many(DAILY)},
    describe={"daily": "The last days' counts, one entry a day."},
)
