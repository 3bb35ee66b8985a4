"""The issue's walkthrough against `python -m devstack` over real HTTP: log in, create an
environment, mint with its sk_, rotate (the old sk_ fails on the very next call), revoke a key.
And the README's own walkthrough, its shell block run as it is (taken from README.md), then its
WebSocket command, against a real local stack: the README cannot rot."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Stack, StartStack, free_ports

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


@pytest.fixture(scope="module")
def admin_token(shared_stack: Stack) -> str:
    return shared_stack.login()


def key_of(keys: list[dict[str, Any]], kind: str) -> str:
    (key,) = [k["key"] for k in keys if k["kind"] == kind]
    return str(key)


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_new_user_walkthrough(stack: Stack, admin_token: str) -> None:
    created = stack.create_environment(admin_token, "Walkthrough")
    env_id = created["environment"]["id"]
    old_sk = key_of(created["keys"], "secret")
    old_pk = key_of(created["keys"], "publishable")

    minted = stack.mint(old_sk)
    assert minted.status_code == 200, minted.text
    assert minted.json()["token"].count(".") == 2

    rotated = stack.call("POST", f"/admin/api/environments/{env_id}/keys/rotate", admin_token)
    assert rotated.status_code == 201, rotated.text
    assert {k["key"] for k in created["keys"]}.isdisjoint(k["key"] for k in rotated.json()["keys"])
    assert sorted(rotated.json()["revoked"]) == sorted(k["id"] for k in created["keys"])
    new_sk = key_of(rotated.json()["keys"], "secret")

    after = stack.mint(old_sk)  # the very next call with the old key
    assert after.status_code == 401
    assert error_code(after) == "INVALID_API_KEY"
    assert stack.mint(new_sk).status_code == 200
    assert stack.mint(old_pk.replace("pk_", "sk_", 1)).status_code == 401


def test_a_revoked_single_key_stops_working(stack: Stack, admin_token: str) -> None:
    env_id = stack.create_environment(admin_token, "Revoke")["environment"]["id"]
    response = stack.call(
        "POST",
        f"/admin/api/environments/{env_id}/keys",
        admin_token,
        json={"kind": "secret", "name": "CI"},
    )
    assert response.status_code == 201, response.text
    key = response.json()
    assert stack.mint(key["key"]).status_code == 200

    revoked = stack.call(
        "POST", f"/admin/api/environments/{env_id}/keys/{key['id']}/revoke", admin_token
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    refused = stack.mint(key["key"])
    assert refused.status_code == 401
    assert error_code(refused) == "INVALID_API_KEY"


def test_a_publishable_key_cannot_mint(stack: Stack, admin_token: str) -> None:
    created = stack.create_environment(admin_token, "Publishable")
    refused = stack.mint(key_of(created["keys"], "publishable"))
    assert refused.status_code == 401
    assert error_code(refused) == "SECRET_KEY_REQUIRED"
    assert "suggestion" in refused.json()["error"]


def test_wrong_admin_password_is_refused(stack: Stack) -> None:
    response = stack.call(
        "POST", "/admin/api/login", json={"email": "admin@example.com", "password": "x" * 16}
    )
    assert response.status_code == 401
    assert error_code(response) == "INVALID_CREDENTIALS"


def test_the_stack_logs_each_request_and_never_a_secret_key(stack: Stack, admin_token: str) -> None:
    created = stack.create_environment(admin_token, "Logged")
    sk = key_of(created["keys"], "secret")
    assert stack.mint(sk).status_code == 200
    assert stack.mint(sk + "x").status_code == 401

    log = stack.log()
    # From the line's first `{`: the stack's other writers (a print's text and its newline are
    # two writes) may put a piece of their own line before a log line on a busy machine.
    lines = [line for line in log.splitlines() if '"pulse.access"' in line]
    access = [json.loads(line[line.index("{") :]) for line in lines]
    minted = [a for a in access if a.get("route") == "/auth/token"]
    assert {a["status"] for a in minted} >= {200, 401}, "access lines missing: logging is off"
    assert sk not in log
    assert "sk_" not in log


# --- the README's walkthrough, as a reader pastes it ---------------------------------------

README = ROOT / "README.md"
SHELL_SECONDS = 60
RESULTS = ("ENV_ID", "SK", "PK", "USER_TOKEN", "CI_KEY_ID")


def readme_sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def readme_walkthrough() -> str:
    (block,) = [b for b in readme_sh_blocks() if "/admin/api/login" in b]
    return block


def readme_websocket_command() -> str:
    (block,) = [b for b in readme_sh_blocks() if "-m websockets" in b]
    return block


def readme_admin() -> tuple[str, str]:
    """The owner the README's `make dev` line creates."""
    found = re.search(
        r"PULSE_ADMIN_EMAIL=(\S+) PULSE_ADMIN_PASSWORD='([^']+)' make dev", README.read_text()
    )
    assert found, "the README's quick start no longer creates an owner with make dev"
    return found.group(1), found.group(2)


