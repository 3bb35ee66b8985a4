"""Cold start: importing `app` and serving the first request of each handler, each in a fresh
interpreter, against `import boto3` alone in the same run (the floor every Python Lambda here
pays).

    .venv/bin/python -m bench.cold_start [--reps 9] [--profile SCENARIO [--request-only]]

Each scenario runs `--reps` times in a new process (scenarios interleaved, so drift hits them
alike) and reports medians. Requests go through the entry points Lambda calls (`app.app` for
REST, `app.ws_connect` / `ws_message` / `ws_disconnect`) with API Gateway-shaped events, against
moto's DynamoDB server in another process and a local Management API: client creation and the
first round trips are included. The reference scenario is the smallest DynamoDB Lambda: `import
boto3`, then a client and one GetItem as its first request.

As in the Lambda package, the children cannot import what requirements.txt does not ship (moto's
`cryptography`, which PyJWT would otherwise import). Every module loads from byte code compiled
beforehand (a private PYTHONPYCACHEPREFIX) except in the "not precompiled" scenarios: app code
from source, or everything but the standard library from source, which is what a chalice
package as built does (it unpacks wheels without compiling them, and /var/task is read-only).
One more untimed run per scenario counts the botocore sessions and clients built and notes which
heavy modules got imported.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import (
    BENCH_ENV,
    ROOT,
    bench_environ,
    create_tables,
    dynamodb_server,
    machine,
    management_api,
    median,
    ms,
    rest_event,
    table,
    use_bench_environ,
    ws_event,
)

CHILD = ROOT / "bench" / "_cold_child.py"
FLOOR = "floor: import boto3"
REFERENCE = "reference: boto3 + 1 GetItem"
OPERATOR = ("bench-owner@example.com", "correct horse battery staple")
SSM_PREFIX = "/pulse/bench/"


@dataclass
class World:
    """What the parent prepares so each child's requests succeed: an environment, an operator,
    live connections to message and disconnect."""

    endpoint: str
    domain: str
    env_id: str = ""
    pk: str = ""
    sk: str = ""
    pycache: Pycache = field(default_factory=lambda: Pycache(Path()))
    unshipped: list[str] = field(default_factory=list)
    profile_request_only: bool = False
    counter: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    def n(self) -> int:
        return next(self.counter)


def setup(world: World) -> None:
    import boto3

    from chalicelib import runtime
    from chalicelib.config import PEPPER_PARAMETER, SIGNING_PARAMETER
    from chalicelib.entities import Actor

    ssm = boto3.client("ssm", endpoint_url=world.endpoint)
    for name, variable in (
        (PEPPER_PARAMETER, "PULSE_KEY_PEPPER"),
        (SIGNING_PARAMETER, "PULSE_SIGNING_SECRET"),
    ):
        value = BENCH_ENV[variable]
        ssm.put_parameter(Name=SSM_PREFIX + name, Value=value, Type="SecureString", Overwrite=True)

    graph = runtime.services()
    owner = Actor(id="op_bench", email="bench@example.com", role="owner")
    env, (pk, sk) = graph.environments.create(owner, "Cold start")
    assert pk.key and sk.key
    world.env_id, world.pk, world.sk = env.id, pk.key, sk.key
    graph.operators.create(None, OPERATOR[0], OPERATOR[1], "owner")


def token(world: World, user: str) -> str:
    from chalicelib import runtime

    from .common import mint

    return mint(runtime.services(), world.sk, user, user.title())


def connect_event(world: World, room: str) -> dict[str, Any]:
    user = f"user-{world.n()}"
    query = {"apiKey": world.pk, "token": token(world, user), "room": room}
    return ws_event("$connect", f"Conn{world.n():08d}Bench=", domain=world.domain, query=query)


def live_connection(world: World, room: str) -> str:
    """A connection opened now, in this process (as an earlier Lambda would have)."""
    import app

    event = connect_event(world, room)
    assert app.ws_connect(event, None) == {"statusCode": 200}
    return str(event["requestContext"]["connectionId"])


# Each scenario: the two events (first request, second request) its child will handle.
def mint_events(world: World) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {world.sk}"}
    return [
        rest_event(
            "POST",
            "/auth/token",
            "/auth/token",
            headers=headers,
            body=json.dumps({"userId": f"user-{world.n()}", "name": "Ada"}),
        )
        for _ in range(2)
    ]


def list_rooms_events(world: World) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {world.sk}"}
    return [rest_event("GET", "/api/v1/rooms", "/api/v1/rooms", headers=headers)] * 2


def login_events(world: World) -> list[dict[str, Any]]:
    body = json.dumps({"email": OPERATOR[0], "password": OPERATOR[1]})
    return [rest_event("POST", "/admin/api/login", "/admin/api/login", body=body)] * 2


def connect_events(world: World) -> list[dict[str, Any]]:
    room = f"room-{world.n()}"
    return [connect_event(world, room) for _ in range(2)]


def join_events(world: World) -> list[dict[str, Any]]:
    room = f"room-{world.n()}"
    ids = [live_connection(world, room) for _ in range(2)]
    body = json.dumps({"type": "join"})
    return [ws_event("$default", i, domain=world.domain, body=body) for i in ids]


def disconnect_events(world: World) -> list[dict[str, Any]]:
    room = f"room-{world.n()}"
    ids = [live_connection(world, room) for _ in range(2)]
    return [ws_event("$disconnect", i, domain=world.domain) for i in ids]


def reference_events(world: World) -> list[dict[str, Any]]:
    from chalicelib.config import get_settings

    key = {"pk": {"S": f"ENV#{world.env_id}"}, "sk": {"S": "ENV"}}
    request = {"TableName": get_settings().control_table, "Key": key, "ConsistentRead": True}
    return [request, request]


@dataclass(frozen=True)
class Scenario:
    events: Callable[[World], list[dict[str, Any]]]
    shipped_only: bool = True  # hide packages the Lambda package lacks
    # Which modules load from .pyc: "all"; "deps" (app.py and chalicelib/ compile from source);
    # "stdlib" (only the standard library: a chalice package as built, wheels unpacked as is)
    precompiled: str = "all"
    ssm: bool = False  # secrets from SSM Parameter Store, as deployed (else environment variables)


NO_REQUEST: Callable[[World], list[dict[str, Any]]] = lambda world: []  # noqa: E731
SCENARIOS: dict[str, Scenario] = {
    FLOOR: Scenario(NO_REQUEST),
    REFERENCE: Scenario(reference_events),
    "import app (no request)": Scenario(NO_REQUEST),
    "import app, dev venv (cryptography visible)": Scenario(NO_REQUEST, shipped_only=False),
    "import app, app code not precompiled": Scenario(NO_REQUEST, precompiled="deps"),
    "floor, packages not precompiled": Scenario(NO_REQUEST, precompiled="stdlib"),
    "import app, packages not precompiled": Scenario(NO_REQUEST, precompiled="stdlib"),
    "REST mint, packages not precompiled": Scenario(mint_events, precompiled="stdlib"),
    "REST POST /auth/token (mint)": Scenario(mint_events),
    "REST mint, secrets from SSM (as deployed)": Scenario(mint_events, ssm=True),
    "REST GET /api/v1/rooms": Scenario(list_rooms_events),
    "REST POST /admin/api/login": Scenario(login_events),
    "ws $connect": Scenario(connect_events),
    "ws $default (join)": Scenario(join_events),
    "ws $disconnect": Scenario(disconnect_events),
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _top_level(dist: importlib.metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return set(text.split())
    names = set()
    for f in dist.files or []:
        first = f.parts[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__"):
            continue
        if len(f.parts) > 1:
            names.add(first)
        elif first.endswith(".py"):
            names.add(first[:-3])
    return names


def unshipped_modules() -> list[str]:
    """Top-level modules installed here but absent from the Lambda package: everything outside
    requirements.txt's dependency closure (chalice ships only chalice/app.py, which needs none of
    its own dependencies)."""
    dists = {_norm(d.metadata["Name"]): d for d in importlib.metadata.distributions()}
    todo = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            todo.append(_norm(re.split(r"[<>=!~\[; ]", line)[0]))
    shipped: set[str] = set()
    while todo:
        name = todo.pop()
        if name in shipped or name not in dists:
            continue
        shipped.add(name)
        for requirement in dists[name].requires or []:
            if "extra ==" not in requirement:
                todo.append(_norm(re.split(r"[<>=!~\[; (]", requirement)[0]))
    keep = {"chalice"}.union(*(_top_level(dists[n]) for n in shipped))
    unshipped = set().union(*(_top_level(d) for n, d in dists.items() if n not in shipped))
    return sorted(unshipped - keep)


@dataclass
class Run:
    wall: float
    result: dict[str, Any]


@dataclass
class Pycache:
    """Byte-code caches for the children (PYTHONPYCACHEPREFIX), so the run does not depend on
    the checkout's __pycache__ or PYTHONDONTWRITEBYTECODE: `all` holds every module's .pyc
    once warmed; `deps` the same without the app's own (app.py, chalicelib/); `stdlib` only the
    standard library's."""

    root: Path

    def path(self, which: str) -> Path:
        return self.root / which

    def split(self) -> None:
        full = self.path("all")
        app_dir = full / str(ROOT).lstrip("/")

        def app_code(directory: str, names: list[str]) -> list[str]:
            if Path(directory) != app_dir:
                return []
            return [n for n in names if n == "chalicelib" or n.startswith("app.")]

        shutil.copytree(full, self.path("deps"), ignore=app_code)
        stdlib = sysconfig.get_paths()["stdlib"].lstrip("/")
        shutil.copytree(full / stdlib, self.path("stdlib") / stdlib)


