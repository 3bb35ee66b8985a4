"""Fixed-window counters in the control table (the abuse limits of services/limits.py).

`add` is one UpdateItem that adds 1 to some counters of a window's item and returns their new
values (ADD is atomic, so every container counts into the same numbers). `add_unless_at` adds
nothing at all when one counter is already at its cap (a condition on the same call).
Failed-authentication counters are read with `counter_read` inside the key check's own
BatchGetItem: checking them costs no round trip. Counters are never part of a transaction: a
counter that concurrent requests share would make their transactions conflict.

An item is `pk` + `sk`: most counters are one item per window (`sk` "RL"); an environment's
request counters and its keys' failure counters are one partition per day, one item per window
(`sk` "RL#<window>"), kept for the usage window, so that `day_totals` sums a day with one Query
(the usage per key, services/usage.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..db.dynamo import connection, is_condition_failure, unavailable_on_throttle
from ..db.models import RATE_SK as RATE_SK  # the sk of a counter that is one item per window
from ..db.models import TTL_ATTRIBUTE, ControlTable, RateItem, rate_pk
from .reads import Read

COUNT = "n"  # the attribute of a one-counter item: a user's messages (RateItem.n)
FAILURES = COUNT  # ... or the failed authentications of a source address or key id


def pk(scope: str, window: int | str) -> str:
    return rate_pk(scope, window)


def add(key: str, names: Sequence[str], expires_at: int, sk: str = RATE_SK) -> dict[str, int]:
    """Add 1 to each named counter of the item `key` (created if absent, expiring at
    `expires_at`); their new values."""
    counts = _add(key, sk, names, expires_at, None)
    assert counts is not None  # only a cap can stop the update
    return counts


def add_unless_at(
    key: str, names: Sequence[str], expires_at: int, cap: tuple[str, int], sk: str = RATE_SK
) -> dict[str, int] | None:
    """As `add`, unless the counter `cap[0]` already holds `cap[1]` or more: then None, and
    nothing is added."""
    return _add(key, sk, names, expires_at, cap)


def _add(
    key: str, sk: str, names: Sequence[str], expires_at: int, cap: tuple[str, int] | None
) -> dict[str, int] | None:
    aliases = {f"#c{i}": name for i, name in enumerate(names)}
    expression = "SET #ttl = :ttl ADD " + ", ".join(f"{alias} :one" for alias in aliases)
    values = {":one": {"N": "1"}, ":ttl": {"N": str(expires_at)}}
    condition: dict[str, Any] = {}
    if cap is not None:
        (capped,) = [alias for alias, name in aliases.items() if name == cap[0]]
        condition["ConditionExpression"] = f"attribute_not_exists({capped}) OR {capped} < :cap"
        values[":cap"] = {"N": str(cap[1])}
    client: Any = connection().client
    try:
        with unavailable_on_throttle():
            response = client.update_item(
                TableName=ControlTable.Meta.table_name,
                Key={"pk": {"S": key}, "sk": {"S": sk}},
                UpdateExpression=expression,
                ExpressionAttributeNames={**aliases, "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                **condition,
            )
    except ClientError as exc:
        if cap is not None and is_condition_failure(exc):
            return None
        raise
    attributes = response.get("Attributes") or {}
    return {name: int(attributes.get(name, {}).get("N", "0")) for name in names}


def counter_read(key: str, sk: str = RATE_SK) -> Read[int]:
    """A failed-authentication counter, for an authentication BatchGetItem (0 when absent)."""
    return Read((RateItem, key, sk), lambda item: int(item.n or 0) if item else 0)


def day_totals(key: str) -> list[tuple[str, dict[str, int]]]:
    """Every item (`sk`, its counters) of the partition `key`: one Query, page by page."""
    client: Any = connection().client
    out: list[tuple[str, dict[str, int]]] = []
    start: dict[str, Any] | None = None
    while True:
        more = {"ExclusiveStartKey": start} if start else {}
        with unavailable_on_throttle():
            page = client.query(
                TableName=ControlTable.Meta.table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": key}},
                **more,
            )
        for item in page.get("Items", []):
            counts = {
                name: int(value["N"])
                for name, value in item.items()
                if "N" in value and name != TTL_ATTRIBUTE
            }
            out.append((item["sk"]["S"], counts))
        start = page.get("LastEvaluatedKey")
        if not start:
            return out
