"""Usage per key: requests, token mints and refusals of each key of an environment, per day for
the last 30 days, summed from the counters the request path writes anyway (no write of its own).

A request's rate count is one item per second in its environment's partition of the day
(`rest:<keyId>`, `mint:<keyId>`); a wrong key is one failure count per key id and minute in the
environment's partition of the day for key failures. One Query per partition and day: 60 in all,
on this admin read only."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..clock import Clock
from .limits import USAGE_DAYS, day_of, key_failure_counter, request_counter
from .ports import CounterStore

DAY = 86400


@dataclass
class KeyDays:
    """One key's counts, one entry per day of the window (oldest first)."""

    key_id: str
    requests: list[int] = field(default_factory=list)  # REST API v1 calls
    mints: list[int] = field(default_factory=list)  # POST /auth/token
    refusals: list[int] = field(default_factory=list)  # wrong keys carrying its id


@dataclass(frozen=True)
class Usage:
    days: list[str]
    keys: list[KeyDays]


class UsageService:
    def __init__(self, clock: Clock, counters: CounterStore) -> None:
        self.clock = clock
        self.counters = counters

    def by_key(self, env_id: str) -> Usage:
        """Every key with any count in the last 30 days (today included), by key id."""
        now = self.clock.now()
        days = [day_of(now - (USAGE_DAYS - 1 - i) * DAY) for i in range(USAGE_DAYS)]
        keys: dict[str, KeyDays] = {}

        def slot(key_id: str) -> KeyDays:
            if key_id not in keys:
                zeros = [0] * len(days)
                keys[key_id] = KeyDays(key_id, list(zeros), list(zeros), list(zeros))
            return keys[key_id]

        for i, day in enumerate(days):
            for _, counts in self.counters.day_totals(request_counter(env_id, day)):
                for name, n in counts.items():
                    scope, _, key_id = name.partition(":")
                    if key_id and scope == "rest":
                        slot(key_id).requests[i] += n
                    elif key_id and scope == "mint":
                        slot(key_id).mints[i] += n
            for sk, counts in self.counters.day_totals(key_failure_counter(env_id, day)):
                key_id = sk.split("#")[1] if sk.count("#") == 2 else ""
                if key_id:
                    slot(key_id).refusals[i] += counts.get("n", 0)
        return Usage(days=days, keys=[keys[k] for k in sorted(keys)])
