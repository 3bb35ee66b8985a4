"""A real local HTTP listener for webhook tests: records every request (headers, body, when) and
answers from a script per path (a status, or "hang" to answer after the sender gave up)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_SECONDS = 3.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


@dataclass
class Listener:
    url: str
    received: list[Received] = field(default_factory=list)
    # path -> answers to give, in order (the last one repeats); absent: 200
    script: dict[str, list[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until `count` requests reached `path` (bounded), then return them all."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                got = [r for r in self.received if r.path == path]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self.arrived.wait(left)

    def answer_for(self, path: str) -> Any:
        with self.lock:
            answers = self.script.get(path)
            if not answers:
                return 200
            return answers.pop(0) if len(answers) > 1 else answers[0]


@contextmanager
def listening() -> Iterator[Listener]:
    holder: dict[str, Listener] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            listener = holder["listener"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with listener.arrived:
                listener.received.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.time(),
                    )
                )
                listener.arrived.notify_all()
            answer = listener.answer_for(self.path)
            if answer == "hang":
                time.sleep(HANG_SECONDS)
                answer = 200
            if answer == "redirect":
                self.send_response(302)
                self.send_header("Location", listener.url + "/redirected")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = f"answer {answer} " + "x" * 3000
            self.send_response(int(answer))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with suppress(OSError):
                self.wfile.write(payload.encode())

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    holder["listener"] = Listener(f"http://{host}:{port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield holder["listener"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
