"""The dev stack's WebSocket gateway: a local API Gateway WebSocket API for the app's handlers.

Each socket's opening handshake, data frames and close become API Gateway-shaped `$connect`,
`$default` and `$disconnect` events for the three handlers it is given (app.py's `ws_connect`,
`ws_message`, `ws_disconnect`), and `devstack.wsmanagement` serves the Management API
(`/{stage}/@connections/{id}`) that the app pushes through, with boto3, as in production.

API Gateway's behaviour that the app depends on, reproduced here:
- `$connect` runs before the upgrade is answered: statusCode 200 accepts; any other status
  refuses the handshake with that status and the returned body, and no `$disconnect` follows.
  A connect URL (path and query) over 4096 characters is refused with 414.
- `$default` runs once per data frame, one at a time and in order for each connection. Its
  returned body is not sent back (no route response): replies go through the Management API.
  A binary frame arrives base64-encoded with `isBase64Encoded: true`.
- Frames over 32 KB (and messages over 128 KB) close the socket with 1009.
- Idle timeout (10 minutes, PULSE_WS_IDLE_SECONDS) and connection cap (2 hours,
  PULSE_WS_MAX_SECONDS) close the socket with 1001. Activity is a data frame in either
  direction (a client message or a push); ping/pong control frames do not count.
- `$disconnect` runs once per accepted connection, whoever closed it, with
  `disconnectStatusCode` and `disconnectReason`; the connection is already gone by then (posts
  to it answer 410).

Handlers are synchronous and block (DynamoDB, HTTP to the Management API): they run on a
thread pool, never on the event loop, which lives on the gateway's own thread.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State

from .localenv import LocalEnvError
from .wsmanagement import BUSY, GONE, OK, ConnectionInfo, ManagementServer, Outcome

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8001
DEFAULT_MANAGEMENT_PORT = 8002
STAGE = "local"
API_ID = "local"
WORKERS = 32  # handler threads: each event is its own Lambda invocation in production
OPEN_TIMEOUT = 35.0  # the opening handshake, $connect included (API Gateway's integration
# timeout is 29 s)
INTEGRATION_SECONDS = 29.0  # a slower handler is logged: API Gateway would have given up on it
CLOSE_TIMEOUT = 5.0
STOP_SECONDS = 20.0

Handler = Callable[[dict[str, Any], Any], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """API Gateway's quotas, as the gateway enforces them."""

    idle_seconds: float = 600.0
    max_seconds: float = 7200.0
    frame_bytes: int = 32 * 1024
    message_bytes: int = 128 * 1024
    post_bytes: int = 128 * 1024
    url_chars: int = 4096
    send_seconds: float = 5.0  # a push the client does not take within this answers 429

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        return cls(
            idle_seconds=_seconds(env, "PULSE_WS_IDLE_SECONDS", cls.idle_seconds),
            max_seconds=_seconds(env, "PULSE_WS_MAX_SECONDS", cls.max_seconds),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise LocalEnvError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise LocalEnvError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def new_connection_id() -> str:
    """Shaped like API Gateway's: 16 characters of standard base64 ending in '=' (so it needs
    URL-encoding in a Management API path, as in production)."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that handlers and Chalice read."""

    aws_request_id: str
    deadline: float  # monotonic
    function_name: str = "pulse-local-websocket"
    function_version: str = "$LATEST"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:000000000000:function:pulse-local-websocket"
    )
    memory_limit_in_mb: int = 512
    log_group_name: str = "/aws/lambda/pulse-local-websocket"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(eq=False)
class _Connection:
    id: str
    socket: ServerConnection
    headers: list[tuple[str, str]]
    source_ip: str
    user_agent: str
    connected_at: float  # epoch seconds
    connected_mono: float
    last_active_at: float = 0.0
    last_active_mono: float = 0.0
    closing: bool = False  # the gateway closes it (DELETE, idle, cap): pushes answer 410
    finished: bool = False  # $disconnect has been dispatched
    # True once the 101 is sent; False if it never will be. Pushes and deletes arriving between
    # $connect's 200 and the 101 wait for it.
    ready: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def touch(self) -> None:
        self.last_active_at = time.time()
        self.last_active_mono = time.monotonic()


