"""Flat cost: the latency of mint, `$connect`, list threads and create comment in an environment
of 100 items and in one of 100,000 (the ratio should be near 1: no request reads more when the
environment grows).

    .venv/bin/python -m bench.flat_cost [--sizes 100 100000] [--ops 200] [--blocks 8]

Each size gets its own DynamoDB (moto's server with item-level transaction rollback,
bench/fast_moto.py: plain moto copies the whole table once per item of every transaction, a cost
that grows with the table and that DynamoDB does not have) and its own tables, seeded directly
with BatchWriteItem from the models' own item classes: rooms of 10 threads of 7 comments, 10 users
and 3 live connections per room (100 items a room). The environment and its keys come from the
service. Requests go through the app's handlers in this process (a warm container), alternating
between the sizes in blocks so that drift on a noisy machine hits both alike.

moto is not DynamoDB: absolute latencies are local ones. A ratio near 1 shows that the access
patterns do not scan; a request that read the environment would slow down ~1000x here too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from .common import (
    create_tables,
    dynamodb_server,
    machine,
    management_api,
    median,
    ms,
    percentile,
    rest_event,
    table,
    use_bench_environ,
    ws_event,
)

PER_ROOM = {"threads": 10, "comments_per_thread": 7, "users": 10, "connections": 3}
ITEMS_PER_ROOM = 1 + 10 + 10 * 7 + 10 + 3 * 3  # room, threads, comments, users, 3 rows each
OPS = ("mint (new user)", "$connect", "list threads", "create comment")


@dataclass
class Room:
    id: str
    threads: list[str]


@dataclass
class Site:
    """One size: its DynamoDB, its settings, the environment under test and what is in it."""

    size: int
    endpoint: str
    settings: Any = None
    domain: str = ""  # where the seeded connections' pushes go (the local Management API)
    env_id: str = ""
    pk: str = ""
    sk: str = ""
    pk_id: str = ""
    sk_id: str = ""
    rooms: list[Room] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    items: int = 0
    seed_seconds: float = 0.0
    samples: dict[str, list[float]] = field(default_factory=dict)


# --- seeding -------------------------------------------------------------------------------------


def room_items(site: Site, index: int, now: float) -> Iterator[Any]:
    """One room's 100 items, as the repositories would have written them."""
    from chalicelib import ids
    from chalicelib.clock import iso
    from chalicelib.db import models as m
    from chalicelib.entities import Connection
    from chalicelib.repositories import connections as conn_repo

    env, stamp = site.env_id, iso(now - 3600)
    room_id = f"room-{index}"
    gen = ids.random_base62(16)
    comments_per_thread = PER_ROOM["comments_per_thread"]
    threads = [ids.new_id("th") for _ in range(PER_ROOM["threads"])]
    yield m.RoomItem(
        m.env_pk(env),
        m.room_sk(room_id),
        id=room_id,
        metadata=json.dumps({"title": f"Document {index}"}),
        created_at=stamp,
        updated_at=stamp,
        gen=gen,
        thread_count=len(threads),
        comment_count=len(threads) * comments_per_thread,
        connections=PER_ROOM["connections"],
    )
    for thread_id in threads:
        yield m.ThreadItem(
            m.threads_pk(env, room_id),
            m.thread_sk(thread_id),
            id=thread_id,
            room_id=room_id,
            room_gen=gen,
            resolved=False,
            metadata="{}",
            created_at=stamp,
            updated_at=stamp,
            created_by="user-0",
            comment_count=comments_per_thread,
        )
        for _ in range(comments_per_thread):
            comment_id = ids.new_id("cm")
            yield m.CommentItem(
                m.comments_pk(env, thread_id),
                m.comment_sk(comment_id),
                id=comment_id,
                thread_id=thread_id,
                room_id=room_id,
                user_id=f"user-{index}-0",
                body="A comment of a realistic length, about as long as people write them.",
                created_at=stamp,
            )
    for u in range(PER_ROOM["users"]):
        user_id = f"user-{index}-{u}"
        site.users.append(user_id)
        yield m.UserItem(
            m.env_pk(env),
            m.user_sk(user_id),
            id=user_id,
            name=f"User {index}.{u}",
            color="#3b82f6",
            first_seen_at=stamp,
            last_seen_at=stamp,
        )
    for c in range(PER_ROOM["connections"]):
        yield from conn_repo._rows(
            Connection(
                id=f"Seed{index:06d}x{c}=",
                env_id=env,
                room_id=room_id,
                user_id=f"user-{index}-{c}",
                name="Seed",
                avatar=None,
                color="#3b82f6",
                presence=None,
                domain_name=site.domain,
                stage="bench",
                publishable_key_id=site.pk_id,
                secret_key_id=site.sk_id,
                connected_at=stamp,
                expires_at=now + 7200,
            )
        )
    site.rooms.append(Room(room_id, threads))


