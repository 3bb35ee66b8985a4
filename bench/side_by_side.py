"""Benchmark 9: the local stack side by side with the Liveblocks dev server.

Starts Pulse's local stack (`python -m devstack`, ephemeral, free ports, as `make dev` runs it)
and the Liveblocks dev server (`liveblocks dev`, one Bun process with SQLite, from npm under
bench/side_by_side/: `npm install` there first; never in CI), one after the other, and drives each
with the same Node client (bench/side_by_side/client.mjs) through its own REST API and WebSocket
protocol:

- REST: get a room, list rooms, create a room, sequential on one keep-alive connection;
- connect + join with auth: a fresh token (Pulse `POST /auth/token`, Liveblocks
  `POST /v2/authorize-user`), the socket, and the join answered (`room.joined` / ROOM_STATE);
- broadcast (20 clients x 2 msg/s) and presence (20 x 5/s) in one room: send-to-receive latency
  at every other member, on one clock;
- memory: the server's resident memory (and CPU) after a warm-up of pushes, then after 100,000
  more, idle each time.

The server's CPU is read from /proc for each scenario. Abuse limits are raised (still counted)
so that the sequential REST calls measure the stack, not the limiter.

    .venv/bin/python -m bench.side_by_side                       # both servers, every scenario
    .venv/bin/python -m bench.side_by_side --only pulse --pushes 0  # Pulse alone, no memory run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import HOST, ROOT, free_port, machine
from .e2e_load import local_stack

NODE_DIR = ROOT / "bench" / "side_by_side"
CLIENT = NODE_DIR / "client.mjs"
LIVEBLOCKS = NODE_DIR / "node_modules" / "liveblocks" / "dist" / "index.js"
BUN = NODE_DIR / "node_modules" / ".bin" / "bun"
READY_SECONDS = 60
STOP_SECONDS = 20
LIMITS_OFF = {
    name: "1000000"
    for name in (
        "PULSE_RATE_REST_PER_ENV",
        "PULSE_RATE_REST_PER_KEY",
        "PULSE_RATE_MINT_PER_ENV",
        "PULSE_RATE_MINT_PER_KEY",
        "PULSE_RATE_USER_MESSAGES_PER_SECOND",
    )
}
TICKS = os.sysconf("SC_CLK_TCK")


class Server:
    """A running server under test: where it answers and which process to watch."""

    def __init__(self, name: str, pid: int, http: str, ws: str, keys: dict[str, str]) -> None:
        self.name, self.pid, self.http, self.ws, self.keys = name, pid, http, ws, keys

    def rss_mb(self) -> float:
        """Resident memory of the server's process tree, in MB."""
        return sum(_rss_kb(pid) for pid in _tree(self.pid)) / 1024

    def cpu_seconds(self) -> float:
        return sum(_cpu(pid) for pid in _tree(self.pid))


def _tree(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            pids += _tree(int(line))
    return pids


def _rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


@contextlib.contextmanager
def pulse() -> Iterator[Server]:
    with local_stack(LIMITS_OFF) as stack:
        admin = stack.call(
            "POST",
            "/admin/api/login",
            json={"email": "bench@example.com", "password": "bench-correct-horse-battery"},
        )["token"]
        created = stack.call("POST", "/admin/api/environments", admin, json={"name": "side"})
        keys = {k["kind"]: k["key"] for k in created["keys"]}
        yield Server(
            "Pulse `make dev`",
            stack.process.pid,
            stack.url,
            stack.ws_url,
            {"secret": keys["secret"], "publishable": keys["publishable"]},
        )


@contextlib.contextmanager
def liveblocks() -> Iterator[Server]:
    if not LIVEBLOCKS.exists() or not BUN.exists():
        raise SystemExit(f"npm install in {NODE_DIR} first (the Liveblocks dev server and Bun)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="liveblocks-bench-") as tmp:
        log_path = Path(tmp) / "liveblocks.log"
        env = {**os.environ, "PATH": f"{BUN.parent}:{os.environ.get('PATH', '')}"}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(BUN),
                    str(LIVEBLOCKS),
                    "dev",
                    "--port",
                    str(port),
                    "--host",
                    HOST,
                    "--no-persist",
                    "--no-check",
                ],
                cwd=tmp,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_http(f"http://{HOST}:{port}/health", process, log_path)
            yield Server(
                "Liveblocks dev server",
                process.pid,
                f"http://{HOST}:{port}",
                f"ws://{HOST}:{port}",
                {"secret": "sk_localdev"},
            )
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=STOP_SECONDS)


def _wait_http(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    import requests

    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"exited with {process.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {READY_SECONDS} s:\n{log_path.read_text()}")


