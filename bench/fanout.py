"""Benchmark 4: room fan-out through the production sender.

One broadcast (`RealtimeService.broadcast`, the path of POST /api/v1/rooms/{roomId}/broadcast) to a
room of N connections, N in 10, 100, 1,000. Everything below the service is production code:
the key check and the room's member Query in DynamoDB, then `ManagementApi.post_many` (boto3's
apigatewaymanagementapi client over real HTTP, a POOL_SIZE-thread pool), then the cleanup of the
connections that answered 410 (`RoomChannel.drop`: delete their rows, tell the room: one
`user.left`, or one `users.left` naming them all, per survivor).

Around it, each in its own process so they take no GIL from the code measured:
- DynamoDB: moto's server (`python -m moto.server`) on a free port;
- the Management API: `devstack.wsmanagement.ManagementServer` (API Gateway's wire protocol) with
  a stub behind it that sleeps a set latency per request and answers 410 GoneException for a
  chosen set of connection ids.

Per N and repetition it reports the time until the last post of the message completed, the
bound ceil(N / pool) x latency, the whole call (cleanup included), the posts by kind, the
DynamoDB calls by operation and phase, and checks: every live connection got the message
exactly once and one departures frame, every 410 connection's rows are gone and the room's live
count is right, and urllib3 logged no "Connection pool is full".

    .venv/bin/python -m bench.fanout                       # 10, 100, 1000; 20 ms; 5% gone
    .venv/bin/python -m bench.fanout --sizes 100 --latency-ms 50 --gone 0.1 --reps 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import multiprocessing
import os
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

from .calls import DynamoCalls, installed
from .common import dynamodb_server, free_port, machine, mint, secret_key, use_bench_environ

STAGE = "bench"
READY_SECONDS = 30


# --- the Management API stub (its own process) ----------------------------------------------------


@dataclass(frozen=True)
class Post:
    done: float  # time.monotonic() when the stub answered (CLOCK_MONOTONIC: shared by processes)
    method: str
    connection_id: str
    kind: str  # the frame's "type" ("broadcast", "user.left", "users.left", ...)
    seq: Any  # the broadcast's event.seq, if any
    gone: bool


def stub_main(pipe: Pipe, port: int, latency: float) -> None:
    """Serve the Management API on `port` until told to stop; commands come over `pipe`."""
    from devstack.wsmanagement import GONE, OK, ConnectionInfo, ManagementServer, Outcome

    class Stub:
        stage = STAGE

        def __init__(self) -> None:
            self.gone: set[str] = set()
            self.posts: list[Post] = []
            self.lock = threading.Lock()
            self.in_flight = 0
            self.max_in_flight = 0

        def _answer(self, method: str, connection_id: str, data: bytes) -> Outcome:
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            time.sleep(latency)  # API Gateway's time per request
            kind, seq = "", None
            if data:
                frame = json.loads(data)
                kind = frame.get("type", "")
                event = frame.get("event")
                seq = event.get("seq") if isinstance(event, dict) else None
            gone = connection_id in self.gone
            with self.lock:
                self.in_flight -= 1
                self.posts.append(Post(time.monotonic(), method, connection_id, kind, seq, gone))
            return GONE if gone else OK

        def post(self, connection_id: str, data: bytes) -> Outcome:
            return self._answer("POST", connection_id, data)

        def delete(self, connection_id: str) -> Outcome:
            return self._answer("DELETE", connection_id, b"")

        def info(self, connection_id: str) -> ConnectionInfo | None:
            if connection_id in self.gone:
                return None
            now = time.time()
            return ConnectionInfo(now, now, "127.0.0.1", "bench")

    class Server(ManagementServer):
        request_queue_size = 128  # 32 pooled connections open at once on the first fan-out

    stub = Stub()
    server = Server(("127.0.0.1", port), stub, max_payload=128 * 1024)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    pipe.send("ready")
    try:
        while True:
            command, arg = pipe.recv()
            if command == "gone":
                with stub.lock:
                    stub.gone.update(arg)
                pipe.send(None)
            elif command == "take":
                with stub.lock:
                    posts, stub.posts = stub.posts, []
                    peak, stub.max_in_flight = stub.max_in_flight, 0
                pipe.send((posts, peak))
            else:
                break
    finally:
        server.close()
        thread.join(timeout=5)


class StubProcess:
    def __init__(self, latency: float) -> None:
        self.port = free_port()
        ctx = multiprocessing.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(
            target=stub_main, args=(child, self.port, latency), name="mgmt-stub", daemon=True
        )
        self.process.start()
        if not self.pipe.poll(READY_SECONDS):
            raise SystemExit("the Management API stub did not start")
        self.pipe.recv()

    def set_gone(self, ids: list[str]) -> None:
        self.pipe.send(("gone", ids))
        self.pipe.recv()

    def take(self) -> tuple[list[Post], int]:
        self.pipe.send(("take", None))
        posts, peak = self.pipe.recv()
        return posts, peak

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.pipe.send(("stop", None))
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


# --- instruments ----------------------------------------------------------------------------------


class PoolFullWarnings(logging.Handler):
    """urllib3's 'Connection pool is full, discarding connection' (and any other WARNING+)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.pool_full = 0
        self.other: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "pool is full" in message.lower():
            self.pool_full += 1
        else:
            self.other.append(message)


