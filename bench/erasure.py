"""An erase job over one big room: how many steps, how many DynamoDB calls and items each step
takes, and that no step grows with the room.

    .venv/bin/python -m bench.erasure [--comments 20000] [--mode delete]

moto in process, patched as the dev stack patches it (bench/indexed_moto.py). One room, one
thread per 50 comments; the user wrote every 10th comment and is mentioned in
every 20th. The data is written straight to the table (moto in memory, with its counters as the
API would leave them), then the job runs step by step through the queue's entry point, as
webhook_attempts does. At the end the counters are recounted from the items.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from .calls import DynamoCalls
from .common import machine, table, use_bench_environ

PER_THREAD = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=20000)
    parser.add_argument("--mode", choices=("delete", "anonymize"), default="delete")
    args = parser.parse_args()
    use_bench_environ(PULSE_TOKEN_TTL_SECONDS="60")

    from botocore.client import BaseClient
    from moto import mock_aws

    from . import indexed_moto

    # moto as the dev stack runs it: a transaction backs up only its own items, and a Query
    # reads only its partition (stock moto copies and scans the whole table: seconds a call here)
    indexed_moto.install()
    with mock_aws():
        run(args.comments, args.mode, DynamoCalls(), BaseClient)


def run(n: int, mode: str, recorder: DynamoCalls, client_class: Any) -> None:
    import boto3

    from chalicelib import runtime, webhook_handlers
    from chalicelib.clock import FrozenClock
    from chalicelib.config import get_settings
    from chalicelib.entities import Actor
    from infra.tables import create_tables

    settings = get_settings()
    create_tables(boto3.client("dynamodb"), settings.table_prefix)
    sent: list[dict[str, Any]] = []

    class Queue:
        def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
            sent.append(message)

    clock = FrozenClock(time.time())
    graph = runtime.build(settings, clock, queue=Queue())
    runtime.install(graph)
    owner = Actor(id="op_0Q5cZkT8operator", email="o@example.com", role="owner")
    env, _ = graph.environments.create(owner, "Bench")
    ddb = boto3.client("dynamodb")
    data = settings.data_table
    e = f"ENV#{env.id}"
    threads = (n + PER_THREAD - 1) // PER_THREAD
    now = "2026-12-01T00:00:00.000Z"
    items: list[dict[str, Any]] = [
        {"pk": e, "sk": "STATS", "rooms": 1, "threads": threads, "comments": n, "users": 2},
        {
            "pk": e,
            "sk": "ROOM#big",
            "id": "big",
            "metadata": "{}",
            "created_at": now,
            "updated_at": now,
            "gen": "g1",
            "thread_count": threads,
            "comment_count": n,
        },
    ]
    for name, user in (("Ada Quibble", "ada"), ("Bob", "bob")):
        items.append(
            {
                "pk": e,
                "sk": f"USER#{user}",
                "id": user,
                "name": name,
                "color": "#000",
                "first_seen_at": now,
                "last_seen_at": now,
            }
        )
    for t in range(threads):
        thread_id = f"th_{t:016d}"
        count = min(PER_THREAD, n - t * PER_THREAD)
        items.append(
            {
                "pk": f"{e}#ROOM#big",
                "sk": f"THREAD#{thread_id}",
                "id": thread_id,
                "room_id": "big",
                "room_gen": "g1",
                "resolved": False,
                "metadata": "{}",
                "created_at": now,
                "updated_at": now,
                "created_by": "bob",
                "comment_count": count,
            }
        )
        for c in range(count):
            k = t * PER_THREAD + c
            author = "ada" if k % 10 == 5 else "bob"
            body = "see <@ada>" if k % 20 == 3 else f"comment {k}"
            item = {
                "pk": f"{e}#THREAD#{thread_id}",
                "sk": f"COMMENT#cm_{k:016d}",
                "id": f"cm_{k:016d}",
                "thread_id": thread_id,
                "room_id": "big",
                "user_id": author,
                "body": body,
                "created_at": now,
            }
            if "<@ada>" in body:
                item["mentions"] = '["ada"]'
            items.append(item)
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        ddb.batch_write_item(
            RequestItems={
                data: [
                    {"PutRequest": {"Item": {k: ser.serialize(v) for k, v in i.items()}}}
                    for i in chunk
                ]
            }
        )

    from chalicelib.entities import EraseJob
    from chalicelib.repositories.erasure import JobState

    job = EraseJob("job_0000000000bench", "ada", mode, "queued", "tokens", now, now, None, None)  # type: ignore[arg-type]
    state = JobState(env.id, job, "key_bench", {})
    audit = graph.erasure._audit_event(state, "user.erase.requested", now)
    graph.erasure.store.create_job(state, audit)
    sent.append({"job": "erase", "envId": env.id, "jobId": job.id})
    client_class._make_api_call = recorder.wrap(client_class._make_api_call)
    per_step: list[tuple[int, int, float]] = []
    while sent:
        message = sent.pop(0)
        started = time.perf_counter()
        with recorder.record() as made:
            webhook_handlers.attempts({"Records": [{"body": json.dumps(message)}]})
        per_step.append(
            (len(made), sum(_items(c.params) for c in made), time.perf_counter() - started)
        )
        clock.advance(61)  # a delete waits out the user's last token
    done = graph.erasure.store.get_job(env.id, job.id)
    assert done is not None and done.job.status == "succeeded", done
    stats = ddb.get_item(
        TableName=data, Key={"pk": {"S": e}, "sk": {"S": "STATS"}}, ConsistentRead=True
    )["Item"]
    left = 0
    for page in ddb.get_paginator("query").paginate(
        TableName=data,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"{e}#ROOM#big"}},
    ):
        for t in page["Items"]:
            left += int(t["comment_count"]["N"])
    print(machine())
    print(f"{n} comments in {threads} threads of one room, mode {mode}\n")
    calls = [s[0] for s in per_step]
    written = [s[1] for s in per_step]
    seconds = [s[2] for s in per_step]
    j = done.job
    print(
        table(
            [
                "steps",
                "calls/step (max)",
                "items written/step (max)",
                "step ms (median, max)",
                "deleted",
                "tombstoned",
                "mentions replaced",
                "STATS.comments after",
                "threads' counts",
            ],
            [
                [
                    len(per_step),
                    max(calls),
                    max(written),
                    f"{sorted(seconds)[len(seconds) // 2] * 1000:.0f}, {max(seconds) * 1000:.0f}",
                    j.comments_deleted,
                    j.comments_tombstoned,
                    j.mentions_replaced,
                    stats["comments"]["N"],
                    left,
                ]
            ],
        )
    )


def _items(params: dict[str, Any]) -> int:
    """Items a write call changes (a read changes none)."""
    if "TransactItems" in params:
        return len(params["TransactItems"])
    if "RequestItems" in params and any(
        "PutRequest" in r or "DeleteRequest" in r
        for rs in params["RequestItems"].values()
        for r in rs
    ):
        return sum(len(rs) for rs in params["RequestItems"].values())
    return 1 if "Key" in params and "UpdateExpression" in params else 0


if __name__ == "__main__":
    main()
