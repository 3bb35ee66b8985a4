"""Benchmark 13: writers racing for one room's seq (issue 15), on the local stack.

Every change of a room takes the room's next seq in its own transaction, conditioned on the seq
its request read; writers of one room that read the same seq race, and the losers read it again
and retry (repositories/events.py). This starts the real local stack (`python -m devstack`,
ephemeral, free ports) and, for W = 1, 2, 4, 8 concurrent writers (threads, one HTTP session
each), makes W x K comments in ONE thread of one room (`POST .../comments`), then reads the room's
events back (`GET .../events`) and checks that the seqs are 1..N with no gap or repeat. Reported:
commits per second, each write's latency (p50, p95, max), and the writes refused (409).

    .venv/bin/python -m bench.seq_contention              # K = 20
    .venv/bin/python -m bench.seq_contention --each 50
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from .common import machine, percentile
from .e2e_load import ADMIN_EMAIL, ADMIN_PASSWORD, local_stack, log_trouble


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--each", type=int, default=20, help="comments per writer")
    parser.add_argument("--writers", type=int, nargs="*", default=[1, 2, 4, 8])
    args = parser.parse_args()
    rows = []
    with local_stack({}) as stack:
        token = stack.call(
            "POST", "/admin/api/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )["token"]
        env = stack.call("POST", "/admin/api/environments", token, json={"name": "Bench"})
        (sk,) = [k["key"] for k in env["keys"] if k["kind"] == "secret"]
        for writers in args.writers:
            room = f"race-{writers}"
            stack.call("POST", "/api/v1/rooms", sk, json={"id": room})
            thread = stack.call(
                "POST",
                f"/api/v1/rooms/{room}/threads",
                sk,
                json={"comment": {"userId": "w", "body": "first"}},
            )
            url = f"{stack.url}/api/v1/rooms/{room}/threads/{thread['id']}/comments"

            def writer(n: int, url: str = url) -> list[tuple[float, int]]:
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {sk}"
                done = []
                for k in range(args.each):
                    started = time.perf_counter()
                    r = session.post(url, json={"userId": f"w{n}", "body": f"{n}-{k}"}, timeout=60)
                    done.append((time.perf_counter() - started, r.status_code))
                return done

            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(writers) as pool:
                results = [x for part in pool.map(writer, range(writers)) for x in part]
            elapsed = time.perf_counter() - started
            seqs = _seqs(stack, sk, room)
            committed = sum(1 for _, status in results if status == 201)
            refused = sum(1 for _, status in results if status == 409)
            assert seqs == list(range(1, committed + 2)), "the seqs have a gap or a repeat"
            latencies = [t for t, status in results if status == 201]
            rows.append((writers, committed, refused, committed / elapsed, latencies))
        trouble = log_trouble(stack.log())
    print(f"machine: {machine()}")
    print("| writers | commits | refused (409) | commits/s | p50 ms | p95 ms | max ms | seqs |")
    print("|---|---|---|---|---|---|---|---|")
    for writers, committed, refused, rate, latencies in rows:
        print(
            f"| {writers} | {committed} | {refused} | {rate:.1f} | "
            f"{percentile(latencies, 50) * 1000:.0f} | {percentile(latencies, 95) * 1000:.0f} | "
            f"{max(latencies) * 1000:.0f} | 1..{committed + 1}, no gap |"
        )
    print(f"log trouble lines: {len(trouble)}")
    for line in trouble[:5]:
        print("  " + line)
    return 0


def _seqs(stack: Any, sk: str, room: str) -> list[int]:
    found: list[int] = []
    cursor = None
    while True:
        query = "?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = stack.call("GET", f"/api/v1/rooms/{room}/events{query}", sk)
        found += [e["seq"] for e in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return found


if __name__ == "__main__":
    raise SystemExit(main())
