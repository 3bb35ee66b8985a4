"""ManagementApi (chalicelib/sockets/sender.py) against a stub of the API Gateway Management API
on 127.0.0.1: the real boto3 client, signing, HTTP pool and thread pool, over plain http.

The stub speaks the wire protocol: POST /{stage}/@connections/{id} -> 200, or 410 with
`x-amzn-ErrorType: GoneException` and a JSON message; GET -> 200 with the connection's details,
or 410; DELETE -> 204 or 410; any other status a test chooses; optionally after a delay."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from chalicelib.entities import Connection
from chalicelib.sockets.sender import POOL_SIZE, ManagementApi

ERRORS = {
    410: "GoneException",
    403: "ForbiddenException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
}


@dataclass
class Stub:
    """What the stub answers, and what it saw."""

    port: int = 0
    status: dict[str, int] = field(default_factory=dict)  # connection id -> HTTP status
    delay: float = 0.0
    received: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # method, stage, id
    headers: list[dict[str, str]] = field(default_factory=list)  # each request's, in order
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0

    def seen(self, method: str | None = None) -> list[tuple[str, str, str, bytes]]:
        with self.lock:
            return [r for r in self.received if method is None or r[0] == method]


def make_handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            parts = self.path.split("/")
            # /{stage}/@connections/{id}
            if len(parts) != 4 or parts[2] != "@connections":
                self._send(404, "NotFoundException", {"message": "no route"})
                return
            stage, connection_id = parts[1], unquote(parts[3])
            with stub.lock:
                stub.received.append((method, stage, connection_id, data))
                stub.headers.append({**dict(self.headers.items()), "path": self.path})
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            try:
                if stub.delay:
                    time.sleep(stub.delay)  # the stub's latency, not a test assertion
                status = stub.status.get(connection_id, 204 if method == "DELETE" else 200)
                if status in ERRORS:
                    self._send(status, ERRORS[status], {"message": f"{ERRORS[status]} here"})
                elif method == "GET":
                    details = {"connectedAt": "2026-01-01T00:00:00.000Z", "identity": {}}
                    self._send(status, None, details)
                else:
                    self._send(status, None, None)
            finally:
                with stub.lock:
                    stub.in_flight -= 1

        def _send(self, status: int, error: str | None, body: dict[str, Any] | None) -> None:
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if error:
                self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-RequestId", "stub")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def do_POST(self) -> None:
            self._answer("POST")

        def do_DELETE(self) -> None:
            self._answer("DELETE")

        def do_GET(self) -> None:
            self._answer("GET")

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 makes concurrent connects wait ~1 s


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()
    server = Server(("127.0.0.1", 0), make_handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="mgmt-stub", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stub is local: never route to it through a proxy from the environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@pytest.fixture
def api() -> Iterator[ManagementApi]:
    sender = ManagementApi("http", "us-east-1")
    yield sender
    if sender._pool is not None:
        sender._pool.shutdown(wait=True)


@pytest.fixture
def urllib3_warnings() -> Iterator[list[logging.LogRecord]]:
    """WARNING+ records of the urllib3 loggers (e.g. 'Connection pool is full')."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("urllib3")
    handler = Keep(level=logging.WARNING)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def conn(stub: Stub, connection_id: str, stage: str = "api") -> Connection:
    return Connection(
        id=connection_id,
        env_id="env_x",
        room_id="room-1",
        user_id="ada",
        name="Ada",
        avatar=None,
        color="#E5484D",
        presence=None,
        domain_name=f"127.0.0.1:{stub.port}",
        stage=stage,
        publishable_key_id="key_p",
        secret_key_id="key_s",
        connected_at="2026-01-01T00:00:00.000Z",
        expires_at=time.time() + 3600,
    )


def pool_full(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if "pool is full" in r.getMessage().lower()]


# --- classification ------------------------------------------------------------------------------


