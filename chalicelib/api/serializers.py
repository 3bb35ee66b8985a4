"""Domain records to the API's camelCase JSON. Secrets appear only where a record carries them
by construction (a key's `key` right after creation, a session's token at login)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from ..entities import (
    Analytics,
    ApiKey,
    AuditEvent,
    Comment,
    Connection,
    Environment,
    Operator,
    Page,
    Room,
    Thread,
    User,
)
from . import sizing

T = TypeVar("T")


def page(
    p: Page[T],
    item: Callable[[T], dict[str, Any]],
    *,
    shrink: Callable[[T, int], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """A list answer: the page's items that fit the REST budget (sizing.PAGE_BUDGET_BYTES; the
    first always goes), and the cursor that continues after the last of them."""
    data, next_cursor = sizing.fit(p, item, sizing.PAGE_BUDGET_BYTES, strict=False, shrink=shrink)
    return {"data": data, "nextCursor": next_cursor}


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


def thread_within(t: Thread, budget: int) -> dict[str, Any] | None:
    """The thread with as many of its embedded comments as fit `budget` bytes (its
    commentsNextCursor continues after them); None if it does not fit even without comments."""
    full = thread(t)
    if sizing.size(full) <= budget:
        return full
    if t.comments is None:
        return None
    shell = thread(replace(t, comments=Page([], sizing.CURSOR_PLACEHOLDER)))
    room = budget - sizing.size(shell) + 2  # the shell's own `[]` is the array measured below
    if room < 2:
        return None
    shown = sizing.fitting([comment(c) for c in t.comments.data], room)
    return thread(replace(t, comments=t.comments.first(shown)))


def thread_fitting(t: Thread, budget: int = sizing.PAGE_BUDGET_BYTES) -> dict[str, Any]:
    """thread_within(t, budget), or the whole thread when even its shell is over (REST)."""
    return thread_within(t, budget) or thread(t)


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


def member(c: Connection) -> dict[str, Any]:
    """A live connection as the room's other members see it."""
    return {
        "connectionId": c.id,
        "userId": c.user_id,
        "name": c.name,
        "avatar": c.avatar,
        "color": c.color,
    }