def readers_shell(stack_url: str, ws_url: str = "") -> dict[str, str]:
    """A reader's terminal beside `make dev`: none of the suite's settings, the ports exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "AWS_"))}
    env["PULSE_HTTP_PORT"] = stack_url.rsplit(":", 1)[1]
    if ws_url:
        env["PULSE_WS_PORT"] = ws_url.rsplit(":", 1)[1]
    return env


def run_block(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """bash stopping at the first failing command (a paste would go on), bounded."""
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_SECONDS,
    )


def read_until(process: subprocess.Popen[bytes], marker: bytes) -> bytes:
    """Everything the process wrote to stdout up to `marker` (bounded wait)."""
    assert process.stdout is not None
    out, deadline = b"", time.monotonic() + SHELL_SECONDS
    while marker not in out:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(left, 0))
        chunk = os.read(process.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"no {marker!r} in the output:\n{out.decode()}\n{err.decode()}")
        out += chunk
    return out


def test_the_readme_walkthrough_runs_as_it_is(start_stack: StartStack, tmp_path: Path) -> None:
    email, password = readme_admin()
    stack = start_stack(
        tmp_path / "data",
        PULSE_EPHEMERAL="1",
        PULSE_ADMIN_EMAIL=email,
        PULSE_ADMIN_PASSWORD=password,
    )
    script = "\n".join(
        [
            readme_walkthrough(),
            readme_websocket_command(),  # the WebSocket client reads the test's messages
            *(f'printf "RESULT {name}=%s\\n" "${name}"' for name in RESULTS),
        ]
    )
    process = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=ROOT,
        env=readers_shell(stack.url, stack.ws_url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdin is not None
        process.stdin.write(b'{"type": "join"}\n')
        process.stdin.flush()
        joined = read_until(process, b'"type":"room.joined"')
        # communicate() closes stdin: at the end of its input the client closes the socket
        rest, err = process.communicate(timeout=SHELL_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    out = (joined + rest).decode()
    assert process.returncode == 0, f"{out}\n{err.decode()}"
    assert err.decode() == "" and "error" not in out.lower()
    results = dict(re.findall(r"^RESULT (\w+)=(.*)$", out, re.M))
    assert set(results) == set(RESULTS), out

    # 2: the environment, with its publishable key shown
    assert f"Environment {results['ENV_ID']}: publishable key " in out
    # 3: a token minted; 4: the rotated sk_ mints, and the token the socket used is of it
    assert re.search(r'"token":"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+"', out)
    assert stack.mint(results["SK"]).status_code == 200
    assert results["USER_TOKEN"].count(".") == 2
    # the socket joined as the user of step 4's token
    assert re.search(r'"room.joined".*"userId":"user-42"', out)
    # 5: one key created and revoked: the rotated pair is all that is active
    admin = stack.login(email, password)
    keys = stack.call("GET", f"/admin/api/environments/{results['ENV_ID']}/keys", admin).json()
    by_id = {k["id"]: k for k in keys["data"]}
    assert by_id[results["CI_KEY_ID"]]["name"] == "CI"
    assert by_id[results["CI_KEY_ID"]]["status"] == "revoked"
    assert '"status":"revoked"' in out
    active = sorted(k["preview"][-4:] for k in keys["data"] if k["status"] == "active")
    assert active == sorted([results["SK"][-4:], results["PK"][-4:]])


def test_a_wrong_password_stops_the_walkthrough_with_the_apis_message(
    start_stack: StartStack, tmp_path: Path
) -> None:
    email, password = readme_admin()
    stack = start_stack(
        tmp_path / "data",
        PULSE_EPHEMERAL="1",
        PULSE_ADMIN_EMAIL=email,
        PULSE_ADMIN_PASSWORD="not-" + password,  # so the README's password is the wrong one
    )
    result = run_block(readme_walkthrough(), readers_shell(stack.url))
    assert result.returncode == 1
    assert result.stderr == "error: INVALID_CREDENTIALS: Email or password is incorrect.\n"
    assert result.stdout == ""


def test_the_walkthrough_without_a_running_stack_says_so() -> None:
    (port,) = free_ports(1)
    result = run_block(readme_walkthrough(), readers_shell(f"http://127.0.0.1:{port}"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("error: no JSON answer from the API: is make dev running?\n")
