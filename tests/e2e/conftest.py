"""The real local stack (`python -m devstack`) as a subprocess on free ports, and a small HTTP
client for it. Every process started here is stopped in a `finally`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-correct-horse-battery"
READY_SECONDS = 30
STOP_SECONDS = 20


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def stack_environment(data_dir: Path, ports: list[int], **extra: str) -> dict[str, str]:
    """A developer's shell: none of the suite's PULSE_* or AWS settings, so the stack's own
    defaults (generated secrets, region, fake credentials) are what is exercised."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AWS_"))}
    env.update(
        PULSE_HTTP_PORT=str(ports[0]),
        PULSE_DYNAMODB_PORT=str(ports[1]),
        PULSE_WS_PORT=str(ports[2]),
        PULSE_WS_MANAGEMENT_PORT=str(ports[3]),
        PULSE_DATA_DIR=str(data_dir),
        PULSE_ADMIN_EMAIL=ADMIN_EMAIL,
        PULSE_ADMIN_PASSWORD=ADMIN_PASSWORD,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Stack:
    """One running `python -m devstack`."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    ws_url: str = ""  # the WebSocket gateway, ws://127.0.0.1:<port>
    dynamodb_url: str = ""  # its embedded DynamoDB, http://127.0.0.1:<port>
    session: requests.Session = field(default_factory=requests.Session)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Bounded poll until the API answers (401 on /me: the app and its tables are up)."""
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/admin/api/me", timeout=2).status_code == 401:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the stack did not answer within {READY_SECONDS}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Signal, then wait (bounded); kill as a last resort. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
        self.session.close()
        return self.process.returncode

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def login(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
        response = self.call(
            "POST", "/admin/api/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def create_environment(self, token: str, name: str) -> dict[str, Any]:
        response = self.call("POST", "/admin/api/environments", token, json={"name": name})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def mint(self, key: str, user_id: str = "user-1") -> Any:
        return self.call("POST", "/auth/token", key, json={"userId": user_id, "name": "Ada"})


StartStack = Callable[..., Stack]


@contextmanager
def stacks(log_dir: Path) -> Iterator[StartStack]:
    """A starter of stacks; every stack it started is stopped on exit, whatever happened."""
    started: list[Stack] = []

    def start(data_dir: Path, **extra: str) -> Stack:
        ports = free_ports(4)  # HTTP, DynamoDB, WebSocket, Management API: never a dev stack's
        log_path = log_dir / f"stack-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=ROOT,
                env=stack_environment(data_dir, ports, **extra),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        stack = Stack(
            process=process,
            url=f"http://127.0.0.1:{ports[0]}",
            log_path=log_path,
            ws_url=f"ws://127.0.0.1:{ports[2]}",
            dynamodb_url=f"http://127.0.0.1:{ports[1]}",
        )
        started.append(stack)
        stack.wait_ready()
        return stack

    try:
        yield start
    finally:
        for stack in started:
            stack.stop()


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[StartStack]:
    """Start stacks within one test."""
    with stacks(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One ephemeral stack for a module whose tests each make their own environments."""
    tmp = tmp_path_factory.mktemp("stack")
    with stacks(tmp) as start:
        yield start(tmp / "data", PULSE_EPHEMERAL="1")
