"""Running a Lambda code package as Lambda does, for the package and deploy tests: unpacked
read-only, in a fresh interpreter that sees only the package, against the AWS stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

CHILD = Path(__file__).resolve().parent / "infra" / "lambda_child.py"


def aws_environ(endpoint: str, **more: str) -> dict[str, str]:
    """This process's environment pointed at the stand-in: fake credentials, one region, no
    profile or local-stack settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULSE_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        **more,
    )
    return env


def unpack_read_only(package: Path, into: Path) -> Path:
    """The zip unpacked as Lambda does: each file dated as its entry, nothing writable."""
    with zipfile.ZipFile(package) as z:
        z.extractall(into)
        for info in z.infolist():
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(into / info.filename, (stamp, stamp))
    for path in sorted(into.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    into.chmod(0o555)
    return into


def make_writable(root: Path) -> None:
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def run_lambda_child(code: Path, env: dict[str, str], request: dict[str, object]) -> dict[str, Any]:
    """tests/infra/lambda_child.py in a fresh interpreter that sees the package and the standard
    library only (no site-packages, no PYTHON* variables, no byte code written)."""
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-B", str(CHILD)],
        input=json.dumps({"code": str(code), **request}),
        capture_output=True,
        text=True,
        env=env,
        cwd=code,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
