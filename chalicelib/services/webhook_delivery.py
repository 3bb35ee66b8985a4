"""The webhook pipeline: event items from the data table's stream become one delivery (and one
queued attempt) per matching endpoint; each queued attempt is posted, signed, and retried on the
schedule, and an endpoint that answers 410 or has failed for days is disabled.

At least once: a delivery record is written before its first message is queued, and a stream
record handed over again finds it and queues again if it never got an attempt. A message carries
the number of attempts made when it was sent, so a duplicate of an older message is dropped."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .. import ids, jsontext, meter
from ..auth import webhooks as signing
from ..clock import Clock, iso, parse_iso
from ..config import Settings
from ..entities import Actor, RoomEvent, WebhookDelivery
from ..repositories.events import from_record
from ..repositories.webhooks import DeliveryState, WebhookState
from .ports import AuditStore, DeliveryQueue, WebhookPoster, WebhookStore

log = logging.getLogger("pulse.webhooks")

SYSTEM = Actor(id="system", email="pulse", role="owner")  # who disables a failing endpoint
MAX_DELAY = 900  # SQS's longest DelaySeconds: longer waits are chained


def delivery_id(event_id: str) -> str:
    """The delivery of an event to an endpoint, and its `webhook-id` header: the event's own
    time-sortable id, so a stream record handed over twice makes the same delivery."""
    return "msg_" + (ids.raw_part(event_id, "evt") or ids.new_raw_id())


def body_of(event_type: str, timestamp: str, data: dict[str, Any]) -> str:
    return jsontext.dumps({"type": event_type, "timestamp": timestamp, "data": data})


class WebhookPipeline:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        webhooks: WebhookStore,
        audit: AuditStore,
        queue: DeliveryQueue,
        poster: WebhookPoster,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = webhooks
        self.audit_log = audit
        self.queue = queue
        self.poster = poster

    # --- the stream side -----------------------------------------------------------------

    def on_stream(self, records: Iterable[dict[str, Any]]) -> int:
        """Start the deliveries of the event items among `records`; the number started."""
        endpoints: dict[str, list[WebhookState]] = {}
        started = 0
        for record in records:
            event = from_record(record)
            if event is None:
                continue
            if event.env_id not in endpoints:
                endpoints[event.env_id] = self.endpoints(event.env_id)
            started += self.deliver(event, endpoints[event.env_id])
        return started

    def endpoints(self, env_id: str) -> list[WebhookState]:
        return self.store.all_webhooks(env_id)

    def deliver(self, event: RoomEvent, endpoints: list[WebhookState] | None = None) -> int:
        """Start the event's delivery to each endpoint that wants it; the number started."""
        found = self.endpoints(event.env_id) if endpoints is None else endpoints
        return sum(
            self.start(state, event) is not None for state in found if self.wants(state, event.type)
        )

    @staticmethod
    def wants(state: WebhookState, event_type: str) -> bool:
        hook = state.webhook
        return hook.enabled and (hook.events is None or event_type in hook.events)

    def start(
        self, state: WebhookState, event: RoomEvent, *, manual: bool = False
    ) -> WebhookDelivery | None:
        """Record the delivery and queue its first attempt; None if it had one already.
        `manual` (the test button): one attempt, made even to a disabled endpoint."""
        now = self.clock.now()
        delivery = WebhookDelivery(
            id=delivery_id(event.id),
            webhook_id=state.webhook.id,
            event_id=event.id,
            event_type=event.type,
            status="pending",
            attempt=0,
            response_code=None,
            response_body=None,
            duration_ms=None,
            error=None,
            created_at=iso(now),
            attempted_at=None,
            next_attempt_at=iso(now),
        )
        payload = body_of(event.type, event.created_at, event.data)
        if not self.store.add_delivery(event.env_id, delivery, payload, now):
            found = self.store.get_delivery(event.env_id, state.webhook.id, delivery.id)
            if found is None or found.delivery.status != "pending" or found.delivery.attempt:
                return None  # handed over again after its first attempt was made
        self._queue(event.env_id, delivery, step=0, due=now, manual=manual)
        return delivery

    # --- the queue side ------------------------------------------------------------------

    def on_message(self, message: dict[str, Any]) -> None:
        """Make the attempt a queued message asks for (or wait longer, or drop a stale one)."""
        now = self.clock.now()
        due = float(message.get("due", now))
        if due - now > 1:
            self.queue.send(message, int(min(MAX_DELAY, due - now)))
            return
        env_id, webhook_id = str(message["envId"]), str(message["webhookId"])
        found = self.store.get_delivery(env_id, webhook_id, str(message["deliveryId"]))
        if found is None:
            return  # expired, or the endpoint was deleted with it
        delivery = found.delivery
        if delivery.status != "pending" or delivery.attempt != int(message.get("attempt", 0)):
            return  # a duplicate of a message already acted on
        manual = bool(message.get("manual"))
        state = self.store.get(env_id, webhook_id)
        if state is None or not (state.webhook.enabled or manual):
            why = "endpoint deleted" if state is None else "endpoint disabled"
            self.store.record_attempt(
                env_id, replace(delivery, status="failed", error=why, next_attempt_at=None)
            )
            return
        self._attempt(state, found, int(message.get("step", 0)), manual)

    def _attempt(self, state: WebhookState, found: DeliveryState, step: int, manual: bool) -> None:
        now = self.clock.now()
        hook, delivery = state.webhook, found.delivery
        body = found.payload.encode()
        timestamp = int(now)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                state.signing_secrets(now), delivery.id, timestamp, body
            ),
        }
        answer = self.poster.post(hook.url, headers, body)
        done = replace(
            delivery,
            attempt=delivery.attempt + 1,
            response_code=answer.status,
            response_body=answer.body or None,
            duration_ms=answer.duration_ms,
            error=answer.error,
            attempted_at=iso(now),
            next_attempt_at=None,
        )
        log.info(
            "webhook attempt",
            extra={
                "webhookId": hook.id,
                "deliveryId": delivery.id,
                "status": answer.status,
                "error": answer.error,
                "ms": answer.duration_ms,
            },
        )
        delivered = answer.status is not None and 200 <= answer.status < 300
        meter.count(found.env_id, "webhookDeliveries" if delivered else "webhookFailures")
        if delivered:
            self.store.record_attempt(found.env_id, replace(done, status="succeeded"))
            if hook.failing_since:
                self.store.clear_failing(found.env_id, hook.id)
            return
        delays = self.settings.webhook_retry_delays
        if answer.status == 410:
            self._disable(found.env_id, hook.id, "gone")
        elif self._failing_too_long(state, now):
            self._disable(found.env_id, hook.id, "failing")
        elif not manual and step < len(delays):
            due = now + delays[step]
            self.store.record_attempt(found.env_id, replace(done, next_attempt_at=iso(due)))
            self._queue(found.env_id, done, step=step + 1, due=due)
            self._note_failure(found.env_id, hook.failing_since, hook.id, now)
            return
        self.store.record_attempt(found.env_id, replace(done, status="failed"))
        self._note_failure(found.env_id, hook.failing_since, hook.id, now)

    def _failing_too_long(self, state: WebhookState, now: float) -> bool:
        since = state.webhook.failing_since
        limit = self.settings.webhook_disable_after_seconds
        return since is not None and now - parse_iso(since) >= limit

    def _note_failure(
        self, env_id: str, failing_since: str | None, hook_id: str, now: float
    ) -> None:
        if failing_since is None:
            self.store.mark_failing(env_id, hook_id, iso(now))

    def _disable(self, env_id: str, webhook_id: str, reason: str) -> None:
        now = self.clock.now_iso()
        audit = self.audit_log.new_event(
            SYSTEM,
            "webhook.disabled",
            env_id=env_id,
            target_type="webhook",
            target_id=webhook_id,
            now_iso=now,
            details={"reason": reason},
        )
        if self.store.disable(env_id, webhook_id, reason, now, audit):
            log.warning("webhook disabled", extra={"webhookId": webhook_id, "reason": reason})

    # --- manual sends (the Admin API) ----------------------------------------------------

    def send_again(self, env_id: str, found: DeliveryState) -> WebhookDelivery:
        """One attempt now, outside the schedule (retry, replay, test)."""
        now = self.clock.now()
        pending = replace(found.delivery, status="pending", next_attempt_at=iso(now))
        self.store.record_attempt(env_id, pending)
        self._queue(env_id, pending, step=0, due=now, manual=True)
        return pending

    def _queue(
        self, env_id: str, d: WebhookDelivery, *, step: int, due: float, manual: bool = False
    ) -> None:
        message: dict[str, Any] = {
            "envId": env_id,
            "webhookId": d.webhook_id,
            "deliveryId": d.id,
            "attempt": d.attempt,
            "step": step,
            "due": due,
        }
        if manual:
            message["manual"] = True
        self.queue.send(message, int(min(MAX_DELAY, max(0.0, due - self.clock.now()))))
