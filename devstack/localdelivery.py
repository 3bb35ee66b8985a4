"""The dev stack's in-process sender: the app's pushes reach the local gateway's sockets directly.

In production every recipient of a push is one Management API request (sockets/sender.py). Here
the gateway lives in the same process, so a botocore call and an HTTP round trip per recipient
(most of a delivery's CPU in the dev stack) would only measure botocore. This sender keeps what
the app can observe of the Management API: 410 (`gone`) for an unknown, closing or closed
connection, a refused post over the 128 KB a message may hold (`failed`, logged as the
production sender logs it), 429 for a client that does not read (`failed`), and the gateway's
idle clock touched by each push. Connections of another endpoint (domainName/stage) go through
the production sender over HTTP. The Management API itself is still served over HTTP for tools,
and the production sender keeps its own tests against servers speaking the wire protocol."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from chalicelib.entities import Connection, Endpoint
from chalicelib.sockets.sender import Delivery, ManagementApi

from .wsgateway import WebSocketGateway
from .wsmanagement import BUSY, GONE, OK, Outcome

log = logging.getLogger("pulse.sender")  # the production sender's logger: the same lines


class InProcessSender:
    """The Sender of services/channel.py for the dev stack (runtime.build(sender=...))."""

    def __init__(self, gateway: WebSocketGateway, fallback: ManagementApi) -> None:
        self.gateway = gateway
        self.fallback = fallback

    def _here(self, c: Connection | Endpoint) -> bool:
        return c.domain_name == self.gateway.domain_name and c.stage == self.gateway.stage

    def _too_large(self, c: Connection | Endpoint, data: bytes) -> bool:
        if len(data) <= self.gateway.limits.post_bytes:
            return False
        # API Gateway answers 413 PayloadTooLargeException; the production sender logs it so.
        log.warning(
            "push failed", extra={"connectionId": c.id, "reason": "PayloadTooLargeException"}
        )
        return True

    def post(self, c: Connection | Endpoint, data: bytes) -> str:
        """'ok', 'gone' (410) or 'failed' (logged, never raised), as ManagementApi.post."""
        if not self._here(c):
            return self.fallback.post(c, data)
        if self._too_large(c, data):
            return "failed"
        try:
            outcome = self.gateway.post(c.id, data)
        except Exception as exc:  # the loop did not answer in time: never raised
            log.warning("push failed", extra={"connectionId": c.id, "reason": type(exc).__name__})
            return "failed"
        return self._result(c, outcome)

    def post_many(self, targets: Iterable[Connection], data: bytes) -> Delivery:
        targets = list(targets)
        here = [c for c in targets if self._here(c)]
        elsewhere = [c for c in targets if not self._here(c)]
        delivered: list[Connection] = []
        gone: list[Connection] = []
        failed: list[Connection] = []
        if here and len(data) > self.gateway.limits.post_bytes:
            failed += [c for c in here if self._too_large(c, data)]
        elif here:
            outcomes: list[Outcome | None]
            try:
                outcomes = list(self.gateway.post_many([c.id for c in here], data))
            except Exception as exc:  # the loop did not answer in time: never raised
                log.warning("push failed", extra={"reason": type(exc).__name__})
                outcomes = [None] * len(here)
            for c, outcome in zip(here, outcomes, strict=True):
                result = self._result(c, outcome)
                (delivered if result == "ok" else gone if result == "gone" else failed).append(c)
        if elsewhere:
            other = self.fallback.post_many(elsewhere, data)
            delivered += other.delivered
            gone += other.gone
            failed += other.failed
        return Delivery(delivered, gone, failed)

    def gone_of(self, targets: Iterable[Connection]) -> list[Connection]:
        """Those of `targets` whose sockets are closed (a GET @connections would answer 410)."""
        targets = list(targets)
        here = [c for c in targets if self._here(c)]
        elsewhere = [c for c in targets if not self._here(c)]
        closed = set(self.gateway.gone_of([c.id for c in here])) if here else set()
        gone = [c for c in here if c.id in closed]
        return gone + (self.fallback.gone_of(elsewhere) if elsewhere else [])

    def close(self, c: Connection) -> None:
        """Disconnect the socket (the gateway then runs $disconnect). Gone already is fine."""
        if not self._here(c):
            self.fallback.close(c)
            return
        self.gateway.delete(c.id)

    @staticmethod
    def _result(c: Connection | Endpoint, outcome: Outcome | None) -> str:
        if outcome == OK:
            return "ok"
        if outcome == GONE:
            return "gone"
        if outcome == BUSY:  # API Gateway's 429: the client is not reading its socket
            log.warning(
                "push failed", extra={"connectionId": c.id, "reason": "LimitExceededException"}
            )
        return "failed"
