"""Usage counters per environment and day in the data table (services/metering.py): what each
invocation used, added in one UpdateItem when it ends; the day's peak of live connections; the
live count itself; and when each user last connected (for daily, weekly and monthly actives).

A day's counts are spread over SHARDS items (`USE#<day>#<shard>`, one picked at random per
write) so that a busy environment's writes do not all land on one item (DynamoDB takes about
1,000 writes a second on one partition key's item); one Query reads every shard of a range of
days. Counter names are attribute names: fixed ones (`messagesIn`, ...) and open ones
(`refused:<code>`, `limited:<keyId>`). They are never part of a transaction: a counter every
request shares would make concurrent transactions conflict."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from ..db.dynamo import connection, is_condition_failure, unavailable_on_throttle
from ..db.models import STATS_SK, DataTable, env_pk, user_sk

SHARDS = 8
KEEP_SECONDS = 120 * 86400  # more than the 90 days the analytics show
PREFIX = "USE#"
PEAK_PREFIX = "PEAK#"
LIVE = "live_connections"  # on the environment's STATS item
ROOM_PREFIX = "ROOMUSE#"
TOP_PREFIX = "TOP#"
# Every usage item's sk starts with one of these (tests and benches leave them out of snapshots).
SK_PREFIXES = (PREFIX, PEAK_PREFIX, ROOM_PREFIX, TOP_PREFIX)


def _client() -> Any:
    return connection().client


def _table() -> str:
    return DataTable.Meta.table_name


def add(env_id: str, day: str, counts: Mapping[str, int], expires_at: int) -> None:
    """Add `counts` to the day's counters (one UpdateItem on one of its shards)."""
    names = {f"#c{i}": name for i, name in enumerate(counts)}
    values: dict[str, Any] = {f":c{i}": {"N": str(n)} for i, n in enumerate(counts.values())}
    values.update({":day": {"S": day}, ":ttl": {"N": str(expires_at)}})
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
    with unavailable_on_throttle():
        _client().update_item(
            TableName=_table(),
            Key={
                "pk": {"S": env_pk(env_id)},
                "sk": {"S": f"{PREFIX}{day}#{random.randrange(SHARDS)}"},  # noqa: S311 (spread, not secret)
            },
            UpdateExpression=f"SET #day = :day, #ttl = :ttl ADD {adds}",
            ExpressionAttributeNames={**names, "#day": "day", "#ttl": "ttl"},
            ExpressionAttributeValues=values,
        )


def days(env_id: str, first: str, last: str) -> dict[str, dict[str, int]]:
    """Each day's counters from `first` to `last` (ISO dates), summed over its shards, with
    the day's peak as `peakConnections`: two Queries, page by page."""
    out: dict[str, dict[str, int]] = {}
    for prefix in (PREFIX, PEAK_PREFIX):
        for item in _query(env_id, f"{prefix}{first}", f"{prefix}{last}#~"):
            day = item["day"]["S"]
            sums = out.setdefault(day, {})
            for name, value in item.items():
                if "N" in value and name != "ttl":
                    sums[name] = sums.get(name, 0) + int(value["N"])
    return out