def seed(site: Site, workers: int = 8) -> None:
    """site.size items (rounded to whole rooms) into the environment, plus exact counters."""
    import boto3

    from chalicelib.db import models as m

    rooms = max(1, round(site.size / ITEMS_PER_ROOM))
    now = time.time()
    client = boto3.client("dynamodb", endpoint_url=site.endpoint)
    table_name = site.settings.data_table
    local = threading.local()

    def write(batch: list[dict[str, Any]]) -> None:
        if not hasattr(local, "client"):
            local.client = boto3.client("dynamodb", endpoint_url=site.endpoint)
        request = {table_name: [{"PutRequest": {"Item": item}} for item in batch]}
        while request:
            request = local.client.batch_write_item(RequestItems=request)["UnprocessedItems"]

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        batch: list[dict[str, Any]] = []
        futures = []
        for index in range(rooms):
            for item in room_items(site, index, now):
                batch.append(item.serialize())
                if len(batch) == 25:
                    futures.append(pool.submit(write, batch))
                    batch = []
        if batch:
            futures.append(pool.submit(write, batch))
        for future in futures:
            future.result()
    stats = m.StatsItem(
        m.env_pk(site.env_id),
        m.STATS_SK,
        rooms=rooms,
        threads=rooms * PER_ROOM["threads"],
        comments=rooms * PER_ROOM["threads"] * PER_ROOM["comments_per_thread"],
        users=rooms * PER_ROOM["users"],
    )
    client.put_item(TableName=table_name, Item=stats.serialize())
    site.seed_seconds = time.perf_counter() - start
    site.items = rooms * ITEMS_PER_ROOM + 1
    count = client.scan(TableName=table_name, Select="COUNT")  # once, to check the seeding
    total = count["Count"]
    while "LastEvaluatedKey" in count:
        count = client.scan(
            TableName=table_name, Select="COUNT", ExclusiveStartKey=count["LastEvaluatedKey"]
        )
        total += count["Count"]
    assert total >= site.items, (total, site.items)


# --- the operations ------------------------------------------------------------------------------


