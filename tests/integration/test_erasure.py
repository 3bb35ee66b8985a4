"""Erase jobs driven step by step in process (moto): a step that fails midway is retried from
its saved cursor and the job ends exactly as an uninterrupted one, a second copy of a step
changes nothing, and bounded steps carry a job across many messages. The end-to-end tests
(tests/e2e/test_erasure.py) run the same jobs through the real stack's queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from erasure_world import (
    TARGET,
    build,
    erasure_records,
    names_user,
    of_env,
    others,
    reaction_summaries,
    recount,
)

from chalicelib import runtime
from chalicelib.clock import FrozenClock
from chalicelib.config import Settings
from chalicelib.services import erasure
from infra.tables import create_tables
from integration.conftest import is_usage

from .conftest import OWNER


class Queue:
    """The erase steps' queue, in a list (the test hands each message to the handler)."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict[str, Any], int]] = []

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
        self.messages.append((message, delay_seconds))


@pytest.fixture
def graph(
    aws: None, settings: Settings, clock: FrozenClock
) -> Iterator[tuple[runtime.Services, Queue]]:
    create_tables(boto3.client("dynamodb"), settings.table_prefix)
    boto3.client("s3").create_bucket(Bucket=settings.attachments_bucket or "")
    queue = Queue()
    g = runtime.build(settings, clock, queue=queue)
    runtime.install(g)
    yield g, queue
    runtime.install(None)


