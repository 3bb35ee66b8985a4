"""What the benchmarks share: the machine line, markdown tables, the fixed settings, a local
DynamoDB (moto's server in its own process) and API Gateway-shaped events."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# The settings every benchmark runs with (fake credentials: moto accepts any).
BENCH_ENV: dict[str, str] = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "PULSE_STAGE": "bench",
    "PULSE_KEY_PEPPER": "bench-pepper-0123456789abcdef0123456789abcdef",
    "PULSE_SIGNING_SECRET": "bench-signing-0123456789abcdef0123456789abcdef",
    "PULSE_WS_MANAGEMENT_SCHEME": "http",
}
UNSET = ("AWS_PROFILE", "AWS_REGION", "PULSE_SECRETS_FILE", "PULSE_TABLE_PREFIX")


def bench_environ(**extra: str) -> dict[str, str]:
    """os.environ with the benchmark settings applied (for this process or a child)."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(BENCH_ENV)
    env.update(extra)
    return env


def use_bench_environ(**extra: str) -> None:
    """Apply the benchmark settings to this process, before any settings or client exist."""
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(BENCH_ENV)
    os.environ.update(extra)


# --- reporting -----------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line naming the machine, the interpreter and the date of the run."""
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()} "
        f"({platform.system()} {platform.release()}); run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# --- a local DynamoDB ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout} s")


@contextlib.contextmanager
def dynamodb_server(module: str = "moto.server") -> Iterator[str]:
    """moto's server (or a module with the same command line, such as bench.fast_moto) in a child
    process, so its work never shares this process's GIL; yields its endpoint URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "-H", HOST, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=bench_environ(),
        cwd=ROOT,
    )
    try:
        wait_for_port(port)
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_tables(endpoint: str, prefix: str) -> None:
    import boto3

    from infra.tables import create_tables as create

    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=BENCH_ENV["AWS_DEFAULT_REGION"]
    )
    create(client, prefix)


# --- API Gateway events --------------------------------------------------------------------------

DOMAIN_STAGE = "bench"
LAMBDA_CONTEXT_FIELDS = {"aws_request_id": "bench", "function_name": "pulse-bench"}


def rest_event(
    method: str,
    resource: str,
    path: str,
    *,
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda hands it to the Chalice app."""
    all_headers = {"content-type": "application/json", "host": "bench.example"}
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "bench-request",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "bench"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def ws_event(
    route: str,
    connection_id: str,
    *,
    domain: str,
    stage: str = DOMAIN_STAGE,
    query: Mapping[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway WebSocket event ($connect, $default or $disconnect)."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": event_type,
        "connectionId": connection_id,
        "domainName": domain,
        "stage": stage,
        "apiId": "bench",
        "requestId": f"bench-{connection_id}",
        "messageDirection": "IN",
        "connectedAt": 1_700_000_000_000,
        "requestTimeEpoch": 1_700_000_000_000,
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "bench"},
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if route == "$connect":
        event["headers"] = {"Host": domain}
        event["queryStringParameters"] = dict(query) if query else None
        event["multiValueQueryStringParameters"] = (
            {k: [v] for k, v in query.items()} if query else None
        )
    elif route == "$disconnect":
        event["headers"] = {"Host": domain}
        context["disconnectStatusCode"] = 1001
    else:
        event["body"] = body
    return event


# --- a Management API that accepts every push ---------------------------------------------------


class _Sink:
    """The gateway side of devstack.wsmanagement: every connection exists and takes every frame."""

    stage = DOMAIN_STAGE

    def __init__(self) -> None:
        self.posts = 0

    def post(self, connection_id: str, data: bytes) -> Any:
        self.posts += 1
        return "ok"

    def info(self, connection_id: str) -> Any:
        return None

    def delete(self, connection_id: str) -> Any:
        return "ok"


@contextlib.contextmanager
def management_api() -> Iterator[str]:
    """devstack.wsmanagement's server (API Gateway's @connections wire protocol) in a thread,
    accepting every push; yields the `domainName` that points pushes at it."""
    import threading

    from devstack.wsmanagement import ManagementServer

    server = ManagementServer((HOST, 0), _Sink(), 128 * 1024)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"{HOST}:{server.port}"
    finally:
        server.close()
        thread.join()


def secret_key(graph: Any, raw: str, scope: str) -> Any:
    """A secret key's caller for driving services directly, with the abuse limits off (a
    benchmark's setup mints and sends faster than a backend may)."""
    import dataclasses

    from chalicelib.services.callers import SecretKeyCaller
    from chalicelib.services.limits import Limits

    off = {f: 0 for f in ("rate_rest_per_env", "rate_rest_per_key", "rate_mint_per_env")}
    settings = dataclasses.replace(graph.settings, rate_mint_per_key=0, **off)
    limits = Limits(settings, graph.clock, graph.limits.counters)
    return SecretKeyCaller.of(raw, limits.gate(None, scope))


def mint(graph: Any, raw_key: str, user_id: str, name: str, avatar: str | None = None) -> str:
    """A user token minted through the token service, as POST /auth/token would."""
    from chalicelib.services.tokens import MintRequest

    caller = secret_key(graph, raw_key, "mint")
    return str(graph.tokens.mint(caller, MintRequest(user_id, name, avatar)).token)
