"""Cold start as deployed: the Lambda code package (`make package`: trimmed, with its byte code)
unpacked read-only, each scenario a fresh interpreter that sees only the package and the standard
library (`python -I -S -B`), importing `app` and serving the first request of a handler, against
`import boto3` from the same package's botocore (the floor every Python Lambda here pays).

    .venv/bin/python -m bench.cold_start [--reps 9] [--profile SCENARIO [--request-only]]

Each scenario runs `--reps` times in a new process (scenarios interleaved, so drift hits them
alike) and reports medians. Requests go through the entry points Lambda calls (`app.app` for
REST, `app.ws_connect` / `ws_message` / `ws_disconnect`) with API Gateway-shaped events, against
moto's DynamoDB server in another process and a local Management API: client creation and the
first round trips are included. The reference scenario is the smallest DynamoDB Lambda: `import
boto3`, then a client and one GetItem as its first request.

Three code directories, built once per run (chalice's dependency cache makes it quick after the
first): "package" (what `make package` ships: infra/lean.py's trimmed zip, with byte code);
"package + boto3" (the same with boto3 and s3transfer added back, byte-compiled, for the floor
and the reference, which import boto3); "untrimmed" (chalice's own package with byte code only,
as shipped before infra/lean.py: botocore's data for every service, boto3 included; and what a
Lambda using the runtime's boto3 loads). "no byte code" is the package without its .pyc files.
One more untimed run per scenario counts the botocore sessions and clients built and notes which
heavy modules got imported.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import bytecode, deploy, lean

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
    code: dict[str, list[Path]] = field(default_factory=dict)  # sys.path of each code variant
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
    # Which code the child sees (Packages): "package" (as shipped), "package + boto3" (for the
    # scenarios that import boto3), "untrimmed" (before infra/lean.py), "no byte code"
    code: str = "package"
    ssm: bool = False  # secrets from SSM Parameter Store, as deployed (else environment variables)


NO_REQUEST: Callable[[World], list[dict[str, Any]]] = lambda world: []  # noqa: E731
WITH_BOTO3 = "package + boto3"
UNTRIMMED = "untrimmed"
SCENARIOS: dict[str, Scenario] = {
    FLOOR: Scenario(NO_REQUEST, code=WITH_BOTO3),
    REFERENCE: Scenario(reference_events, code=WITH_BOTO3),
    "import app (no request)": Scenario(NO_REQUEST),
    "REST POST /auth/token (mint)": Scenario(mint_events),
    "REST mint, secrets from SSM (as deployed)": Scenario(mint_events, ssm=True),
    "REST GET /api/v1/rooms": Scenario(list_rooms_events),
    "REST POST /admin/api/login": Scenario(login_events),
    "ws $connect": Scenario(connect_events),
    "ws $default (join)": Scenario(join_events),
    "ws $disconnect": Scenario(disconnect_events),
    "floor, untrimmed package": Scenario(NO_REQUEST, code=UNTRIMMED),
    "reference, untrimmed package": Scenario(reference_events, code=UNTRIMMED),
    "import app, untrimmed package": Scenario(NO_REQUEST, code=UNTRIMMED),
    "REST mint, untrimmed package": Scenario(mint_events, code=UNTRIMMED),
    "ws $connect, untrimmed package": Scenario(connect_events, code=UNTRIMMED),
    "import app, package without byte code": Scenario(NO_REQUEST, code="no byte code"),
}


@dataclass
class Run:
    wall: float
    result: dict[str, Any]


class Packages:
    """The code variants, unpacked read-only under `root` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def build(self) -> dict[str, list[Path]]:
        built = self.root / "built"
        chalice_zip = self._chalice_package(built / "chalice")
        untrimmed = built / "untrimmed.zip"
        shutil.copy(chalice_zip, untrimmed)
        bytecode.precompile(untrimmed)
        finished = built / "package.zip"
        shutil.copy(chalice_zip, finished)
        lean.finish(finished)
        bare = built / "bare.zip"
        with zipfile.ZipFile(finished) as source, zipfile.ZipFile(bare, "w") as target:
            for entry in source.infolist():
                if "__pycache__" not in entry.filename.split("/"):
                    target.writestr(entry, source.read(entry))
        boto3_dir = self._boto3(self.root / "boto3")
        package = self._unpack(finished, self.root / "package")
        return {
            "package": [package],
            WITH_BOTO3: [package, boto3_dir],
            UNTRIMMED: [self._unpack(untrimmed, self.root / "untrimmed")],
            "no byte code": [self._unpack(bare, self.root / "bare")],
        }

    def sizes(self) -> dict[str, int]:
        built = self.root / "built"
        return {
            "package": (built / "package.zip").stat().st_size,
            UNTRIMMED: (built / "untrimmed.zip").stat().st_size,
        }

    @staticmethod
    def _chalice_package(out: Path) -> Path:
        """`chalice package` of the checkout: the zip as chalice builds it, untrimmed."""
        env = deploy.chalice_env(os.environ.get("AWS_DEFAULT_REGION"))
        command = [deploy.chalice_command(), "package", "--stage", "dev", str(out)]
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        path = out / "deployment.zip"
        with zipfile.ZipFile(path) as z:
            if not any(n.startswith("boto3/") for n in z.namelist()):
                raise SystemExit(
                    "chalice's cached package is already trimmed (a `make deploy` finished it): "
                    "remove .chalice/deployments/ and run again"
                )
        return path

    @staticmethod
    def _boto3(into: Path) -> Path:
        """boto3 and s3transfer of this venv, byte-compiled as the package is."""
        import importlib.util

        for name in ("boto3", "s3transfer"):
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.origin is not None, name
            source = Path(spec.origin).parent
            skip = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, into / source.name, ignore=skip)
        compileall.compile_dir(
            into, quiet=2, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        return into

    @staticmethod
    def _unpack(package: Path, into: Path) -> Path:
        """As Lambda unpacks it: entries dated as in the zip (1980), nothing writable."""
        with zipfile.ZipFile(package) as z:
            z.extractall(into)
            for info in z.infolist():
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(into / info.filename, (stamp, stamp))
        for path in sorted(into.rglob("*"), reverse=True):
            path.chmod(0o555 if path.is_dir() else 0o444)
        return into

    def release(self) -> None:
        """Make everything writable again, so the temporary directory can be removed."""
        for path in self.root.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)