# --- the benchmark --------------------------------------------------------------------------------


@dataclass
class Rep:
    n: int
    gone: int
    seconds_to_first_post: float  # the key check and the room's Query
    seconds_delivered: float  # until the last post of the message was answered
    seconds_call: float  # the whole broadcast, cleanup included
    posts: Counter[str]  # by frame kind
    dynamo: Counter[tuple[str, str]]  # (phase, operation)
    peak_in_flight: int
    seconds_room_read: float = 0.0  # RoomChannel.members in the fan-out: Query + conversion
    seconds_raw_query: float = 0.0  # the same Query with a bare boto3 client, no conversion
    problems: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> dict[str, Any]:
    latency = args.latency_ms / 1000
    stub = StubProcess(latency)
    try:
        with dynamodb_server("bench.fast_moto") as endpoint, installed() as recorder:
            return bench(args, latency, stub, endpoint, recorder)
    finally:
        stub.stop()


def bench(
    args: argparse.Namespace,
    latency: float,
    stub: StubProcess,
    endpoint: str,
    recorder: DynamoCalls,
) -> dict[str, Any]:
    sizes: list[int] = args.sizes
    use_bench_environ(
        PULSE_DYNAMODB_ENDPOINT=endpoint,
        # The default cap is 100 live connections per room; the bench needs max(sizes).
        PULSE_ROOM_CONNECTION_CAP=str(max(sizes)),
        # Its 20 users hold every connection: the per-user limits (10 per room, 30 per
        # environment by default) stay on (each connect still writes its user's item), raised.
        PULSE_RATE_USER_CONNECTIONS_PER_ROOM=str(max(sizes)),
        PULSE_RATE_USER_CONNECTIONS_PER_ENV=str(2 * sum(sizes)),
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    import boto3

    from chalicelib import runtime
    from chalicelib.config import Settings
    from chalicelib.entities import Actor
    from chalicelib.repositories import connections as conn_repo
    from chalicelib.services.realtime import ConnectRequest, new_connection_id
    from chalicelib.sockets.sender import POOL_SIZE
    from infra.tables import create_tables

    settings = Settings.from_env(os.environ)
    create_tables(
        boto3.client("dynamodb", endpoint_url=endpoint, region_name=settings.region),
        settings.table_prefix,
    )
    graph = runtime.build(settings)
    runtime.install(graph)
    channel = graph.realtime.channel
    owner = Actor(id="op_0Q5cZkT8operator", email="bench@example.com", role="owner")
    environment, (pk, sk) = graph.environments.create(owner, "fan-out bench")
    assert pk.key is not None and sk.key is not None
    access = secret_key(graph, sk.key, "rest")
    tokens = [mint(graph, sk.key, f"u{i}", f"User {i}") for i in range(20)]
    domain = f"127.0.0.1:{stub.port}"

    def connect(room: str, count: int) -> list[str]:
        ids = []
        for i in range(count):
            cid = new_connection_id()
            graph.realtime.connect(
                ConnectRequest(cid, domain, STAGE, pk.key, tokens[i % len(tokens)], room)
            )
            ids.append(cid)
        return ids

    # Time spent in RoomChannel.drop (the cleanup of 410s) and the DynamoDB calls it made (as
    # spans of the recorder's list), outermost call only.
    cleanup = {"depth": 0, "seconds": 0.0}
    cleanup_spans: list[tuple[int, int]] = []
    in_fanout = {"now": False}
    original_drop = channel.drop

    def timed_drop(gone: list[Any]) -> None:
        cleanup["depth"] += 1
        outer = cleanup["depth"] == 1
        started, first_call = time.monotonic(), len(recorder.calls)
        try:
            original_drop(gone)
        finally:
            cleanup["depth"] -= 1
            if outer:
                cleanup["seconds"] += time.monotonic() - started
                cleanup_spans.append((first_call, len(recorder.calls)))

    channel.drop = timed_drop  # type: ignore[method-assign]

    # Time of the fan-out's read of the room (Query + conversion to Connection records).
    room_reads: list[float] = []
    original_members = channel.members

    def timed_members(env_id: str, room_id: str) -> list[Any]:
        started = time.monotonic()
        try:
            return original_members(env_id, room_id)
        finally:
            if in_fanout["now"] and not cleanup["depth"]:
                room_reads.append(time.monotonic() - started)

    channel.members = timed_members  # type: ignore[method-assign]
    raw_client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=settings.region)

    warnings = PoolFullWarnings()
    for name in ("urllib3", "botocore"):
        logging.getLogger(name).addHandler(warnings)
        logging.getLogger(name).setLevel(logging.WARNING)

    results: dict[int, list[Rep]] = {}
    cleanup_seconds: dict[int, list[float]] = {}
    seq = 0
    for n in sizes:
        room = f"fanout-{n}"
        gone_count = math.ceil(n * args.gone)
        started = time.monotonic()
        live = connect(room, n - gone_count)
        seed_seconds = time.monotonic() - started
        print(f"N={n}: seeded {n - gone_count} live connections in {seed_seconds:.1f}s", flush=True)
        # Warm-up: the endpoint's client and its 32 keep-alive connections (not measured).
        seq += 1
        graph.realtime.broadcast(access, room, {"seq": seq, "warmup": True})
        stub.take()
        reps: list[Rep] = []
        cleanup_seconds[n] = []
        reps_here = args.reps if n < 1000 else max(1, args.reps_large)
        for _ in range(reps_here):
            gone = connect(room, gone_count)
            stub.set_gone(gone)
            stub.take()
            seq += 1
            cleanup["seconds"] = 0.0
            cleanup_spans.clear()
            with recorder.record() as calls:
                in_fanout["now"] = True
                t0 = time.monotonic()
                graph.realtime.broadcast(access, room, {"seq": seq})
                t1 = time.monotonic()
                in_fanout["now"] = False
            phases = [
                ("cleanup" if any(a <= i < b for a, b in cleanup_spans) else "fan-out", c.operation)
                for i, c in enumerate(calls)
            ]
            posts, peak = stub.take()
            rep = measure(n, gone_count, seq, t0, t1, posts, peak, phases, live, gone)
            # Verify the cleanup in the tables.
            now = time.time()
            members = {c.id for c in conn_repo.room_members(environment.id, room, now)}
            if members != set(live):
                rep.problems.append(
                    f"members after: {len(members)}, expected the {len(live)} live ones"
                )
            still = [cid for cid in gone if conn_repo.get(cid) is not None]
            if still:
                rep.problems.append(f"{len(still)} gone connections still have rows")
            count = live_count(settings, environment.id, room)
            if count != len(live):
                rep.problems.append(f"room live count {count}, expected {len(live)}")
            rep.seconds_room_read = sum(room_reads)
            room_reads.clear()
            rep.seconds_raw_query = raw_query(raw_client, settings.data_table, environment.id, room)
            reps.append(rep)
            cleanup_seconds[n].append(cleanup["seconds"])
            print(summary_line(rep, cleanup["seconds"], latency, POOL_SIZE), flush=True)
        results[n] = reps
    for name in ("urllib3", "botocore"):
        logging.getLogger(name).removeHandler(warnings)
    return {
        "machine": machine(),
        "latency_ms": args.latency_ms,
        "gone_fraction": args.gone,
        "pool": POOL_SIZE,
        "results": results,
        "cleanup_seconds": cleanup_seconds,
        "pool_full_warnings": warnings.pool_full,
        "other_warnings": warnings.other,
    }


