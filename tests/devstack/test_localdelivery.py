"""The dev stack's in-process sender (devstack/localdelivery.py) against a real local gateway
and real `websockets` clients: what the app can observe of the Management API is kept (a frame
per recipient, 410 for a closed or unknown connection, the 128 KB limit, DeleteConnection
running $disconnect), and a connection of another endpoint goes through the production sender."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from test_wsgateway import WAIT, FakeApp, Start, open_socket
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from chalicelib.entities import Connection
from chalicelib.sockets.sender import Delivery, ManagementApi
from devstack.localdelivery import InProcessSender
from devstack.wsgateway import WebSocketGateway


class RecordingFallback:
    """Stands in for the production ManagementApi: records what reaches it."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, bytes]] = []
        self.closed: list[str] = []

    def post(self, c: Any, data: bytes) -> str:
        self.posted.append((c.id, data))
        return "ok"

    def post_many(self, targets: Iterable[Connection], data: bytes) -> Delivery:
        targets = list(targets)
        self.posted += [(c.id, data) for c in targets]
        return Delivery(targets, [], [])

    def gone_of(self, targets: Iterable[Connection]) -> list[Connection]:
        return list(targets)

    def close(self, c: Connection) -> None:
        self.closed.append(c.id)


def row(gateway: WebSocketGateway, connection_id: str, domain: str | None = None) -> Connection:
    return Connection(
        id=connection_id,
        env_id="env_x",
        room_id="room-1",
        user_id="ada",
        name="Ada",
        avatar=None,
        color="#E5484D",
        presence=None,
        domain_name=domain or gateway.domain_name,
        stage=gateway.stage,
        publishable_key_id="key_p",
        secret_key_id="key_s",
        connected_at="2026-01-01T00:00:00.000Z",
        expires_at=time.time() + 3600,
    )


def open_sockets(
    gateway: WebSocketGateway, app: FakeApp, count: int
) -> list[tuple[ClientConnection, Connection]]:
    opened = []
    for n in range(count):
        client = open_socket(gateway)
        app.wait_for("$connect", n + 1)
        opened.append((client, row(gateway, app.last_connection_id())))
    return opened


@pytest.fixture
def start_gateway() -> Iterator[Start]:
    """Gateways on free ports with test_wsgateway's FakeApp; each stopped after the test."""
    started: list[WebSocketGateway] = []

    def start(**options: Any) -> tuple[WebSocketGateway, FakeApp]:
        app = FakeApp()
        gateway = WebSocketGateway(
            app.ws_connect, app.ws_message, app.ws_disconnect, port=0, management_port=0, **options
        )
        gateway.start()
        started.append(gateway)
        return gateway, app

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def local(start_gateway: Start) -> tuple[WebSocketGateway, FakeApp, InProcessSender, Any]:
    gateway, app = start_gateway()
    fallback = RecordingFallback()
    return gateway, app, InProcessSender(gateway, fallback), fallback  # type: ignore[arg-type]


def test_post_many_reaches_each_open_socket_and_tells_gone_apart(local: Any) -> None:
    gateway, app, sender, fallback = local
    (a, row_a), (b, row_b), (c, row_c) = open_sockets(gateway, app, 3)
    c.close()
    app.wait_for("$disconnect", 1)
    frame = json.dumps({"type": "broadcast", "event": {"text": "héllo"}}).encode()

    delivery = sender.post_many([row_a, row_b, row_c, row(gateway, "never+was=")], frame)

    assert [x.id for x in delivery.delivered] == [row_a.id, row_b.id]
    assert [x.id for x in delivery.gone] == [row_c.id, "never+was="]
    assert delivery.failed == []
    for client in (a, b):
        assert client.recv(timeout=WAIT) == frame.decode()  # a text frame, as API Gateway sends
        client.close()
    assert fallback.posted == []


