"""The real ManagementApi (botocore client, HTTP pool, thread pool) against a Management API that
misbehaves per connection: 500s, 403s, 429s, a socket reset, an answer slower than the read
timeout, an endpoint nobody listens on, and 410 Gone. The healthy connections all get the
frame, only the 410 is treated as gone, and nothing raises.

Then the same through RoomChannel with real connection rows (moto): a REST write fans out to a
room where some sockets fail, the failing ones keep their rows, the gone one loses them."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest
from realtime.conftest import Env, Gateway, connection_rows, rest, rest_ok

from chalicelib.entities import Connection
from chalicelib.sockets.sender import ManagementApi

ERROR_TYPES = {
    410: "GoneException",
    403: "ForbiddenException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
}
READ_TIMEOUT = 0.3


@dataclass
class Stub:
    """How the stub answers each connection id: an HTTP status, "slow" (answers after the
    client's read timeout), or "reset" (closes the socket without answering)."""

    port: int = 0
    behaviour: dict[str, int | str] = field(default_factory=dict)
    received: dict[str, list[bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)


def handler_for(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            connection_id = unquote(self.path.split("/")[-1])
            behaviour = stub.behaviour.get(connection_id, 200)
            if behaviour == "reset":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if behaviour == "slow":
                stub.release.wait(5)  # past the client's read timeout; released at teardown
                behaviour = 200
            if behaviour == 200:
                with stub.lock:
                    stub.received.setdefault(connection_id, []).append(data)
            status = int(behaviour)
            error = ERROR_TYPES.get(status)
            payload = json.dumps({"message": error}).encode() if error else b""
            self.send_response(status)
            if error:
                self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    state = Stub()
    server = Server(("127.0.0.1", 0), handler_for(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def api() -> Iterator[ManagementApi]:
    sender = ManagementApi("http", "us-east-1", read_timeout=READ_TIMEOUT, connect_timeout=0.5)
    yield sender
    if sender._pool is not None:
        sender._pool.shutdown(wait=True)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def conn(connection_id: str, domain: str) -> Connection:
    return Connection(
        id=connection_id,
        env_id="env_x",
        room_id="room-1",
        user_id=connection_id,
        name=connection_id,
        avatar=None,
        color="#E5484D",
        presence=None,
        domain_name=domain,
        stage="api",
        publishable_key_id="key_p",
        secret_key_id="key_s",
        connected_at="2026-01-01T00:00:00.000Z",
        expires_at=time.time() + 3600,
    )


BAD = {"e500": 500, "e403": 403, "e429": 429, "slow": "slow", "reset": "reset", "gone": 410}


def test_failing_and_slow_connections_do_not_stop_delivery_to_the_others(
    stub: Stub, api: ManagementApi
) -> None:
    stub.behaviour.update(BAD)
    here = f"127.0.0.1:{stub.port}"
    good = [conn(f"ok{i}", here) for i in range(12)]
    bad = [conn(cid, here) for cid in BAD]
    dead = conn("nobody-listens", f"127.0.0.1:{unused_port()}")
    targets = good[:6] + bad + [dead] + good[6:]

    delivery = api.post_many(targets, b'{"type":"x"}')

    assert sorted(c.id for c in delivery.delivered) == sorted(c.id for c in good)
    assert all(stub.received[c.id] == [b'{"type":"x"}'] for c in good)
    assert [c.id for c in delivery.gone] == ["gone"]
    assert sorted(c.id for c in delivery.failed) == sorted(
        [c.id for c in bad if c.id != "gone"] + ["nobody-listens"]
    )


def test_a_single_post_that_times_out_is_failed_not_raised(stub: Stub, api: ManagementApi) -> None:
    stub.behaviour["slow"] = "slow"
    assert api.post(conn("slow", f"127.0.0.1:{stub.port}"), b"{}") == "failed"
    assert api.post(conn("fine", f"127.0.0.1:{stub.port}"), b"{}") == "ok"


# --- through the room ----------------------------------------------------------------------------


def test_a_rest_write_reaches_the_healthy_sockets_and_drops_only_the_gone_one(
    stub: Stub, api: ManagementApi, gw: Gateway, env: Env, client: Any
) -> None:
    here = {"domain": f"127.0.0.1:{stub.port}", "stage": "api"}
    names = ["ada", "grace", "linus", "ken", "barbara", "edsger", "alan"]
    ids = {name: gw.connect(env, name, "room-1", **here) for name in names}
    stub.behaviour.update(
        {ids["grace"]: 500, ids["linus"]: "slow", ids["ken"]: "reset", ids["barbara"]: 410}
    )
    gw.graph.realtime.channel.api = api  # type: ignore[assignment]
    rows_before = connection_rows()

    body = {"comment": {"userId": "ada", "body": "hello"}}
    created = rest_ok(rest(client, "POST", "/api/v1/rooms/room-1/threads", env.sk, body), 201)

    for name in ("ada", "edsger", "alan"):
        frames = [json.loads(f) for f in stub.received[ids[name]]]
        assert frames[0] == {"type": "thread.created", "thread": created, "seq": 1}
        # the healthy ones are also told barbara left
        assert {"type": "user.left", "connectionId": ids["barbara"], "userId": "barbara"} in frames
    assert connection_rows(ids["barbara"]) == []
    kept = [
        r for r in rows_before if ids["barbara"] not in r[0] and r[1] != f"CONN#{ids['barbara']}"
    ]
    assert connection_rows() == kept  # the failing and slow sockets keep their rows
    threads = rest_ok(rest(client, "GET", "/api/v1/rooms/room-1/threads", env.sk))["data"]
    assert [t["id"] for t in threads] == [created["id"]]