def client_call(client: Any, key: str) -> Any:
    def call(method: str, path: str, body: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else b""
        resp = client.http.request(method, path, headers=headers, body=data)
        return resp.status_code, json.loads(resp.body) if resp.body else None

    return call


def scan(table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run(
    graph: runtime.Services, queue: Queue, clock: FrozenClock, *, fail_at: int | None = None
) -> int:
    """Hand every queued message to the queue's handler until none is left (a step's wait is
    skipped by advancing the clock). `fail_at`: the step dies right after its k-th commit of
    the job (the change made, the step's process gone before it goes on), and its message is
    handed over again, as SQS does. The number of steps run."""
    from chalicelib import webhook_handlers
    from chalicelib.repositories import erasure as repo

    real = repo.commit
    commits = {"n": 0}

    def dying(*args: Any, **kwargs: Any) -> Any:
        done = real(*args, **kwargs)
        commits["n"] += 1
        if commits["n"] == fail_at:
            raise RuntimeError("injected: the step died after a commit")
        return done

    steps = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repo, "commit", dying)
        while queue.messages:
            message, delay = queue.messages.pop(0)
            clock.advance(delay)
            steps += 1
            record = {"Records": [{"body": json.dumps(message)}]}
            try:
                webhook_handlers.attempts(record)
            except RuntimeError as exc:
                assert "injected" in str(exc)
                queue.messages.insert(0, (message, 0))  # SQS hands it over again
    assert fail_at is None or commits["n"] > fail_at  # the failure did land midway
    return steps


def erase(client: Any, key: str, mode: str) -> dict[str, Any]:
    status, job = client_call(client, key)("POST", f"/api/v1/users/{TARGET}/erase", {"mode": mode})
    assert status == 202, job
    return dict(job)


@pytest.fixture
def env(graph: tuple[runtime.Services, Queue]) -> tuple[str, str]:
    g, _ = graph
    environment, (_, sk) = g.environments.create(OWNER, "Erase")
    assert sk.key is not None
    return environment.id, sk.key


def outcome(
    client: Any, key: str, env_id: str, job_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    status, job = client_call(client, key)("GET", f"/api/v1/users/{TARGET}/erase/{job_id}", None)
    assert status == 200, job
    data = of_env(scan(runtime.services().settings.data_table), env_id)
    # The usage meter's counters are spread over random shards: how many exist says nothing.
    return job, [i for i in data if not is_usage(i["sk"]["S"])]


@pytest.mark.parametrize("mode", ["delete", "anonymize"])
def test_a_step_that_fails_midway_resumes_and_ends_as_an_uninterrupted_job(
    client: Any,
    graph: tuple[runtime.Services, Queue],
    clock: FrozenClock,
    env: tuple[str, str],
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g, queue = graph
    env_id, key = env
    monkeypatch.setattr(erasure, "STEP_ITEMS", 12)  # many steps: the failure lands midway
    call = client_call(client, key)
    # The same world twice, in two environments: one erased straight, one with a failure.
    build(call, prefix="a-")
    other, (_, other_sk) = g.environments.create(OWNER, "Erase twin")
    assert other_sk.key is not None
    build(client_call(client, other_sk.key), prefix="a-")

    straight = erase(client, key, mode)
    steps = run(g, queue, clock)
    assert steps > 3
    interrupted = erase(client, other_sk.key, mode)
    run(g, queue, clock, fail_at=7)

    job_a, data_a = outcome(client, key, env_id, straight["id"])
    job_b, data_b = outcome(client, other_sk.key, other.id, interrupted["id"])
    assert job_a["status"] == job_b["status"] == "succeeded"
    counts = {
        k: v
        for k, v in job_a.items()
        if k.endswith(("Deleted", "Tombstoned", "Removed", "Replaced"))
    }
    assert counts == {k: job_b[k] for k in counts}
    assert counts["commentsDeleted"] + counts["threadsDeleted"] + counts["mentionsReplaced"] > 0

    assert len(data_a) == len(data_b)
    assert recount(data_a, env_id) == [] and recount(data_b, other.id) == []
    assert reaction_summaries(data_a, env_id) == [] and reaction_summaries(data_b, other.id) == []
    if mode == "delete":  # nothing of the user left, in either
        for data, env in ((data_a, env_id), (data_b, other.id)):
            assert [i for i in data if names_user(i) and not erasure_records(i, env)] == []


def test_erase_leaves_others_items_as_they_were(
    client: Any, graph: tuple[runtime.Services, Queue], clock: FrozenClock, env: tuple[str, str]
) -> None:
    g, queue = graph
    env_id, key = env
    build(client_call(client, key))
    before = others(scan(g.settings.data_table), env_id)
    job = erase(client, key, "delete")
    run(g, queue, clock)
    after = others(scan(g.settings.data_table), env_id)
    assert {k: v for k, v in before.items() if k not in after} == {}
    assert {k: v for k, v in before.items() if after[k] != v} == {}
    _, data = outcome(client, key, env_id, job["id"])
    assert recount(data, env_id) == []


def test_a_step_delivered_twice_does_nothing_twice(
    client: Any,
    graph: tuple[runtime.Services, Queue],
    clock: FrozenClock,
    env: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQS delivers at least once: every step message handed over twice, the job ends as one
    delivered once (each copy starts from the cursor the last change saved)."""
    g, queue = graph
    env_id, key = env
    monkeypatch.setattr(erasure, "STEP_ITEMS", 12)
    build(client_call(client, key))
    job = erase(client, key, "delete")

    original = queue.send
    monkeypatch.setattr(queue, "send", lambda m, delay_seconds=0: [original(m, delay_seconds)] * 2)
    queue.messages *= 2
    run(g, queue, clock)

    done, data = outcome(client, key, env_id, job["id"])
    assert done["status"] == "succeeded"
    assert (done["commentsTombstoned"], done["commentsDeleted"], done["threadsDeleted"]) == (
        3,
        3,
        1,
    )
    assert done["reactionsRemoved"] == 2 and done["mentionsReplaced"] == 3
    assert recount(data, env_id) == [] and reaction_summaries(data, env_id) == []
    assert [i for i in data if names_user(i) and not erasure_records(i, env_id)] == []


def test_a_job_whose_steps_keep_failing_ends_failed_and_audited(
    client: Any, graph: tuple[runtime.Services, Queue], clock: FrozenClock, env: tuple[str, str]
) -> None:
    g, queue = graph
    env_id, key = env
    build(client_call(client, key))
    job = erase(client, key, "anonymize")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected: the table cannot be read")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(g.erasure.store, "comments", broken)
        from chalicelib import webhook_handlers

        message = queue.messages.pop()[0]
        record = {"Records": [{"body": json.dumps(message)}]}
        raised = 0
        for _ in range(10):
            try:
                webhook_handlers.attempts(record)
            except RuntimeError:  # left on the queue: SQS hands it over again
                raised += 1
                continue
            break  # the job ended failed: the message goes
    # The first delivery revoked the tokens before failing (progress: its failure is not one in
    # a row); then MAX_FAILURES steps failed with nothing done, and the last of them ended it.
    assert raised == erasure.MAX_FAILURES

    done, _ = outcome(client, key, env_id, job["id"])
    assert (done["status"], done["error"]) == ("failed", "The job failed.")
    assert done["finishedAt"] is not None
    events = g.environments.audit(env_id, 20, None).data
    assert [e.action for e in events if e.action.startswith("user.erase")] == [
        "user.erase.failed",
        "user.erase.requested",
    ]
