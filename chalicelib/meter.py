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
    invocation: bool = True  # False: counts made outside one (a script), written at once
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    rooms: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)  # (env, room)
    # Connections admitted (env, user) and the live count's change per environment: the writes
    # they need are made when the invocation ends, at once with its counters.
    arrivals: list[tuple[str, str]] = field(default_factory=list)
    live: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0

    def count(self, env_id: str, name: str, n: int = 1) -> None:
        if n:
            self.counts.setdefault(env_id, Counter())[name] += n

    def count_room(self, env_id: str, room_id: str, name: str) -> None:
        self.rooms.setdefault((env_id, room_id), Counter())[name] += 1

    def arrive(self, env_id: str, user_id: str) -> None:
        self.arrivals.append((env_id, user_id))
        self.live[env_id] += 1

    def depart(self, env_id: str, n: int) -> None:
        self.live[env_id] -= n

    def consumed(self, read_units: float, write_units: float) -> None:
        self.read_units += read_units
        self.write_units += write_units

    def idle(self) -> bool:
        """Nothing counted: nothing to write."""
        return not (self.counts or self.rooms or self.arrivals or any(self.live.values()))

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


def arrive(env_id: str, user_id: str) -> bool:
    """A connection of `user_id` was admitted (its seen marks and the live count are written when
    the invocation ends); False outside an invocation."""
    meter = _current.get()
    if meter is None:
        return False
    meter.arrive(env_id, user_id)
    return True


def depart(env_id: str, n: int) -> bool:
    """`n` connections were removed (the live count lowered when the invocation ends); False
    outside an invocation."""
    meter = _current.get()
    if meter is None:
        return False
    meter.depart(env_id, n)
    return True


def consumed(read_units: float, write_units: float) -> None:
    meter = _current.get()
    if meter is not None:
        meter.consumed(read_units, write_units)
