"""One cold start, run by bench/cold_start.py in a fresh interpreter (`python -I -S -B`: the
unpacked package and the standard library only): import, first request, second request; prints
the timings (and, with "audit", what got loaded and built) as JSON.

Run as a script so nothing but the standard library is imported before the clock starts. The
preamble (json, sys, time, reading the payload) is the same for every scenario, the floor too."""

import itertools
import json
import sys
import time

payload = json.loads(sys.stdin.read())
sys.path[:0] = payload["paths"]  # the unpacked package (and boto3, for the floor)
scenario = payload["scenario"]
events = payload["events"]
audit = payload.get("audit", False)

counts = {"sessions": 0, "clients": []}
if audit:  # counting needs botocore patched before anything uses it (not timed)
    import botocore.session

    original_init = botocore.session.Session.__init__
    original_create = botocore.session.Session.create_client

    def counting_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts["sessions"] += 1
        original_init(self, *args, **kwargs)

    def counting_create(self, service_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        counts["clients"].append(service_name)
        return original_create(self, service_name, *args, **kwargs)

    botocore.session.Session.__init__ = counting_init
    botocore.session.Session.create_client = counting_create


class LambdaContext:
    aws_request_id = "bench"
    function_name = "pulse-bench"
    memory_limit_in_mb = 1024

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def call(event: dict) -> object:  # type: ignore[type-arg]
    """One request through the handler Lambda would call for this scenario."""
    if scenario.startswith("floor"):
        return None
    if scenario.startswith("reference"):
        global client
        if client is None:  # built by the first request, as the app builds its own
            client = boto3.client("dynamodb", endpoint_url=payload["endpoint"])
        return client.get_item(**event)
    if scenario.startswith("ws $connect"):
        return app_module.ws_connect(event, LambdaContext())
    if scenario.startswith("ws $default"):
        return app_module.ws_message(event, LambdaContext())
    if scenario.startswith("ws $disconnect"):
        return app_module.ws_disconnect(event, LambdaContext())
    return app_module.app(event, LambdaContext())


profiler = None
if payload.get("profile"):  # --profile: where the time goes (cProfile; not a timed run)
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
start, start_cpu = time.perf_counter(), time.process_time()
client = None
if scenario.startswith(("floor", "reference")):
    import boto3
else:
    import app as app_module
imported, imported_cpu = time.perf_counter(), time.process_time()
if profiler is not None and payload.get("profile_request_only"):
    profiler.disable()
    profiler = cProfile.Profile()
    profiler.enable()
results = []
marks, cpu_marks = [imported], [imported_cpu]
for event in events:
    results.append(call(event))
    marks.append(time.perf_counter())
    cpu_marks.append(time.process_time())

if profiler is not None:
    profiler.disable()
    profiler.dump_stats(payload["profile"])
statuses = []
for result in results:
    if isinstance(result, dict):
        statuses.append(
            result.get("statusCode", result.get("ResponseMetadata", {}).get("HTTPStatusCode"))
        )
    else:
        statuses.append(None)
out = {
    "import": imported - start,
    "requests": [b - a for a, b in itertools.pairwise(marks)],
    "import_cpu": imported_cpu - start_cpu,  # CPU time: less sensitive to a busy machine
    "requests_cpu": [b - a for a, b in itertools.pairwise(cpu_marks)],
    "statuses": statuses,
}
if audit:
    out["sessions"] = counts["sessions"]
    out["clients"] = counts["clients"]
    out["modules"] = sorted(
        name
        for name in ("boto3", "cryptography", "argon2", "jwt", "chalice.app", "pynamodb")
        if name in sys.modules
    )
    out["module_count"] = len(sys.modules)
sys.stdout.write(json.dumps(out))
sys.stdout.flush()
