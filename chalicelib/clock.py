"""Injectable time: services ask a Clock, tests hand them a FrozenClock."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso(epoch_seconds: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2026-11-25T04:48:22.123Z (sorts as text)."""
    dt = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


class Clock:
    def now(self) -> float:
        return time.time()

    def now_iso(self) -> str:
        return iso(self.now())

    def today(self) -> str:
        return self.now_iso()[:10]


class FrozenClock(Clock):
    def __init__(self, start: float) -> None:
        self.current = start

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds
