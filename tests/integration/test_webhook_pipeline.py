"""The webhook pipeline with a frozen clock (moto DynamoDB, a recording queue, the real HTTP
client and a real local listener): the retry schedule, disabling after 5 days of failures, the
address checks of a production stage, and no event for a change that rolled back.

The stream records are the event items as stored (DynamoDB JSON, as NEW_IMAGE carries them):
moto's in-process mock does not serve DynamoDB Streams; tests/e2e/test_webhooks.py runs the
real stream on the local stack."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import streams
from standardwebhooks import Webhook as Verifier
from webhook_listener import Listener, listening

from chalicelib import jsontext, runtime, webhook_handlers
from chalicelib.clock import FrozenClock
from chalicelib.config import Settings
from chalicelib.errors import InvalidInput
from chalicelib.outbound.http import Poster
from chalicelib.repositories import events, rooms
from chalicelib.services.callers import OperatorCaller
from infra.tables import create_tables

from .conftest import OWNER

DAY = 86400


class RecordingQueue:
    """Stands in for SQS: keeps each message with its delay."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], int]] = []

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
        assert 0 <= delay_seconds <= 900  # SQS's limit
        self.sent.append((message, delay_seconds))


class Pipeline:
    def __init__(self, graph: runtime.Services, queue: RecordingQueue, clock: FrozenClock) -> None:
        self.graph, self.queue, self.clock = graph, queue, clock
        self.data_table = graph.settings.data_table

    def stream_events(self, env_id: str, room_id: str) -> list[dict[str, Any]]:
        return streams.stream_records(self.data_table, env_id, room_id)

    def run_queue(self) -> list[float]:
        """Deliver every queued message once its delay has passed (the clock moves to it), as
        SQS and Lambda would; the clock times of the attempts' messages handled."""
        handled = []
        while self.queue.sent:
            message, delay = self.queue.sent.pop(0)
            self.clock.advance(delay)
            handled.append(self.clock.now())
            self.graph.pipeline.on_message(message)
        return handled


def build(settings: Settings, clock: FrozenClock, **poster: Any) -> tuple[Pipeline, Any]:
    create_tables(boto3.client("dynamodb"), settings.table_prefix)
    queue = RecordingQueue()
    graph = runtime.build(
        settings,
        clock,
        queue=queue,
        poster=Poster(timeout=2, allow_local=settings.webhook_allow_local, **poster),
    )
    runtime.install(graph)
    return Pipeline(graph, queue, clock), graph


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


@pytest.fixture
def local(aws: None, settings: Settings, clock: FrozenClock) -> Iterator[Pipeline]:
    """The pipeline as `make dev` runs it: loopback endpoints allowed."""
    pipeline, _ = build(dataclasses.replace(settings, webhook_allow_local=True), clock)
    yield pipeline
    runtime.install(None)


def change_a_room(graph: runtime.Services, env_id: str, room_id: str, n: int = 1) -> None:
    caller = OperatorCaller(OWNER, env_id)
    if n:
        with contextlib.suppress(Exception):
            graph.collab.create_room(caller, room_id, None)
    for i in range(n):
        graph.collab.update_room(caller, room_id, {"n": i})


def test_a_failing_delivery_follows_the_schedule_then_fails(
    local: Pipeline, listener: Listener, clock: FrozenClock
) -> None:
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Sched")
    listener.script["/fail"] = [500]
    hook = graph.webhooks.create(OWNER, env.id, listener.url + "/fail", None, None)
    change_a_room(graph, env.id, "r")
    assert graph.pipeline.on_stream(local.stream_events(env.id, "r")) == 1
    start = clock.now()
    times = []
    while local.queue.sent:
        message, delay = local.queue.sent.pop(0)
        clock.advance(delay)
        before = len(listener.at("/fail"))
        graph.pipeline.on_message(message)
        if len(listener.at("/fail")) > before:
            times.append(clock.now() - start)
    gaps = [round(b - a) for a, b in zip([0.0, *times], times, strict=False)][1:]
    assert gaps == [5, 300, 1800, 7200, 18000, 36000, 36000]
    (delivery,) = graph.webhooks.deliveries(env.id, hook.id, 10, None).data
    assert delivery.status == "failed" and delivery.attempt == 8
    assert delivery.response_code == 500 and delivery.next_attempt_at is None
    received = listener.at("/fail")
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert hook.secret is not None
    # The reference library checks the timestamp against the real clock: the first attempt is
    # within its 5 minutes; every later one carries its own (frozen clock) time, signed anew.
    Verifier(hook.secret).verify(received[0].body, received[0].headers)
    stamps = [int(r.headers["webhook-timestamp"]) for r in received]
    assert [b - a for a, b in itertools.pairwise(stamps)] == gaps
    assert len({r.headers["webhook-signature"] for r in received}) == len(received)


