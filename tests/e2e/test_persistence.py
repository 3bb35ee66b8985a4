"""Local data across restarts of `python -m devstack`: kept under PULSE_DATA_DIR by default,
nothing kept (or written) with PULSE_EPHEMERAL=1."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from .conftest import StartStack

pytestmark = pytest.mark.e2e


def test_data_and_keys_survive_a_restart(start_stack: StartStack, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_stack(data_dir)
    token = first.login()
    created = first.create_environment(token, "Survivor")
    env_id = created["environment"]["id"]
    (sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    assert first.stop(signal.SIGINT) == 0, first.log()

    second = start_stack(data_dir)
    token = second.login()
    listed = second.call("GET", "/admin/api/environments", token)
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()["data"]] == [env_id]
    minted = second.mint(sk)  # same key hash and pepper: the secrets were reused
    assert minted.status_code == 200, minted.text


def test_sigterm_also_saves(start_stack: StartStack, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_stack(data_dir)
    env_id = first.create_environment(first.login(), "Terminated")["environment"]["id"]
    assert first.stop(signal.SIGTERM) == 0, first.log()

    second = start_stack(data_dir)
    listed = second.call("GET", f"/admin/api/environments/{env_id}", second.login())
    assert listed.status_code == 200, listed.text


def test_ephemeral_stack_starts_empty_and_writes_nothing(
    start_stack: StartStack, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = start_stack(data_dir, PULSE_EPHEMERAL="1")
    first.create_environment(first.login(), "Gone")
    assert first.stop(signal.SIGINT) == 0, first.log()
    assert not data_dir.exists()

    second = start_stack(data_dir, PULSE_EPHEMERAL="1")
    listed = second.call("GET", "/admin/api/environments", second.login())
    assert listed.json()["data"] == []


def test_writes_are_saved_while_running_so_a_crash_keeps_them(
    start_stack: StartStack, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = start_stack(data_dir)
    env_id = first.create_environment(first.login(), "Crash")["environment"]["id"]
    snapshot = data_dir / "dynamodb.json"
    deadline = time.monotonic() + 15
    while env_id not in (snapshot.read_text() if snapshot.exists() else ""):
        assert time.monotonic() < deadline, "the write was not saved while the stack ran"
        time.sleep(0.1)
    first.stop(signal.SIGKILL)  # no shutdown save

    second = start_stack(data_dir)
    listed = second.call("GET", f"/admin/api/environments/{env_id}", second.login())
    assert listed.status_code == 200, listed.text
