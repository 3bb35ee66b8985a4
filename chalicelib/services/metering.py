"""Usage analytics and the cost estimate: the counters each invocation adds when it ends
(chalicelib/meter.py counts them in memory while it runs), a connection's arrival and departure
(live count, the day's peak, daily/weekly/monthly actives), and what the Admin API reads back.

Every invocation that did something for an environment adds, in one UpdateItem when it ends,
what it counted (connections, messages, pushes, refusals, 429s, webhook attempts, ...), itself
(`invocations`), its duration times its memory (`lambdaMbMs`) and the DynamoDB capacity it
consumed (`readUnitsMilli`, `writeUnitsMilli`, this write included). Counting never fails a
request: a count DynamoDB refuses is logged and lost (docs/analytics.md)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from .. import meter, together
from ..clock import Clock, parse_iso
from ..config import Settings
from ..entities import (
    ActiveUsers,
    Analytics,
    Connection,
    CostEstimate,
    CostLine,
    DailyStats,
    RoomRank,
)
from ..errors import InvalidInput
from .authority import Authority
from .callers import Caller
from .ports import StatsStore, UsageStore
from .pricing import prices_for

log = logging.getLogger("pulse.metering")

PERIODS = (1, 7, 30, 90)  # the days an analytics read may cover
KEEP_SECONDS = 120 * 86400
BUSIEST = 10  # rooms listed by each measure
STANDING = 20  # rooms kept in each day's standing, per measure
MEMORY_MAX = 10_000  # days' standings and peaks remembered per container
STANDING_TRIES = 10  # writers of one day's standing racing each other: each wins or sees more

# The day counters that DailyStats shows as they are (attribute -> field).
DAILY_FIELDS = {
    "activeUsers": "active_users",
    "connections": "connections",
    "peakConnections": "peak_connections",
    "messagesIn": "messages_in",
    "pushesOut": "pushes_out",
    "webhookDeliveries": "webhook_deliveries",
    "webhookFailures": "webhook_failures",
}
# A user's first connection of a period (its seen mark moved) counts among the period's actives.
ACTIVE = {"seenDay": "activeUsers", "seenWeek": "weekActive", "seenMonth": "monthActive"}
REFUSED = "refused:"
LIMITED = "limited:"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class _Window:
    first: date
    last: date

    def days(self) -> Iterator[str]:
        for offset in range((self.last - self.first).days + 1):
            yield (self.first + timedelta(days=offset)).isoformat()


class Metering:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        authority: Authority,
        *,
        usage: UsageStore,
        stats: StatsStore,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.authority = authority
        self.usage = usage
        self.stats = stats
        # Read once: a malformed PULSE_PRICES stops the container at start (ConfigError).
        self.prices = prices_for(settings.region, settings.price_overrides)
        # Per container, remembered to save calls (bounded): each day's standing as last seen,
        # its last place by measure, and the peak of live connections known for the day.
        self._standings: dict[tuple[str, str], tuple[dict[str, dict[str, int]], int]] = {}
        self._floor: dict[tuple[str, str, str], int] = {}
        self._peaks: dict[tuple[str, str], int] = {}

    # --- counting ----------------------------------------------------------------------------

    def flush(self, running: meter.Meter) -> None:
        """Write what an invocation counted (runtime.metered calls this when it ends), in two
        rounds of calls made at once: first those whose answers the counts need (arrivals'
        seen marks, a rise of the live count, the rooms' counters), then the day's counters
        with the peaks and standings those answers raised (and a fall of the live count)."""
        if running.idle():
            return
        now = self.clock.now()
        today = date.fromisoformat(self.clock.today())
        day = today.isoformat()
        expires = int(now) + KEEP_SECONDS
        counts = {env: Counter(c) for env, c in running.counts.items()}
        periods = {"seenDay": day, "seenWeek": iso_week(today), "seenMonth": day[:7]}
        arrivals, rooms = running.arrivals, list(running.rooms.items())
        # A rise of the live count may be a new peak: its answer is needed; a fall's is not.
        lives = [(env_id, delta) for env_id, delta in running.live.items() if delta > 0]
        falls = [(env_id, delta) for env_id, delta in running.live.items() if delta < 0]
        calls: list[Callable[[], Any]] = [
            *(partial(self.usage.seen, env, user, periods) for env, user in arrivals),
            *(partial(self.usage.live, env, delta) for env, delta in lives),
            *(partial(self.usage.add_room, e, day, r, dict(k), expires) for (e, r), k in rooms),
        ]
        first = together.run(calls)
        seen, live, room_counts = _split(first, len(arrivals), len(lives))
        for (env_id, _), marks in zip(arrivals, seen, strict=True):
            if isinstance(marks, dict):
                for mark, name in ACTIVE.items():
                    counts.setdefault(env_id, Counter())[name] += int(marks[mark])
            elif marks is not None:
                log.error("connection not counted", exc_info=marks)
        peaks = []
        for (env_id, _), value in zip(lives, live, strict=True):
            if isinstance(value, BaseException):
                log.error("live connections not counted", exc_info=value)
            elif value > self._peaks.get((env_id, day), 0):  # a day's peak only rises
                peaks.append((env_id, value))
        offers = []
        for ((env_id, room_id), _), got in zip(rooms, room_counts, strict=True):
            if isinstance(got, BaseException):
                log.error("room usage not counted", exc_info=got)
            else:
                offers += [(env_id, kind, room_id, n) for kind, n in got.items()]
        envs = sorted(counts) or sorted({env for env, _ in running.rooms})
        # The day's counters carry this flush's own writes (one each, at the least).
        writes = len(first) + len(envs) + len(peaks) + len(falls)
        elapsed = running.elapsed_ms()
        second: list[Callable[[], Any]] = []
        for env_id in envs:
            c = counts.setdefault(env_id, Counter())
            if running.invocation:
                c["invocations"] += 1
                c["lambdaMbMs"] += round(elapsed * self.settings.lambda_memory_mb / len(envs))
            c["readUnitsMilli"] += round(running.read_units * 1000 / len(envs))
            c["writeUnitsMilli"] += round((running.write_units + writes) * 1000 / len(envs))
            second.append(partial(self.usage.add, env_id, day, dict(c), expires))
        second += [partial(self._raise_peak, env_id, day, v, expires) for env_id, v in peaks]
        second += [partial(self.usage.live, env_id, delta) for env_id, delta in falls]
        if offers:
            second.append(partial(self._offer_all, day, offers, expires))
        for outcome in together.run(second):
            if isinstance(outcome, BaseException):
                log.error("usage not counted", exc_info=outcome)

    def _raise_peak(self, env_id: str, day: str, value: int, expires: int) -> None:
        self.usage.raise_peak(env_id, day, value, expires)
        self._remember(self._peaks, (env_id, day), value)  # the peak is at least this now

    def _offer_all(self, day: str, offers: list[tuple[str, str, str, int]], ttl: int) -> None:
        """One after the other: offers to one day's standing would race each other."""
        for env_id, kind, room_id, count in offers:
            self._offer(env_id, day, kind, room_id, count, ttl)

    def _offer(self, env_id: str, day: str, kind: str, room_id: str, count: int, ttl: int) -> None:
        """Put the room's new count in the day's standing if it belongs there. The standing last
        seen is kept here: a write goes straight to it, conditioned on its version, and only a
        lost race reads it again. A room past the standing's last place is skipped without a
        call (a count only grows within a day, so a remembered last place is never too high)."""
        key = (env_id, day)
        floor = self._floor.get((env_id, day, kind), 0)
        if count <= floor:
            return
        known = self._standings.get(key)
        for attempt in range(STANDING_TRIES):
            if known is None or attempt:
                known = self.usage.standing(env_id, day)
            top, version = known
            ranks = dict(top.get(kind, {}))
            if ranks.get(room_id, 0) >= count:
                return
            ranks[room_id] = count
            kept = dict(sorted(ranks.items(), key=lambda kv: (-kv[1], kv[0]))[:STANDING])
            if len(kept) >= STANDING:
                self._floor[(env_id, day, kind)] = min(kept.values())
            if room_id not in kept:
                return
            changed = {**top, kind: kept}
            if self.usage.save_standing(env_id, day, changed, version, ttl):
                self._remember(self._standings, key, (changed, version + 1))
                return
        log.warning("busiest rooms not updated (kept changing)", extra={"kind": kind})

    def _remember(self, memory: dict[Any, Any], key: Any, value: Any) -> None:
        """Keep `value` in one of the container's memories, forgetting them all when full."""
        if len(memory) >= MEMORY_MAX:
            self._standings.clear()
            self._floor.clear()
            self._peaks.clear()
        memory[key] = value

    def connected(self, c: Connection) -> None:
        """A connection was admitted: count it, its user's first connection of the day, week
        and month, and the environment's live connections (raising the day's peak): the last
        three are written when the invocation ends (`flush`)."""
        meter.count(c.env_id, "connections")
        meter.count_room(c.env_id, c.room_id, "connections")
        if not meter.arrive(c.env_id, c.user_id):
            alone = meter.Meter(invocation=False)
            alone.arrive(c.env_id, c.user_id)
            self._outside(alone)

    def disconnected(self, removed: Sequence[Connection]) -> None:
        """Connections were removed (each once): the live count down, their minutes counted."""
        now = self.clock.now()
        by_env: Counter[str] = Counter(c.env_id for c in removed)
        for c in removed:
            seconds = max(0, round(now - parse_iso(c.connected_at)))
            meter.count(c.env_id, "connectionSeconds", seconds)
        for env_id, n in by_env.items():
            if not meter.depart(env_id, n):
                alone = meter.Meter(invocation=False)
                alone.depart(env_id, n)
                self._outside(alone)

    def _outside(self, alone: meter.Meter) -> None:
        """Outside an invocation (a script, a test calling a service): written at once, not
        counted as an invocation."""
        try:
            self.flush(alone)
        except Exception:
            log.exception("usage not counted")

    # --- reading -----------------------------------------------------------------------------

    def analytics(self, caller: Caller, days: int) -> Analytics:
        """The environment's totals, its last `days` days (1, 7, 30 or 90) day by day, its
        active users of today, this week and this month, and its busiest rooms of the period."""
        if days not in PERIODS:
            raise InvalidInput("days", f"must be one of {', '.join(map(str, PERIODS))}")
        self.authority.load(caller)
        today = date.fromisoformat(self.clock.today())
        window = _Window(today - timedelta(days=days - 1), today)
        week_start = today - timedelta(days=today.weekday())
        month_start = today.replace(day=1)
        read_from = min(window.first, week_start, month_start)
        counts = self.usage.days(caller.env_id, read_from.isoformat(), today.isoformat())
        totals, comments = self.stats.totals_and_comments(
            caller.env_id, window.first.isoformat(), today.isoformat()
        )
        daily = [self._day(d, counts.get(d, {}), comments.get(d, 0)) for d in window.days()]

        def since(start: date, name: str) -> int:
            return sum(counts.get(d, {}).get(name, 0) for d in _Window(start, today).days())

        active = ActiveUsers(
            day=counts.get(today.isoformat(), {}).get("activeUsers", 0),
            week=since(week_start, "weekActive"),
            month=since(month_start, "monthActive"),
        )
        standings = self.usage.standings(caller.env_id, window.first.isoformat(), today.isoformat())
        return Analytics(
            rooms=totals["rooms"],
            threads=totals["threads"],
            comments=totals["comments"],
            users=totals["users"],
            days=days,
            active_users=active,
            daily=daily,
            busiest_by_connections=_busiest(standings, "connections"),
            busiest_by_comments=_busiest(standings, "comments"),
        )

    @staticmethod
    def _day(day: str, counts: dict[str, int], comments: int) -> DailyStats:
        fields: dict[str, Any] = {f: counts.get(name, 0) for name, f in DAILY_FIELDS.items()}
        return DailyStats(
            date=day,
            comments=comments,
            refused=_prefixed(counts, REFUSED),
            rate_limited=_prefixed(counts, LIMITED),
            **fields,
        )

    def cost(self, caller: Caller, days: int) -> CostEstimate:
        """What the environment's use of the last `days` days costs at the region's unit prices
        (pricing.py, or PULSE_PRICES), line by line, and the same rate over 30 days."""
        if days not in PERIODS:
            raise InvalidInput("days", f"must be one of {', '.join(map(str, PERIODS))}")
        self.authority.load(caller)
        today = date.fromisoformat(self.clock.today())
        window = _Window(today - timedelta(days=days - 1), today)
        counts = self.usage.days(caller.env_id, window.first.isoformat(), today.isoformat())
        used: Counter[str] = Counter()
        for day_counts in counts.values():
            used.update(day_counts)
        return estimate(used, self.prices, window, days)


def estimate(
    used: Counter[str], prices: Any, window: _Window | None = None, days: int = 30
) -> CostEstimate:
    """The cost of `used` (summed day counters) at `prices` (a Prices)."""
    quantities = [
        (
            "API Gateway WebSocket messages",
            used["messageUnitsIn"] + used["pushUnitsOut"],
            "messages (32 KB)",
            prices.websocket_message,
        ),
        (
            "API Gateway WebSocket connection minutes",
            used["connectionSeconds"] / 60,
            "minutes",
            prices.websocket_minute,
        ),
        ("API Gateway REST requests", used["restRequests"], "requests", prices.rest_request),
        ("Lambda requests", used["invocations"], "requests", prices.lambda_request),
        (
            "Lambda compute",
            used["lambdaMbMs"] / 1024 / 1000,
            "GB-seconds",
            prices.lambda_gb_second,
        ),
        (
            "DynamoDB reads",
            used["readUnitsMilli"] / 1000,
            "read request units",
            prices.dynamodb_read,
        ),
        (
            "DynamoDB writes",
            used["writeUnitsMilli"] / 1000,
            "write request units",
            prices.dynamodb_write,
        ),
        (
            "S3 storage of files uploaded",
            used["attachmentBytes"] / 2**30,
            "GB-months",
            prices.s3_gb_month,
        ),
    ]
    lines = [
        CostLine(name, round(q, 6), unit, price, round(q * price, 10))
        for name, q, unit, price in quantities
    ]
    total = round(sum(line.cost for line in lines), 10)
    first = window.first.isoformat() if window else ""
    last = window.last.isoformat() if window else ""
    return CostEstimate(
        region=prices.region,
        currency="USD",
        days=days,
        first_day=first,
        last_day=last,
        total=total,
        monthly=round(total * 30 / days, 10),
        lines=lines,
    )


def _prefixed(counts: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in sorted(counts.items()) if k.startswith(prefix) and v}


def _busiest(standings: dict[str, dict[str, dict[str, int]]], kind: str) -> list[RoomRank]:
    """The period's busiest rooms: each room's counts summed over the days it was in that day's
    standing (exact for every room that was in the top of each day it was busy)."""
    sums: Counter[str] = Counter()
    for top in standings.values():
        sums.update(top.get(kind, {}))
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:BUSIEST]
    return [RoomRank(room_id, count) for room_id, count in ranked]


def _split(answers: list[Any], *sizes: int) -> list[list[Any]]:
    """`answers` cut into consecutive runs of `sizes`, and the rest."""
    runs, start = [], 0
    for size in sizes:
        runs.append(answers[start : start + size])
        start += size
    return [*runs, answers[start:]]
