"""Real WebSocket clients (the `websockets` package) for the end-to-end realtime tests.

Every wait is bounded. A `Client` keeps frames it was not waiting for in a backlog, so a test
can expect events in any order and then check, with a ping/pong round trip as a barrier, that
nothing else arrived: the gateway runs one connection's messages one at a time and in order,
and each handler pushes before it returns, so once the pong to a ping sent after a message has
arrived, every frame that message caused has been sent."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

WAIT = 5.0  # seconds for any one expected frame, close or handshake
TEST_SECONDS = 40.0  # a whole test's coroutine, as a last resort against a hang

T = TypeVar("T")
_request_ids = itertools.count(1)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one test's coroutine on a fresh event loop, bounded."""

    async def bounded() -> T:
        return await asyncio.wait_for(main(), TEST_SECONDS)

    return asyncio.run(bounded())


def ws_url(base: str, api_key: str | None, token: str | None, room: str | None) -> str:
    params = {
        name: value
        for name, value in (("apiKey", api_key), ("token", token), ("room", room))
        if value is not None
    }
    return f"{base}/?{urlencode(params)}"


class Client:
    """One socket, named for assertion messages."""

    def __init__(self, ws: ClientConnection, name: str) -> None:
        self.ws = ws
        self.name = name
        self.backlog: list[dict[str, Any]] = []
        self.id = ""  # the connectionId, once joined
        self.room = ""  # set by Clients.enter
        self.joined: dict[str, Any] = {}  # its room.joined

    def __repr__(self) -> str:
        return f"<Client {self.name} {self.id}>"

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def _recv(self, timeout: float, waiting_for: str) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: no {waiting_for} within {timeout}s; other frames: {self.backlog}"
            ) from None
        except ConnectionClosed as exc:
            raise AssertionError(
                f"{self.name}: closed ({exc}) while waiting for {waiting_for}; "
                f"other frames: {self.backlog}"
            ) from None
        assert isinstance(raw, str), f"{self.name}: a binary frame: {raw!r}"
        frame = json.loads(raw)
        assert isinstance(frame, dict), frame
        return frame

    async def expect(self, type_: str, timeout: float = WAIT, **fields: Any) -> dict[str, Any]:
        """The first frame (backlog first) of `type_` whose `fields` match; others are kept."""

        def matches(frame: dict[str, Any]) -> bool:
            return frame.get("type") == type_ and all(
                frame.get(k, _MISSING) == v for k, v in fields.items()
            )

        for i, frame in enumerate(self.backlog):
            if matches(frame):
                return self.backlog.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        what = f"{type_} {fields}" if fields else type_
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(
                    f"{self.name}: no {what} within {timeout}s; other frames: {self.backlog}"
                )
            frame = await self._recv(left, what)
            if matches(frame):
                return frame
            self.backlog.append(frame)

    async def request(self, message: dict[str, Any], reply: str) -> dict[str, Any]:
        """Send with a fresh requestId; the reply of type `reply` (or `error`) echoing it."""
        request_id = f"r{next(_request_ids)}"
        await self.send({**message, "requestId": request_id})
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"{self.name}: no reply to {message}; other frames: {self.backlog}"
            frame = await self._recv(left, f"{reply} to {request_id}")
            if frame.get("requestId") == request_id and frame.get("type") in (reply, "error"):
                assert frame["type"] == reply, f"{self.name}: {message} -> {frame}"
                return frame
            self.backlog.append(frame)

    async def error(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send, expecting an `error` reply that echoes the requestId."""
        return await self.request(message, "error")

    async def join(self) -> dict[str, Any]:
        joined = await self.request({"type": "join"}, "room.joined")
        self.id = joined["connectionId"]
        self.joined = joined
        return joined

    async def barrier(self) -> None:
        """Wait until everything this client sent so far has been handled (ping -> pong)."""
        await self.request({"type": "ping"}, "pong")

    async def quiet(self) -> None:
        """Nothing arrived beyond what was expected (after a barrier)."""
        await self.barrier()
        assert not self.backlog, f"{self.name}: unexpected frames: {self.backlog}"

    async def closed(self, timeout: float = WAIT) -> int | None:
        """Wait (bounded) until the server closes the socket; the close code it sent."""
        try:
            await asyncio.wait_for(self.ws.wait_closed(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: still open after {timeout}s") from None
        return self.ws.close_code

    async def leftovers(self) -> list[dict[str, Any]]:
        """Once closed: the backlog plus every frame still unread (bounded)."""
        frames = list(self.backlog)
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), WAIT)
            except ConnectionClosed:
                return frames
            frames.append(json.loads(raw))

    async def close(self) -> None:
        await asyncio.wait_for(self.ws.close(), WAIT)


_MISSING = object()


async def open_client(url: str, name: str) -> Client:
    ws = await connect(
        url,
        open_timeout=WAIT,
        close_timeout=2,
        ping_interval=None,  # the tests ping with the protocol's own `ping` when they need to
        max_size=None,
        compression=None,
    )
    return Client(ws, name)


async def refused_status(url: str) -> int:
    """The HTTP status of a refused handshake (fails the test if the handshake succeeds)."""
    try:
        ws = await connect(url, open_timeout=WAIT, close_timeout=2, ping_interval=None)
    except InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    raise AssertionError(f"the handshake was accepted: {url[:120]}...")


async def refusal(url: str) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the JSON body of a refused handshake (the handler's error shape)."""
    try:
        ws = await connect(url, open_timeout=WAIT, close_timeout=2, ping_interval=None)
    except InvalidStatus as exc:
        body = json.loads(exc.response.body or b"{}")
        assert isinstance(body, dict), body
        return exc.response.status_code, body
    await ws.close()
    raise AssertionError(f"the handshake was accepted: {url[:120]}...")


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Blocking HTTP off the event loop, so sockets keep being read meanwhile."""
    return await asyncio.to_thread(call, *args, **kwargs)


class Clients:
    """Every client a test opens; all are closed (bounded) at the end, whatever happened."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opened: list[Client] = []

    async def open(self, name: str, api_key: str, token: str, room: str) -> Client:
        client = await open_client(ws_url(self.base_url, api_key, token, room), name)
        self.opened.append(client)
        return client

    async def enter(self, name: str, api_key: str, token: str, room: str) -> Client:
        """Open and join, one client at a time: every client already in the room (opened here
        and still open) gets its user.joined, so no stray user.joined is left for later."""
        before = [c for c in self.opened if c.room == room and c.id and c.ws.close_code is None]
        client = await self.open(name, api_key, token, room)
        client.room = room
        await client.join()
        for other in before:
            await other.expect("user.joined", connectionId=client.id)
        return client

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(_close_quietly(c) for c in self.opened))


async def _close_quietly(client: Client) -> None:
    try:
        await asyncio.wait_for(client.ws.close(), WAIT)
    except Exception:
        client.ws.transport.abort()


async def gather(*waits: Awaitable[T]) -> list[T]:
    return list(await asyncio.gather(*waits))
