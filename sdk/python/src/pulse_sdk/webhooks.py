"""Verifying Pulse's webhooks: the Standard Webhooks scheme (docs/webhooks.md). `v1,` + base64 of
HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes of the `whsec_`
secret; a timestamp more than 5 minutes from the clock is refused (a replayed delivery)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import WebhookVerificationError

PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds, either way: the Standard Webhooks libraries' choice


def _secret_bytes(secret: str) -> bytes:
    encoded = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the webhook secret must be whsec_ followed by base64") from exc
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` value Pulse sends for this delivery (`v1,<base64>`)."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class Webhook:
    """A verifier for one endpoint's secret (`whsec_...`, from the Admin API or panel)."""

    def __init__(
        self,
        secret: str,
        *,
        tolerance: int = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _secret_bytes(secret)
        self._secret = secret
        self.tolerance = tolerance
        self.clock = clock

    def verify(self, body: bytes | str, headers: Mapping[str, str]) -> dict[str, Any]:
        """The delivery's event (`{"type", "timestamp", "data"}`) when `body` (the raw bytes, before
        any JSON parsing) is signed by this secret within the tolerance; otherwise
        WebhookVerificationError saying what is wrong."""
        lowered = {name.lower(): value for name, value in headers.items()}
        msg_id = lowered.get("webhook-id")
        stamp = lowered.get("webhook-timestamp")
        signatures = lowered.get("webhook-signature")
        for name, value in (
            ("webhook-id", msg_id),
            ("webhook-timestamp", stamp),
            ("webhook-signature", signatures),
        ):
            if not value:
                raise WebhookVerificationError(f"missing header {name}")
        assert msg_id is not None and stamp is not None and signatures is not None
        try:
            timestamp = int(stamp)
        except ValueError:
            raise WebhookVerificationError("webhook-timestamp is not Unix seconds") from None
        now = self.clock()
        if timestamp < now - self.tolerance:
            raise WebhookVerificationError("webhook-timestamp is too old (a replay?)")
        if timestamp > now + self.tolerance:
            raise WebhookVerificationError("webhook-timestamp is in the future")
        expected = sign(self._secret, msg_id, timestamp, body).split(",", 1)[1].encode()
        # Several signatures, space-separated, while a rotated secret still signs beside the new.
        for candidate in signatures.split():
            version, _, value = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), expected):
                break
        else:
            raise WebhookVerificationError("no signature matches this secret and body")
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookVerificationError("the body is not JSON") from None
        if not isinstance(event, dict):
            raise WebhookVerificationError("the body is not a JSON object")
        return event


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """`Webhook(secret, tolerance=...).verify(body, headers)`."""
    return Webhook(secret, tolerance=tolerance).verify(body, headers)
