"""Admin API: an environment's webhook endpoints and their deliveries
(`/admin/api/environments/{envId}/webhooks...`)."""

from __future__ import annotations

from typing import Any

from .. import codes
from ..entities import Actor, Page, Webhook, WebhookDelivery
from ..runtime import services
from ..wire import params
from ..wire import webhooks as wire
from ..wire.environments import NoBody
from ..wire.shapes import Obj, Value
from . import http
from .routing import Router

router = Router(prefix="/admin/api", contract="admin", tag="Webhooks")
BASE = "/environments/{envId}/webhooks"
ONE = BASE + "/{webhookId}"

REPLAYED = Obj(
    "WebhookReplay",
    {"replayed": Value({"type": "integer", "minimum": 0})},
    description="How many failed deliveries were queued to be sent again.",
)


@router.route(BASE, "GET", answer=wire.WEBHOOKS, query=params.PAGE)
def list_webhooks(actor: Actor, envId: str) -> Page[Webhook]:
    """List webhook endpoints

    The environment's endpoints, enabled and disabled, never their secrets.

    Returns: A page of endpoints.
    """
    req = router.request
    return services().webhooks.list_webhooks(envId, http.limit(req), http.query(req, "cursor"))


@router.route(
    BASE,
    "POST",
    role="admin",
    status=201,
    body=wire.CreateWebhookRequest,
    answer=wire.WEBHOOK,
    raises=[codes.TOO_MANY_WEBHOOKS],
)
def create_webhook(actor: Actor, envId: str, body: wire.CreateWebhookRequest) -> Webhook:
    """Register a webhook endpoint

    Pulse posts the environment's events to `url`, signed with the `secret` in this answer (shown
    only here: store it now). Standard Webhooks headers; docs/webhooks.md shows how to verify.

    Returns: The endpoint, with its `secret`.
    """
    return services().webhooks.create(actor, envId, body.url, body.events, body.description)


@router.route(ONE, "GET", answer=wire.WEBHOOK)
def get_webhook(actor: Actor, envId: str, webhookId: str) -> Webhook:
    """Get a webhook endpoint

    Returns: The endpoint (without its secret).
    """
    return services().webhooks.get(envId, webhookId)


@router.route(ONE, "PATCH", role="admin", body=wire.UpdateWebhookRequest, answer=wire.WEBHOOK)
def update_webhook(
    actor: Actor, envId: str, webhookId: str, body: wire.UpdateWebhookRequest
) -> Webhook:
    """Change a webhook endpoint

    Its `url`, `events` (`null`: all), `description`, or `enabled` (`true` enables an endpoint
    Pulse disabled, with a fresh start).

    Returns: The endpoint.
    """
    return services().webhooks.update(
        actor,
        envId,
        webhookId,
        url=body.url,
        events=body.events,
        description=body.description,
        enabled=body.enabled,
    )


@router.route(ONE, "DELETE", role="admin", status=204)
def delete_webhook(actor: Actor, envId: str, webhookId: str) -> None:
    """Delete a webhook endpoint

    Nothing more is sent to it, queued retries included.
    """
    services().webhooks.delete(actor, envId, webhookId)


@router.route(
    ONE + "/rotate-secret", "POST", role="admin", body=NoBody, answer=wire.WEBHOOK, status=201
)
def rotate_secret(actor: Actor, envId: str, webhookId: str, body: NoBody) -> Webhook:
    """Rotate the signing secret

    A new secret, shown only in this answer. The old one keeps signing beside it for 24 hours
    (two signatures in `webhook-signature`), so receivers can switch without losing events.

    Returns: The endpoint, with its new `secret`.
    """
    return services().webhooks.rotate_secret(actor, envId, webhookId)


@router.route(ONE + "/test", "POST", role="admin", body=NoBody, answer=wire.DELIVERY, status=202)
def test_webhook(actor: Actor, envId: str, webhookId: str, body: NoBody) -> WebhookDelivery:
    """Send a test event

    Queues one `webhook.test` delivery (to a disabled endpoint too); its outcome shows in the
    deliveries.

    Returns: The queued delivery.
    """
    return services().webhooks.test(actor, envId, webhookId)


@router.route(ONE + "/deliveries", "GET", answer=wire.DELIVERIES, query=params.PAGE)
def list_deliveries(actor: Actor, envId: str, webhookId: str) -> Page[WebhookDelivery]:
    """List deliveries

    Newest first: each event sent to the endpoint, its attempts and the last answer.

    Returns: A page of deliveries.
    """
    req = router.request
    return services().webhooks.deliveries(
        envId, webhookId, http.limit(req), http.query(req, "cursor")
    )


@router.route(
    ONE + "/deliveries/{deliveryId}/retry",
    "POST",
    role="admin",
    body=NoBody,
    answer=wire.DELIVERY,
    status=202,
    raises=[codes.CONFLICT],
)
def retry_delivery(
    actor: Actor, envId: str, webhookId: str, deliveryId: str, body: NoBody
) -> WebhookDelivery:
    """Retry a delivery

    One more attempt now, with the same `webhook-id` and body (409 while it is still pending).

    Returns: The delivery, pending.
    """
    return services().webhooks.retry(actor, envId, webhookId, deliveryId)


@router.route(
    ONE + "/replay", "POST", role="admin", body=wire.ReplayRequest, answer=REPLAYED, status=202
)
def replay(actor: Actor, envId: str, webhookId: str, body: wire.ReplayRequest) -> dict[str, Any]:
    """Replay failed deliveries

    Every delivery to this endpoint that failed and was made at or after `since` is sent again
    (one attempt each, up to 1,000).

    Returns: How many were queued.
    """
    return {"replayed": services().webhooks.replay(actor, envId, webhookId, body.since)}
