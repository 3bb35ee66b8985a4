"""The largest frame and response of busy rooms and big lists: `python -m bench.sizes`.

In-process (moto, the app's handlers, API Gateway-shaped events), as the test suite runs. Every
post to a connection is recorded with its size, including the ones API Gateway would refuse
(over 128 KB); every REST answer with its body's size. Runs on any version of the code: it uses
only messages and routes that predate the size limits (threads.list, the v1 lists)."""

from __future__ import annotations

import argparse
import itertools
import json
import time
from typing import Any

from bench.common import machine, mint, table, use_bench_environ

FRAME_LIMIT = 128 * 1024
EMOJI = "\U0001f600"


class Recorder:
    """Stands in for ManagementApi: keeps the size and type of every post."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, int, str]] = []  # (connection id, bytes, type)

    def post(self, c: Any, data: bytes) -> str:
        self.posts.append((c.id, len(data), str(json.loads(data).get("type"))))
        return "ok"

    def post_many(self, targets: Any, data: bytes) -> Any:
        from chalicelib.sockets.sender import Delivery

        targets = list(targets)
        for c in targets:
            self.post(c, data)
        return Delivery(targets, [], [])

    def close(self, c: Any) -> None:
        pass


def event(route: str, connection_id: str, **extra: Any) -> dict[str, Any]:
    context = {
        "routeKey": route,
        "connectionId": connection_id,
        "domainName": "abc.execute-api.us-east-1.amazonaws.com",
        "stage": "api",
        "requestId": f"r-{time.monotonic_ns()}",
        "identity": {"sourceIp": "203.0.113.9"},
    }
    return {"requestContext": context, **extra}


def run(args: argparse.Namespace) -> None:
    use_bench_environ(
        PULSE_RATE_REST_PER_ENV="1000000",
        PULSE_RATE_REST_PER_KEY="1000000",
        PULSE_RATE_MINT_PER_ENV="1000000",
        PULSE_RATE_MINT_PER_KEY="1000000",
    )
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.clock import FrozenClock
    from chalicelib.config import Settings
    from chalicelib.entities import Actor
    from chalicelib.realtime import handlers
    from devstack.moto_fixes import install_item_rollback
    from infra.tables import create_tables

    install_item_rollback()  # moto copies the whole table per transaction item otherwise
    ids = itertools.count(1)
    rows: list[list[Any]] = []
    with mock_aws():
        import os

        settings = Settings.from_env(os.environ)
        create_tables(boto3.client("dynamodb"), settings.table_prefix)
        graph = runtime.build(settings, FrozenClock(time.time()))
        runtime.install(graph)
        recorder = Recorder()
        graph.realtime.channel.api = recorder  # type: ignore[assignment]
        owner = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
        from app import app

        client = Client(app)

        def new_env() -> tuple[str, str, str]:
            env, (pk, sk) = graph.environments.create(owner, f"Sizes {next(ids)}")
            return env.id, str(pk.key), str(sk.key)

        def connect(pk: str, sk: str, room: str, user: str, avatar: str | None = None) -> str:
            token = mint(graph, sk, user, user.title(), avatar)
            cid = f"C{next(ids):06d}="
            q = {"apiKey": pk, "token": token, "room": room}
            assert (
                handlers.connect(event("$connect", cid, queryStringParameters=q))["statusCode"]
                == 200
            )
            return cid

        def say(cid: str, message: dict[str, Any]) -> list[tuple[int, str]]:
            start = len(recorder.posts)
            handlers.message(event("$default", cid, body=json.dumps(message)))
            return [(n, t) for c, n, t in recorder.posts[start:] if c == cid]

        def rest(method: str, path: str, sk: str, body: Any = None) -> Any:
            data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
            headers = {"Authorization": f"Bearer {sk}", "Content-Type": "application/json"}
            return client.http.request(method, path, headers=headers, body=data)

        def busy_room(threads: int, comments: int, size: int) -> None:
            _, pk, sk = new_env()
            room = f"busy-{threads}x{comments}x{size}"
            me = connect(pk, sk, room, "ada")
            base = f"/api/v1/rooms/{room}/threads"
            for t in range(threads):
                first = {"comment": {"userId": "bob", "body": f"{t} " + "x" * size}}
                made = json.loads(rest("POST", base, sk, first).body)
                for n in range(comments - 1):
                    body = {"userId": "bob", "body": f"{n} " + "y" * size}
                    rest("POST", f"{base}/{made['id']}/comments", sk, body)
            frames = say(me, {"type": "threads.list", "comments": True, "requestId": "1"})
            sizes = [n for n, t in frames]
            rows.append(
                [
                    f"first threads.list, {threads} threads x {comments} comments of {size} B",
                    max(sizes),
                    "yes" if max(sizes) > FRAME_LIMIT else "no",
                    f"{frames[0][1]}",
                ]
            )

        def big_room(members: int) -> None:
            _, pk, sk = new_env()
            avatar = "https://avatars.example.com/" + "a" * 1500
            for n in range(members):
                cid = connect(pk, sk, "big", f"user-{n}", avatar)
                say(cid, {"type": "presence.update", "data": {"note": "p" * 1000}})
            zoe = connect(pk, sk, "big", "zoe")
            frames = say(zoe, {"type": "join"})
            rows.append(
                [
                    f"join, {members} members (1.5 KB avatar, 1 KB presence)",
                    max(n for n, _ in frames),
                    "yes" if max(n for n, _ in frames) > FRAME_LIMIT else "no",
                    ", ".join(t for _, t in frames),
                ]
            )

        def big_lists() -> None:
            _, _, sk = new_env()
            metadata = {f"k{k}": EMOJI * 250 for k in range(20)}
            for n in range(args.rooms):
                rest("POST", "/api/v1/rooms", sk, {"id": f"r{n:03d}", "metadata": metadata})
            resp = rest("GET", "/api/v1/rooms?limit=100", sk)
            rows.append(
                [
                    f"GET /api/v1/rooms?limit=100, {args.rooms} rooms of 60 KB",
                    len(resp.body),
                    "",
                    f"{resp.status_code}",
                ]
            )
            made = json.loads(
                rest(
                    "POST",
                    "/api/v1/rooms/r000/threads",
                    sk,
                    {"comment": {"userId": "u", "body": EMOJI * 9_999}},
                ).body
            )
            for _ in range(args.comments - 1):
                rest(
                    "POST",
                    f"/api/v1/rooms/r000/threads/{made['id']}/comments",
                    sk,
                    {"userId": "u", "body": EMOJI * 9_999},
                )
            thread = f"/api/v1/rooms/r000/threads/{made['id']}"
            for path, label in (
                (f"{thread}/comments?limit=100", "comments?limit=100"),
                (thread, "thread"),
            ):
                resp = rest("GET", path, sk)
                rows.append(
                    [
                        f"GET ...{label} ({args.comments} comments of 120 KB)",
                        len(resp.body),
                        "",
                        f"{resp.status_code}",
                    ]
                )

        busy_room(20, 26, 120)  # the example: 20 threads x 26 short comments
        busy_room(20, 30, 300)  # the browser test's room
        big_room(args.members)
        big_lists()
        runtime.install(None)

    print(machine())
    print()
    print(table(["Scenario", "Largest bytes", "Over 128 KB", "Frames / status"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--rooms", type=int, default=60)
    parser.add_argument("--comments", type=int, default=60)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
