"""Webhooks on the wire (Admin API): the bodies that register, change, replay an endpoint; an
endpoint and a delivery as answered; and the event types an endpoint may subscribe to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import codes
from .. import validation as v
from ..entities import Webhook, WebhookDelivery
from ..errors import InvalidInput
from .fields import Body, Spec, boolean, if_sent, text
from .shapes import PageOf, Record

DESCRIPTION_MAX = 200
URL_MAX = 2048

# Every event a webhook can receive. Room changes carry the resource as the REST API answers
# it (plus environmentId and roomId); `webhook.test` is sent by the test button only.
EVENT_TYPES: tuple[str, ...] = (
    "comment.created",
    "comment.updated",
    "comment.deleted",
    "thread.created",
    "thread.updated",
    "thread.resolved",
    "thread.deleted",
    "room.updated",
    "room.deleted",
    "reaction.added",
    "reaction.removed",
    "notification.created",
)
TEST_EVENT = "webhook.test"
ALL = "all"  # PATCH `events: null`: every event type again


def _url(*, required: bool) -> Any:
    def read(body: Mapping[str, Any], name: str) -> str | None:
        value = v.http_url(body, name, max_len=URL_MAX)
        if value is None and required:
            raise InvalidInput(name, "is required", code=codes.MISSING_FIELD)
        return value

    schema = {"type": "string", "format": "uri", "maxLength": URL_MAX}
    return Spec(
        read,
        schema,
        required=required,
        description="Where events are posted: an `https` URL of a public host.",
        examples=["https://hooks.example.com/pulse"],
        raises=(codes.WEBHOOK_URL_REFUSED,),
    )


def _events(*, patch: bool) -> Any:
    def read(body: Mapping[str, Any], name: str) -> list[str] | str | None:
        if patch and name in body and body[name] is None:
            return ALL
        return v.string_list(body, name, EVENT_TYPES, max_items=len(EVENT_TYPES))

    schema = {
        "type": ["array", "null"],
        "minItems": 1,
        "maxItems": len(EVENT_TYPES),
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(EVENT_TYPES)},
    }
    words = "The event types to send; absent or `null`: all of them."
    return Spec(read, schema, required=False, description=words)


class CreateWebhookRequest(Body):
    url: str = _url(required=True)
    events: list[str] | None = _events(patch=False)
    description: str | None = text(max_len=DESCRIPTION_MAX, required=False, strip=True)

    example = {
        "url": "https://hooks.example.com/pulse",
        "events": ["comment.created", "thread.resolved"],
        "description": "Email digests",
    }


CLEARED = ""  # PATCH `description: null`: the description is removed


def _description_patch() -> Any:
    def read(body: Mapping[str, Any], name: str) -> str | None:
        if name in body and body[name] is None:
            return CLEARED
        return v.text(body, name, max_len=DESCRIPTION_MAX, required=False, strip=True)

    schema = {"type": ["string", "null"], "minLength": 1, "maxLength": DESCRIPTION_MAX}
    return Spec(
        read, schema, required=False, description="A note for operators; `null` removes it."
    )


class UpdateWebhookRequest(Body):
    url: str | None = if_sent(_url(required=True))
    events: list[str] | str | None = _events(patch=True)
    description: str | None = _description_patch()
    enabled: bool | None = boolean(description="`false` stops deliveries; `true` resumes them.")

    at_least_one = ("url", "events", "description", "enabled")
    example = {"enabled": True}


def _since() -> Any:
    def read(body: Mapping[str, Any], name: str) -> str:
        return v.timestamp(body, name)

    return Spec(
        read,
        {"type": "string", "format": "date-time"},
        required=True,
        description="Failed deliveries made at or after this time are sent again.",
        examples=["2026-11-25T04:00:00Z"],
    )


class ReplayRequest(Body):
    since: str = _since()

    example = {"since": "2026-11-25T04:00:00Z"}


WEBHOOK = Record(
    Webhook,
    "Webhook",
    rename={"env_id": "environmentId"},
    omit_none=("secret",),
    schemas={
        "events": {
            "type": ["array", "null"],
            "items": {"type": "string", "enum": list(EVENT_TYPES)},
        },
        "disabled_reason": {
            "type": ["string", "null"],
            "enum": ["operator", "gone", "failing", None],
        },
        "secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$"},
    },
    describe={
        "events": "The event types sent; `null`: all of them.",
        "disabled_reason": "Why it is disabled: `operator` (PATCH enabled=false), `gone` (the "
        "endpoint answered 410) or `failing` (every attempt failed for 5 days); `null` while "
        "enabled.",
        "failing_since": "The first failed attempt since the last success; `null` if none.",
        "secret": "The signing secret: only in the answers that create or rotate it.",
    },
)
WEBHOOKS = PageOf(WEBHOOK)

DELIVERY = Record(
    WebhookDelivery,
    "WebhookDelivery",
    schemas={"status": {"type": "string", "enum": ["pending", "succeeded", "failed"]}},
    describe={
        "id": "Also the `webhook-id` header of every attempt.",
        "attempt": "Attempts made so far.",
        "response_body": "The first 1 KB of the last answer.",
        "error": "Why the last attempt got no answer (`timeout`, a refused address, ...).",
        "next_attempt_at": "When the next automatic attempt is due; `null` if none.",
    },
)
DELIVERIES = PageOf(DELIVERY)
