"""`notification.created` (docs/inbox.md): sent after the environment's delay to the endpoints
that take it, signed as Standard Webhooks say (checked with the reference library), not sent to
a user who read the thread meanwhile, once per user and thread per window, and a new window after
it. A frozen clock moves through the delays; the queue is recorded and run as SQS and Lambda
would, through the real queue handler."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from callers import secret_key
from standardwebhooks import Webhook as Verifier
from webhook_listener import Listener, listening

from chalicelib import runtime, webhook_handlers
from chalicelib.clock import FrozenClock
from chalicelib.config import Settings
from chalicelib.entities import Webhook
from chalicelib.services.environments import EnvironmentChange
from chalicelib.wire.tokens import MintRequest

from .conftest import OWNER
from .test_webhook_pipeline import Pipeline, build

DELAY = 60


@dataclasses.dataclass
class World:
    pipeline: Pipeline
    graph: runtime.Services
    env_id: str
    sk: str
    hook: Webhook
    listener: Listener

    def fan_out(self, room: str = "launch") -> None:
        records = self.pipeline.stream_events(self.env_id, room)
        webhook_handlers.stream({"Records": records})

    def run_queue(self, until: float | None = None) -> None:
        """Hand each due message to the queue handler, moving the clock to it."""
        queue = self.pipeline.queue
        while queue.sent:
            message, delay = queue.sent[0]
            if until is not None and self.pipeline.clock.now() + delay > until:
                return
            queue.sent.pop(0)
            self.pipeline.clock.advance(delay)
            webhook_handlers.attempts({"Records": [{"body": json.dumps(message)}]})

    def thread(self, user: str, body: str) -> str:
        t = self.graph.collab.create_thread(secret_key(self.sk), "launch", user, body, None)
        return t.id

    def reply(self, thread_id: str, user: str, body: str) -> None:
        self.graph.collab.create_comment(secret_key(self.sk), "launch", thread_id, user, body)

    def notifications(self) -> list[dict[str, Any]]:
        received = self.listener.at("/hook")
        for r in received:
            assert self.hook.secret is not None
            Verifier(self.hook.secret).verify(r.body, r.headers)
        return [json.loads(r.body) for r in received]


@pytest.fixture
def world(aws: None, settings: Settings, clock: FrozenClock) -> Iterator[World]:
    with listening() as listener:
        pipeline, graph = build(dataclasses.replace(settings, webhook_allow_local=True), clock)
        env, (_, sk) = graph.environments.create(OWNER, "Notify")
        assert sk.key is not None
        graph.environments.update(
            OWNER, env.id, EnvironmentChange(notification_delay_seconds=DELAY)
        )
        hook = graph.webhooks.create(
            OWNER, env.id, listener.url + "/hook", ["notification.created"], None
        )
        for user in ("ada", "bob"):
            request = MintRequest.parse({"userId": user, "name": user.title()})
            graph.tokens.mint(secret_key(sk.key, "mint"), request)
        graph.collab.create_room(secret_key(sk.key), "launch", None)
        yield World(pipeline, graph, env.id, sk.key, hook, listener)
    runtime.install(None)


def test_unread_activity_is_notified_once_after_the_delay(world: World) -> None:
    start = world.pipeline.clock.now()
    thread = world.thread("ada", "Ship Tuesday?")
    world.reply(thread, "bob", "Yes, <@ada>")
    world.reply(thread, "bob", "And the docs")
    world.fan_out()
    world.run_queue(until=start + DELAY - 1)
    assert world.notifications() == []  # not before the delay

    world.run_queue()
    [event] = world.notifications()
    assert event["type"] == "notification.created"
    data = event["data"]
    assert (data["userId"], data["threadId"], data["roomId"]) == ("ada", thread, "launch")
    assert (data["reason"], data["unreadCount"]) == ("mention", 2)
    assert [c["body"] for c in data["comments"]] == ["Yes, <@ada>", "And the docs"]
    assert world.pipeline.clock.now() - start >= DELAY


def test_a_user_who_reads_in_time_is_not_notified(world: World) -> None:
    thread = world.thread("ada", "Q")
    world.reply(thread, "bob", "A")
    world.fan_out()
    world.graph.inbox.mark_read(secret_key(world.sk), "ada", thread)
    world.run_queue()
    assert world.notifications() == []


def test_at_most_once_per_window_then_a_new_window(world: World) -> None:
    thread = world.thread("ada", "Q")
    world.reply(thread, "bob", "one")
    world.fan_out()
    world.pipeline.clock.advance(DELAY // 2)
    world.reply(thread, "bob", "two")  # within the window: no second notification
    world.fan_out()
    world.run_queue()
    assert [e["data"]["unreadCount"] for e in world.notifications()] == [2]

    world.reply(thread, "bob", "three")  # after the window: the next one
    world.fan_out()
    world.run_queue()
    events = world.notifications()
    assert [e["data"]["unreadCount"] for e in events] == [2, 3]
    assert len({r.headers["webhook-id"] for r in world.listener.at("/hook")}) == 2


def test_a_message_handed_over_twice_starts_one_delivery(world: World) -> None:
    thread = world.thread("ada", "Q")
    world.reply(thread, "bob", "A")
    world.fan_out()
    [(message, _)] = world.pipeline.queue.sent
    world.pipeline.queue.sent.append((message, 0))  # SQS delivers at least once
    world.run_queue()
    assert len(world.notifications()) == 1


def test_nothing_is_scheduled_without_an_endpoint_that_takes_it(world: World) -> None:
    world.graph.webhooks.update(
        OWNER,
        world.env_id,
        world.hook.id,
        url=None,
        events=["comment.created"],
        description=None,
        enabled=None,
    )
    thread = world.thread("ada", "Q")
    world.reply(thread, "bob", "A")
    world.fan_out()
    kinds = [m.get("kind") for m, _ in world.pipeline.queue.sent]
    assert "notification" not in kinds