class Driver:
    """Requests into the app's handlers, as Lambda makes them, against the bound site."""

    def __init__(self, domain: str) -> None:
        import app

        self.app = app
        self.domain = domain
        self.counter = iter(range(1, 10_000_000))
        self.random = random.Random(6)
        self.cleanup: Callable[[], Any] | None = None  # untimed, after the timed request

    def n(self) -> int:
        return next(self.counter)

    def rest(self, site: Site, method: str, resource: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {site.sk}"}
        event = rest_event(method, resource, path, headers=headers, **kwargs)
        response = self.app.app(event, None)
        assert response["statusCode"] in (200, 201), response
        return response

    def prepare(self, site: Site, op: str) -> Callable[[], Any]:
        """What to time for one `op` (setup done here, untimed), and the untimed clean-up."""
        room = self.random.choice(site.rooms)
        if op == "mint (new user)":
            body = json.dumps({"userId": f"new-{self.n()}", "name": "New"})
            return lambda: self.rest(site, "POST", "/auth/token", "/auth/token", body=body)
        if op == "$connect":
            user = self.random.choice(site.users)
            minted = self.rest(
                site,
                "POST",
                "/auth/token",
                "/auth/token",
                body=json.dumps({"userId": user, "name": "Returning"}),
            )
            token = json.loads(minted["body"])["token"]
            connection_id = f"Bench{self.n():08d}x="
            query = {"apiKey": site.pk, "token": token, "room": room.id}
            event = ws_event("$connect", connection_id, domain=self.domain, query=query)

            def connect() -> None:
                assert self.app.ws_connect(event, None) == {"statusCode": 200}
                self.cleanup = lambda: self.app.ws_disconnect(
                    ws_event("$disconnect", connection_id, domain=self.domain), None
                )

            return connect
        if op == "list threads":
            resource = "/api/v1/rooms/{roomId}/threads"
            path = f"/api/v1/rooms/{room.id}/threads"
            params = {"roomId": room.id}
            return lambda: self.rest(site, "GET", resource, path, path_parameters=params)
        if op == "create comment":
            thread = self.random.choice(room.threads)
            resource = "/api/v1/rooms/{roomId}/threads/{threadId}/comments"
            path = f"/api/v1/rooms/{room.id}/threads/{thread}/comments"
            params = {"roomId": room.id, "threadId": thread}
            body = json.dumps({"userId": self.random.choice(site.users), "body": "Measured."})
            return lambda: self.rest(
                site, "POST", resource, path, path_parameters=params, body=body
            )
        raise AssertionError(op)

    def timed(self, site: Site, op: str) -> float:
        thunk = self.prepare(site, op)
        start = time.perf_counter()
        thunk()
        elapsed = time.perf_counter() - start
        if self.cleanup is not None:
            self.cleanup()
            self.cleanup = None
        return elapsed


# --- running -------------------------------------------------------------------------------------


def bind(site: Site) -> None:
    """Point the app at this site's DynamoDB (a container serving one deployment)."""
    from chalicelib import runtime

    runtime.install(runtime.build(site.settings))


def create_environment(site: Site) -> None:
    from chalicelib import runtime
    from chalicelib.entities import Actor

    owner = Actor(id="op_bench", email="bench@example.com", role="owner")
    env, (pk, sk) = runtime.services().environments.create(owner, f"Flat {site.size}")
    assert pk.key and sk.key
    site.env_id, site.pk, site.sk, site.pk_id, site.sk_id = env.id, pk.key, sk.key, pk.id, sk.id


def run(sites: list[Site], driver: Driver, ops: int, blocks: int, warm: int = 3) -> None:
    """`blocks` turns per size, the first size going first every other block; each turn binds
    the app to its site and warms it (a new client, `warm` untimed rounds) before timing."""
    per_block = max(1, ops // blocks)
    for site in sites:
        site.samples = {op: [] for op in OPS}
    for block in range(blocks):
        for site in sites if block % 2 == 0 else reversed(sites):
            bind(site)
            for _ in range(warm):
                for op in OPS:
                    driver.timed(site, op)
            for i in range(per_block * len(OPS)):
                op = OPS[i % len(OPS)]
                site.samples[op].append(driver.timed(site, op))
        print(f"block {block + 1}/{blocks} done", flush=True, file=sys.stderr)


def report(sites: list[Site], ops: int) -> str:
    small, large = sites[0], sites[-1]
    rows = []
    for op in OPS:
        a, b = small.samples[op], large.samples[op]
        rows.append(
            [
                op,
                f"{ms(median(a))} / {ms(percentile(a, 95))}",
                f"{ms(median(b))} / {ms(percentile(b, 95))}",
                f"{median(b) / median(a):.2f}",
                f"{percentile(b, 95) / percentile(a, 95):.2f}",
            ]
        )
    seeding = "; ".join(
        f"{s.items:,} items ({len(s.rooms):,} rooms) seeded in {s.seed_seconds:.1f} s"
        for s in sites
    )
    headers = [
        "operation",
        f"{small.items:,} items: p50 / p95 ms",
        f"{large.items:,} items: p50 / p95 ms",
        "p50 ratio",
        "p95 ratio",
    ]
    return (
        f"{machine()}\n\n{len(small.samples[OPS[0]])} timed requests per operation and size. "
        f"{seeding}.\n\n" + table(headers, rows)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100, 100_000])
    parser.add_argument("--ops", type=int, default=200, help="timed requests per operation")
    parser.add_argument("--blocks", type=int, default=8, help="turns of each size, alternating")
    parser.add_argument("--server", default="bench.indexed_moto", help="module serving DynamoDB")
    args = parser.parse_args(argv)

    use_bench_environ(PULSE_ROOM_CONNECTION_CAP="1000")
    from chalicelib.config import Settings

    with ExitStack() as stack:
        domain = stack.enter_context(management_api())
        driver = Driver(domain)
        logging.getLogger("pulse").setLevel(logging.WARNING)  # no access log lines
        sites = []
        for size in args.sizes:
            endpoint = stack.enter_context(dynamodb_server(args.server))
            env = dict(os.environ, PULSE_DYNAMODB_ENDPOINT=endpoint)
            site = Site(size, endpoint, Settings.from_env(env), domain)
            create_tables(endpoint, site.settings.table_prefix)
            bind(site)
            create_environment(site)
            seed(site)
            print(f"{site.items:,} items in {site.seed_seconds:.1f} s", file=sys.stderr)
            sites.append(site)
        run(sites, driver, args.ops, args.blocks)
    print(report(sites, args.ops))


if __name__ == "__main__":
    main()
