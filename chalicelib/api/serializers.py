"""Domain records to the API's camelCase JSON. Secrets appear only where a record carries them
by construction (a key's `key` right after creation, a session's token at login)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..entities import ApiKey, AuditEvent, Environment, Operator, Page, User

T = TypeVar("T")


def page(p: Page[T], item: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    return {"data": [item(x) for x in p.data], "nextCursor": p.next_cursor}


def environment(e: Environment) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "status": e.status,
        "createdAt": e.created_at,
        "createdBy": e.created_by,
        "updatedAt": e.updated_at,
        "disabledAt": e.disabled_at,
    }


def api_key(k: ApiKey) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": k.id,
        "environmentId": k.env_id,
        "kind": k.kind,
        "name": k.name,
        "preview": k.preview,
        "status": k.status,
        "createdAt": k.created_at,
        "createdBy": k.created_by,
        "lastUsedAt": k.last_used_at,
        "revokedAt": k.revoked_at,
    }
    if k.key is not None:
        out["key"] = k.key
    return out


def operator(o: Operator) -> dict[str, Any]:
    return {
        "id": o.id,
        "email": o.email,
        "role": o.role,
        "createdAt": o.created_at,
        "updatedAt": o.updated_at,
        "lastLoginAt": o.last_login_at,
    }


def audit_event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "environmentId": e.env_id,
        "action": e.action,
        "actor": {"id": e.actor_id, "email": e.actor_email},
        "target": {"type": e.target_type, "id": e.target_id},
        "details": e.details,
        "createdAt": e.created_at,
    }


def user(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "name": u.name,
        "avatar": u.avatar,
        "color": u.color,
        "firstSeenAt": u.first_seen_at,
        "lastSeenAt": u.last_seen_at,
    }