def test_waits_past_15_minutes_are_chained(local: Pipeline, listener: Listener) -> None:
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Chain")
    listener.script["/fail"] = [500]
    graph.webhooks.create(OWNER, env.id, listener.url + "/fail", None, None)
    change_a_room(graph, env.id, "r")
    graph.pipeline.on_stream(local.stream_events(env.id, "r"))
    handled = local.run_queue()  # RecordingQueue refuses any delay over SQS's 900 s
    assert len(listener.at("/fail")) == 8
    # 8 attempts; waits of 1800 s and more went out as chains of 900 s messages:
    # 30 min = 2, 2 h = 8, 5 h = 20, 10 h = 40 (twice) messages, 5 s and 5 min one each
    assert len(handled) == 1 + 1 + 1 + 2 + 8 + 20 + 40 + 40


def test_an_endpoint_failing_for_5_days_is_disabled(
    aws: None, settings: Settings, listener: Listener, clock: FrozenClock
) -> None:
    # One attempt per event (no retries), one event a day: the streak is the days.
    local, graph = build(
        dataclasses.replace(settings, webhook_allow_local=True, webhook_retry_delays=()), clock
    )
    env, _ = graph.environments.create(OWNER, "Days")
    listener.script["/down"] = [500]
    hook = graph.webhooks.create(OWNER, env.id, listener.url + "/down", None, None)
    for day in range(6):
        room = f"day{day}"
        change_a_room(graph, env.id, room)
        graph.pipeline.on_stream(local.stream_events(env.id, room))
        local.run_queue()
        shown = graph.webhooks.get(env.id, hook.id)
        if day < 5:  # failing since day 0, for less than 5 days
            assert shown.enabled and shown.failing_since is not None, day
        clock.advance(DAY)
    shown = graph.webhooks.get(env.id, hook.id)
    assert not shown.enabled and shown.disabled_reason == "failing"
    audit = graph.environments.audit(env.id, 50, None).data
    assert [e.details for e in audit if e.action == "webhook.disabled"] == [{"reason": "failing"}]
    # disabled: a new event starts no delivery
    before = len(listener.at("/down"))
    change_a_room(graph, env.id, "later")
    assert graph.pipeline.on_stream(local.stream_events(env.id, "later")) == 0
    local.run_queue()
    assert len(listener.at("/down")) == before
    runtime.install(None)


def test_a_success_ends_the_failing_streak(local: Pipeline, listener: Listener) -> None:
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Streak")
    listener.script["/x"] = [500, 200]
    hook = graph.webhooks.create(OWNER, env.id, listener.url + "/x", None, None)
    change_a_room(graph, env.id, "r")
    graph.pipeline.on_stream(local.stream_events(env.id, "r"))
    local.run_queue()
    assert len(listener.at("/x")) == 2
    assert graph.webhooks.get(env.id, hook.id).failing_since is None


def test_a_stream_record_handed_over_twice_is_delivered_once(
    local: Pipeline, listener: Listener
) -> None:
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Twice")
    graph.webhooks.create(OWNER, env.id, listener.url + "/once", None, None)
    change_a_room(graph, env.id, "r")
    records = local.stream_events(env.id, "r")
    assert graph.pipeline.on_stream(records) == 1
    local.run_queue()
    assert graph.pipeline.on_stream(records) == 0  # Lambda retried the batch
    local.run_queue()
    assert len(listener.at("/once")) == 1


def test_a_redirect_is_not_followed(local: Pipeline, listener: Listener) -> None:
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Redirect")
    listener.script["/moved"] = ["redirect"]
    hook = graph.webhooks.create(OWNER, env.id, listener.url + "/moved", None, None)
    change_a_room(graph, env.id, "r")
    graph.pipeline.on_stream(local.stream_events(env.id, "r"))
    message, _ = local.queue.sent.pop(0)
    graph.pipeline.on_message(message)
    assert listener.at("/redirected") == []
    (delivery,) = graph.webhooks.deliveries(env.id, hook.id, 10, None).data
    assert delivery.response_code == 302 and delivery.status == "pending"  # a retry is due


