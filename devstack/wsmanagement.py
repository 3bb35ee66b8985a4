"""The local API Gateway Management API: POST/GET/DELETE /{stage}/@connections/{id} over HTTP."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

# What a connection operation came to; the HTTP status and error type follow from it.
Outcome = Literal["ok", "gone", "busy"]
OK: Outcome = "ok"
GONE: Outcome = "gone"  # 410 GoneException: unknown, closing or closed
BUSY: Outcome = "busy"  # 429 LimitExceededException: the client is not reading its socket

DISCARD_LIMIT = 16 * 1024 * 1024  # an oversized body up to this is read and dropped, keeping the
# keep-alive connection usable; beyond it the connection is closed after the 413


@dataclass(frozen=True)
class ConnectionInfo:
    connected_at: float  # epoch seconds
    last_active_at: float
    source_ip: str
    user_agent: str


class Connections(Protocol):
    """The gateway side, called from the HTTP server's threads."""

    stage: str

    def post(self, connection_id: str, data: bytes) -> Outcome: ...

    def info(self, connection_id: str) -> ConnectionInfo | None: ...

    def delete(self, connection_id: str) -> Outcome: ...


class ManagementServer(ThreadingHTTPServer):
    """AWS's rest-json wire protocol for the three @connections operations, so that boto3's
    `apigatewaymanagementapi` client with endpoint_url=http://host:port/{stage} works unchanged.
    Requests are not authenticated (any SigV4 signature or none is accepted)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], connections: Connections, max_payload: int
    ) -> None:
        self.connections = connections
        self.max_payload = max_payload
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, sock: socket.socket, active: bool) -> None:
        with self._open_lock:
            if active:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def close(self) -> None:
        """Stop serving and end the keep-alive connections botocore holds open, so no handler
        thread outlives the server."""
        self.shutdown()
        self.server_close()
        with self._open_lock:
            open_sockets, self._open = self._open, set()
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools its connections
    server: ManagementServer
    # An answer with a body (GET, errors) is two small sends: with Nagle on, the second waits
    # for the client's delayed ACK of the first (~40 ms on Linux, as API Gateway never does).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per push would drown the stack's output

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        connection_id = self._connection_id()
        if connection_id is None:
            stage = self.server.connections.stage
            self._error(
                403,
                "ForbiddenException",
                f"Forbidden: the Management API serves /{stage}/@connections/{{connectionId}} "
                f"(endpoint_url http://{self.headers.get('Host', '')}/{stage})",
            )
            return
        try:
            if method == "POST":
                self._post(connection_id, body)
            elif method == "GET":
                self._get(connection_id)
            else:
                self._delete(connection_id)
        except Exception:
            log.exception("management api %s failed", method, extra={"connectionId": connection_id})
            self._error(500, "InternalServerErrorException", "Internal server error")

    def _post(self, connection_id: str, body: bytes) -> None:
        if len(body) > self.server.max_payload:
            self._error(
                413,
                "PayloadTooLargeException",
                f"Message too long: {len(body)} bytes; the limit is {self.server.max_payload}",
            )
            return
        outcome = self.server.connections.post(connection_id, body)
        if self._failed(outcome):
            return
        self._send(200, b"")

    def _get(self, connection_id: str) -> None:
        info = self.server.connections.info(connection_id)
        if info is None:
            self._failed(GONE)
            return
        # The wire names are the model's locationNames (camelCase); boto3 maps them to
        # ConnectedAt, LastActiveAt and Identity.SourceIp/UserAgent.
        payload = {
            "connectedAt": _iso(info.connected_at),
            "lastActiveAt": _iso(info.last_active_at),
            "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
        }
        self._send(200, json.dumps(payload).encode(), "application/json")

    def _delete(self, connection_id: str) -> None:
        if not self._failed(self.server.connections.delete(connection_id)):
            self._send(204, b"")

    def _failed(self, outcome: Outcome) -> bool:
        if outcome == GONE:
            self._error(410, "GoneException", "The connection is gone")
            return True
        if outcome == BUSY:
            self._error(
                429, "LimitExceededException", "The client is not reading: its buffer is full"
            )
            return True
        return False

    def _connection_id(self) -> str | None:
        """The decoded id from /{stage}/@connections/{url-encoded id}, or None for other paths."""
        path = urlsplit(self.path).path
        prefix = f"/{self.server.connections.stage}/@connections/"
        if not path.startswith(prefix):
            return None
        encoded = path[len(prefix) :]
        if not encoded or "/" in encoded:
            return None
        return unquote(encoded)  # not unquote_plus: a '+' in an id is literal

    def _read_body(self) -> bytes | None:
        """The request body, or None once an error has been answered."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._error(411, "BadRequestException", "Send a Content-Length")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._error(400, "BadRequestException", "Invalid Content-Length")
            return None
        if length > max(self.server.max_payload, DISCARD_LIMIT):
            self.close_connection = True
            self._error(413, "PayloadTooLargeException", f"Message too long: {length} bytes")
            return None
        return self.rfile.read(length) if length else b""

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        self._send(status, body, "application/json", {"x-amzn-ErrorType": error_type})

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and status != 204:
            self.wfile.write(body)


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