def drive(server: Server, target: str, scenario: str, **params: Any) -> dict[str, Any]:
    """One scenario through the Node client; the result, with the server's CPU meanwhile."""
    config = {
        "target": target,
        "http": server.http,
        "ws": server.ws,
        "scenario": scenario,
        "drainSeconds": 120,
        **server.keys,
        **params,
    }
    cpu, started = server.cpu_seconds(), time.monotonic()
    done = subprocess.run(
        ["node", "--experimental-websocket", "--no-warnings", str(CLIENT), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{target} {scenario}: the client failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    wall = time.monotonic() - started
    result["serverCpu"] = (server.cpu_seconds() - cpu) / wall  # cores, averaged
    return result


def run(server: Server, target: str, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"name": server.name, "rssFresh": server.rss_mb()}
    out["rest"] = drive(server, target, "rest", requests=args.requests, warmup=50)
    out["connect"] = drive(server, target, "connects", connects=args.connects)
    out["broadcast"] = drive(
        server, target, "broadcast", clients=args.clients, rate=2, seconds=args.seconds
    )
    out["presence"] = drive(
        server, target, "presence", clients=args.clients, rate=5, seconds=args.seconds
    )
    if args.pushes:
        warm = drive(
            server,
            target,
            "pushes",
            clients=args.clients,
            pushes=10_000,
            roundsPerSecond=args.rounds,
        )
        time.sleep(2)
        out["rssWarm"] = server.rss_mb()
        # The run is bounded in time: long enough for a server ten times slower than the rate.
        load = drive(
            server,
            target,
            "pushes",
            clients=args.clients,
            pushes=args.pushes,
            roundsPerSecond=args.rounds,
            drainSeconds=max(120, args.pushes / 150),
        )
        time.sleep(2)
        out["rssAfter"] = server.rss_mb()
        out["pushes"] = {"warm": warm, "load": load}
    return out


def q(summary: dict[str, Any], *keys: str) -> str:
    return " / ".join("-" if summary.get(k) is None else f"{summary[k]:.2f}" for k in keys)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    rows = [
        ("REST get a room, sequential, p50 / p99 ms", lambda r: q(r["rest"]["get"], "p50", "p99")),
        ("REST list rooms, p50 / p99 ms", lambda r: q(r["rest"]["list"], "p50", "p99")),
        ("REST create a room, p50 / p99 ms", lambda r: q(r["rest"]["create"], "p50", "p99")),
        ("connect + join with a fresh mint, p50 / p99 ms", lambda r: q(r["connect"], "p50", "p99")),
        (
            f"broadcast, {args.clients} clients x 2 msg/s: p50 / p99 ms",
            lambda r: q(r["broadcast"], "p50", "p99"),
        ),
        (
            f"presence, {args.clients} clients x 5/s: p50 / p99 ms",
            lambda r: q(r["presence"], "p50", "p99"),
        ),
        (
            "deliveries: received / expected (broadcast, presence)",
            lambda r: (
                f"{r['broadcast']['received']:,} / {r['broadcast']['expected']:,}, "
                f"{r['presence']['received']:,} / {r['presence']['expected']:,}"
            ),
        ),
        (
            "presence deliveries per second, server CPU (cores)",
            lambda r: f"{r['presence']['perSecond']:,.0f} at {r['presence']['serverCpu']:.2f}",
        ),
        (
            f"server memory MB: fresh / after 10,000 pushes / after {args.pushes:,} more, idle",
            lambda r: (
                f"{r['rssFresh']:.0f} / {r.get('rssWarm', 0):.0f} / {r.get('rssAfter', 0):.0f}"
                + (
                    f" ({100 * (r['rssAfter'] / r['rssWarm'] - 1):+.1f}%)"
                    if r.get("rssWarm")
                    else ""
                )
            ),
        ),
        (
            "pushes delivered / expected (memory run)",
            lambda r: (
                f"{r['pushes']['load']['received']:,} / {r['pushes']['load']['expected']:,}"
                if "pushes" in r
                else "-"
            ),
        ),
    ]
    header = "| | " + " | ".join(r["name"] for r in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["pulse", "liveblocks"])
    parser.add_argument("--requests", type=int, default=500, help="per REST operation")
    parser.add_argument("--connects", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--pushes", type=int, default=100_000, help="0: no memory run")
    parser.add_argument("--rounds", type=float, default=4, help="push rounds a second")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if shutil.which("node") is None:
        raise SystemExit("node is needed (the one client of both servers)")
    results = []
    for target, start in (("pulse", pulse), ("liveblocks", liveblocks)):
        if args.only and args.only != target:
            continue
        with start() as server:
            results.append(run(server, target, args))
        print(f"{target}: done", file=sys.stderr, flush=True)
    print(machine())
    print()
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
