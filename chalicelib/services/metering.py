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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .. import meter
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
        """Write what an invocation counted (runtime.metered calls this when it ends)."""
        if not running.counts and not running.rooms:
            return
        now = self.clock.now()
        day = self.clock.today()
        expires = int(now) + KEEP_SECONDS
        envs = list(running.counts) or sorted({env for env, _ in running.rooms})
        writes = len(envs) + len(running.rooms)  # this flush's own UpdateItems
        share = len(envs)
        elapsed = running.elapsed_ms()
        for env_id in envs:
            counts: Counter[str] = Counter(running.counts.get(env_id, {}))
            counts["invocations"] += 1
            counts["lambdaMbMs"] += round(elapsed * self.settings.lambda_memory_mb / share)
            counts["readUnitsMilli"] += round(running.read_units * 1000 / share)
            counts["writeUnitsMilli"] += round((running.write_units + writes) * 1000 / share)
            self.usage.add(env_id, day, dict(counts), expires)
        for (env_id, room_id), kinds in running.rooms.items():
            now_counts = self.usage.add_room(env_id, day, room_id, dict(kinds), expires)
            for kind, count in now_counts.items():
                self._offer(env_id, day, kind, room_id, count, expires)

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
                if len(self._standings) >= MEMORY_MAX:
                    self._standings.clear()
                    self._floor.clear()
                    self._peaks.clear()
                self._standings[key] = (changed, version + 1)
                return
        log.warning("busiest rooms not updated (kept changing)", extra={"kind": kind})

    def connected(self, c: Connection) -> None:
        """A connection was admitted: count it, its user's first connection of the day, week
        and month, and the environment's live connections (raising the day's peak)."""
        try:
            today = date.fromisoformat(self.clock.today())
            meter.count(c.env_id, "connections")
            meter.count_room(c.env_id, c.room_id, "connections")
            periods = {
                "seenDay": today.isoformat(),
                "seenWeek": iso_week(today),
                "seenMonth": today.isoformat()[:7],
            }
            first = self.usage.seen(c.env_id, c.user_id, periods)
            if first is not None:
                meter.count(c.env_id, "activeUsers", int(first["seenDay"]))
                meter.count(c.env_id, "weekActive", int(first["seenWeek"]))
                meter.count(c.env_id, "monthActive", int(first["seenMonth"]))
            live = self.usage.live(c.env_id, 1)
            peak_key = (c.env_id, today.isoformat())
            if live > self._peaks.get(peak_key, 0):  # the day's peak only rises
                expires = int(self.clock.now()) + KEEP_SECONDS
                self.usage.raise_peak(c.env_id, today.isoformat(), live, expires)
                self._peaks[peak_key] = live  # the peak is at least this now
        except Exception:
            log.exception("connection not counted")

    def disconnected(self, removed: Sequence[Connection]) -> None:
        """Connections were removed (each once): the live count down, their minutes counted."""
        now = self.clock.now()
        by_env: Counter[str] = Counter(c.env_id for c in removed)
        for c in removed:
            seconds = max(0, round(now - parse_iso(c.connected_at)))
            meter.count(c.env_id, "connectionSeconds", seconds)
        for env_id, n in by_env.items():
            try:
                self.usage.live(env_id, -n)
            except Exception:
                log.exception("disconnection not counted")

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
