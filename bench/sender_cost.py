"""Benchmark 10: the production sender's CPU per post (chalicelib/sockets/sender.py).

A stub of the API Gateway Management API (200 to every POST, keep-alive, as API Gateway) runs in
its own process on 127.0.0.1, so that only the sender's CPU is counted here: the process CPU time
of N posts, one at a time on one thread (what a post costs a Lambda), and of a fan-out of 100
recipients through post_many (the sender's thread pool). Beside it, the same posts through a
plain botocore client's `post_to_connection` (what the sender did before issue 14).

    .venv/bin/python -m bench.sender_cost                 # 2,000 posts each way
    .venv/bin/python -m bench.sender_cost --posts 5000
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .common import HOST, bench_environ, free_port, machine, use_bench_environ


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def stub() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sender_cost", "--serve", str(port)], env=bench_environ()
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), __import__("socket").create_connection((HOST, port)):
                break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def cpu_ms(count: int, post: Callable[[int], Any]) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of `post`."""
    for n in range(50):  # warm-up: clients, connections, caches
        post(n)
    started, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        post(n)
    cpu, wall = time.process_time() - started, time.perf_counter() - wall
    return 1000 * cpu / count, 1000 * wall / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        ThreadingHTTPServer((HOST, args.serve), _Stub).serve_forever()
        return 0
    use_bench_environ()
    import botocore.session
    from botocore.config import Config

    from chalicelib.entities import Endpoint
    from chalicelib.sockets.sender import ManagementApi

    data = b'{"type":"presence.updated","data":{"cursor":{"x":120,"y":480}}}'
    with stub() as port:
        domain = f"{HOST}:{port}"
        client = botocore.session.Session().create_client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://{domain}/bench",
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
        )
        sender = ManagementApi("http", "us-east-1")
        targets = [
            Endpoint(id=f"conn{n:03d}=", domain_name=domain, stage="bench") for n in range(100)
        ]
        rows: list[tuple[str, tuple[float, float]]] = [
            (
                "botocore client.post_to_connection, one at a time",
                cpu_ms(
                    args.posts,
                    lambda n: client.post_to_connection(ConnectionId=f"c{n}=", Data=data),
                ),
            ),
            (
                "ManagementApi.post (chalicelib/sockets/sender.py), one at a time",
                cpu_ms(args.posts, lambda n: sender.post(targets[n % 100], data)),
            ),
            (
                "ManagementApi.post_many, 100 recipients (per recipient)",
                tuple(  # type: ignore[arg-type]
                    v / 100
                    for v in cpu_ms(
                        max(1, args.posts // 100), lambda n: sender.post_many(targets, data)
                    )  # type: ignore[arg-type]
                ),
            ),
        ]
    print(machine())
    print()
    print(f"| {args.posts:,} posts of {len(data)} bytes | CPU ms per post | wall ms per post |")
    print("|---|---|---|")
    for label, (cpu, wall) in rows:
        print(f"| {label} | {cpu:.3f} | {wall:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
