"""Audit events: written inside the transaction of the change they record, listed newest first."""

from __future__ import annotations

from typing import Any

from .. import ids, jsontext
from ..db.dynamo import unavailable_on_throttle
from ..db.models import OPERATORS_AUDIT_PK, AuditItem, audit_sk, env_pk
from ..entities import Actor, AuditEvent, Page
from .pages import query_page
from .records import to_record


def partition(env_id: str | None) -> str:
    return env_pk(env_id) if env_id else OPERATORS_AUDIT_PK


def new_event(
    actor: Actor,
    action: str,
    *,
    env_id: str | None,
    target_type: str,
    target_id: str,
    now_iso: str,
    details: dict[str, object] | None = None,
) -> AuditEvent:
    """An event to store with the change it records (in that change's transaction)."""
    return AuditEvent(
        id=ids.new_id("evt"),
        env_id=env_id,
        actor_id=actor.id,
        actor_email=actor.email,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        created_at=now_iso,
    )


def to_item(e: AuditEvent) -> AuditItem:
    return AuditItem(
        partition(e.env_id),
        audit_sk(e.id),
        id=e.id,
        env_id=e.env_id,
        actor_id=e.actor_id,
        actor_email=e.actor_email,
        action=e.action,
        target_type=e.target_type,
        target_id=e.target_id,
        details=jsontext.dumps(e.details, sort_keys=True) if e.details else None,
        created_at=e.created_at,
    )


def to_event(item: AuditItem) -> AuditEvent:
    return to_record(
        AuditEvent, item, details=jsontext.stored(item.details) if item.details else {}
    )


def list_events(
    env_id: str | None, *, limit: int, cursor: str | None, secret: bytes
) -> Page[AuditEvent]:
    pk = partition(env_id)

    def query(**kwargs: Any) -> Any:
        return AuditItem.query(
            pk, AuditItem.sk.startswith("AUDIT#"), scan_index_forward=False, **kwargs
        )

    return query_page(query, limit=limit, cursor=cursor, scope=f"audit:{pk}", secret=secret).page(
        to_event
    )


def record(event: AuditEvent) -> None:
    """Store one event on its own (for changes whose own write is not a transaction here)."""
    with unavailable_on_throttle():
        to_item(event).save()
