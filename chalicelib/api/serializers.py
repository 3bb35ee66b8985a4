"""Domain records to the API's camelCase JSON. Secrets appear only where a record carries them
by construction (a key's `key` right after creation, a session's token at login)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..entities import (
    Analytics,
    ApiKey,
    AuditEvent,
    Comment,
    Environment,
    Operator,
    Page,
    Room,
    Thread,
    User,
)

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
        "suspendedAt": e.suspended_at,
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


def room(r: Room) -> dict[str, Any]:
    return {
        "id": r.id,
        "metadata": r.metadata,
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
    }


def comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "threadId": c.thread_id,
        "roomId": c.room_id,
        "userId": c.user_id,
        "body": c.body,
        "createdAt": c.created_at,
        "editedAt": c.edited_at,
    }


def thread(t: Thread) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": t.id,
        "roomId": t.room_id,
        "resolved": t.resolved,
        "metadata": t.metadata,
        "createdAt": t.created_at,
        "updatedAt": t.updated_at,
        "createdBy": t.created_by,
        "commentCount": t.comment_count,
    }
    if t.comments is not None:
        out["comments"] = [comment(c) for c in t.comments.data]
        out["commentsNextCursor"] = t.comments.next_cursor
    return out


def analytics(a: Analytics) -> dict[str, Any]:
    return {
        "rooms": a.rooms,
        "threads": a.threads,
        "comments": a.comments,
        "users": a.users,
        "daily": [
            {"date": d.date, "comments": d.comments, "activeUsers": d.active_users} for d in a.daily
        ],
    }
