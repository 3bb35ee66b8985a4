"""Benchmark 5: end to end on the local stack.

Starts the real local stack (`python -m devstack`, ephemeral, on free ports: embedded DynamoDB,
the Chalice app over HTTP, the WebSocket gateway and its Management API), makes an environment
through the admin API, mints a token per user with POST /auth/token, and connects R rooms x U
clients with `websockets`. Each client joins, then sends `broadcast` messages carrying its
name, a sequence number and a send timestamp at a set rate for a bounded time. Every receiver
records each message's latency (send to receive, one clock: all clients live in this process).

Reported: latency p50/p95/p99/max, messages sent, deliveries expected (each message to the U-1
others in its room) and received, lost (must be 0), duplicates, out of order (per sender), frames
from another room (must be 0), error frames, unexpected closes, and ERROR/WARNING lines or
tracebacks in the stack's log.

The gateway runs the app's handlers in its own process on a 32-thread pool, with moto in the
same process: the figures are for local moto and Python on this machine, not for AWS.

    .venv/bin/python -m bench.e2e_load                          # R=5 U=4, 2 msg/s, 30 s
    .venv/bin/python -m bench.e2e_load --rooms 10 --users 10 --rate 1 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .common import HOST, ROOT, free_port, machine, percentile

ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-correct-horse-battery"
READY_SECONDS = 60
STOP_SECONDS = 20
WAIT = 10.0  # any one handshake, join or close


# --- the stack ----------------------------------------------------------------------------------


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    url: str
    ws_url: str
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.session.request(
            method, self.url + path, headers=headers, timeout=10, **kwargs
        )
        if response.status_code >= 300:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


@contextlib.contextmanager
def local_stack(settings: dict[str, str]) -> Iterator[Stack]:
    """`python -m devstack` on free ports, ephemeral; stopped (SIGINT, bounded) on exit."""
    ports = [free_port() for _ in range(4)]
    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AWS_"))}
        env.update(
            PULSE_HTTP_PORT=str(ports[0]),
            PULSE_DYNAMODB_PORT=str(ports[1]),
            PULSE_WS_PORT=str(ports[2]),
            PULSE_WS_MANAGEMENT_PORT=str(ports[3]),
            PULSE_DATA_DIR=str(Path(tmp) / "data"),
            PULSE_EPHEMERAL="1",
            PULSE_ADMIN_EMAIL=ADMIN_EMAIL,
            PULSE_ADMIN_PASSWORD=ADMIN_PASSWORD,
            PYTHONUNBUFFERED="1",
            NO_PROXY="127.0.0.1",
            no_proxy="127.0.0.1",
        )
        env.update(settings)
        log_path = Path(tmp) / "stack.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        stack = Stack(process, f"http://{HOST}:{ports[0]}", f"ws://{HOST}:{ports[2]}", log_path)
        try:
            wait_ready(stack)
            yield stack
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=STOP_SECONDS)
            stack.session.close()


def wait_ready(stack: Stack) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise SystemExit(f"the stack exited with {stack.process.returncode}:\n{stack.log()}")
        # The banner is printed once the WebSocket gateway is up too.
        if "Pulse local stack is running." in stack.log():
            return
        time.sleep(0.1)
    raise SystemExit(f"the stack did not start within {READY_SECONDS}s:\n{stack.log()}")


def log_trouble(log: str) -> list[str]:
    """ERROR/WARNING log lines and tracebacks of the stack."""
    pattern = re.compile(r'"level": "(ERROR|WARNING|CRITICAL)"|^Traceback|^\S*(Error|Warning):')
    return [line for line in log.splitlines() if pattern.search(line)]


# --- clients ------------------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    room: str
    ws: ClientConnection
    connection_id: str = ""
    joined: asyncio.Future[dict[str, Any]] | None = None
    sent: int = 0
    # (sender, seq) -> times received; latencies of first receipts
    received: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # the send time of each latency's message
    last_seq: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0
    last_arrival: float = 0.0  # time.monotonic() of the last measured broadcast received
    foreign: int = 0  # broadcasts from clients of other rooms
    errors: list[dict[str, Any]] = field(default_factory=list)
    other: Counter[str] = field(default_factory=Counter)
    closed: str | None = None


async def reader(client: Client, rooms_of: dict[str, str]) -> None:
    try:
        async for raw in client.ws:
            arrived = time.monotonic()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "broadcast":
                event = frame.get("event") or {}
                sender, seq = str(event.get("from")), int(event.get("seq", -1))
                if rooms_of.get(sender) != client.room:
                    client.foreign += 1
                    continue
                if event.get("warm"):
                    continue
                key = (sender, seq)
                client.received[key] += 1
                client.last_arrival = arrived
                if client.received[key] == 1:
                    client.latencies.append(arrived - event["t"])
                    client.sent_at.append(event["t"])
                    if seq < client.last_seq.get(sender, -1):
                        client.out_of_order += 1
                    client.last_seq[sender] = max(seq, client.last_seq.get(sender, -1))
            elif kind == "room.joined" and client.joined is not None and not client.joined.done():
                client.joined.set_result(frame)
            elif kind == "error":
                client.errors.append(frame)
            else:
                client.other[str(kind)] += 1
    except ConnectionClosed as exc:
        client.closed = str(exc)
        return
    client.closed = f"closed: {client.ws.close_code}"


async def open_client(
    base: str, pk: str, token: str, name: str, room: str, rooms_of: dict[str, str]
) -> tuple[Client, asyncio.Task[None]]:
    url = f"{base}/?{urlencode({'apiKey': pk, 'token': token, 'room': room})}"
    ws = await connect(url, open_timeout=WAIT, close_timeout=2, ping_interval=None)
    client = Client(name, room, ws)
    client.joined = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(reader(client, rooms_of))
    await ws.send(json.dumps({"type": "join", "requestId": "join"}))
    joined = await asyncio.wait_for(client.joined, WAIT)
    client.connection_id = joined["connectionId"]
    return client, task


async def sender(
    client: Client, start: float, rate: float, count: int, offset: float, warm: bool = False
) -> None:
    for seq in range(count):
        due = start + offset + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        event = {"from": client.name, "seq": seq, "t": time.monotonic()}
        if warm:
            event["warm"] = True
        try:
            await client.ws.send(json.dumps({"type": "broadcast", "event": event}))
        except ConnectionClosed:
            return
        if not warm:
            client.sent += 1


# --- the run ------------------------------------------------------------------------------------


async def load(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    admin = stack.call(
        "POST", "/admin/api/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )["token"]
    created = stack.call("POST", "/admin/api/environments", admin, json={"name": "e2e load"})
    keys = {k["kind"]: k["key"] for k in created["keys"]}
    pk, sk = keys["publishable"], keys["secret"]
    names = [(f"r{r}-u{u}", f"room-{r}") for r in range(args.rooms) for u in range(args.users)]
    rooms_of = dict(names)

    def mint(name: str) -> str:
        body = stack.call("POST", "/auth/token", sk, json={"userId": name, "name": name})
        return str(body["token"])

    tokens = {name: await asyncio.to_thread(mint, name) for name, _ in names}
    clients: list[Client] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for name, room in names:  # one at a time, as people arrive
            client, task = await open_client(stack.ws_url, pk, tokens[name], name, room, rooms_of)
            clients.append(client)
            tasks.append(task)
        # Warm-up, not measured: one message from each client (opens the app's pooled
        # connections to the Management API), then a pause for it to drain.
        now = time.monotonic()
        await asyncio.gather(*(sender(c, now, 1, 1, 0.0, warm=True) for c in clients))
        await asyncio.sleep(2)
        for c in clients:
            c.errors.clear()
            c.other.clear()

        count = max(1, int(args.seconds * args.rate))
        start = time.monotonic() + 0.5
        rng = random.Random(6)
        await asyncio.gather(
            *(sender(c, start, args.rate, count, rng.uniform(0, 1 / args.rate)) for c in clients)
        )
        sending = time.monotonic() - start
        # Drain: until every expected delivery arrived, or nothing arrived for --drain seconds
        # (a backlog still moving is waited for, up to --drain-max).
        expected = expected_deliveries(clients)
        hard_stop = time.monotonic() + args.drain_max
        seen, quiet_since = received_total(clients), time.monotonic()
        while seen < expected and time.monotonic() < hard_stop:
            await asyncio.sleep(0.1)
            now_seen = received_total(clients)
            if now_seen != seen:
                seen, quiet_since = now_seen, time.monotonic()
            elif time.monotonic() - quiet_since > args.drain:
                break
        last = max((c.last_arrival for c in clients), default=0.0)
        drained = max(0.0, last - start - sending)
        out = summarize(clients, sending, drained)  # before the clients close their sockets
        out["windows"] = windows(clients, start, args.window)
        return out
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.ws.close(), WAIT)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def expected_deliveries(clients: list[Client]) -> int:
    per_room = Counter(c.room for c in clients)
    return sum(c.sent * (per_room[c.room] - 1) for c in clients)


def received_total(clients: list[Client]) -> int:
    return sum(len(c.received) for c in clients)


def summarize(clients: list[Client], sending: float, drained: float) -> dict[str, Any]:
    sent = {c.name: c.sent for c in clients}
    lost = 0
    for c in clients:
        for other in clients:
            if other.room == c.room and other is not c:
                got = {seq for (sender, seq) in c.received if sender == other.name}
                lost += sum(1 for seq in range(sent[other.name]) if seq not in got)
    latencies = [x for c in clients for x in c.latencies]
    return {
        "clients": len(clients),
        "sent": sum(sent.values()),
        "sending_seconds": sending,
        "drain_seconds": drained,
        "expected": expected_deliveries(clients),
        "received": received_total(clients),
        "lost": lost,
        "duplicates": sum(n - 1 for c in clients for n in c.received.values() if n > 1),
        "out_of_order": sum(c.out_of_order for c in clients),
        "foreign": sum(c.foreign for c in clients),
        "error_frames": Counter(e.get("code") for c in clients for e in c.errors),
        "other_frames": sum((c.other for c in clients), Counter()),
        "closed_early": [c.name for c in clients if c.closed],
        "latencies": latencies,
    }


def windows(clients: list[Client], start: float, width: float) -> list[tuple[float, int, float]]:
    """(window start s, messages, p95 s) by the send time of the messages."""
    by: dict[int, list[float]] = {}
    for c in clients:
        for sent, latency in zip(c.sent_at, c.latencies, strict=True):
            by.setdefault(int((sent - start) // width), []).append(latency)
    return [(i * width, len(v), percentile(v, 95)) for i, v in sorted(by.items())]


def report(args: argparse.Namespace, out: dict[str, Any], trouble: list[str]) -> str:
    lat = sorted(out["latencies"])

    def q(p: float) -> str:
        return f"{percentile(lat, p) * 1000:.1f}" if lat else "-"

    rate_in = out["sent"] / out["sending_seconds"] if out["sending_seconds"] else 0.0
    pushes = out["received"] / (out["sending_seconds"] + out["drain_seconds"] or 1)
    errors = dict(out["error_frames"]) or 0
    lines = [
        machine(),
        f"Load: {args.rooms} rooms x {args.users} clients, {args.rate:g} broadcast/s each for "
        f"{args.seconds:g} s ({rate_in:.1f} messages/s in, {pushes:.0f} pushes/s out); "
        f"PULSE_WS_MESSAGES_PER_SECOND={args.rate_limit}; the last delivery arrived "
        f"{out['drain_seconds']:.1f} s after the last send",
        "",
        "| p50 ms | p95 ms | p99 ms | max ms | sent | deliveries expected | received | lost "
        "| duplicates | out of order | from another room | error frames | closed early "
        "| stack log errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {q(50)} | {q(95)} | {q(99)} | {q(100)} | {out['sent']} | {out['expected']} "
        f"| {out['received']} | {out['lost']} | {out['duplicates']} | {out['out_of_order']} "
        f"| {out['foreign']} | {errors} | {len(out['closed_early'])} | {len(trouble)} |",
    ]
    if out.get("windows"):
        cells = ", ".join(f"{t:g}s: {p95 * 1000:.0f}" for t, _, p95 in out["windows"])
        lines.append(f"\np95 ms by when the message was sent ({args.window:g} s windows): {cells}")
    if out["other_frames"]:
        lines.append(f"\nOther frames received: {dict(out['other_frames'])}")
    if trouble:
        lines.append("\nStack log (first lines):\n" + "\n".join(trouble[:10]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e_load", description=__doc__)
    parser.add_argument("--rooms", type=int, default=5, help="R rooms (5)")
    parser.add_argument("--users", type=int, default=4, help="U clients per room (4)")
    parser.add_argument("--rate", type=float, default=2.0, help="broadcasts/s per client (2)")
    parser.add_argument("--seconds", type=float, default=30.0, help="sending time (30)")
    parser.add_argument(
        "--drain",
        type=float,
        default=15.0,
        help="after sending, stop waiting once nothing arrived for this long (15)",
    )
    parser.add_argument(
        "--drain-max", type=float, default=300.0, help="after sending, wait at most this (300)"
    )
    parser.add_argument("--window", type=float, default=5.0, help="p95 by window of (5) s")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=20,
        help="PULSE_WS_MESSAGES_PER_SECOND for the stack (20, the default)",
    )
    args = parser.parse_args(argv)
    if args.users < 2:
        parser.error("--users must be at least 2 (a broadcast goes to the others)")
    settings = {"PULSE_WS_MESSAGES_PER_SECOND": str(args.rate_limit)}
    if args.users > 100:
        settings["PULSE_ROOM_CONNECTION_CAP"] = str(args.users)
    # SIGTERM ends the run through the finally blocks, which stop the stack.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    with local_stack(settings) as stack:
        out = asyncio.run(load(stack, args))
        log = stack.log()
    trouble = log_trouble(log)
    print(report(args, out, trouble))
    ok = not (
        out["lost"]
        or out["duplicates"]
        or out["foreign"]
        or out["closed_early"]
        or out["error_frames"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