class WebSocketGateway:
    """Start with start(), stop with stop(); both from any thread but the gateway's own.

    `connect`, `message` and `disconnect` are called as handler(event, context) -> dict with
    "statusCode" (Chalice's WebsocketEventSourceHandler objects fit). Ports may be 0 (tests):
    the bound ones are in `port` and `management_port` after start()."""

    def __init__(
        self,
        connect: Handler,
        message: Handler,
        disconnect: Handler,
        *,
        host: str = HOST,
        port: int = DEFAULT_PORT,
        management_port: int = DEFAULT_MANAGEMENT_PORT,
        stage: str = STAGE,
        limits: Limits | None = None,
        workers: int = WORKERS,
        connection_ids: Callable[[], str] = new_connection_id,
    ) -> None:
        self._connect = connect
        self._message = message
        self._disconnect = disconnect
        self.host = host
        self.port = port
        self.management_port = management_port
        self.stage = stage
        self.limits = limits or Limits()
        self._workers = workers
        self._connection_ids = connection_ids
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._management: ManagementServer | None = None
        self._management_thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._stopping = False
        # Loop-thread state only.
        self._live: dict[str, _Connection] = {}
        self._by_socket: dict[ServerConnection, _Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def domain_name(self) -> str:
        """requestContext.domainName: the app's Management API endpoint is
        {PULSE_WS_MANAGEMENT_SCHEME}://{domainName}/{stage}."""
        return f"{self.host}:{self.management_port}"

    @property
    def management_url(self) -> str:
        return f"http://{self.domain_name}/{self.stage}"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind both ports and serve in background threads. Raises OSError naming the port when
        one cannot be bound (and leaves nothing running)."""
        if self._thread is not None:
            raise RuntimeError("the gateway is already started")
        try:
            self._management = ManagementServer(
                (self.host, self.management_port), self, self.limits.post_bytes
            )
        except OSError as exc:
            raise OSError(
                exc.errno, f"Management API port {self.host}:{self.management_port}: {exc}"
            ) from exc
        self.management_port = self._management.port
        self._management_thread = threading.Thread(
            target=self._management.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="pulse-ws-management",
            daemon=True,
        )
        self._management_thread.start()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            self._workers, thread_name_prefix="pulse-ws-handler"
        )
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run_loop, args=(loop, ready), name="pulse-ws", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=10)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, OSError):
                raise OSError(exc.errno, f"WebSocket port {self.host}:{self.port}: {exc}") from exc
            raise

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Close every socket with 1001, wait (bounded) until their $disconnect handlers have
        returned, then stop both servers. Safe after a failed or partial start, and twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(timeout)
            except Exception:
                log.warning("the WebSocket gateway did not stop cleanly", exc_info=True)
        self._stopping = True  # Management API calls from now on answer 410
        if self._management is not None:
            self._management.close()
            self._management = None
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _run_loop(
        self, loop: asyncio.AbstractEventLoop, ready: concurrent.futures.Future[None]
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:
                ready.set_exception(exc)
                return
            loop.call_soon(ready.set_result, None)  # once run_forever runs: stop() relies on it
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> None:
        self._server = await serve(
            self._serve,
            self.host,
            self.port,
            process_request=self._process_request,
            process_response=self._process_response,
            compression=None,  # API Gateway negotiates no permessage-deflate
            max_size=(self.limits.message_bytes, self.limits.frame_bytes),
            ping_interval=None,  # API Gateway sends no pings (it answers the client's)
            open_timeout=OPEN_TIMEOUT,
            close_timeout=CLOSE_TIMEOUT,
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close(code=CloseCode.GOING_AWAY, reason="Gateway shutting down")
            await self._server.wait_closed()  # every connection handler, $disconnect included
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- Management API side (any thread but the loop's) -----------------------------------------

    def post(self, connection_id: str, data: bytes) -> Outcome:
        timeout = OPEN_TIMEOUT + self.limits.send_seconds + 1
        return self._call_loop(self._deliver(connection_id, _frame(data)), timeout, GONE)

    def post_many(self, connection_ids: list[str], data: bytes) -> list[Outcome]:
        """post() to each of `connection_ids`, in one hop to the loop: the dev stack's in-process
        sender (devstack/localdelivery.py) instead of one Management API request per recipient."""
        timeout = OPEN_TIMEOUT + self.limits.send_seconds + 1
        deliveries = self._deliver_all(connection_ids, _frame(data))
        return self._call_loop(deliveries, timeout, [GONE] * len(connection_ids))

    def gone_of(self, connection_ids: list[str]) -> list[str]:
        """Those of `connection_ids` a GET @connections would answer 410 for, in one hop."""
        return self._call_loop(self._gone_of(connection_ids), 5.0, list(connection_ids))

    def info(self, connection_id: str) -> ConnectionInfo | None:
        return self._call_loop(self._info(connection_id), 5.0, None)

    def delete(self, connection_id: str) -> Outcome:
        return self._call_loop(self._delete(connection_id), 5.0, GONE)

    def _call_loop(self, coroutine: Coroutine[Any, Any, T], timeout: float, stopped: T) -> T:
        loop = self._loop
        if self._stopping or loop is None or loop.is_closed() or not loop.is_running():
            coroutine.close()
            return stopped
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("the gateway's own thread cannot wait on its loop")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    async def _deliver_all(self, connection_ids: list[str], message: str | bytes) -> list[Outcome]:
        return list(await asyncio.gather(*(self._deliver(i, message) for i in connection_ids)))

    async def _gone_of(self, connection_ids: list[str]) -> list[str]:
        return [i for i in connection_ids if await self._info(i) is None]

    async def _deliver(self, connection_id: str, message: str | bytes) -> Outcome:
        conn = self._live.get(connection_id)
        if conn is None or conn.closing or not await self._opened(conn) or conn.closing:
            return GONE
        try:
            async with asyncio.timeout(self.limits.send_seconds):
                await conn.socket.send(message)
        except ConnectionClosed:
            return GONE
        except TimeoutError:
            return BUSY
        conn.touch()
        return OK

    async def _info(self, connection_id: str) -> ConnectionInfo | None:
        conn = self._live.get(connection_id)
        if conn is None or conn.closing:
            return None
        return ConnectionInfo(
            conn.connected_at, conn.last_active_at, conn.source_ip, conn.user_agent
        )

    async def _delete(self, connection_id: str) -> Outcome:
        """Starts the close and answers at once: the $disconnect follows on its own, as after
        API Gateway's DeleteConnection (a handler deleting its own connection must not wait)."""
        conn = self._live.get(connection_id)
        if conn is None or conn.closing:
            return GONE
        conn.closing = True
        self._spawn(self._close(conn, CloseCode.NORMAL_CLOSURE, "Connection deleted"))
        return OK

    async def _close(self, conn: _Connection, code: int, reason: str) -> None:
        if await self._opened(conn):
            await conn.socket.close(code, reason)

    async def _opened(self, conn: _Connection) -> bool:
        if conn.ready.done():  # the usual case: no shield, no timer
            return conn.ready.result()
        try:
            return await asyncio.wait_for(asyncio.shield(conn.ready), OPEN_TIMEOUT)
        except TimeoutError:
            return False

    # -- the WebSocket side (the loop) -----------------------------------------------------------

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        if len(request.path) > self.limits.url_chars:
            return _http_response(
                414,
                f"The connect URL is {len(request.path)} characters; the limit is "
                f"{self.limits.url_chars} (path and query string)\n",
            )
        path = urlsplit(request.path).path.rstrip("/")
        if path not in ("", f"/{self.stage}"):
            return _http_response(403, json.dumps({"message": "Forbidden"}))
        return None

    async def _process_response(
        self, ws: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        if response.status_code != 101:  # not a valid WebSocket handshake: websockets answers
            return None
        conn = self._new_connection(ws, request)
        event = self._connect_event(conn, request)
        loop = asyncio.get_running_loop()
        invocation = loop.create_task(self._invoke("$connect", self._connect, event, conn))
        try:
            ok, result = await asyncio.shield(invocation)
        except asyncio.CancelledError:  # the handshake timed out while $connect ran
            invocation.add_done_callback(lambda done: self._connect_abandoned(conn, done))
            raise
        status, body, headers = _connect_outcome(ok, result)
        if status != 200:
            return _http_response(status, body, headers)
        self._live[conn.id] = conn
        self._by_socket[ws] = conn
        self._spawn(self._watch_opening(conn))
        return None

    def _new_connection(self, ws: ServerConnection, request: Request) -> _Connection:
        connection_id = self._connection_ids()
        while connection_id in self._live:
            connection_id = self._connection_ids()
        peer = ws.remote_address
        now, mono = time.time(), time.monotonic()
        conn = _Connection(
            id=connection_id,
            socket=ws,
            headers=list(request.headers.raw_items()),
            source_ip=str(peer[0]) if peer else "",
            user_agent=request.headers.get("User-Agent", ""),
            connected_at=now,
            connected_mono=mono,
        )
        conn.touch()
        return conn

    def _connect_abandoned(self, conn: _Connection, invocation: asyncio.Task[Any]) -> None:
        if invocation.cancelled() or invocation.exception() is not None:
            return
        ok, result = invocation.result()
        if _connect_outcome(ok, result)[0] == 200:  # the app stored a connection that never was
            conn.ready.set_result(False)
            self._spawn(self._finish(conn))

    async def _watch_opening(self, conn: _Connection) -> None:
        """A connection $connect accepted but whose 101 was never sent (the client left during
        $connect, or the gateway is stopping) still gets its $disconnect."""
        closed: asyncio.Future[Any] = asyncio.ensure_future(conn.socket.wait_closed())
        ready: asyncio.Future[Any] = conn.ready
        try:
            await asyncio.wait([ready, closed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not conn.ready.done():
            conn.ready.set_result(False)
            await self._finish(conn)

    async def _serve(self, ws: ServerConnection) -> None:
        """The life of an accepted connection, from the 101 to its $disconnect."""
        conn = self._by_socket.get(ws)
        if conn is None or conn.ready.done():
            await ws.close(CloseCode.INTERNAL_ERROR, "Unknown connection")
            return
        conn.ready.set_result(True)
        try:
            await self._read(conn)
        finally:
            await self._finish(conn)

    async def _read(self, conn: _Connection) -> None:
        ws = conn.socket
        while True:
            now = time.monotonic()
            idle_at = conn.last_active_mono + self.limits.idle_seconds
            cap_at = conn.connected_mono + self.limits.max_seconds
            if now >= min(idle_at, cap_at):
                conn.closing = True
                reason = "Idle timeout" if idle_at < cap_at else "Connection duration limit"
                await ws.close(CloseCode.GOING_AWAY, f"Going away: {reason}")
                return
            try:
                async with asyncio.timeout(min(idle_at, cap_at) - now):
                    data = await ws.recv()
            except TimeoutError:
                continue  # a push may have kept it active: the deadlines are checked again
            except ConnectionClosed:
                return
            conn.touch()
            if isinstance(data, str):
                body, encoded = data, False
            else:
                body, encoded = base64.b64encode(data).decode("ascii"), True
            event = {
                "requestContext": self._context(
                    conn, "$default", "MESSAGE", messageId=new_connection_id()
                ),
                "body": body,
                "isBase64Encoded": encoded,
            }
            await self._invoke("$default", self._message, event, conn)  # its body is dropped

    async def _finish(self, conn: _Connection) -> None:
        """Forget the connection, then run $disconnect: once, after the socket is closed."""
        if conn.finished:
            return
        conn.finished = True
        conn.closing = True
        self._live.pop(conn.id, None)
        self._by_socket.pop(conn.socket, None)
        ws = conn.socket
        if ws.state is State.OPEN:  # only when reading failed unexpectedly
            await ws.close(CloseCode.INTERNAL_ERROR, "Internal error")
        await ws.wait_closed()
        code, reason = _disconnect_status(ws)
        host = dict(conn.headers).get("Host", "")
        event = {
            "requestContext": self._context(
                conn,
                "$disconnect",
                "DISCONNECT",
                disconnectStatusCode=code,
                disconnectReason=reason,
            ),
            "headers": {"Host": host, "X-Forwarded-For": conn.source_ip},
            "multiValueHeaders": {"Host": [host], "X-Forwarded-For": [conn.source_ip]},
            "isBase64Encoded": False,
        }
        await self._invoke("$disconnect", self._disconnect, event, conn)

    async def _invoke(
        self, route: str, handler: Handler, event: dict[str, Any], conn: _Connection
    ) -> tuple[bool, Any]:
        """(True, result) or (False, None) when the handler raised (logged, as Lambda would)."""
        request_id = event["requestContext"]["requestId"]
        started = time.monotonic()
        context = LambdaContext(aws_request_id=request_id, deadline=started + INTEGRATION_SECONDS)
        loop = asyncio.get_running_loop()
        extra = {"routeKey": route, "connectionId": conn.id, "requestId": request_id}
        try:
            result = await loop.run_in_executor(self._executor, handler, event, context)
        except Exception:
            log.exception("the %s handler raised", route, extra=extra)
            return False, None
        finally:
            elapsed = time.monotonic() - started
            if elapsed > INTEGRATION_SECONDS:
                log.warning(
                    "the %s handler took %.1f s; API Gateway gives up after %.0f s",
                    route,
                    elapsed,
                    INTEGRATION_SECONDS,
                    extra=extra,
                )
        return True, result

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events ---------------------------------------------------------------------------------

    def _context(
        self, conn: _Connection, route: str, event_type: str, **extra: Any
    ) -> dict[str, Any]:
        now = time.time()
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": int(conn.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": request_id,
            "domainName": self.domain_name,
            "connectionId": conn.id,
            "apiId": API_ID,
        }
        context.update(extra)
        return context

    def _connect_event(self, conn: _Connection, request: Request) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in conn.headers:
            multi_headers.setdefault(name, []).append(value)
        for name, value in (
            ("X-Forwarded-For", conn.source_ip),
            ("X-Forwarded-Port", str(self.port)),
            ("X-Forwarded-Proto", "http"),
        ):
            multi_headers.setdefault(name, [value])
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(urlsplit(request.path).query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        return {
            "requestContext": self._context(conn, "$connect", "CONNECT"),
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": (
                {name: values[-1] for name, values in multi_query.items()} if multi_query else None
            ),
            "multiValueQueryStringParameters": multi_query or None,
            "isBase64Encoded": False,
        }


def _frame(data: bytes) -> str | bytes:
    """A pushed payload as API Gateway sends it: a text frame when it is UTF-8, else binary."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _connect_outcome(ok: bool, result: Any) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers) of what the $connect handler returned."""
    internal: tuple[int, str, dict[str, str]] = (
        500,
        json.dumps({"message": "Internal server error"}),
        {},
    )
    if not ok:
        return internal
    if not isinstance(result, Mapping):
        log.error("the $connect handler returned %r, not a dict with statusCode", type(result))
        return internal
    try:
        status = int(result.get("statusCode", 0))
    except (TypeError, ValueError):
        status = 0
    if not 200 <= status <= 599:
        log.error("the $connect handler returned statusCode %r", result.get("statusCode"))
        return internal
    body = result.get("body")
    if body is None:
        text = ""
    elif isinstance(body, str):
        text = body
    else:
        text = json.dumps(body)
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    return status, text, headers


def _http_response(status: int, body: str, headers: Mapping[str, str] | None = None) -> Response:
    """A refused handshake: `status` with `body` (and the handler's headers)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    data = body.encode()
    response_headers = Headers()
    skip = {"connection", "content-length", "transfer-encoding", "date"}
    for name, value in (headers or {}).items():
        if name.lower() not in skip:
            response_headers[name] = value
    if "Content-Type" not in response_headers:
        looks_json = body.lstrip().startswith(("{", "["))
        response_headers["Content-Type"] = (
            "application/json" if looks_json else "text/plain; charset=utf-8"
        )
    response_headers["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    response_headers["Connection"] = "close"
    response_headers["Content-Length"] = str(len(data))
    return Response(status, phrase, response_headers, data)


def _disconnect_status(ws: ServerConnection) -> tuple[int, str]:
    """The close frame that ended the connection: the client's when it closed first, the
    gateway's when it did; 1006 when the TCP connection just dropped."""
    protocol = ws.protocol
    received, sent = protocol.close_rcvd, protocol.close_sent
    frame = (
        received
        if received is not None and (protocol.close_rcvd_then_sent or sent is None)
        else sent
    )
    if frame is None:
        return int(CloseCode.ABNORMAL_CLOSURE), "Connection closed abnormally"
    return int(frame.code), frame.reason
