"""Environment counters (rooms, threads, comments, users) and daily series, in the data table.

Counters move inside the same transaction as the write they count, so they are exact without
Scan or Count; these helpers build those transaction items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pynamodb.models import Model

from ..db.dynamo import batch_get, unavailable_on_throttle
from ..db.models import STATS_SK, DailyStatsItem, StatsItem, day_sk, env_pk
from ..entities import Analytics, DailyStats


@dataclass(frozen=True)
class Change:
    """One item of a transaction: update `item` with `actions` if `condition` holds."""

    item: Model
    actions: list[Any]
    condition: Any = None


def totals(env_id: str, **deltas: int) -> Change:
    """ADD to the environment counters, e.g. totals(env, threads=1, comments=1)."""
    actions = [getattr(StatsItem, name).add(n) for name, n in deltas.items() if n]
    return Change(StatsItem(env_pk(env_id), STATS_SK), actions)


def daily(env_id: str, day: str, **deltas: int) -> Change:
    """ADD to one day's series, e.g. daily(env, "2026-11-25", comments=1)."""
    actions = [DailyStatsItem.date.set(day)]
    actions += [getattr(DailyStatsItem, name).add(n) for name, n in deltas.items() if n]
    return Change(DailyStatsItem(env_pk(env_id), day_sk(day)), actions)


def analytics(env_id: str, today: str, days: int) -> Analytics:
    """Totals (one consistent read) and the last `days` days, zero-filled (one Query)."""
    (stats,) = batch_get([(StatsItem, env_pk(env_id), STATS_SK)])
    last = date.fromisoformat(today)
    first = last - timedelta(days=days - 1)
    with unavailable_on_throttle():
        items = {
            i.date: i
            for i in DailyStatsItem.query(
                env_pk(env_id), DailyStatsItem.sk.between(day_sk(first.isoformat()), day_sk(today))
            )
        }
    series = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        item = items.get(day)
        series.append(
            DailyStats(
                date=day,
                comments=int(item.comments or 0) if item else 0,
                active_users=int(item.active_users or 0) if item else 0,
            )
        )
    return Analytics(
        rooms=int(stats.rooms or 0) if stats else 0,
        threads=int(stats.threads or 0) if stats else 0,
        comments=int(stats.comments or 0) if stats else 0,
        users=int(stats.users or 0) if stats else 0,
        daily=series,
    )
