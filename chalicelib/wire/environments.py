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
    ActiveUsers,
    Analytics,
    ApiKey,
    AuditEvent,
    CostEstimate,
    CostLine,
    DailyStats,
    Environment,
    RoomRank,
)
from ..scopes import SCOPES
from .fields import Body, Spec, boolean, choice, if_sent, level, text
from .fields import NoBody as NoBody  # the admin routes' action bodies
from .schemas import LEVEL, MIME_TYPE, TIMESTAMP
from .shapes import Const, Extra, Many, Obj, PageOf, Record, Value

if TYPE_CHECKING:  # a type only: wire/ imports no auth, service or storage module
    from ..auth.apikeys import KeyKind

NAME_MAX = 100
KEY_NAME_MAX = 100
LEAKED_KEY_MAX = 200  # a key is 69 characters; room for what a scanner hands over around it
KEY_KINDS: tuple[KeyKind, ...] = ("publishable", "secret", "restricted")
KEY_STATUSES = ("active", "expiring", "expired", "revoked")
ROLL_GRACES = ("now", "1h", "24h", "3d", "7d")
KEY_EXPIRY_MAX_DAYS = 365
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

    retention_days: int | None = _spec(
        lambda body, name: v.retention_days(body, name),
        {"type": ["integer", "null"], "minimum": 0, "maximum": v.RETENTION_DAYS_MAX},
        required=False,
        description="Resolved threads untouched for this many days are deleted by the hourly "
        "retention job, with their comments (docs/privacy.md); 0 keeps them for ever (the "
        "default).",
    )

    at_least_one = (
        "name",
        "default_room_access",
        "create_rooms_on_join",
        "attachment_max_bytes",
        "attachment_types",
        "notification_delay_seconds",
        "retention_days",
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

    expires_at: str | None = _spec(
        lambda body, name: v.instant(body, name),
        {"type": ["string", "null"], "format": "date-time"},
        required=False,
        description="A secret or restricted key only: when it stops (ISO 8601 with its offset; "
        f"in the future, within {KEY_EXPIRY_MAX_DAYS} days). From then on it is refused like a "
        "revoked key.",
    )
    allowed_ips: tuple[str, ...] | None = _spec(
        lambda body, name: v.cidrs(body, name),
        {
            "type": ["array", "null"],
            "minItems": 1,
            "maxItems": v.ALLOWED_IPS_MAX,
            "uniqueItems": True,
            "items": {"type": "string", "maxLength": 64, "examples": ["203.0.113.0/24"]},
        },
        required=False,
        description="A secret or restricted key only: the IPv4/IPv6 networks (CIDRs, at most "
        f"{v.ALLOWED_IPS_MAX}) it is accepted from; a request from any other source address "
        "gets 403 `IP_NOT_ALLOWED`. Absent: any address. Set at creation only (kept by a roll).",
    )

    example = {"kind": "secret", "name": "CI"}
    examples = {
        "secret": ("A secret key", {"kind": "secret", "name": "CI"}),
        "limited": (
            "A secret key that expires and is accepted from one network only",
            {
                "kind": "secret",
                "name": "Batch job",
                "expiresAt": "2027-01-31T00:00:00Z",
                "allowedIps": ["203.0.113.0/24", "2001:db8::/32"],
            },
        ),
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


class RollKeyRequest(Body):
    """How long the key being replaced keeps working beside its successor."""

    expires_in: str = choice(
        ROLL_GRACES,
        description="`now`: the old key (and the tokens it minted, and the sockets opened with "
        "it) stops at once, as a revoke. Else it keeps working for that long, then stops like a "
        "revoked key; the tokens it minted stay valid until their own `exp`, and the sockets "
        "opened with an old `pk_` are closed when it stops.",
    )

    example = {"expiresIn": "24h"}


def _key_ends(env: Environment) -> list[dict[str, str]]:
    return [{"keyId": key_id, "expiresAt": at} for key_id, at in env.key_ends]


ENVIRONMENT = Record(
    Environment,
    "Environment",
    exclude=("key_ends",),
    extra={
        "keyEnds": Extra(
            _key_ends,
            {
                "type": "array",
                "description": "Each active key with an end (rolled with a grace, or created "
                "with `expiresAt`), soonest first: the panel warns of those ending within 7 "
                "days.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["keyId", "expiresAt"],
                    "properties": {"keyId": {"type": "string"}, "expiresAt": TIMESTAMP},
                },
            },
        )
    },
    schemas={
        "status": {"type": "string", "enum": ["active", "disabled"]},
        "default_room_access": LEVEL,
        "attachment_max_bytes": {"type": "integer", "minimum": 1},
        "attachment_types": {"type": "array", "items": MIME_TYPE},
        "notification_delay_seconds": {"type": "integer", "minimum": 0},
        "retention_days": {"type": ["integer", "null"], "minimum": 1},
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
            "retentionDays": None,
            "keyEnds": [{"keyId": "key_0Q9cZk1aB2cD3eF5", "expiresAt": "2026-11-26T04:48:22.123Z"}],
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
        "status": {"type": "string", "enum": list(KEY_STATUSES)},
        "key": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}},
        "rooms": ROOMS_PATTERN,
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "allowed_ips": {"type": ["array", "null"], "items": {"type": "string"}},
    },
    describe={
        "preview": "The key's first and last characters, to recognise it.",
        "key": "The whole key. A publishable key's is in every answer (it is public: it sits "
        "in frontend code); a secret or restricted key's only in the answer that creates it.",
        "status": "`active`; `expiring` (works until `expiresAt`); `expired` (refused since "
        "`expiresAt`, like a revoked key); `revoked`.",
        "expires_at": "When it stops (set at creation, or by a roll with a grace); `null`: never.",
        "allowed_ips": "The networks a secret key is accepted from; `null`: any.",
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

_COUNTS = {"type": "array", "items": {"type": "integer", "minimum": 0}}
KEY_USAGE = Obj(
    "KeyUsage",
    {
        "days": Value(
            {
                "type": "array",
                "items": {"type": "string", "format": "date"},
                "description": "The last 30 UTC days, oldest first, today last.",
            }
        ),
        "keys": Value(
            {
                "type": "array",
                "description": "Each key with any count in those days; each list has one "
                "number per day of `days`.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["keyId", "requests", "mints", "refusals"],
                    "properties": {
                        "keyId": {"type": "string"},
                        "requests": {**_COUNTS, "description": "REST API v1 calls counted."},
                        "mints": {**_COUNTS, "description": "Token mints counted."},
                        "refusals": {
                            **_COUNTS,
                            "description": "Failed authentications with a key carrying its "
                            "id (a wrong secret).",
                        },
                    },
                },
            }
        ),
    },
    description="Requests per key per day, from the rate counters every request writes anyway.",
)


