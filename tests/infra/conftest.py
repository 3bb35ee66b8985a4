"""A checkout as it is on an operator's machine, which writes byte code (this workplace sets
PYTHONDONTWRITEBYTECODE=1 for every process, which hides what packaging does with it)."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack import aws_standin

# In-process moto (mock_aws) gets the stand-in server's fixes too: deploy's guard rails call
# apigatewayv2's UpdateStage, which moto lacks (devstack/aws_standin.py says what each fixes).
aws_standin.install()

ROOT = Path(__file__).resolve().parents[2]
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "dist",
    ".pulse",
    "test-artifacts",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "deployments",
    "deployed",
)
STALE_MARK = "STALE_BYTE_CODE = True"  # in a .pyc whose source has changed since


@pytest.fixture(scope="session")
def ordinary_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose `__pycache__` directories hold what a developer's machine
    leaves there: the timestamp-checked .pyc files of running the app, the optimized ones of
    another run, one of another Python, and an unchecked-hash one compiled before its source
    last changed. Byte-code writing is on for the whole session (chalice's processes included),
    as it is on that machine."""
    root = tmp_path_factory.mktemp("checkout") / "pulse"
    shutil.copytree(ROOT, root, ignore=NOT_COPIED, symlinks=False)
    writing = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in (["-c", "import app"], ["-O", "-c", "import app"]):
        subprocess.run([sys.executable, *command], cwd=root, env=writing, check=True)
    cache = root / "chalicelib" / "__pycache__"
    tag = sys.implementation.cache_tag
    assert len(list(cache.glob(f"*.{tag}.pyc"))) > 5  # the app's imports wrote them
    (cache / "config.cpython-39.pyc").write_bytes(b"\x61\x0d\x0d\x0a" + bytes(12))
    source = root / "chalicelib" / "ids.py"
    current = source.read_text(encoding="utf-8")
    source.write_text(current + f"\n{STALE_MARK}\n", encoding="utf-8")
    py_compile.compile(
        str(source),
        cfile=str(cache / f"ids.{tag}.pyc"),
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    source.write_text(current, encoding="utf-8")
    return root


def byte_code_problems(package: Path) -> list[str]:
    """What is wrong with the byte code of a code package: every `__pycache__` entry must be an
    unchecked-hash .pyc of this Python for the very source beside it (Python loads it without
    looking at the source, whose date the zip does not keep), and every module of the app and
    its main dependencies must have one."""
    with zipfile.ZipFile(package) as z:
        files = {i.filename: z.read(i) for i in z.infolist()}
    tag = sys.implementation.cache_tag
    cached = {n for n in files if "__pycache__" in n.split("/")}
    problems = []
    for pyc in sorted(cached):
        directory, _, file = pyc.rpartition("__pycache__/")
        module, _, suffix = file.partition(".")
        source = files.get(f"{directory}{module}.py")
        header = files[pyc][:16]
        if suffix != f"{tag}.pyc" or source is None:
            problems.append(f"{pyc}: not this Python's byte code of a module of the package")
        elif header[:4] != importlib.util.MAGIC_NUMBER:
            problems.append(f"{pyc}: another Python's magic number")
        elif int.from_bytes(header[4:8], "little") != 0b01:
            problems.append(f"{pyc}: checked against its source (flags {header[4:8].hex()})")
        elif header[8:16] != importlib.util.source_hash(source):
            problems.append(f"{pyc}: compiled from another source")
    ours = [n for n in files if n.endswith(".py") and n.split("/")[0] in {"app.py", "chalicelib"}]
    for module in [*ours, "botocore/session.py", "jwt/api_jwt.py", "pynamodb/models.py"]:
        directory, _, file = module.rpartition("/")
        if f"{directory}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/") not in cached:
            problems.append(f"{module}: no byte code")
    return problems


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory, ordinary_checkout: Path) -> dict[str, Path]:
    """Both stages packaged once (the dependencies are built for the first and reused from
    chalice's cache for the second), from a checkout whose `__pycache__` holds what an operator's
    machine leaves there, with byte-code writing on as it is there: each stage's sam.json."""
    from infra import deploy
    from infra.stages import stage_names

    out = tmp_path_factory.mktemp("package")
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        return {
            name: deploy.package(name, out / name, root=ordinary_checkout, out=lines.append)
            for name in stage_names()
        }


@pytest.fixture
def package_problems() -> Callable[[Path], list[str]]:
    return byte_code_problems


@pytest.fixture(scope="module")
def aws_standin() -> Iterator[str]:
    """moto's server with the project's fixes for what `make deploy` needs
    (devstack/aws_standin.py), in its own process on a free port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.aws_standin", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # listening is not enough: moto builds its app at the first request
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
