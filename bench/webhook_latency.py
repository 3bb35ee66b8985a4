"""Benchmark 9: webhook delivery latency on the local stack, from commit to listener.

Starts the real local stack (`python -m devstack`, ephemeral, free ports: its webhook pipeline
polls moto's DynamoDB stream and SQS queue), registers an endpoint on a local HTTP listener, then
makes N room changes one after another (PATCH /api/v1/rooms/{id}), waiting for each delivery
before the next. For each: the time from the REST request being sent (before the commit) and from
its answer arriving (after the commit) to the listener receiving the signed POST. The commit lies
between the two, so they bound the commit-to-listener latency. One clock: all in this process.

    .venv/bin/python -m bench.webhook_latency            # N=30
    .venv/bin/python -m bench.webhook_latency --changes 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.webhook_listener import listening

from .common import machine, percentile
from .e2e_load import ADMIN_EMAIL, ADMIN_PASSWORD, local_stack, log_trouble


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=30)
    args = parser.parse_args()
    from_sent: list[float] = []
    from_answer: list[float] = []
    with listening() as listener, local_stack({}) as stack:
        token = stack.call(
            "POST", "/admin/api/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )["token"]
        env = stack.call("POST", "/admin/api/environments", token, json={"name": "Bench"})
        env_id = env["environment"]["id"]
        (sk,) = [k["key"] for k in env["keys"] if k["kind"] == "secret"]
        stack.call(
            "POST",
            f"/admin/api/environments/{env_id}/webhooks",
            token,
            json={"url": listener.url + "/bench", "events": ["room.updated"]},
        )
        stack.call("POST", "/api/v1/rooms", sk, json={"id": "bench"})
        for i in range(args.changes):
            sent = time.time()
            stack.call("PATCH", "/api/v1/rooms/bench", sk, json={"metadata": {"i": i}})
            answered = time.time()
            got = listener.wait_for("/bench", i + 1, timeout=30)
            if len(got) < i + 1:
                raise SystemExit(f"change {i} was not delivered within 30 s")
            arrived = got[i].at
            from_sent.append(arrived - sent)
            from_answer.append(arrived - answered)
        trouble = log_trouble(stack.log())
    print(f"machine: {machine()}")
    print(f"changes: {args.changes}, each delivered once: {len(listener.received)}")
    for name, values in (
        ("request sent -> listener", from_sent),
        ("answer -> listener", from_answer),
    ):
        print(
            f"{name}: p50 {percentile(values, 50) * 1000:.0f} ms, "
            f"p95 {percentile(values, 95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"
        )
    print(f"log trouble lines: {len(trouble)}")
    for line in trouble[:5]:
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
