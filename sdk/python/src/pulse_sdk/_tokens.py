"""The cache of minted tokens: one per (user, mint parameters), reused until shortly before it
expires, so a backend that mints on every page view makes one mint per user per token lifetime."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .types import MintedToken

# A cached token is handed out only while it has at least this long to live: enough for the
# browser to receive it and connect (the connection outlives the token; a reconnect mints anew).
DEFAULT_REFRESH_MARGIN = 60.0
MAX_ENTRIES = 10_000


def expires_at(token: MintedToken) -> float:
    """`expiresAt` (RFC 3339, `Z`) as Unix seconds; Python 3.10's fromisoformat wants +00:00."""
    return datetime.fromisoformat(token["expiresAt"].replace("Z", "+00:00")).timestamp()


def cache_key(body: dict[str, Any]) -> str:
    """The mint's parameters, canonical (a dict's order does not make another token)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class TokenCache:
    """Thread-safe; its operations never wait on the network, so async clients share it too."""

    def __init__(
        self, margin: float = DEFAULT_REFRESH_MARGIN, clock: Callable[[], float] = time.time
    ) -> None:
        self.margin = margin
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, MintedToken]] = {}

    def get(self, key: str) -> MintedToken | None:
        with self._lock:
            entry = self._tokens.get(key)
            if entry is None:
                return None
            if self.clock() >= entry[0] - self.margin:
                del self._tokens[key]
                return None
            return entry[1]

    def put(self, key: str, token: MintedToken) -> None:
        with self._lock:
            if len(self._tokens) >= MAX_ENTRIES:
                now = self.clock()
                self._tokens = {k: v for k, v in self._tokens.items() if v[0] - self.margin > now}
                if len(self._tokens) >= MAX_ENTRIES:
                    self._tokens.clear()
            self._tokens[key] = (expires_at(token), token)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
