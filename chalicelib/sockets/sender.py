"""Pushing frames to connections through the API Gateway Management API.

Posts to many connections run concurrently on a bounded thread pool, with the HTTP pool sized to
match (botocore's default of 10 would serialize them and warn "connection pool is full"). Each
endpoint is built from the domainName/stage stored with the connection, so REST-originated pushes
and custom domains work. A push is botocore's own pieces without a client call around them: the
request signed by its SigV4 signer with the container's credentials (chalicelib/aws.py's one
session), sent over its pooled urllib3 session; a full `post_to_connection` spends about as much
again on parameter validation, serialization, endpoint rules, event hooks and response parsing,
once per recipient (docs/performance.md, section 11). What a client call did that matters is
kept: 410 is `gone` and never retried; throttling (429, LimitExceededException), 5xx answers,
connection errors and timeouts are tried once more after a jittered backoff, then `failed`."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .. import aws
from ..entities import Connection, Endpoint

log = logging.getLogger("pulse.sender")

POOL_SIZE = 32
ATTEMPTS = 2  # botocore's standard mode with total_max_attempts=2: one retry
SIGNING_NAME = "execute-api"  # the Management API's SigV4 service name
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIED_TYPES = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)


@dataclass(frozen=True)
class Delivery:
    delivered: list[Connection]
    gone: list[Connection]
    failed: list[Connection]


@dataclass(frozen=True)
class Answer:
    """What the Management API answered: an HTTP status and its error type, or `error` (the
    exception's class name) when no answer came."""

    status: int = 0
    error: str = ""

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


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
        self._http: Any = None
        self._signer: Any = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def endpoint(self, c: Connection | Endpoint) -> str:
        return f"{self.scheme}://{c.domain_name}/{c.stage}"

    def _parts(self) -> tuple[Any, Any]:
        """botocore's HTTP session (pooled per host) and SigV4 signer, built on first use."""
        with self._lock:
            if self._http is None:
                from botocore.auth import SigV4Auth
                from botocore.httpsession import URLLib3Session

                credentials = aws.session().get_credentials()  # refreshes itself when it must
                self._signer = SigV4Auth(credentials, SIGNING_NAME, self.region)
                self._http = URLLib3Session(
                    timeout=self.timeouts,
                    max_pool_connections=self.pool_size,
                    # A botocore client sets this (args.py); its bare HTTP session does not, and
                    # a body sent after its headers would wait for the server's delayed ACK.
                    socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                )
            return self._http, self._signer

    def _call(self, method: str, c: Connection | Endpoint, data: bytes = b"") -> Answer:
        """One Management API operation on `c`, signed, tried at most ATTEMPTS times."""
        from botocore.awsrequest import AWSRequest
        from botocore.utils import percent_encode

        http, signer = self._parts()
        url = f"{self.endpoint(c)}/@connections/{percent_encode(c.id)}"
        answer = Answer()
        for attempt in range(1, ATTEMPTS + 1):
            if attempt > 1:
                time.sleep(random.random() * 2 ** (attempt - 2))  # noqa: S311 (jitter, as botocore's)
            try:
                request = AWSRequest(method, url, data=data or None)
                signer.add_auth(request)
                response = http.send(request.prepare())
                answer = Answer(response.status_code, response.headers.get("x-amzn-ErrorType", ""))
            except Exception as exc:  # no answer: connection refused or reset, a timeout
                answer = Answer(error=type(exc).__name__)
                if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
                    return answer
                continue
            error_type = answer.error.split(":", 1)[0]
            if answer.status not in RETRIED_STATUSES and error_type not in RETRIED_TYPES:
                return answer
        return answer

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="pulse-push")
            return self._pool

    def post(self, c: Connection | Endpoint, data: bytes) -> str:
        """'ok', 'gone' (410: the socket is closed) or 'failed' (logged, never raised)."""
        answer = self._call("POST", c, data)
        if answer.ok:
            return "ok"
        if answer.gone:
            return "gone"
        log.warning("push failed", extra={"connectionId": c.id, "reason": _reason(answer)})
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
        answer = self._call("GET", c)
        if not answer.ok and not answer.gone:
            log.warning("probe failed", extra={"connectionId": c.id, "reason": _reason(answer)})
        return answer.gone

    def gone_of(self, targets: Iterable[Connection]) -> list[Connection]:
        """Those of `targets` whose sockets are closed, asked concurrently."""
        targets = list(targets)
        answers = list(self._executor().map(self.is_gone, targets))
        return [c for c, gone in zip(targets, answers, strict=True) if gone]

    def close(self, c: Connection) -> None:
        """Disconnect the socket (API Gateway then runs $disconnect). Gone already is fine."""
        answer = self._call("DELETE", c)
        if not answer.ok and not answer.gone:
            log.warning("close failed", extra={"connectionId": c.id, "reason": _reason(answer)})


def _reason(answer: Answer) -> str:
    """What a log line names: the error type API Gateway gave, or the exception's class."""
    if answer.error:
        return answer.error.split(":", 1)[0]
    return f"HTTP {answer.status}"