def test_post_delivers_the_bytes_to_the_connection(stub: Stub, api: ManagementApi) -> None:
    c = conn(stub, "L0SM9cOFvHcCIhw=")
    data = json.dumps({"type": "pong", "text": "héllo"}).encode()

    assert api.post(c, data) == "ok"

    assert stub.seen() == [("POST", "api", "L0SM9cOFvHcCIhw=", data)]


def test_asking_whether_sockets_are_open_trusts_only_a_410(stub: Stub, api: ManagementApi) -> None:
    """GET @connections (the per-user limits ask before refusing a connect): only API Gateway's
    410 frees a place; an error of any other kind leaves the connection counted."""
    stub.status.update({"gone": 410, "forbidden": 403, "throttled": 429, "broken": 500})
    targets = [conn(stub, cid) for cid in ("open", "gone", "forbidden", "throttled", "broken")]

    assert [c.id for c in api.gone_of(targets)] == ["gone"]
    assert api.is_gone(conn(stub, "gone")) and not api.is_gone(conn(stub, "open"))
    assert {r[2] for r in stub.seen("GET")} == {c.id for c in targets}  # (429/5xx retried)


def test_gone_and_failed_are_told_apart(stub: Stub, api: ManagementApi) -> None:
    stub.status.update({"gone": 410, "forbidden": 403})
    assert api.post(conn(stub, "gone"), b"{}") == "gone"
    assert api.post(conn(stub, "forbidden"), b"{}") == "failed"
    assert api.post(conn(stub, "fine"), b"{}") == "ok"


def test_a_server_error_is_retried_then_failed(stub: Stub, api: ManagementApi) -> None:
    stub.status["flaky"] = 500
    assert api.post(conn(stub, "flaky"), b"{}") == "failed"
    # total_max_attempts=2: one retry, so a hung or failing post holds a push thread briefly.
    assert [r[2] for r in stub.seen()] == ["flaky"] * 2
    stub.status["gone"] = 410
    assert api.post(conn(stub, "gone"), b"{}") == "gone"
    assert [r[2] for r in stub.seen()].count("gone") == 1  # 410 is never retried


def test_throttling_is_retried_once_then_failed_and_logged(
    stub: Stub, api: ManagementApi, caplog: pytest.LogCaptureFixture
) -> None:
    stub.status["busy"] = 429
    with caplog.at_level(logging.WARNING, logger="pulse.sender"):
        assert api.post(conn(stub, "busy"), b"{}") == "failed"
    assert [r[2] for r in stub.seen()] == ["busy"] * 2
    assert [r.__dict__.get("reason") for r in caplog.records] == ["LimitExceededException"]