def run_child(
    world: World, scenario: str, audit: bool = False, profile: str = "", warm: bool = False
) -> Run:
    spec = SCENARIOS[scenario]
    events = spec.events(world)
    payload = {
        "root": str(ROOT),
        "scenario": scenario,
        "events": events[:1] if profile else events,
        "endpoint": world.endpoint,
        "audit": audit,
        "profile": profile,
        "profile_request_only": world.profile_request_only,
        "hidden": world.unshipped if spec.shipped_only else [],
    }
    pycache = world.pycache.path("all" if warm else spec.precompiled)
    env = bench_environ(PULSE_DYNAMODB_ENDPOINT=world.endpoint, PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if spec.ssm:
        for name in ("PULSE_KEY_PEPPER", "PULSE_SIGNING_SECRET"):
            del env[name]
        env.update(PULSE_SECRETS_SSM_PREFIX=SSM_PREFIX, AWS_ENDPOINT_URL_SSM=world.endpoint)
    if not warm:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(CHILD)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{scenario}: child failed\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    for status in result["statuses"]:
        if status not in (200, 201, 204):
            raise RuntimeError(f"{scenario}: a request answered {status}: {proc.stderr}")
    return Run(wall, result)


def report(runs: dict[str, list[Run]], audits: dict[str, Run], reps: int) -> str:
    def total(r: Run, cpu: bool = False) -> float:
        """import + the first request (if any), wall or CPU time."""
        if cpu:
            return float(r.result["import_cpu"] + sum(r.result["requests_cpu"][:1]))
        return float(r.result["import"] + sum(r.result["requests"][:1]))

    floor = median([total(r) for r in runs[FLOOR]])
    floor_cpu = median([total(r, cpu=True) for r in runs[FLOOR]])
    floor_wall = median([r.wall for r in runs[FLOOR]])
    reference = median([total(r) for r in runs[REFERENCE]])
    rows = []
    for scenario, scenario_runs in runs.items():
        firsts = [r.result["requests"][0] for r in scenario_runs if r.result["requests"]]
        seconds = [r.result["requests"][1] for r in scenario_runs if r.result["requests"]]
        wall = median([total(r) for r in scenario_runs])
        cpu = median([total(r, cpu=True) for r in scenario_runs])
        audit = audits[scenario].result
        clients = audit["clients"]
        built = ", ".join(f"{clients.count(c)} {c}" for c in dict.fromkeys(clients)) or "none"
        rows.append(
            [
                scenario,
                ms(median([r.result["import"] for r in scenario_runs])),
                ms(median(firsts)) if firsts else "-",
                f"{ms(wall)} ({ms(cpu)})",
                f"{(wall - floor) / floor:+.0%} ({(cpu - floor_cpu) / floor_cpu:+.0%})",
                f"{(wall - reference) / reference:+.0%}",
                ms(median(seconds)) if seconds else "-",
                f"{audit['sessions']} / {built}",
                ", ".join(m for m in audit["modules"] if m != "pynamodb") or "-",
            ]
        )
    headers = [
        "scenario",
        "import ms",
        "1st request ms",
        "import + 1st ms (CPU ms)",
        "over the floor (CPU)",
        "over the reference",
        "2nd request ms",
        "botocore sessions / clients",
        "heavy modules loaded",
    ]
    return (
        f"{machine()}\n\nMedians of {reps} fresh processes per scenario. Floor = `import boto3` "
        f"in-process: {ms(floor)} ms, {ms(floor_cpu)} ms CPU (a whole `python -c` process: "
        f"{ms(floor_wall)} ms).\n\n" + table(headers, rows)
    )


def measure(world: World, reps: int) -> tuple[dict[str, Run], dict[str, list[Run]]]:
    """One audit run per scenario, then `reps` timed rounds over all scenarios."""
    audits = {scenario: run_child(world, scenario, audit=True) for scenario in SCENARIOS}
    runs: dict[str, list[Run]] = {scenario: [] for scenario in SCENARIOS}
    for rep in range(reps):
        for scenario in SCENARIOS:
            runs[scenario].append(run_child(world, scenario))
        print(f"rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    return audits, runs


def profile(world: World, text: str, top: int) -> None:
    import pstats

    scenario = next(s for s in SCENARIOS if text.lower() in s.lower())
    run_child(world, scenario)  # warm the disk cache
    with tempfile.NamedTemporaryFile(suffix=".prof") as fh:
        run = run_child(world, scenario, profile=fh.name)
        print(
            f"{scenario}: import {ms(run.result['import'])} ms, first request "
            f"{ms(sum(run.result['requests']))} ms (under cProfile: slower than real)"
        )
        stats = pstats.Stats(fh.name)
        stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="fresh processes per scenario")
    parser.add_argument(
        "--profile",
        metavar="SCENARIO",
        help="instead: cProfile one cold start (import + first request) of the scenario whose "
        "name contains this text, and print where the time goes",
    )
    parser.add_argument("--top", type=int, default=40, help="rows of --profile output")
    parser.add_argument(
        "--request-only", action="store_true", help="--profile the first request, not the import"
    )
    args = parser.parse_args(argv)

    with dynamodb_server() as endpoint, management_api() as domain:
        use_bench_environ(PULSE_DYNAMODB_ENDPOINT=endpoint)
        from chalicelib.config import get_settings

        create_tables(endpoint, get_settings().table_prefix)
        world = World(endpoint=endpoint, domain=domain, unshipped=unshipped_modules())
        world.profile_request_only = args.request_only
        setup(world)
        with tempfile.TemporaryDirectory(prefix="pulse-cold-") as tmp:
            world.pycache = Pycache(Path(tmp))
            for scenario in SCENARIOS:  # write every .pyc and warm the disk cache; not counted
                run_child(world, scenario, warm=True)
            world.pycache.split()
            if args.profile:
                profile(world, args.profile, args.top)
                return
            audits, runs = measure(world, args.reps)
    print(report(runs, audits, args.reps))


if __name__ == "__main__":
    main()