def test_a_rolled_back_change_writes_no_event(local: Pipeline) -> None:
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Rollback")
    caller = OperatorCaller(OWNER, env.id)
    graph.collab.create_room(caller, "r", None)
    thread = graph.collab.create_thread(caller, "r", "u", "hi", None)
    room_state = rooms.to_room_state(rooms.RoomItem.get(f"ENV#{env.id}", "ROOM#r"))
    state = rooms.ThreadState(thread, room_state.gen)
    stale = dataclasses.replace(room_state, gen="another-generation")
    comment = dataclasses.replace(thread.comments.data[0], id="cm_0000000000000009")
    event = graph.collab._event(caller, "r", "comment.created", {"id": comment.id}, 1)
    assert rooms.create_comment(env.id, stale, state, comment, "2026-01-01", event) is None
    types = [r["dynamodb"]["NewImage"]["type"]["S"] for r in local.stream_events(env.id, "r")]
    assert types == ["thread.created"]
    assert events.last_seq(env.id, "r") == 1  # the rolled-back change took no seq


# --- a production stage: https only, public addresses only -----------------------------------


@pytest.fixture
def production(aws: None, settings: Settings, clock: FrozenClock) -> Iterator[Any]:
    resolved: dict[str, list[str]] = {}

    def resolver(host: str, port: int) -> list[str]:
        return resolved.get(host) or ["93.184.216.34"]

    pipeline, graph = build(
        dataclasses.replace(settings, webhook_allow_local=False), clock, resolver=resolver
    )
    yield pipeline, graph, resolved
    runtime.install(None)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",  # not https
        "https://127.0.0.1/in",
        "https://[::1]/in",
        "https://10.1.2.3/in",
        "https://172.16.0.9/in",
        "https://192.168.1.1/in",
        "https://100.64.0.1/in",  # shared (CGNAT)
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[fd00:ec2::254]/latest",  # cloud metadata (IPv6)
        "https://[::ffff:127.0.0.1]/in",  # loopback spelled as IPv6
        "https://user:pw@hooks.example.com/in",
    ],
)
def test_a_production_stage_refuses_the_url(production: Any, url: str) -> None:
    _, graph, _ = production
    env, _ = graph.environments.create(OWNER, "Prod")
    with pytest.raises(InvalidInput) as refused:
        graph.webhooks.create(OWNER, env.id, url, None, None)
    assert refused.value.code == "WEBHOOK_URL_REFUSED" and refused.value.field == "url"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.7",
        "172.20.1.1",
        "192.168.0.10",
        "169.254.169.254",
        "100.100.1.1",
        "::1",
    ],
)
def test_a_host_resolving_to_an_inner_address_is_not_posted_to(
    production: Any, listener: Listener, address: str
) -> None:
    pipeline, graph, resolved = production
    port = listener.url.rsplit(":", 1)[1]
    resolved["hooks.example.test"] = [address]
    env, _ = graph.environments.create(OWNER, "Prod")
    hook = graph.webhooks.create(OWNER, env.id, f"https://hooks.example.test:{port}/in", None, None)
    change_a_room(graph, env.id, "r")
    graph.pipeline.on_stream(pipeline.stream_events(env.id, "r"))
    message, _ = pipeline.queue.sent.pop(0)
    graph.pipeline.on_message(message)
    assert listener.received == []
    (delivery,) = graph.webhooks.deliveries(env.id, hook.id, 10, None).data
    assert delivery.error is not None and delivery.error.startswith("refused: the host resolves")
    assert delivery.response_code is None


def test_localhost_itself_is_refused_in_production(production: Any, listener: Listener) -> None:
    port = listener.url.rsplit(":", 1)[1]
    poster = Poster(timeout=2, allow_local=False)  # the real resolver
    answer = poster.post(f"https://localhost:{port}/in", {}, b"{}")
    assert answer.status is None and answer.error is not None
    assert answer.error.startswith("refused: the host resolves to a loopback address")
    assert listener.received == []


def test_deliveries_and_failures_are_counted_in_the_usage(
    local: Pipeline, listener: Listener
) -> None:
    """Each attempt, as its Lambda runs it (webhook_handlers.attempts): a failure, then a
    success, counted in the environment's usage of the day exactly as the listener saw them."""
    graph = local.graph
    env, _ = graph.environments.create(OWNER, "Counted")
    listener.script["/c"] = [500, 503, 200]
    graph.webhooks.create(OWNER, env.id, listener.url + "/c", None, None)
    change_a_room(graph, env.id, "r", n=2)  # two changes: two deliveries
    assert graph.pipeline.on_stream(local.stream_events(env.id, "r")) == 2
    while local.queue.sent:
        message, delay = local.queue.sent.pop(0)
        local.clock.advance(delay)
        webhook_handlers.attempts({"Records": [{"body": jsontext.dumps(message)}]})
    day = graph.metering.analytics(OperatorCaller(OWNER, env.id), 1).daily[-1]
    received = len(listener.at("/c"))
    assert received == 4  # 500 and 503, then two 200s (the script's last answer repeats)
    assert (day.webhook_failures, day.webhook_deliveries) == (2, 2)