def key_usage(usage: Any) -> dict[str, Any]:
    return {
        "days": usage.days,
        "keys": [
            {"keyId": k.key_id, "requests": k.requests, "mints": k.mints, "refusals": k.refusals}
            for k in usage.keys
        ],
    }


COUNTS_BY_NAME = {"type": "object", "additionalProperties": {"type": "integer"}}
DAILY = Record(
    DailyStats,
    "DailyStats",
    schemas={
        "date": {"type": "string", "format": "date"},
        "refused": COUNTS_BY_NAME,
        "rate_limited": COUNTS_BY_NAME,
    },
    describe={
        "active_users": "Users who connected that day.",
        "connections": "Connections opened.",
        "peak_connections": "The most connections open at once in the environment.",
        "messages_in": "WebSocket messages received.",
        "pushes_out": "Frames posted to connections (each one API Gateway message or more).",
        "webhook_deliveries": "Webhook attempts the endpoint accepted (2xx).",
        "webhook_failures": "Webhook attempts that failed (an answer other than 2xx, or none).",
        "refused": "Connections refused after the publishable key verified, by error code.",
        "rate_limited": "429 answers of the REST API and token minting, by key id.",
    },
)
ACTIVE_USERS = Record(
    ActiveUsers,
    "ActiveUsers",
    describe={
        "day": "Users who connected today (UTC).",
        "week": "Users who connected this ISO week (from Monday, UTC).",
        "month": "Users who connected this calendar month (UTC).",
    },
)
ROOM_RANK = Record(RoomRank, "RoomRank", describe={"count": "Connections, or comments."})
ANALYTICS = Record(
    Analytics,
    "Analytics",
    nested={
        "daily": Many(DAILY),
        "active_users": ACTIVE_USERS,
        "busiest_by_connections": Many(ROOM_RANK),
        "busiest_by_comments": Many(ROOM_RANK),
    },
    describe={
        "rooms": "Rooms now (the totals are exact at every write).",
        "days": "The days counted.",
        "daily": "The counted days' counts, oldest first, one entry a day.",
        "busiest_by_connections": "The period's rooms with the most connections opened, at most "
        "10.",
        "busiest_by_comments": "The period's rooms with the most comments written, at most 10.",
    },
)
COST_LINE = Record(
    CostLine,
    "CostLine",
    describe={
        "quantity": "What was used, in `unit`s.",
        "unit_price": "USD per unit.",
        "cost": "`quantity` x `unitPrice`, in USD.",
    },
)
COST = Record(
    CostEstimate,
    "CostEstimate",
    nested={"lines": Many(COST_LINE)},
    schemas={
        "first_day": {"type": "string", "format": "date"},
        "last_day": {"type": "string", "format": "date"},
    },
    describe={
        "region": "The region whose unit prices were used.",
        "total": "The counted days' cost, in USD.",
        "monthly": "The same rate over 30 days, in USD.",
        "lines": "The cost, service by service.",
    },
)