def live_count(settings: Any, env_id: str, room_id: str) -> int | None:
    from chalicelib.db.models import RoomItem, env_pk, room_sk

    try:
        item = RoomItem.get(env_pk(env_id), room_sk(room_id), consistent_read=True)
    except RoomItem.DoesNotExist:
        return None
    return None if item.connections is None else int(item.connections)


def measure(
    n: int,
    gone_count: int,
    seq: int,
    t0: float,
    t1: float,
    posts: list[Post],
    peak: int,
    calls: list[tuple[str, str]],
    live: list[str],
    gone: list[str],
) -> Rep:
    message = [p for p in posts if p.kind == "broadcast" and p.seq == seq]
    problems = []
    got = Counter(p.connection_id for p in message if not p.gone)
    wrong = [cid for cid in live if got.get(cid) != 1]
    if wrong:
        problems.append(f"{len(wrong)} live connections did not get the message exactly once")
    extra = set(got) - set(live)
    if extra:
        problems.append(f"{len(extra)} unexpected recipients")
    tried = Counter(p.connection_id for p in message if p.gone)
    if sorted(tried) != sorted(gone) or any(v != 1 for v in tried.values()):
        problems.append(f"410 connections posted {dict(tried)}, expected each of {gone} once")
    # One frame per live connection names every departure (one post each, whatever G is).
    told = Counter(p.connection_id for p in posts if p.kind in ("user.left", "users.left"))
    if gone and (set(told) != set(live) or any(v != 1 for v in told.values())):
        problems.append(f"departures: {len(told)} told, {sum(told.values())} posts")
    kinds = Counter(p.kind for p in posts)
    first = min((p.done for p in message), default=t1)
    last = max((p.done for p in message), default=t1)
    return Rep(
        n=n,
        gone=gone_count,
        seconds_to_first_post=first - t0,
        seconds_delivered=last - t0,
        seconds_call=t1 - t0,
        posts=kinds,
        dynamo=Counter(calls),
        peak_in_flight=peak,
        problems=problems,
    )


