"""Environment counters (rooms, threads, comments, users) and daily series, in the data table.

Counters move inside the same transaction as the write they count, so they are exact without
Scan or Count; these helpers build those transaction items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

from ..db.dynamo import batch_get, unavailable_on_throttle
from ..db.models import STATS_SK, DailyStatsItem, StatsItem, day_sk, env_pk


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


def totals_and_comments(
    env_id: str, first: str, last: str
) -> tuple[dict[str, int], dict[str, int]]:
    """The environment's totals (one consistent read) and its comments of each day from `first`
    to `last` (one Query; days without any are absent)."""
    (stats,) = batch_get([(StatsItem, env_pk(env_id), STATS_SK)])
    with unavailable_on_throttle():
        comments = {
            i.date: int(i.comments or 0)
            for i in DailyStatsItem.query(
                env_pk(env_id), DailyStatsItem.sk.between(day_sk(first), day_sk(last))
            )
        }
    totals = {
        name: int(getattr(stats, name) or 0) if stats else 0
        for name in ("rooms", "threads", "comments", "users")
    }
    return totals, comments
