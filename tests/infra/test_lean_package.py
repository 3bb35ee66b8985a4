"""The Lambda code package is trimmed to what the functions load (infra/lean.py): under 6 MB
zipped, and, unpacked read-only in a fresh interpreter that sees nothing else, every handler
imports and serves (a trimmed botocore that misses a model would fail only at run time)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from lambda_package import aws_environ, make_writable, run_lambda_child, unpack_read_only

from infra import deploy, lean
from infra.stages import load_stage
from infra.tables import create_tables

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = ("owner@example.com", "a-long-enough-password")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, ordinary_checkout: Path) -> Path:
    """`make package STAGE=prod` from a checkout as an operator has it, byte code written."""
    out = tmp_path_factory.mktemp("lean") / "prod"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        deploy.package("prod", out, root=ordinary_checkout, out=lambda line: None)
    return out / "deployment.zip"


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    code = unpack_read_only(package, tmp_path_factory.mktemp("task") / "task")
    yield code
    make_writable(code)


def names(package: Path) -> list[str]:
    with zipfile.ZipFile(package) as z:
        return z.namelist()


def test_the_package_is_under_6_mb_zipped(package: Path) -> None:
    assert package.stat().st_size < lean.LIMIT_BYTES == 6 * 1024 * 1024


def test_botocore_keeps_the_data_of_the_services_pulse_calls_and_no_other(package: Path) -> None:
    data = [n[len(lean.DATA) :].split("/") for n in names(package) if n.startswith(lean.DATA)]
    assert {parts[0] for parts in data if len(parts) > 1} == set(lean.SERVICES)
    assert sorted(parts[0] for parts in data if len(parts) == 1) == [
        "_retry.json",
        "endpoints.json",
        "partitions.json",
        "sdk-default-configuration.json",
    ]
    assert not [parts for parts in data if parts[-1] == "examples-1.json"]


def test_nothing_of_boto3_s3transfer_cffi_or_pycparser_ships(package: Path) -> None:
    tops = {n.split("/")[0] for n in names(package)}
    assert not [t for t in tops if t.split("-")[0].lower() in lean.UNUSED_PACKAGES]
    assert {"app.py", "chalicelib", "botocore", "pynamodb", "jwt", "argon2"} <= tops
    assert any(t.startswith("_cffi_backend") for t in tops)  # argon2's bindings load it


def test_endpoints_keep_only_the_kept_services_entries(package: Path) -> None:
    with zipfile.ZipFile(package) as z:
        endpoints = json.loads(z.read(lean.ENDPOINTS))
    original = json.loads((Path(boto3.__file__).parents[1] / lean.ENDPOINTS).read_text())
    for ours, theirs in zip(endpoints["partitions"], original["partitions"], strict=True):
        assert set(ours["services"]) == set(theirs["services"]) & set(lean.SERVICES)
        assert ours["services"] == {k: theirs["services"][k] for k in ours["services"]}
        assert {k: v for k, v in ours.items() if k != "services"} == {
            k: v for k, v in theirs.items() if k != "services"
        }


def test_the_kept_services_are_those_chalicelib_builds_clients_for() -> None:
    """Every `create_client("<service>", ...)` in chalicelib/, and DynamoDB (PynamoDB's)."""
    called = {"dynamodb"}
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("create_client", "client")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                called.add(node.args[0].value)
    assert called == set(lean.SERVICES)


def test_finishing_a_finished_package_changes_nothing(package: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    shutil.copy(package, again)
    assert lean.finish(again) == lean.Finished(dropped=0, compiled=0, size=package.stat().st_size)
    assert again.read_bytes() == package.read_bytes()


def test_every_handler_imports_and_serves_from_the_unpacked_package(
    unpacked: Path, aws_standin: str
) -> None:
    """A fresh interpreter with the package alone on its path, as Lambda runs it: the stage's
    environment, secrets from SSM, tables at the stand-in. Login, create an environment, mint,
    list rooms and `$connect` answer; a client of each kept service builds; boto3 is never
    imported and nothing loads from outside the package (but the standard library)."""
    stage = load_stage("prod")
    env = aws_environ(aws_standin)
    dynamodb = boto3.client("dynamodb", endpoint_url=aws_standin, region_name="us-east-1")
    create_tables(dynamodb, stage.table_prefix)
    for command in (
        ["secrets", "--stage", "prod"],
        ["create-admin", "--stage", "prod", "--email", OPERATOR[0]],
    ):
        subprocess.run(
            [sys.executable, "-m", "infra", *command],
            cwd=ROOT,
            env={**env, "PULSE_ADMIN_PASSWORD": OPERATOR[1]},
            check=True,
            capture_output=True,
        )

    result = run_lambda_child(
        unpacked,
        {**env, **stage.env},
        {
            "handlers": {"rest": "app.app", "connect": "app.ws_connect"},
            "email": OPERATOR[0],
            "password": OPERATOR[1],
            "services": list(lean.SERVICES),
        },
    )

    assert result["login"] == 200
    assert result["create environment"] == 201
    assert result["mint"] == 200
    assert result["list rooms"] == 200
    assert result["$connect"] == 200
    assert result["clients"] == sorted(lean.SERVICES)
    assert result["boto3 loaded"] is False
    assert result["outside the package"] == []
