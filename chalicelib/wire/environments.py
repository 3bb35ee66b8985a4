"""Environments on the wire (Admin API): the bodies that create, rename and disable one and
make its keys; an environment, an API key and an audit event as answered; an environment's
analytics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..access import Level
from ..entities import Analytics, ApiKey, AuditEvent, DailyStats, Environment
from .fields import Body, boolean, choice, if_sent, level, text
from .schemas import LEVEL
from .shapes import Extra, Many, Obj, PageOf, Record, Value

if TYPE_CHECKING:  # a type only: wire/ imports no auth, service or storage module
    from ..auth.apikeys import KeyKind

NAME_MAX = 100
KEY_NAME_MAX = 100
KEY_KINDS: tuple[KeyKind, ...] = ("publishable", "secret")


class CreateEnvironmentRequest(Body):
    name: str = text(
        max_len=NAME_MAX, strip=True, description="Shown in the Admin Panel; not unique."
    )

    example = {"name": "Production"}


class UpdateEnvironmentRequest(Body):
    """Any of the three; what is absent stays."""

    name: str | None = if_sent(text(max_len=NAME_MAX, strip=True))
    default_room_access: Level | None = level(
        description="The `defaultAccess` of a room created without one, by `POST "
        "/api/v1/rooms` or by a connection (`write` until changed)."
    )
    create_rooms_on_join: bool | None = boolean(
        description="Whether a connection to a room that does not exist creates it (`true` "
        "until changed); `false`: its handshake is refused with 404 `ROOM_NOT_FOUND`."
    )

    at_least_one = ("name", "default_room_access", "create_rooms_on_join")
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
        description="Absent: `Secret key` or `Publishable key`.",
    )

    example = {"kind": "secret", "name": "CI"}


class NoBody(Body):
    """Nothing, `{}`, or no body at all."""

    optional = True


ENVIRONMENT = Record(
    Environment,
    "Environment",
    schemas={
        "status": {"type": "string", "enum": ["active", "disabled"]},
        "default_room_access": LEVEL,
    },
    describe={
        "created_by": "The id of the operator who created it.",
        "disabled_at": "When it was disabled (for good); `null` while it is not.",
        "suspended_at": "While suspended (reversible), since when; else `null`.",
        "default_room_access": "The `defaultAccess` of a room created without one (by a "
        "connection too).",
        "create_rooms_on_join": "Whether a connection to a room that does not exist creates "
        "it (else its `$connect` is a 404 `ROOM_NOT_FOUND`).",
    },
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
        }
    ],
)
ENVIRONMENTS = PageOf(ENVIRONMENT)

API_KEY = Record(
    ApiKey,
    "ApiKey",
    rename={"env_id": "environmentId"},
    omit_none=("key",),
    schemas={
        "kind": {"type": "string", "enum": list(KEY_KINDS)},
        "status": {"type": "string", "enum": ["active", "revoked"]},
        "key": {"type": "string"},
    },
    describe={
        "preview": "The key's first and last characters, to recognise it.",
        "key": "The whole key: only in the answer that creates it, never again.",
    },
)
API_KEYS = PageOf(API_KEY)

CREATED_ENVIRONMENT = Obj(
    "CreatedEnvironment",
    {"environment": ENVIRONMENT, "keys": Many(API_KEY)},
    description="The new environment and its first keys, a publishable and a secret one, with "
    "their `key` (shown this once).",
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
