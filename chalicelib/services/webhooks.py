"""Webhook endpoints of an environment (the Admin API): register, change, rotate the secret,
delete, test, list deliveries, retry and replay; every change audited. The URL rules are the
sender's own (outbound/http.py), checked here too so a bad URL is a 400 at once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .. import codes, ids
from ..auth import webhooks as signing
from ..clock import Clock, parse_iso
from ..config import Settings
from ..entities import Actor, AuditEvent, Page, RoomEvent, Webhook, WebhookDelivery
from ..errors import Conflict, InvalidInput, NotFound
from ..outbound.http import Refused, check_url
from ..repositories.webhooks import WebhookState
from ..wire.webhooks import ALL, TEST_EVENT
from .environments import EnvironmentService
from .ports import AuditStore, WebhookStore
from .webhook_delivery import WebhookPipeline

MAX_WEBHOOKS = 20
ROTATION_OVERLAP_SECONDS = 24 * 3600  # the old secret keeps signing beside the new one


def webhook_not_found() -> NotFound:
    return NotFound("No webhook endpoint with this id.", code=codes.WEBHOOK_NOT_FOUND)


def delivery_not_found() -> NotFound:
    return NotFound("No delivery with this id for this endpoint.", code=codes.DELIVERY_NOT_FOUND)


class WebhookService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        environments: EnvironmentService,
        pipeline: WebhookPipeline,
        *,
        webhooks: WebhookStore,
        audit: AuditStore,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.environments = environments
        self.pipeline = pipeline
        self.store = webhooks
        self.audit_log = audit

    def list_webhooks(self, env_id: str, limit: int, cursor: str | None) -> Page[Webhook]:
        self.environments.get(env_id)
        return self.store.list_webhooks(
            env_id, limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )

    def get(self, env_id: str, webhook_id: str) -> Webhook:
        return self._state(env_id, webhook_id).webhook

    def create(
        self,
        actor: Actor,
        env_id: str,
        url: str,
        events: list[str] | None,
        description: str | None,
    ) -> Webhook:
        self.environments.get(env_id)
        self._check_url(url)
        if len(self.store.all_webhooks(env_id)) >= MAX_WEBHOOKS:
            raise Conflict(
                f"This environment has {MAX_WEBHOOKS} webhook endpoints, the most it may have.",
                code=codes.TOO_MANY_WEBHOOKS,
                suggestion="Delete one, or subscribe one endpoint to more event types.",
            )
        now = self.clock.now_iso()
        secret = signing.new_secret()
        webhook = Webhook(
            id=ids.new_id("wh"),
            env_id=env_id,
            url=url,
            events=events,
            description=description,
            enabled=True,
            created_at=now,
            updated_at=now,
            disabled_at=None,
            disabled_reason=None,
            failing_since=None,
        )
        audit = self._audit(actor, env_id, "webhook.created", webhook.id, {"url": url})
        self.store.create(webhook, secret, audit)
        return replace(webhook, secret=secret)

    def update(
        self,
        actor: Actor,
        env_id: str,
        webhook_id: str,
        *,
        url: str | None,
        events: list[str] | str | None,
        description: str | None,
        enabled: bool | None,
    ) -> Webhook:
        hook = self._state(env_id, webhook_id).webhook
        now = self.clock.now_iso()
        changes: dict[str, Any] = {"updated_at": now}
        if url is not None:
            self._check_url(url)
            changes["url"] = url
        if events is not None:
            changes["events"] = None if events == ALL else events
        if description is not None:  # "" (sent as null): removed
            changes["description"] = description or None
        if enabled is not None and enabled != hook.enabled:
            changes["enabled"] = enabled
            changes["disabled_at"] = None if enabled else now
            changes["disabled_reason"] = None if enabled else "operator"
            changes["failing_since"] = None  # a fresh start either way
        shown = {k: v for k, v in changes.items() if k in ("url", "events", "enabled")}
        audit = self._audit(actor, env_id, "webhook.updated", webhook_id, shown)
        if not self.store.update(env_id, webhook_id, changes, audit):
            raise webhook_not_found()
        return replace(hook, **changes)

    def delete(self, actor: Actor, env_id: str, webhook_id: str) -> None:
        self._state(env_id, webhook_id)
        audit = self._audit(actor, env_id, "webhook.deleted", webhook_id)
        if not self.store.delete(env_id, webhook_id, audit):
            raise webhook_not_found()

    def rotate_secret(self, actor: Actor, env_id: str, webhook_id: str) -> Webhook:
        """A new secret; the current one keeps signing beside it for 24 hours."""
        state = self._state(env_id, webhook_id)
        now = self.clock.now()
        secret = signing.new_secret()
        changes: dict[str, Any] = {
            "secret": secret,
            "previous_secret": state.secret,
            "previous_until": int(now) + ROTATION_OVERLAP_SECONDS,
            "updated_at": self.clock.now_iso(),
        }
        audit = self._audit(actor, env_id, "webhook.secret_rotated", webhook_id)
        if not self.store.update(env_id, webhook_id, changes, audit):
            raise webhook_not_found()
        return replace(state.webhook, secret=secret, updated_at=changes["updated_at"])

    def test(self, actor: Actor, env_id: str, webhook_id: str) -> WebhookDelivery:
        """Send `webhook.test` now (to a disabled endpoint too: to check it before enabling)."""
        state = self._state(env_id, webhook_id)
        now = self.clock.now_iso()
        event = RoomEvent(
            id=ids.new_id("evt"),
            env_id=env_id,
            room_id="",
            type=TEST_EVENT,
            data={"webhookId": webhook_id, "environmentId": env_id},
            created_at=now,
            expires_at=0,
        )
        started = self.pipeline.start(state, event, manual=True)
        assert started is not None  # a new event id: always a new delivery
        return started

    def deliveries(
        self, env_id: str, webhook_id: str, limit: int, cursor: str | None
    ) -> Page[WebhookDelivery]:
        self._state(env_id, webhook_id)
        return self.store.list_deliveries(
            env_id, webhook_id, limit=limit, cursor=cursor, secret=self.settings.signing_secret
        )

    def retry(
        self, actor: Actor, env_id: str, webhook_id: str, delivery_id: str
    ) -> WebhookDelivery:
        self._state(env_id, webhook_id)
        found = self.store.get_delivery(env_id, webhook_id, delivery_id)
        if found is None:
            raise delivery_not_found()
        if found.delivery.status == "pending":
            raise Conflict(
                "This delivery is still being attempted.",
                code=codes.CONFLICT,
                suggestion="Wait for its next attempt, or retry it once it has failed.",
            )
        self.audit_log.record(self._audit(actor, env_id, "webhook.retried", webhook_id))
        return self.pipeline.send_again(env_id, found)

    def replay(self, actor: Actor, env_id: str, webhook_id: str, since: str) -> int:
        """Send again every failed delivery made since `since`; how many were queued."""
        self._state(env_id, webhook_id)
        failed = self.store.failed_since(env_id, webhook_id, int(parse_iso(since) * 1000))
        self.audit_log.record(
            self._audit(
                actor,
                env_id,
                "webhook.replayed",
                webhook_id,
                {"since": since, "count": len(failed)},
            )
        )
        for found in failed:
            self.pipeline.send_again(env_id, found)
        return len(failed)

    # --- helpers -------------------------------------------------------------------------

    def _state(self, env_id: str, webhook_id: str) -> WebhookState:
        self.environments.get(env_id)
        state = self.store.get(env_id, webhook_id)
        if state is None:
            raise webhook_not_found()
        return state

    def _check_url(self, url: str) -> None:
        try:
            check_url(url, self.settings.webhook_allow_local)
        except Refused as exc:
            raise InvalidInput("url", str(exc), code=codes.WEBHOOK_URL_REFUSED) from None

    def _audit(
        self,
        actor: Actor,
        env_id: str,
        action: str,
        webhook_id: str,
        details: dict[str, object] | None = None,
    ) -> AuditEvent:
        return self.audit_log.new_event(
            actor,
            action,
            env_id=env_id,
            target_type="webhook",
            target_id=webhook_id,
            now_iso=self.clock.now_iso(),
            details=details,
        )
