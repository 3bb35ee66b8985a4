"""Benchmark 14: what a widget's reconnect costs in a busy room, caught up vs listed again.

Starts the real local stack (`python -m devstack`, ephemeral, free ports), seeds a room of
T threads of C comments through the REST API, and opens `<pulse-widget>` in headless Chromium
(/usr/bin/chromium, or PULSE_CHROMIUM). Then, R times per mode: the browser goes offline and
the widget drops its socket, K replies are posted through REST, the browser comes back, and the
widget rejoins. Measured on the new socket: frames and bytes received until the widget shows
the K-th reply and has nothing more to load, and the time from coming back online to the K-th
reply shown. Modes: `catch-up` (join sinceSeq, room.events: the widget as built) and `list`
(the widget told it holds nothing complete, so it joins plainly and lists every thread and its
comments again: what every reconnect cost before issue 15).

    .venv/bin/python -m bench.widget_reconnect                  # T=20, C=30, K=5, R=5
    .venv/bin/python -m bench.widget_reconnect --threads 50 --replies 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, sync_playwright

from .common import machine, table
from .e2e_load import ADMIN_EMAIL, ADMIN_PASSWORD, local_stack

CHROMIUM = os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium")
# The widget renders a headless client's room (its private `room`); what is still loading is
# the room's own (private) state, read here as the bench always read the widget's.
SETTLED = """(want) => {
  const w = document.querySelector('pulse-widget');
  const r = w.room;
  const bodies = Array.from(w.shadowRoot.querySelectorAll('.comment .body'), (b) => b.textContent);
  return bodies.includes(want) && r.listComplete && !r.catchUp && r.commentLoads.size === 0
    && r.commentQueue.length === 0;
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--comments", type=int, default=30, help="per thread, its first included")
    parser.add_argument("--replies", type=int, default=5, help="posted while the widget is away")
    parser.add_argument("--rounds", type=int, default=5, help="reconnects per mode")
    args = parser.parse_args()
    limits = {"PULSE_RATE_REST_PER_ENV": "100000", "PULSE_RATE_REST_PER_KEY": "100000"}
    results: dict[str, list[tuple[int, int, float]]] = {"catch-up": [], "list": []}
    with local_stack(limits) as stack, sync_playwright() as driver:
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        operator = stack.call("POST", "/admin/api/login", json=login)["token"]
        env = stack.call("POST", "/admin/api/environments", operator, json={"name": "Bench"})
        keys = {k["kind"]: k["key"] for k in env["keys"]}
        sk, pk = keys["secret"], keys["publishable"]
        stack.call("POST", "/api/v1/rooms", sk, json={"id": "bench"})
        threads = "/api/v1/rooms/bench/threads"
        newest = ""
        for t in range(args.threads):
            first = {
                "userId": "bob",
                "body": f"Topic {t}: " + "the budget and its assumptions " * 8,
            }
            newest = stack.call("POST", threads, sk, json={"comment": first})["id"]
            for n in range(args.comments - 1):
                body = f"Reply {n} on {t}: " + "we should revisit the numbers next week " * 6
                stack.call(
                    "POST", f"{threads}/{newest}/comments", sk, json={"userId": "bob", "body": body}
                )
        token = stack.call("POST", "/auth/token", sk, json={"userId": "ada", "name": "Ada"})[
            "token"
        ]

        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page()
        html = (
            f'<!doctype html><meta charset="utf-8"><script src="{stack.url}/sdk/pulse.js"></script>'
            f'<pulse-widget api-key="{pk}" token="{token}" room="bench" endpoint="{stack.ws_url}">'
            "</pulse-widget>"
        )
        site = Site(html)  # a page on loopback: Chromium lets only those reach loopback
        frames: list[tuple[int, str]] = []  # (socket number, frame) of every frame received
        sockets = [0]

        def on_socket(ws: Any) -> None:
            sockets[0] += 1
            number = sockets[0]
            ws.on("framereceived", lambda data: frames.append((number, data)))

        page.on("websocket", on_socket)
        page.goto(site.url)
        page.wait_for_function(
            SETTLED,
            arg=f"Reply {args.comments - 2} on {args.threads - 1}: "
            + "we should revisit the numbers next week " * 6,
            timeout=60_000,
        )
        for r in range(args.rounds):
            for mode in ("catch-up", "list"):
                results[mode].append(
                    reconnect(
                        page, stack, sk, newest, args.replies, f"{mode} {r}", mode, frames, sockets
                    )
                )
        browser.close()
        site.close()

    print(f"machine: {machine()}")
    print(
        f"room: {args.threads} threads x {args.comments} comments; {args.replies} replies made "
        f"while away; {args.rounds} reconnects per mode, medians"
    )
    rows = []
    for mode, runs in results.items():
        rows.append(
            [
                mode,
                statistics.median(f for f, _, _ in runs),
                f"{statistics.median(b for _, b, _ in runs) / 1024:.1f}",
                f"{statistics.median(s for _, _, s in runs) * 1000:.0f}",
            ]
        )
    print(table(["mode", "frames received", "KB received", "ms online -> all shown"], rows))
    return 0


class Site:
    """`html` at / of an HTTP server on 127.0.0.1 (a free port), in a thread of this process."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def reconnect(
    page: Page,
    stack: Any,
    sk: str,
    thread_id: str,
    replies: int,
    tag: str,
    mode: str,
    frames: list[tuple[int, str]],
    sockets: list[int],
) -> tuple[int, int, float]:
    page.context.set_offline(True)
    page.evaluate("document.querySelector('pulse-widget').reconnect()")
    page.wait_for_function("document.querySelector('pulse-widget').status === 'offline'")
    last = ""
    for n in range(replies):
        last = f"{tag}: reply {n}"
        stack.call(
            "POST",
            f"/api/v1/rooms/bench/threads/{thread_id}/comments",
            sk,
            json={"userId": "bob", "body": last},
        )
    if mode == "list":
        page.evaluate("document.querySelector('pulse-widget').room.listComplete = false")
    number = sockets[0] + 1
    started = time.monotonic()
    page.context.set_offline(False)
    page.wait_for_function(SETTLED, arg=last, timeout=60_000, polling=5)
    shown = time.monotonic() - started
    mine = [data for socket, data in frames if socket == number]
    types = {json.loads(d).get("type") for d in mine}
    assert ("room.caughtUp" in types) == (mode == "catch-up"), types
    return len(mine), sum(len(d.encode()) for d in mine), shown


if __name__ == "__main__":
    raise SystemExit(main())