def run_child(world: World, scenario: str, audit: bool = False, profile: str = "") -> Run:
    spec = SCENARIOS[scenario]
    events = spec.events(world)
    payload = {
        "paths": [str(p) for p in world.code[spec.code]],
        "scenario": scenario,
        "events": events[:1] if profile else events,
        "endpoint": world.endpoint,
        "audit": audit,
        "profile": profile,
        "profile_request_only": world.profile_request_only,
    }
    env = bench_environ(PULSE_DYNAMODB_ENDPOINT=world.endpoint)
    if spec.ssm:
        for name in ("PULSE_KEY_PEPPER", "PULSE_SIGNING_SECRET"):
            del env[name]
        env.update(PULSE_SECRETS_SSM_PREFIX=SSM_PREFIX, AWS_ENDPOINT_URL_SSM=world.endpoint)
    start = time.perf_counter()
    # -I -S: no site-packages, no PYTHON* variables; -B: nothing written (/var/task is
    # read-only): the package and the standard library only, as in Lambda
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-B", str(CHILD)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=world.code[spec.code][0],
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


def report(
    runs: dict[str, list[Run]], audits: dict[str, Run], reps: int, sizes: dict[str, int]
) -> str:
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

    def ratio(scenario: str, against: str) -> str:
        ours = [median([total(r, cpu) for r in runs[scenario]]) for cpu in (False, True)]
        base = [median([total(r, cpu) for r in runs[against]]) for cpu in (False, True)]
        return f"{ours[0] / base[0]:.2f} ({ours[1] / base[1]:.2f} CPU)"

    targets = [
        f"- import app / floor: {ratio('import app (no request)', FLOOR)} (target <= 1.15)",
        *(
            f"- {name} (import + 1st) / reference: {ratio(name, REFERENCE)} (target <= 1.3); "
            f"/ the untrimmed reference: {ratio(name, 'reference, untrimmed package')}"
            for name in ("REST POST /auth/token (mint)", "REST GET /api/v1/rooms", "ws $connect")
        ),
    ]
    return (
        f"{machine()}\n\nPackage {sizes['package'] / 1e6:.2f} MB zipped (untrimmed: "
        f"{sizes[UNTRIMMED] / 1e6:.2f} MB). Medians of {reps} fresh processes per scenario. "
        f"Floor = `import boto3` in-process: {ms(floor)} ms, {ms(floor_cpu)} ms CPU (a whole "
        f"process: {ms(floor_wall)} ms).\n\n" + table(headers, rows) + "\n\n" + "\n".join(targets)
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
        world = World(endpoint=endpoint, domain=domain)
        world.profile_request_only = args.request_only
        setup(world)
        with tempfile.TemporaryDirectory(prefix="pulse-cold-") as tmp:
            packages = Packages(Path(tmp))
            try:
                world.code = packages.build()
                sizes = packages.sizes()
                for scenario in SCENARIOS:  # warm the disk cache; not counted
                    run_child(world, scenario)
                if args.profile:
                    profile(world, args.profile, args.top)
                    return
                audits, runs = measure(world, args.reps)
            finally:
                packages.release()
    print(report(runs, audits, args.reps, sizes))


if __name__ == "__main__":
    main()
