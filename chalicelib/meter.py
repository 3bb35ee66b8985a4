"""What one invocation used, per environment, counted in memory while it runs: the usage
counters (services/metering.py writes them once, when the invocation ends).

An invocation is one Lambda run (a REST request, a WebSocket event, a stream batch, a queue
message, a schedule) or, locally, one request of the dev server's threads: the meter in use is a
context variable, so concurrent requests in threads never count into each other's. Outside an
invocation (tests calling services directly, scripts) counting does nothing."""

from __future__ import annotations

import contextvars
import time
from collections import Counter
from dataclasses import dataclass, field

# API Gateway meters WebSocket messages in 32 KB increments.
MESSAGE_UNIT_BYTES = 32 * 1024


def units(size: int) -> int:
    """API Gateway's metered messages for one message of `size` bytes (at least one)."""
    return max(1, -(-size // MESSAGE_UNIT_BYTES))


@dataclass
class Meter:
    """One invocation's counts by environment, and the DynamoDB capacity it consumed."""

    started: float = field(default_factory=time.perf_counter)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    rooms: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)  # (env, room)
    read_units: float = 0.0
    write_units: float = 0.0

    def count(self, env_id: str, name: str, n: int = 1) -> None:
        if n:
            self.counts.setdefault(env_id, Counter())[name] += n

    def count_room(self, env_id: str, room_id: str, name: str) -> None:
        self.rooms.setdefault((env_id, room_id), Counter())[name] += 1

    def consumed(self, read_units: float, write_units: float) -> None:
        self.read_units += read_units
        self.write_units += write_units

    def elapsed_ms(self) -> int:
        return max(1, round((time.perf_counter() - self.started) * 1000))


_current: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("meter", default=None)


def begin() -> tuple[Meter, contextvars.Token[Meter | None]]:
    meter = Meter()
    return meter, _current.set(meter)


def end(token: contextvars.Token[Meter | None]) -> None:
    _current.reset(token)


def count(env_id: str, name: str, n: int = 1) -> None:
    """Count into the running invocation's meter (nothing outside an invocation)."""
    meter = _current.get()
    if meter is not None:
        meter.count(env_id, name, n)


def count_room(env_id: str, room_id: str, name: str) -> None:
    """Count one of a room's `connections` or `comments` (its busiest-rooms standing)."""
    meter = _current.get()
    if meter is not None:
        meter.count_room(env_id, room_id, name)


def consumed(read_units: float, write_units: float) -> None:
    meter = _current.get()
    if meter is not None:
        meter.consumed(read_units, write_units)