def _query(env_id: str, low: str, high: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        more = {"ExclusiveStartKey": start} if start else {}
        with unavailable_on_throttle():
            page = _client().query(
                TableName=_table(),
                KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
                ExpressionAttributeValues={
                    ":pk": {"S": env_pk(env_id)},
                    ":low": {"S": low},
                    ":high": {"S": high},
                },
                **more,
            )
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def live(env_id: str, delta: int) -> int:
    """Add `delta` to the environment's live connections; the new count."""
    with unavailable_on_throttle():
        answer = _client().update_item(
            TableName=_table(),
            Key={"pk": {"S": env_pk(env_id)}, "sk": {"S": STATS_SK}},
            UpdateExpression="ADD #live :d",
            ExpressionAttributeNames={"#live": LIVE},
            ExpressionAttributeValues={":d": {"N": str(delta)}},
            ReturnValues="UPDATED_NEW",
        )
    return int(answer["Attributes"][LIVE]["N"])


def raise_peak(env_id: str, day: str, value: int, expires_at: int) -> bool:
    """Make `value` the day's peak unless the peak is already that high; True if it was raised."""
    try:
        with unavailable_on_throttle():
            _client().update_item(
                TableName=_table(),
                Key={"pk": {"S": env_pk(env_id)}, "sk": {"S": f"{PEAK_PREFIX}{day}"}},
                UpdateExpression="SET #peak = :v, #day = :day, #ttl = :ttl",
                ConditionExpression="attribute_not_exists(#peak) OR #peak < :v",
                ExpressionAttributeNames={"#peak": "peakConnections", "#day": "day", "#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":v": {"N": str(value)},
                    ":day": {"S": day},
                    ":ttl": {"N": str(expires_at)},
                },
            )
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def seen(env_id: str, user_id: str, periods: Mapping[str, str]) -> dict[str, bool] | None:
    """Record that the user connected in each of `periods` (e.g. {"seenDay": "2026-12-07",
    "seenWeek": "2026-W49", "seenMonth": "2026-12"}), on the user's item; for each, whether this
    is the user's first connection in it. None when the user has no item (erased)."""
    names = {f"#p{i}": name for i, name in enumerate(periods)}
    values = {f":p{i}": {"S": v} for i, v in enumerate(periods.values())}
    sets = ", ".join(f"#p{i} = :p{i}" for i in range(len(periods)))
    try:
        with unavailable_on_throttle():
            answer = _client().update_item(
                TableName=_table(),
                Key={"pk": {"S": env_pk(env_id)}, "sk": {"S": user_sk(user_id)}},
                UpdateExpression=f"SET {sets}",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",  # (UPDATED_OLD may leave out a value set unchanged)
            )
    except ClientError as exc:
        if is_condition_failure(exc):
            return None
        raise
    before = answer.get("Attributes") or {}
    return {name: before.get(name, {}).get("S") != v for name, v in periods.items()}


# --- busiest rooms ---------------------------------------------------------------------------


def add_room(
    env_id: str, day: str, room_id: str, counts: Mapping[str, int], expires_at: int
) -> dict[str, int]:
    """Add to a room's counts of the day (`connections`, `comments`); their new values."""
    names = {f"#c{i}": name for i, name in enumerate(counts)}
    values: dict[str, Any] = {f":c{i}": {"N": str(n)} for i, n in enumerate(counts.values())}
    values[":ttl"] = {"N": str(expires_at)}
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
    with unavailable_on_throttle():
        answer = _client().update_item(
            TableName=_table(),
            Key={"pk": {"S": env_pk(env_id)}, "sk": {"S": f"{ROOM_PREFIX}{day}#{room_id}"}},
            UpdateExpression=f"SET #ttl = :ttl ADD {adds}",
            ExpressionAttributeNames={**names, "#ttl": "ttl"},
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
    got = answer.get("Attributes") or {}
    return {name: int(got[name]["N"]) for name in counts if name in got}


def standing(env_id: str, day: str) -> tuple[dict[str, dict[str, int]], int]:
    """The day's standing ({kind: {room: count}}: the day's busiest rooms) and its
    version (0: none yet)."""
    with unavailable_on_throttle():
        answer = _client().get_item(
            TableName=_table(),
            Key={"pk": {"S": env_pk(env_id)}, "sk": {"S": f"{TOP_PREFIX}{day}"}},
            ConsistentRead=True,
        )
    item = answer.get("Item")
    if not item:
        return {}, 0
    return json.loads(item["top"]["S"]), int(item["version"]["N"])


def save_standing(
    env_id: str, day: str, top: Mapping[str, Mapping[str, int]], version: int, expires_at: int
) -> bool:
    """Store the day's standing if it is still at `version`; False if it moved meanwhile."""
    condition = "attribute_not_exists(pk)" if version == 0 else "#v = :was"
    values: dict[str, Any] = {
        ":top": {"S": json.dumps(top, separators=(",", ":"), sort_keys=True)},
        ":v": {"N": str(version + 1)},
        ":day": {"S": day},
        ":ttl": {"N": str(expires_at)},
    }
    if version:
        values[":was"] = {"N": str(version)}
    try:
        with unavailable_on_throttle():
            _client().update_item(
                TableName=_table(),
                Key={"pk": {"S": env_pk(env_id)}, "sk": {"S": f"{TOP_PREFIX}{day}"}},
                UpdateExpression="SET #top = :top, #v = :v, #day = :day, #ttl = :ttl",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#top": "top",
                    "#v": "version",
                    "#day": "day",
                    "#ttl": "ttl",
                },
                ExpressionAttributeValues=values,
            )
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def standings(env_id: str, first: str, last: str) -> dict[str, dict[str, dict[str, int]]]:
    """Each day's standing from `first` to `last`: {day: {kind: {room: count}}} (one Query)."""
    return {
        item["day"]["S"]: json.loads(item["top"]["S"])
        for item in _query(env_id, f"{TOP_PREFIX}{first}", f"{TOP_PREFIX}{last}~")
    }
