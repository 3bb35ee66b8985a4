"""Pushing frames to connections through the API Gateway Management API.

Posts to many connections run concurrently on a bounded thread pool, with botocore's HTTP pool
sized to match (its default of 10 would serialize them and warn "connection pool is full").
Each endpoint is built from the domainName/stage stored with the connection, so REST-originated
pushes and custom domains work; one client per endpoint per container, from the container's
one botocore session (chalicelib/aws.py: no boto3 import, no second session)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .. import aws
from ..entities import Connection, Endpoint

log = logging.getLogger("pulse.sender")

POOL_SIZE = 32


@dataclass(frozen=True)
class Delivery:
    delivered: list[Connection]
    gone: list[Connection]
    failed: list[Connection]


class ManagementApi:
    def __init__(
        self,
        scheme: str,
        region: str,
        pool_size: int = POOL_SIZE,
        *,
        connect_timeout: float = 2,
        read_timeout: float = 5,
    ) -> None:
        self.scheme = scheme
        self.region = region
        self.pool_size = pool_size
        # A slow or dead connection costs one post at most this long (x2 attempts), on its own
        # pool thread: the others are delivered meanwhile.
        self.timeouts = (connect_timeout, read_timeout)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def endpoint(self, c: Connection | Endpoint) -> str:
        return f"{self.scheme}://{c.domain_name}/{c.stage}"

    def _client(self, endpoint: str) -> Any:
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                from botocore.config import Config

                client = aws.session().create_client(
                    "apigatewaymanagementapi",
                    endpoint_url=endpoint,
                    region_name=self.region,
                    config=Config(
                        max_pool_connections=self.pool_size,
                        connect_timeout=self.timeouts[0],
                        read_timeout=self.timeouts[1],
                        retries={"total_max_attempts": 2, "mode": "standard"},
                    ),
                )
                self._clients[endpoint] = client
            return client

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="pulse-push")
            return self._pool

    def post(self, c: Connection | Endpoint, data: bytes) -> str:
        """'ok', 'gone' (410: the socket is closed) or 'failed' (logged, never raised)."""
        client = self._client(self.endpoint(c))
        try:
            client.post_to_connection(ConnectionId=c.id, Data=data)
            return "ok"
        except client.exceptions.GoneException:
            return "gone"
        except Exception as exc:
            log.warning("push failed", extra={"connectionId": c.id, "reason": type(exc).__name__})
            return "failed"

    def post_many(self, targets: Iterable[Connection], data: bytes) -> Delivery:
        targets = list(targets)
        if len(targets) == 1:
            results = [self.post(targets[0], data)]
        else:
            results = list(self._executor().map(lambda c: self.post(c, data), targets))
        by = {"ok": [], "gone": [], "failed": []}  # type: dict[str, list[Connection]]
        for c, result in zip(targets, results, strict=True):
            by[result].append(c)
        return Delivery(by["ok"], by["gone"], by["failed"])

    def is_gone(self, c: Connection) -> bool:
        """Whether API Gateway says the socket is closed (GET @connections answers 410). Any
        other failure counts as open: only a certain answer may free a connection's place."""
        client = self._client(self.endpoint(c))
        try:
            client.get_connection(ConnectionId=c.id)
            return False
        except client.exceptions.GoneException:
            return True
        except Exception as exc:
            log.warning("probe failed", extra={"connectionId": c.id, "reason": type(exc).__name__})
            return False

    def gone_of(self, targets: Iterable[Connection]) -> list[Connection]:
        """Those of `targets` whose sockets are closed, asked concurrently."""
        targets = list(targets)
        answers = list(self._executor().map(self.is_gone, targets))
        return [c for c, gone in zip(targets, answers, strict=True) if gone]

    def close(self, c: Connection) -> None:
        """Disconnect the socket (API Gateway then runs $disconnect). Gone already is fine."""
        client = self._client(self.endpoint(c))
        try:
            client.delete_connection(ConnectionId=c.id)
        except client.exceptions.GoneException:
            pass
        except Exception as exc:
            log.warning("close failed", extra={"connectionId": c.id, "reason": type(exc).__name__})