def raw_query(client: Any, table: str, env_id: str, room_id: str) -> float:
    """The room's member Query as the bare client sees it: the database's own share."""
    started = time.monotonic()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :conn)",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"ENV#{env_id}#ROOM#{room_id}"},
            ":conn": {"S": "CONN#"},
        },
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**kwargs)
        if "LastEvaluatedKey" not in page:
            return time.monotonic() - started
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def bound(n: int, latency: float, pool: int) -> float:
    return math.ceil(n / pool) * latency


def summary_line(rep: Rep, cleanup: float, latency: float, pool: int) -> str:
    return (
        f"  N={rep.n} gone={rep.gone}: delivered {rep.seconds_delivered * 1000:.0f} ms "
        f"(bound {bound(rep.n, latency, pool) * 1000:.0f} ms, first post answered at "
        f"{rep.seconds_to_first_post * 1000:.0f} ms), call {rep.seconds_call * 1000:.0f} ms "
        f"(cleanup {cleanup * 1000:.0f} ms), posts {dict(rep.posts)}, "
        f"peak in flight {rep.peak_in_flight}, dynamodb {dynamo_text(rep.dynamo)}"
        + (f", PROBLEMS {rep.problems}" if rep.problems else "")
    )


def dynamo_text(calls: Counter[tuple[str, str]]) -> str:
    parts = []
    for phase in ("fan-out", "cleanup"):
        ops = {op: c for (p, op), c in sorted(calls.items()) if p == phase}
        if ops:
            parts.append(f"{phase}: " + ", ".join(f"{c} {op}" for op, c in ops.items()))
    return "; ".join(parts) or "none"


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}"


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return ms(values)
    return f"{ms(values)} ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"