def test_each_request_is_signed_for_execute_api(stub: Stub, api: ManagementApi) -> None:
    """SigV4 with the container's credentials, scoped to the Management API's signing name:
    the signature is recomputed here from what arrived."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    from chalicelib import aws

    data = b'{"type":"pong"}'
    api.post(conn(stub, "L0SM9cOFvHcCIhw="), data)
    api.close(conn(stub, "L0SM9cOFvHcCIhw="))

    for headers, (method, _, _, body) in zip(stub.headers, stub.seen(), strict=True):
        auth = headers["Authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=")
        assert "/us-east-1/execute-api/aws4_request," in auth
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        assert {"host", "x-amz-date"} <= set(signed)
        lower = {k.lower(): v for k, v in headers.items()}
        request = AWSRequest(
            method,
            f"http://{lower['host']}{headers['path']}",
            data=body or None,
            headers={h: lower[h] for h in signed},
        )
        request.context["timestamp"] = lower["x-amz-date"]
        signer = SigV4Auth(aws.session().get_credentials(), "execute-api", "us-east-1")
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        assert auth.endswith(f"Signature={expected}")
        assert headers["path"] == "/api/@connections/L0SM9cOFvHcCIhw%3D"  # the id percent-encoded


def test_an_unreachable_endpoint_is_failed_not_raised(api: ManagementApi) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    dead = Stub(port=port)
    assert api.post(conn(dead, "x"), b"{}") == "failed"
    api.close(conn(dead, "x"))  # logged, never raised


def test_post_many_classifies_each_target(stub: Stub, api: ManagementApi) -> None:
    stub.status.update({"g1": 410, "g2": 410, "f1": 403})
    targets = [conn(stub, cid) for cid in ("a", "g1", "b", "f1", "g2", "c")]

    delivery = api.post_many(targets, b'{"type":"broadcast"}')

    assert [c.id for c in delivery.delivered] == ["a", "b", "c"]
    assert [c.id for c in delivery.gone] == ["g1", "g2"]
    assert [c.id for c in delivery.failed] == ["f1"]
    assert sorted(r[2] for r in stub.seen("POST")) == sorted(c.id for c in targets)
    assert all(r[3] == b'{"type":"broadcast"}' for r in stub.seen())


def test_post_many_single_and_empty(stub: Stub, api: ManagementApi) -> None:
    one = api.post_many([conn(stub, "solo")], b"1")
    assert [c.id for c in one.delivered] == ["solo"] and not one.gone and not one.failed
    none = api.post_many([], b"1")
    assert (none.delivered, none.gone, none.failed) == ([], [], [])


def test_each_connection_is_reached_through_its_own_stage(stub: Stub, api: ManagementApi) -> None:
    """The endpoint is built from the stored domainName/stage (custom domains, REST pushes)."""
    api.post_many([conn(stub, "a", stage="prod"), conn(stub, "b", stage="dev")], b"x")
    assert sorted((r[1], r[2]) for r in stub.seen()) == [("dev", "b"), ("prod", "a")]
    assert api.endpoint(conn(stub, "a", stage="prod")) == f"http://127.0.0.1:{stub.port}/prod"


def test_close_deletes_the_connection_and_tolerates_gone(stub: Stub, api: ManagementApi) -> None:
    stub.status.update({"already-gone": 410, "forbidden": 403})
    api.close(conn(stub, "live"))
    api.close(conn(stub, "already-gone"))
    api.close(conn(stub, "forbidden"))  # logged, never raised
    assert [(r[0], r[2]) for r in stub.seen()] == [
        ("DELETE", "live"),
        ("DELETE", "already-gone"),
        ("DELETE", "forbidden"),
    ]


# --- concurrency -----------------------------------------------------------------------------


def test_fan_out_is_concurrent_without_exhausting_the_http_pool(
    stub: Stub, api: ManagementApi, urllib3_warnings: list[logging.LogRecord]
) -> None:
    assert api.post(conn(stub, "warm-up"), b"{}") == "ok"  # client creation is not the point
    stub.received.clear()
    stub.delay = 0.05
    stub.status.update({f"c{n:02d}": 410 for n in range(0, 40, 10)})
    targets = [conn(stub, f"c{n:02d}") for n in range(40)]

    started = time.perf_counter()
    delivery = api.post_many(targets, b'{"type":"presence.updated"}')
    elapsed = time.perf_counter() - started

    # Sequential would take 40 x 50 ms = 2 s; a 32-wide pool needs about two rounds.
    assert elapsed < 1.5, f"fan-out of 40 took {elapsed:.2f} s"
    assert stub.max_in_flight > 10  # more than boto3's default pool of 10 at once
    assert stub.max_in_flight <= POOL_SIZE
    assert len(delivery.delivered) == 36 and len(delivery.gone) == 4
    assert sorted(r[2] for r in stub.seen()) == sorted(c.id for c in targets)
    assert pool_full(urllib3_warnings) == []


def test_the_pool_warning_would_be_seen(
    stub: Stub, urllib3_warnings: list[logging.LogRecord]
) -> None:
    """Control for the assertion above: more threads than HTTP connections does warn."""
    small = ManagementApi("http", "us-east-1", pool_size=2)
    small._pool = ThreadPoolExecutor(12)
    stub.delay = 0.02
    try:
        small.post_many([conn(stub, f"x{n}") for n in range(24)], b"{}")
    finally:
        small._pool.shutdown(wait=True)
    assert pool_full(urllib3_warnings)
