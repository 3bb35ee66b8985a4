"""`Pulse` and `AsyncPulse`: the clients, holding an httpx client, the retry policy, the token
cache and one attribute per resource."""

from __future__ import annotations

from types import TracebackType

import httpx

from . import _async_resources as a
from . import _resources as r
from ._tokens import DEFAULT_REFRESH_MARGIN, TokenCache
from ._transport import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncTransport,
    SyncTransport,
    client_options,
)


class Pulse:
    """The REST API v1 with the environment's secret key (backend only: never in a browser).

    `http_client`: your own httpx.Client (proxies, event hooks, transports); the SDK then sets
    only its auth and base URL per call and does not close it."""

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        token_refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        http_client: httpx.Client | None = None,
    ) -> None:
        options = client_options(secret_key, base_url, timeout)
        self._owns_http = http_client is None
        if http_client is None:
            http_client = httpx.Client(**options)
        else:
            http_client.base_url = httpx.URL(options["base_url"])
            http_client.headers.update(options["headers"])
        self._http = http_client
        transport = SyncTransport(http_client, max_retries)
        self.token_cache = TokenCache(token_refresh_margin)
        self.tokens = r.Tokens(transport, self.token_cache)
        self.rooms = r.Rooms(transport)
        self.threads = r.Threads(transport)
        self.comments = r.Comments(transport)
        self.reactions = r.Reactions(transport)
        self.attachments = r.Attachments(transport)
        self.events = r.Events(transport)
        self.users = r.Users(transport)
        self.inbox = r.Inbox(transport)
        self.notification_settings = r.Settings(transport)
        self.broadcast = r.Broadcast(transport)
        self.active_users = r.ActiveUsers(transport)
        self.openapi = r.OpenApi(transport)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Pulse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncPulse:
    """`Pulse` for asyncio: the same resources, each method awaited, `list_all` with
    `async for`."""

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        token_refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        options = client_options(secret_key, base_url, timeout)
        self._owns_http = http_client is None
        if http_client is None:
            http_client = httpx.AsyncClient(**options)
        else:
            http_client.base_url = httpx.URL(options["base_url"])
            http_client.headers.update(options["headers"])
        self._http = http_client
        transport = AsyncTransport(http_client, max_retries)
        self.token_cache = TokenCache(token_refresh_margin)
        self.tokens = a.AsyncTokens(transport, self.token_cache)
        self.rooms = a.AsyncRooms(transport)
        self.threads = a.AsyncThreads(transport)
        self.comments = a.AsyncComments(transport)
        self.reactions = a.AsyncReactions(transport)
        self.attachments = a.AsyncAttachments(transport)
        self.events = a.AsyncEvents(transport)
        self.users = a.AsyncUsers(transport)
        self.inbox = a.AsyncInbox(transport)
        self.notification_settings = a.AsyncSettings(transport)
        self.broadcast = a.AsyncBroadcast(transport)
        self.active_users = a.AsyncActiveUsers(transport)
        self.openapi = a.AsyncOpenApi(transport)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPulse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
