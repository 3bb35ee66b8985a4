"""Webhook endpoints and their deliveries (control table): items <-> entities, every change to
an endpoint in one transaction with its audit event, deliveries newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException

from .. import ids, jsontext
from ..db.dynamo import (
    TransactionCancelled,
    is_condition_failure,
    transaction,
    unavailable_on_throttle,
)
from ..db.models import (
    WebhookDeliveryItem,
    WebhookItem,
    deliveries_pk,
    delivery_sk,
    env_pk,
    webhook_sk,
)
from ..entities import AuditEvent, Page, Webhook, WebhookDelivery
from .audit import to_item
from .pages import query_page
from .reads import Read, fetch
from .records import to_record

DELIVERY_TTL_SECONDS = 30 * 86400
REPLAY_MAX = 1000  # failed deliveries one replay re-sends at most


@dataclass(frozen=True)
class WebhookState:
    webhook: Webhook
    secret: str
    previous_secret: str | None
    previous_until: int | None  # epoch seconds

    def signing_secrets(self, now: float) -> tuple[str, ...]:
        """The current secret, and the previous one while its overlap lasts."""
        if self.previous_secret and self.previous_until and now < self.previous_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True)
class DeliveryState:
    delivery: WebhookDelivery
    env_id: str
    payload: str  # the JSON body, sent as it is on every attempt


# --- endpoints -------------------------------------------------------------------------------


def to_state(item: WebhookItem) -> WebhookState:
    events = jsontext.stored(item.events) if item.events else None
    webhook = to_record(Webhook, item, events=events, enabled=bool(item.enabled), secret=None)
    return WebhookState(
        webhook,
        item.secret,
        item.previous_secret,
        int(item.previous_until) if item.previous_until else None,
    )


def webhook_read(env_id: str, webhook_id: str) -> Read[WebhookState | None]:
    return Read(
        (WebhookItem, env_pk(env_id), webhook_sk(webhook_id)),
        lambda item: to_state(item) if item else None,
    )


def get(env_id: str, webhook_id: str) -> WebhookState | None:
    if not ids.raw_part(webhook_id, "wh"):
        return None
    read = webhook_read(env_id, webhook_id)
    return fetch([read])[read]


def list_webhooks(env_id: str, *, limit: int, cursor: str | None, secret: bytes) -> Page[Webhook]:
    def query(**kwargs: Any) -> Any:
        return WebhookItem.query(env_pk(env_id), WebhookItem.sk.startswith("WEBHOOK#"), **kwargs)

    return query_page(
        query, limit=limit, cursor=cursor, scope=f"webhooks:{env_id}", secret=secret
    ).page(lambda item: to_state(item).webhook)


def all_webhooks(env_id: str) -> list[WebhookState]:
    """Every endpoint of the environment: one Query (an environment has at most a few)."""
    with unavailable_on_throttle():
        items = WebhookItem.query(env_pk(env_id), WebhookItem.sk.startswith("WEBHOOK#"))
        return [to_state(item) for item in items]


def create(webhook: Webhook, secret: str, audit: AuditEvent) -> None:
    item = WebhookItem(
        env_pk(webhook.env_id),
        webhook_sk(webhook.id),
        id=webhook.id,
        env_id=webhook.env_id,
        url=webhook.url,
        events=_events(webhook.events),
        description=webhook.description,
        enabled=webhook.enabled,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
        secret=secret,
    )
    with transaction() as tx:
        tx.save(item, condition=WebhookItem.pk.does_not_exist())
        tx.save(to_item(audit))


def update(env_id: str, webhook_id: str, changes: dict[str, Any], audit: AuditEvent) -> bool:
    """Set the attributes named in `changes` (None removes one); False if the endpoint is gone."""
    item = WebhookItem(env_pk(env_id), webhook_sk(webhook_id))
    actions = []
    for name, value in changes.items():
        attribute = getattr(WebhookItem, name)
        if name == "events":
            value = _events(value)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    try:
        with transaction() as tx:
            tx.update(item, actions=actions, condition=WebhookItem.pk.exists())
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def delete(env_id: str, webhook_id: str, audit: AuditEvent) -> bool:
    item = WebhookItem(env_pk(env_id), webhook_sk(webhook_id))
    try:
        with transaction() as tx:
            tx.delete(item, condition=WebhookItem.pk.exists())
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def disable(env_id: str, webhook_id: str, reason: str, now_iso: str, audit: AuditEvent) -> bool:
    """Disable an enabled endpoint (False if it is not, or gone), with its audit event."""
    item = WebhookItem(env_pk(env_id), webhook_sk(webhook_id))
    actions: list[Any] = [
        WebhookItem.enabled.set(False),
        WebhookItem.disabled_at.set(now_iso),
        WebhookItem.disabled_reason.set(reason),
        WebhookItem.updated_at.set(now_iso),
    ]
    try:
        with transaction() as tx:
            tx.update(item, actions=actions, condition=WebhookItem.enabled == True)  # noqa: E712
            tx.save(to_item(audit))
    except TransactionCancelled:
        return False
    return True


def mark_failing(env_id: str, webhook_id: str, since_iso: str) -> None:
    """Remember the first failure since the last success (kept if already set)."""
    _conditional(
        env_id,
        webhook_id,
        [WebhookItem.failing_since.set(since_iso)],
        WebhookItem.pk.exists() & WebhookItem.failing_since.does_not_exist(),
    )


def clear_failing(env_id: str, webhook_id: str) -> None:
    _conditional(
        env_id,
        webhook_id,
        [WebhookItem.failing_since.remove()],
        WebhookItem.failing_since.exists(),
    )


def _conditional(env_id: str, webhook_id: str, actions: list[Any], condition: Any) -> None:
    item = WebhookItem(env_pk(env_id), webhook_sk(webhook_id))
    try:
        with unavailable_on_throttle():
            item.update(actions=actions, condition=condition)
    except PynamoDBException as exc:
        if not is_condition_failure(exc):
            raise


def _events(events: list[str] | None) -> str | None:
    return jsontext.dumps(sorted(events)) if events is not None else None


# --- deliveries ------------------------------------------------------------------------------


def to_delivery(item: WebhookDeliveryItem) -> WebhookDelivery:
    def number(value: Any) -> int | None:
        return int(value) if value is not None else None

    return to_record(
        WebhookDelivery,
        item,
        attempt=int(item.attempt or 0),
        response_code=number(item.response_code),
        duration_ms=number(item.duration_ms),
    )


def _delivery_state(item: WebhookDeliveryItem) -> DeliveryState:
    return DeliveryState(to_delivery(item), item.env_id, item.payload)


def add_delivery(env_id: str, delivery: WebhookDelivery, payload: str, now: float) -> bool:
    """False if this delivery exists (the stream handed the event over again)."""
    item = WebhookDeliveryItem(
        deliveries_pk(env_id, delivery.webhook_id),
        delivery_sk(delivery.id),
        id=delivery.id,
        env_id=env_id,
        webhook_id=delivery.webhook_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=payload,
        status=delivery.status,
        attempt=delivery.attempt,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at,
        ttl=int(now) + DELIVERY_TTL_SECONDS,
    )
    try:
        with unavailable_on_throttle():
            item.save(condition=WebhookDeliveryItem.pk.does_not_exist())
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def get_delivery(env_id: str, webhook_id: str, delivery_id: str) -> DeliveryState | None:
    if not ids.raw_part(delivery_id, "msg"):
        return None
    read: Read[DeliveryState | None] = Read(
        (WebhookDeliveryItem, deliveries_pk(env_id, webhook_id), delivery_sk(delivery_id)),
        lambda item: _delivery_state(item) if item else None,
    )
    return fetch([read])[read]


def list_deliveries(
    env_id: str, webhook_id: str, *, limit: int, cursor: str | None, secret: bytes
) -> Page[WebhookDelivery]:
    def query(**kwargs: Any) -> Any:
        return WebhookDeliveryItem.query(
            deliveries_pk(env_id, webhook_id),
            WebhookDeliveryItem.sk.startswith("DLV#"),
            scan_index_forward=False,
            **kwargs,
        )

    scope = f"deliveries:{env_id}:{webhook_id}"
    return query_page(query, limit=limit, cursor=cursor, scope=scope, secret=secret).page(
        to_delivery
    )


def record_attempt(env_id: str, delivery: WebhookDelivery) -> None:
    """The outcome of the attempt just made (or the state a retry or replay starts from)."""
    item = WebhookDeliveryItem(deliveries_pk(env_id, delivery.webhook_id), delivery_sk(delivery.id))
    values = {
        "status": delivery.status,
        "attempt": delivery.attempt,
        "response_code": delivery.response_code,
        "response_body": delivery.response_body,
        "duration_ms": delivery.duration_ms,
        "error": delivery.error,
        "attempted_at": delivery.attempted_at,
        "next_attempt_at": delivery.next_attempt_at,
    }
    actions = [
        getattr(WebhookDeliveryItem, name).remove()
        if value is None
        else getattr(WebhookDeliveryItem, name).set(value)
        for name, value in values.items()
    ]
    with unavailable_on_throttle():
        item.update(actions=actions)


def failed_since(env_id: str, webhook_id: str, since_ms: int) -> list[DeliveryState]:
    """Failed deliveries made at or after `since_ms` (their ids sort by time), oldest first."""
    start = delivery_sk("msg_" + ids.encode(since_ms, ids.TIME_CHARS))
    with unavailable_on_throttle():
        items = WebhookDeliveryItem.query(
            deliveries_pk(env_id, webhook_id),
            WebhookDeliveryItem.sk >= start,
            filter_condition=WebhookDeliveryItem.status == "failed",
        )
        found = []
        for item in items:
            found.append(_delivery_state(item))
            if len(found) >= REPLAY_MAX:
                break
        return found