def report(out: dict[str, Any]) -> str:
    latency = out["latency_ms"] / 1000
    pool = out["pool"]
    lines = [
        out["machine"],
        f"Management API stub: {out['latency_ms']:g} ms per request, "
        f"{out['gone_fraction']:.1%} of each room answering 410; sender pool {pool}. "
        "Times in ms, median of the reps (min-max).",
        "",
        "| N (410s) | reps | reads before the first post (room Query; bare client) "
        "| posting: first sent to last "
        "answered | bound N x latency / pool (ceil) | delivered to all | whole call (cleanup) "
        "| posts: message + departures (user.left, users.left) | DynamoDB calls per call "
        "| checks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, reps in out["results"].items():
        # The first post was sent about one latency before the stub answered it.
        reads = [r.seconds_to_first_post - latency for r in reps]
        posting = [r.seconds_delivered - r.seconds_to_first_post + latency for r in reps]
        room_read = [r.seconds_room_read for r in reps]
        raw = [r.seconds_raw_query for r in reps]
        delivered = [r.seconds_delivered for r in reps]
        call = [r.seconds_call for r in reps]
        cleanup = out["cleanup_seconds"][n]
        problems = sorted({p for r in reps for p in r.problems})
        last = reps[-1]
        lines.append(
            f"| {n} ({last.gone}) | {len(reps)} | {ms(reads)} ({ms(room_read)}; {ms(raw)}) "
            f"| {spread(posting)} "
            f"| {n * latency / pool * 1000:.0f} ({bound(n, latency, pool) * 1000:.0f}) "
            f"| {spread(delivered)} | {spread(call)} ({ms(cleanup)}) "
            f"| {last.posts.get('broadcast', 0)} + "
            f"{last.posts.get('user.left', 0) + last.posts.get('users.left', 0)} "
            f"| {dynamo_text(last.dynamo)} | {'; '.join(problems) or 'ok'} |"
        )
    lines += [
        "",
        f'urllib3 "Connection pool is full" warnings: {out["pool_full_warnings"]}'
        + (f"; other warnings: {out['other_warnings'][:5]}" if out["other_warnings"] else ""),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 100, 1000],
        help="room sizes, comma-separated (default 10,100,1000)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="stub latency per request")
    parser.add_argument(
        "--gone", type=float, default=0.05, help="fraction of each room answering 410 (0.05)"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions per size below 1,000")
    parser.add_argument("--reps-large", type=int, default=3, help="repetitions at 1,000 and up")
    args = parser.parse_args(argv)
    # SIGTERM ends the run through the finally blocks, which stop the child processes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    out = run(args)
    print()
    print(report(out))
    failed = any(r.problems for reps in out["results"].values() for r in reps)
    return 1 if failed or out["pool_full_warnings"] else 0


if __name__ == "__main__":
    sys.exit(main())