def test_a_payload_over_128_kb_is_refused_and_nothing_is_sent(
    local: Any, caplog: pytest.LogCaptureFixture
) -> None:
    gateway, app, sender, _ = local
    [(client, target)] = open_sockets(gateway, app, 1)
    too_big = b'"' + b"x" * (gateway.limits.post_bytes - 1) + b'"'

    with caplog.at_level(logging.WARNING, logger="pulse.sender"):
        assert sender.post(target, too_big) == "failed"
        assert sender.post_many([target], too_big).failed == [target]
    assert sender.post(target, b'{"type":"pong"}') == "ok"

    assert client.recv(timeout=WAIT) == '{"type":"pong"}'  # the first frame to arrive
    assert [r.__dict__.get("reason") for r in caplog.records] == ["PayloadTooLargeException"] * 2
    client.close()


def test_close_disconnects_and_later_posts_are_gone(local: Any) -> None:
    gateway, app, sender, _ = local
    [(client, target)] = open_sockets(gateway, app, 1)

    sender.close(target)

    [event] = app.wait_for("$disconnect", 1)
    assert event["requestContext"]["connectionId"] == target.id
    with pytest.raises(ConnectionClosed):
        client.recv(timeout=WAIT)
    assert client.close_code == 1000
    assert sender.post(target, b"{}") == "gone"
    sender.close(target)  # gone already is fine


def test_gone_of_names_only_the_closed_sockets(local: Any) -> None:
    gateway, app, sender, _ = local
    (a, row_a), (b, row_b) = open_sockets(gateway, app, 2)
    b.close()
    app.wait_for("$disconnect", 1)

    assert [c.id for c in sender.gone_of([row_a, row_b])] == [row_b.id]
    a.close()


def test_a_push_refreshes_the_idle_clock(start_gateway: Start) -> None:
    """A push is activity, as in API Gateway: a socket pushed to keeps living past its idle
    timeout."""
    gateway, app = start_gateway(limits=_limits(idle_seconds=0.6))
    sender = InProcessSender(gateway, RecordingFallback())  # type: ignore[arg-type]
    [(client, target)] = open_sockets(gateway, app, 1)

    for _ in range(4):
        time.sleep(0.3)
        assert sender.post(target, b"{}") == "ok"
        assert client.recv(timeout=WAIT) == "{}"
    assert app.routed("$disconnect") == []
    client.close()


def test_another_endpoints_connections_go_through_the_production_sender(local: Any) -> None:
    gateway, app, sender, fallback = local
    [(client, here)] = open_sockets(gateway, app, 1)
    elsewhere = row(gateway, "remote=", domain="abc.execute-api.us-east-1.amazonaws.com")

    delivery = sender.post_many([here, elsewhere], b"{}")
    sender.close(elsewhere)

    assert {c.id for c in delivery.delivered} == {here.id, "remote="}
    assert fallback.posted == [("remote=", b"{}")]
    assert fallback.closed == ["remote="]
    assert sender.gone_of([here, elsewhere]) == [elsewhere]
    assert client.recv(timeout=WAIT) == "{}"
    client.close()


def _limits(**changes: Any) -> Any:
    from dataclasses import replace

    from devstack.wsgateway import Limits

    return replace(Limits(), **changes)


def test_the_production_sender_reaches_the_same_gateway_over_http(local: Any) -> None:
    """The path the local shortcut replaces still works against the gateway's Management API
    (AWS's wire protocol over HTTP): delivered, 410 once closed, the 128 KB limit refused."""
    gateway, app, _, _ = local
    [(client, target)] = open_sockets(gateway, app, 1)
    production = ManagementApi("http", "us-east-1")

    assert production.post(target, b'{"type":"pong"}') == "ok"
    assert client.recv(timeout=WAIT) == '{"type":"pong"}'
    assert production.post(target, b"x" * (gateway.limits.post_bytes + 1)) == "failed"
    assert production.gone_of([target]) == []
    production.close(target)
    app.wait_for("$disconnect", 1)
    assert production.post(target, b"{}") == "gone"
    assert production.gone_of([target]) == [target]
