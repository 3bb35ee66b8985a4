"""What the usage meter adds to a warm `$connect` and `$disconnect`: its calls made in two rounds
(chalicelib/together.py), against the same calls made one after the other (`in turn`).

    .venv/bin/python -m bench.meter_cost [--connects 30] [--latency-ms 0 8]

app.py's handlers in this process against moto's server in another (bench/fast_moto.py: its
transactions do not slow down as the table grows), each connection a new user in one of three
rooms. The meter's part is the time from the end of the operation's own last
call to the handler's return. moto answers in 5-20 ms on this machine, far from DynamoDB's few
milliseconds in-region; `--latency-ms` adds a fixed wait to every DynamoDB call (a stand-in for
the network's round trip) so the number of waits in a row shows as it would on AWS.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

from .cold_start import World, connect_event, setup
from .common import (
    create_tables,
    dynamodb_server,
    machine,
    management_api,
    median,
    percentile,
    table,
    use_bench_environ,
    ws_event,
)


class Context:
    aws_request_id = "bench"
    function_name = "pulse-bench"
    memory_limit_in_mb = 1024

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@contextmanager
def timed(latency_ms: float) -> Iterator[list[float]]:
    """The time each flush of the meter takes (appended, in ms), with every DynamoDB call
    delayed by `latency_ms`."""
    from chalicelib.services.metering import Metering

    flushes: list[float] = []
    original_call, original_flush = BaseClient._make_api_call, Metering.flush

    def delayed(client: Any, operation: str, params: dict[str, Any]) -> Any:
        time.sleep(latency_ms / 1000)
        return original_call(client, operation, params)

    def flush(self: Metering, running: Any) -> None:
        start = time.perf_counter()
        try:
            original_flush(self, running)
        finally:
            flushes.append((time.perf_counter() - start) * 1000)

    if latency_ms:
        BaseClient._make_api_call = delayed  # type: ignore[method-assign]
    Metering.flush = flush  # type: ignore[method-assign]
    try:
        yield flushes
    finally:
        BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        Metering.flush = original_flush  # type: ignore[method-assign]


@contextmanager
def in_turn() -> Iterator[None]:
    """The meter's rounds made one call after the other (as before chalicelib/together.py)."""
    from chalicelib import together

    original = together.run

    def one_by_one(calls: Sequence[Callable[[], Any]]) -> list[Any]:
        return [together._settle(call) for call in calls]

    together.run = one_by_one  # type: ignore[assignment]
    try:
        yield
    finally:
        together.run = original  # type: ignore[assignment]


def measure(world: World, connects: int, latency_ms: float) -> dict[str, list[float]]:
    """Whole handler and the meter's flush, in ms, of `connects` warm $connects and as many
    $disconnects (the first three of each are warm-up, not counted)."""
    import app

    out: dict[str, list[float]] = {"connect": [], "connect meter": [], "gone": [], "gone meter": []}
    ids = []
    for k in range(connects + 3):
        event = connect_event(world, f"room-meter-{k % 3}")
        ids.append(event["requestContext"]["connectionId"])
        with timed(latency_ms) as flushes:
            start = time.perf_counter()
            assert app.ws_connect(event, Context()) == {"statusCode": 200}
            done = time.perf_counter()
        if k >= 3:
            out["connect"].append((done - start) * 1000)
            out["connect meter"].append(sum(flushes))
    for k, connection_id in enumerate(ids):
        event = ws_event("$disconnect", connection_id, domain=world.domain)
        with timed(latency_ms) as flushes:
            start = time.perf_counter()
            app.ws_disconnect(event, Context())
            done = time.perf_counter()
        if k >= 3:
            out["gone"].append((done - start) * 1000)
            out["gone meter"].append(sum(flushes))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connects", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 8.0])
    args = parser.parse_args(argv)
    rows = []
    with dynamodb_server("bench.fast_moto") as endpoint, management_api() as domain:
        use_bench_environ(PULSE_DYNAMODB_ENDPOINT=endpoint)
        from chalicelib.config import get_settings

        create_tables(endpoint, get_settings().table_prefix)
        world = World(endpoint=endpoint, domain=domain)
        setup(world)
        for latency in args.latency_ms:
            for way in ("two rounds", "in turn"):
                if way == "in turn":
                    with in_turn():
                        got = measure(world, args.connects, latency)
                else:
                    got = measure(world, args.connects, latency)
                rows.append(
                    [
                        f"{latency:g}",
                        way,
                        *(
                            f"{median(got[name]):.1f} / {percentile(got[name], 90):.1f}"
                            for name in ("connect", "connect meter", "gone", "gone meter")
                        ),
                    ]
                )
    print(machine())
    print()
    headers = [
        "added ms per call",
        "meter calls",
        "$connect ms (median / p90)",
        "its meter part",
        "$disconnect ms",
        "its meter part",
    ]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
