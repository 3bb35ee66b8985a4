"""`make chalice-local` as the README promises it: `chalice local` beside a running `make dev`,
on its own port, against the dev stack's DynamoDB (on a port that is not the default), secrets
and WebSocket gateway. A REST call through it, and a REST broadcast through it that reaches a
socket of the dev stack's gateway, while the dev stack keeps saving its data inside the
project, as `.pulse/` is."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    READY_SECONDS,
    ROOT,
    STOP_SECONDS,
    Stack,
    free_ports,
    stacks,
)
from .realtime_helpers import Clients, in_thread, run

pytestmark = pytest.mark.e2e

# `make` must not set the venv up again (a pip install): its stamp counts as up to date.
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed", "chalice-local"]


def banner_value(stack: Stack, label: str) -> str:
    """A URL from the stack's start banner (printed once the gateway is up), bounded wait."""
    pattern = re.compile(rf"^\s*{label}:\s+(http://\S+)", re.MULTILINE)
    deadline = time.monotonic() + READY_SECONDS
    while not (found := pattern.search(stack.log())):
        assert time.monotonic() < deadline, f"no {label} line in the banner:\n{stack.log()}"
        time.sleep(0.05)
    return found.group(1)


@contextmanager
def chalice_local(log_path: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`make chalice-local` in a developer's shell (none of the suite's PULSE_*/AWS_* settings)
    plus `env`; its URL once it answers. Stopped (its whole process group) on exit."""
    shell = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AWS_"))}
    port = env.get("PULSE_CHALICE_PORT", "8010")
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            MAKE,
            cwd=ROOT,
            env={**shell, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make, chalice and any child
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"make chalice-local exited with {process.returncode}:\n{read(log_path)}"
                )
            try:
                if requests.get(url + "/admin/api/me", timeout=2).status_code == 401:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chalice local did not answer on {url}:\n{read(log_path)}")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_SECONDS)


def read(path: Path) -> str:
    return path.read_text(errors="replace")


def chalice_processes(parent: int) -> list[int]:
    """The processes under `parent` (make) that run `chalice local`."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], list(children.get(parent, []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            args = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"local" in args and any(a.endswith(b"chalice") for a in args):  # `chalice local`
            found.append(pid)
    return found


def call(url: str, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url + path, headers=headers, timeout=10, **kwargs)


def test_chalice_local_beside_make_dev_serves_rest_and_pushes_to_its_sockets(
    tmp_path: Path,
) -> None:
    # The dev stack's data inside the project, where chalice's auto-reload watched it (.pulse/).
    data_dir = ROOT / "test-artifacts" / f"chalice-local-{uuid.uuid4().hex[:8]}"
    (chalice_port,) = free_ports(1)
    try:
        with stacks(tmp_path) as start:
            stack = start(data_dir)
            dynamodb = banner_value(stack, "DynamoDB")
            dynamodb_port = dynamodb.rsplit(":", 1)[1]
            assert dynamodb_port != "8009"  # not the default: chalice-local must be told
            with chalice_local(
                tmp_path / "stack-chalice-local.log",  # scanned for secrets like the stack's
                PULSE_CHALICE_PORT=str(chalice_port),
                PULSE_DYNAMODB_PORT=dynamodb_port,
                PULSE_DATA_DIR=str(data_dir),  # the dev stack's secrets.json
            ) as (local, make):
                assert local != stack.url

                login = call(
                    local,
                    "POST",
                    "/admin/api/login",
                    json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                )
                assert login.status_code == 200, login.text
                admin = login.json()["token"]
                created = call(
                    local, "POST", "/admin/api/environments", admin, json={"name": "Local"}
                )
                assert created.status_code == 201, created.text
                keys = {k["kind"]: k["key"] for k in created.json()["keys"]}
                minted = call(
                    local, "POST", "/auth/token", keys["secret"], json={"userId": "u1", "name": "A"}
                )
                assert minted.status_code == 200, minted.text
                # the dev stack sees what chalice local wrote: the same tables and secrets
                assert stack.mint(keys["secret"]).status_code == 200

                room = f"room-{uuid.uuid4().hex[:8]}"

                async def push_through_chalice_local() -> None:
                    async with Clients(stack.ws_url) as clients:
                        ws = await clients.enter(
                            "ada", keys["publishable"], minted.json()["token"], room
                        )
                        sent = await in_thread(
                            call,
                            local,
                            "POST",
                            f"/api/v1/rooms/{room}/broadcast",
                            keys["secret"],
                            json={"event": {"from": "chalice local"}},
                        )
                        assert sent.status_code == 202, sent.text
                        frame = await ws.expect("broadcast")
                        assert frame["event"] == {"from": "chalice local"}

                run(push_through_chalice_local)

                # The dev stack saves its data after writes; chalice local keeps serving, with
                # nothing watching files to restart it.
                snapshot = data_dir / "dynamodb.json"
                env_id = created.json()["environment"]["id"]
                deadline = time.monotonic() + READY_SECONDS
                while not (snapshot.exists() and env_id in snapshot.read_text()):
                    assert time.monotonic() < deadline, "the dev stack never saved its data"
                    time.sleep(0.1)
                me = call(local, "GET", "/admin/api/me", admin)
                assert me.status_code == 200, me.text
                assert len(chalice_processes(make.pid)) == 1, read(
                    tmp_path / "stack-chalice-local.log"
                )
            log = read(tmp_path / "stack-chalice-local.log")
            assert "Traceback" not in log and "SSL" not in log, log
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
