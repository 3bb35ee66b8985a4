"""How deep a request goes: the Pulse functions, files and call depth that one `POST
.../comments` and one socket `comment.create` pass through (issue 12's before/after figure).

Runs in-process on moto. Every call into a function defined in `app.py` or `chalicelib/` is
recorded with sys.setprofile while the one request runs (setup is not traced). "Depth" is the
deepest stack of Pulse frames at any moment; library frames (Chalice, PynamoDB, botocore) in
between are not counted.

    .venv/bin/python -m bench.call_path
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

from bench.common import ROOT, use_bench_environ

use_bench_environ(PULSE_DYNAMODB_ENDPOINT="")
os.environ.pop("PULSE_DYNAMODB_ENDPOINT", None)

APP_FILES = (str(ROOT / "app.py"), str(ROOT / "chalicelib") + os.sep)
# Python 3.11 runs comprehensions as functions of their own: not steps a reader follows.
COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})
EMAIL, PASSWORD = "owner@example.com", "a-long-bench-password"


@dataclass
class Trace:
    functions: set[tuple[str, str]] = field(default_factory=set)
    calls: int = 0
    depth: int = 0
    max_depth: int = 0
    deepest: list[str] = field(default_factory=list)
    _stack: list[str] = field(default_factory=list)

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return"):
            return
        path = frame.f_code.co_filename
        if not path.startswith(APP_FILES) or frame.f_code.co_name in COMPREHENSIONS:
            return
        if event == "call":
            rel = os.path.relpath(path, ROOT)
            name = f"{rel}:{frame.f_code.co_qualname}"
            self.functions.add((rel, frame.f_code.co_qualname))
            self.calls += 1
            self._stack.append(name)
            if len(self._stack) > self.max_depth:
                self.max_depth = len(self._stack)
                self.deepest = list(self._stack)
        elif self._stack:
            self._stack.pop()

    @property
    def files(self) -> set[str]:
        return {f for f, _ in self.functions}


@contextmanager
def traced() -> Iterator[Trace]:
    trace = Trace()
    sys.setprofile(trace.profile)
    try:
        yield trace
    finally:
        sys.setprofile(None)


def ws_event(route: str, connection_id: str, **extra: Any) -> dict[str, Any]:
    context = {
        "routeKey": route,
        "eventType": {"$connect": "CONNECT"}.get(route, "MESSAGE"),
        "connectionId": connection_id,
        "domainName": "abc.execute-api.us-east-1.amazonaws.com",
        "stage": "api",
        "apiId": "abc",
        "requestId": f"req-{time.time_ns()}",
        "identity": {"sourceIp": "203.0.113.9"},
    }
    return {"requestContext": context, "isBase64Encoded": False, **extra}


LAMBDA = SimpleNamespace(aws_request_id="bench", function_name="bench")


class Frames:
    """A Management API stand-in: keeps what each connection was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}

    def post(self, c: Any, data: bytes) -> str:
        self.sent.setdefault(c.id, []).append(json.loads(data))
        return "ok"

    def post_many(self, targets: Any, data: bytes) -> Any:
        from chalicelib.sockets.sender import Delivery

        ok = [c for c in targets if self.post(c, data) == "ok"]
        return Delivery(ok, [], [])

    def close(self, c: Any) -> None:
        return None


def report(name: str, trace: Trace) -> dict[str, Any]:
    print(f"\n## {name}")
    print(f"- Pulse functions called: {len(trace.functions)} ({trace.calls} calls)")
    print(f"- files: {len(trace.files)}")
    print(f"- deepest Pulse stack: {trace.max_depth}")
    for level, frame in enumerate(trace.deepest):
        print(f"    {'  ' * level}{frame}")
    print("- files passed through:")
    for f in sorted(trace.files):
        print(f"    {f}")
    return {
        "functions": len(trace.functions),
        "calls": trace.calls,
        "files": len(trace.files),
        "depth": trace.max_depth,
    }


def main() -> int:
    import boto3
    from moto import mock_aws

    with mock_aws():
        from chalice.test import Client

        from app import app, ws_connect, ws_message
        from chalicelib import runtime
        from infra.tables import create_tables

        settings_env = dict(os.environ)
        from chalicelib.config import Settings

        settings = Settings.from_env(settings_env)
        create_tables(boto3.client("dynamodb"), settings.table_prefix)
        graph = runtime.build(settings)
        runtime.install(graph)
        frames = Frames()
        _install_fake_sender(graph, frames)
        graph.operators.create(None, EMAIL, PASSWORD, "owner")

        with Client(app) as client:
            post = _poster(client)
            session = post("/admin/api/login", {"email": EMAIL, "password": PASSWORD})["token"]
            env = post("/admin/api/environments", {"name": "Bench"}, session)
            keys = {k["kind"]: k["key"] for k in env["keys"]}
            sk, pk = keys["secret"], keys["publishable"]
            post("/api/v1/rooms", {"id": "doc-1"}, sk)
            thread = post(
                "/api/v1/rooms/doc-1/threads", {"comment": {"userId": "ada", "body": "hi"}}, sk
            )
            token = post("/auth/token", {"userId": "ada", "name": "Ada"}, sk)["token"]
            connected = ws_connect(
                ws_event(
                    "$connect",
                    "Conn0001=",
                    queryStringParameters={"apiKey": pk, "token": token, "room": "doc-1"},
                ),
                LAMBDA,
            )
            assert connected == {"statusCode": 200}, connected
            path = f"/api/v1/rooms/doc-1/threads/{thread['id']}/comments"
            body = {"userId": "ada", "body": "traced"}
            post(path, body, sk)  # warm: the first call of a path builds lazies
            with traced() as rest:
                created = post(path, body, sk)
            assert created["body"] == "traced", created

            message = {"type": "comment.create", "threadId": thread["id"], "body": "traced ws"}
            send = _sender(ws_message, message)
            send()  # warm
            with traced() as socket:
                send()
            acks = [f for f in frames.sent["Conn0001="] if f.get("type") == "comment.created"]
            assert len(acks) >= 2, frames.sent

    results = {
        "POST /api/v1/rooms/{roomId}/threads/{threadId}/comments": report(
            "POST .../comments", rest
        ),
        "socket comment.create": report("socket comment.create", socket),
    }
    out = Path(os.environ.get("PULSE_BENCH_OUT", ""))
    if out.name:
        out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _install_fake_sender(graph: Any, frames: Frames) -> None:
    """Point the room channel at `frames` wherever this version of the code keeps it."""
    channel = getattr(getattr(graph, "realtime", None), "channel", None)
    if channel is None:
        channel = graph.channel
    channel.api = frames


def _poster(client: Any) -> Callable[..., dict[str, Any]]:
    def post(path: str, body: dict[str, Any], bearer: str | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = client.http.post(path, headers=headers, body=json.dumps(body))
        assert response.status_code in (200, 201), (path, response.status_code, response.body)
        parsed: dict[str, Any] = json.loads(response.body)
        return parsed

    return post


def _sender(ws_message: Any, message: dict[str, Any]) -> Callable[[], None]:
    def send() -> None:
        event = ws_event("$default", "Conn0001=", body=json.dumps(message))
        assert ws_message(event, LAMBDA) == {"statusCode": 200}

    return send


if __name__ == "__main__":
    sys.exit(main())
