"""The dev stack's HTTP handler (devstack/localhttp.py) writes each answer in one send with Nagle
off: two small sends (headers, then body) on a keep-alive connection make the body wait for the
client's delayed ACK, about 40 ms per request on Linux."""

from __future__ import annotations

import socket
import threading
from typing import Any

from chalice import Chalice
from chalice.config import Config

from devstack.localhttp import LocalRequestHandler


class CountingSocket(socket.socket):
    """An accepted server socket that counts the sends the handler makes."""

    sends = 0

    def send(self, data: Any, *args: Any) -> int:
        CountingSocket.sends += 1
        return super().send(data, *args)

    def sendall(self, data: Any, *args: Any) -> None:
        CountingSocket.sends += 1
        super().sendall(data, *args)


class Server:
    """What the handler reads of its server."""

    server_name = "127.0.0.1"
    server_port = 0


def serve_one(request: bytes) -> tuple[bytes, int, int]:
    """One request through LocalRequestHandler on a real TCP connection: (the raw answer, how
    many sends it took, the server socket's TCP_NODELAY)."""
    app = Chalice("t")

    @app.route("/room")
    def room() -> dict[str, str]:
        return {"id": "r" * 200}

    config = Config.create(chalice_app=app)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, address = listener.accept()
        server_side = CountingSocket(fileno=accepted.detach())
        CountingSocket.sends = 0
        nodelay: list[int] = []

        def handle() -> None:
            with server_side:
                LocalRequestHandler(server_side, address, Server(), app_object=app, config=config)
                nodelay.append(server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        thread = threading.Thread(target=handle)
        thread.start()
        with client:
            client.sendall(request)
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        thread.join(10)
    return answer, CountingSocket.sends, nodelay[0]


def test_an_answer_is_one_send_with_nagle_off() -> None:
    answer, sends, nodelay = serve_one(
        b"GET /room HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )

    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"id":"' + b"r" * 200 + b'"}')
    assert sends == 1
    assert nodelay != 0


def test_the_handlers_own_refusals_are_sent_whole() -> None:
    """An answer http.server gives before any route runs (here 414) is flushed too."""
    answer, sends, _ = serve_one(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 414")
    assert b'"code":"URI_TOO_LONG"' in answer
    assert sends == 1
