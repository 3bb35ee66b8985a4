"""What a change of a room's access costs for a room of 100 connections (issue 13).

Part 1, counted (in this process): the app's services on moto's server (its own process) and
the production Management API client posting over HTTP to devstack's Management API server (a
sink that takes every frame). 100 connections (100 users, identity tokens) join one room, then
`PATCH /api/v1/rooms/{roomId}`'s service call changes the room's access; every DynamoDB call and
every Management API request it makes is recorded, with its wall time.

Part 2, timed end to end: the real local stack (`python -m devstack`, ephemeral, free ports),
100 `websockets` clients in one room, and the PATCH over HTTP: the time until the answer, until
the last client got `access.changed`, and (for a removal) until the last socket was closed.

    .venv/bin/python -m bench.access_change              # both parts, 100 connections
    .venv/bin/python -m bench.access_change --part 1 --connections 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from .common import machine, table

ROOM = "acme:plan"
# (label, the PATCH body): every connection moves, none moves, every connection is removed.
SCENARIOS: list[tuple[str, dict[str, Any]]] = [
    ("all move (write -> read)", {"defaultAccess": "read"}),
    ("none move (an entry for a user not connected)", {"usersAccess": {"nobody": "write"}}),
    ("all removed (read -> none)", {"defaultAccess": "none"}),
]


# --- part 1: counted, in process ------------------------------------------------------------


def counted(connections: int) -> list[list[Any]]:
    from .calls import count_requests, installed
    from .common import (
        create_tables,
        dynamodb_server,
        management_api,
        mint,
        secret_key,
        use_bench_environ,
        ws_event,
    )

    use_bench_environ()
    import app
    from chalicelib import runtime
    from chalicelib.access import AccessChange
    from chalicelib.config import Settings
    from chalicelib.entities import Actor

    rows: list[list[Any]] = []
    with (
        dynamodb_server("bench.fast_moto") as endpoint,
        management_api() as domain,
        installed() as recorder,
    ):
        settings = Settings.from_env(dict(os.environ, PULSE_DYNAMODB_ENDPOINT=endpoint))
        create_tables(endpoint, settings.table_prefix)
        graph = runtime.build(settings)
        runtime.install(graph)
        sent = count_requests(graph.realtime.channel.api)
        owner = Actor(id="op_0Q5cZkT8benchowner", email="bench@example.com", role="owner")
        _, (pk, sk) = graph.environments.create(owner, "Access bench")
        assert pk.key is not None and sk.key is not None
        caller = secret_key(graph, sk.key, "rest")
        graph.collab.create_room(caller, ROOM, None, AccessChange("write"))
        for n in range(connections):
            token = mint(graph, sk.key, f"user-{n}", f"User {n}")
            query = {"apiKey": pk.key, "token": token, "room": ROOM}
            event = ws_event("$connect", f"conn-{n:04d}=", domain=domain, query=query)
            assert app.ws_connect(event, None) == {"statusCode": 200}
        for label, body in SCENARIOS:
            change = AccessChange(
                body.get("defaultAccess"), body.get("usersAccess"), body.get("groupsAccess")
            )
            sent.clear()
            with recorder.record() as calls:
                started = time.perf_counter()
                graph.collab.update_room(caller, ROOM, None, change)
                seconds = time.perf_counter() - started
            by_op = Counter(c.operation for c in calls)
            rows.append(
                [
                    label,
                    len(calls),
                    ", ".join(f"{op} {n}" for op, n in sorted(by_op.items())),
                    sent["post"],
                    sent["close"],
                    f"{seconds * 1000:.0f}",
                ]
            )
    return rows


# --- part 2: timed on the local stack ---------------------------------------------------------


async def timed(connections: int) -> list[list[Any]]:
    import requests
    from websockets.asyncio.client import connect

    from .e2e_load import ADMIN_EMAIL, ADMIN_PASSWORD, local_stack

    rows: list[list[Any]] = []
    settings = {"PULSE_RATE_MINT_PER_ENV": "0", "PULSE_RATE_MINT_PER_KEY": "0"}
    with local_stack(settings) as stack:
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        admin = stack.call("POST", "/admin/api/login", json=login)["token"]
        created = stack.call("POST", "/admin/api/environments", admin, json={"name": "Access"})
        keys = {k["kind"]: k["key"] for k in created["keys"]}
        sk, pk = keys["secret"], keys["publishable"]
        stack.call("POST", "/api/v1/rooms", sk, json={"id": ROOM, "defaultAccess": "write"})
        tokens = [
            stack.call("POST", "/auth/token", sk, json={"userId": f"u{n}", "name": f"U{n}"})[
                "token"
            ]
            for n in range(connections)
        ]
        sockets = []
        for token in tokens:
            url = f"{stack.ws_url}/?{urlencode({'apiKey': pk, 'token': token, 'room': ROOM})}"
            sockets.append(await connect(url, open_timeout=20, ping_interval=None))
        for label, body in SCENARIOS:
            expect = "none" if body.get("defaultAccess") == "none" else body.get("defaultAccess")

            async def told(ws: Any, level: str | None = expect) -> float:
                while True:
                    frame = await asyncio.wait_for(ws.recv(), 60)
                    if '"access.changed"' in frame and f'"{level}"' in frame:
                        return time.perf_counter()

            waits = [asyncio.create_task(told(ws)) for ws in sockets] if expect else []
            started = time.perf_counter()
            answered = await asyncio.to_thread(
                requests.patch,
                f"{stack.url}/api/v1/rooms/{ROOM}",
                json=body,
                headers={"Authorization": f"Bearer {sk}"},
                timeout=120,
            )
            answer = time.perf_counter() - started
            assert answered.status_code == 200, answered.text
            last_told = max(await asyncio.gather(*waits)) - started if waits else None
            last_closed = None
            if expect == "none":
                await asyncio.gather(*(asyncio.wait_for(ws.wait_closed(), 60) for ws in sockets))
                last_closed = time.perf_counter() - started
            rows.append(
                [
                    label,
                    f"{answer * 1000:.0f}",
                    f"{last_told * 1000:.0f}" if last_told is not None else "-",
                    f"{last_closed * 1000:.0f}" if last_closed is not None else "-",
                ]
            )
        for ws in sockets:
            await ws.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--part", type=int, choices=(1, 2))
    args = parser.parse_args()
    print(machine())
    if args.part in (None, 1):
        print(f"\nPart 1: one change of access, {args.connections} connections (counted)\n")
        headers = ["change", "DynamoDB calls", "by operation", "posts", "DELETEs", "ms"]
        print(table(headers, counted(args.connections)))
    if args.part in (None, 2):
        print(f"\nPart 2: the local stack, {args.connections} WebSocket clients\n")
        headers = ["change", "PATCH answered ms", "last access.changed ms", "last closed ms"]
        print(table(headers, asyncio.run(timed(args.connections))))


if __name__ == "__main__":
    main()
